//! The AWS Route 53 provider.
//!
//! - Reads are lossless ([`convert`]): every routing field travels in `RecordSet::fields`.
//! - Writes are ChangeResourceRecordSets batches within Route 53's limits, each atomic, the
//!   changes of one record set never split; then GetChange is polled until INSYNC.
//! - Everything Route 53 would refuse is refused before anything is sent, with a message that
//!   names the record set (the emulators used in tests accept much of it).
//! - Zones are addressed by name or by hosted zone id; a name that several hosted zones carry
//!   (a public and a private zone) must be given by id.
//!
//! Construct with [`Route53::new`] (the standard AWS credential chain) or
//! [`Route53::with_credentials`] (static credentials, for emulators).

pub mod client;
pub mod config;
pub mod convert;
mod settle;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use aws_sdk_route53::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_route53::types::{ChangeAction, HostedZone, ResourceRecordSet};
use switchback_api::provider::ClientStats;
use switchback_api::{
    ApplyReport, Capabilities, Change, Granularity, Name, Provider, ProviderError, RType,
    RecordSet, RecordSetKey, Support, Zone, ZoneRef,
};

pub use client::{CallError, CallStats, Tuning};

/// Log filter directives the application must add (last) to its tracing filter (an
/// `EnvFilter`): at TRACE, aws-sigv4 logs the canonical request of every call and the SDK's
/// orchestrator logs every request's headers, both with the `x-amz-security-token` header (a
/// session token) in clear. Secret access keys are redacted by the SDK at every level.
pub const LOG_FILTER: &str = "aws_sigv4=info,aws_smithy_runtime=info,aws_smithy_runtime_api=info";
pub use config::Route53Config;

use client::{Client, Sent, Unit, sdk_client};
use convert::check_zone_rules;
use settle::{BatchState, batch_state, refused};

/// A hosted zone this provider resolved: its id (without `/hostedzone/`) and name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hosted {
    id: String,
    name: Name,
}

/// What the last read of a zone saw: the zone, and each set exactly as Route 53 sent it (so a
/// DELETE repeats Route 53's own text, whatever form another tool wrote the values in).
struct LastRead {
    zone: Zone,
    native: HashMap<RecordSetKey, ResourceRecordSet>,
}

/// The AWS Route 53 provider.
pub struct Route53 {
    name: String,
    caps: Capabilities,
    config: Route53Config,
    sdk_config: aws_sdk_route53::Config,
    client: Client,
    resolved: Mutex<HashMap<Name, Hosted>>,
    writers: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    last_read: Mutex<HashMap<String, Arc<LastRead>>>,
    /// Provider operations that failed (for `client_stats`).
    errors: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Route53 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No SDK config: nothing that could hold credentials.
        f.debug_struct("Route53")
            .field("name", &self.name)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn other(e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Other(e.to_string())
}

fn strip_zone_id(id: &str) -> &str {
    id.strip_prefix("/hostedzone/").unwrap_or(id)
}

/// The capabilities of Route 53.
pub fn capabilities() -> Capabilities {
    Capabilities {
        weighted: Support::Yes,
        failover: Support::Yes,
        alias: Support::Yes,
        latency: Support::Yes,
        geo: Support::Yes,
        multivalue: Support::Yes,
        comments: Support::cannot(
            "Route 53 has no per-record comments (only a comment per change batch and per \
             hosted zone)",
        ),
        tags: Support::cannot("Route 53 tags hosted zones, not record sets"),
        proxied: Support::cannot("Route 53 does not proxy traffic (that is Cloudflare's)"),
        atomic_batches: Support::Yes,
        max_batch: Some(config::ROUTE53_MAX_BATCH_RECORDS),
        min_ttl: 0,
        manages_soa_serial: false,
        record_types: convert::record_types(),
        granularity: Granularity::RecordSet,
        health_field: None,
    }
}

impl Route53 {
    /// A provider with the standard AWS credential chain (environment, shared config and
    /// credentials files with `profile`, SSO, web identity, ECS, IMDS), then `assume_role_arn`
    /// if set. Makes no API call.
    pub async fn new(
        name: impl Into<String>,
        config: Route53Config,
    ) -> Result<Route53, ProviderError> {
        config
            .validate()
            .map_err(|e| other(format!("route53: {e}")))?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(p) = &config.profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = &config.region {
            loader = loader.region(Region::new(r.clone()));
        }
        let shared = loader.load().await;
        let mut b = aws_sdk_route53::config::Builder::from(&shared);
        if let Some(arn) = &config.assume_role_arn {
            let role = aws_config::sts::AssumeRoleProvider::builder(arn.clone())
                .session_name("switchback")
                .configure(&shared)
                .build()
                .await;
            b = b.credentials_provider(role);
        }
        Ok(Route53::from_builder(name.into(), config, b))
    }

    /// A provider with static credentials (emulators, tests). Makes no API call.
    pub fn with_credentials(
        name: impl Into<String>,
        config: Route53Config,
        credentials: Credentials,
    ) -> Result<Route53, ProviderError> {
        config
            .validate()
            .map_err(|e| other(format!("route53: {e}")))?;
        let b = aws_sdk_route53::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .credentials_provider(credentials);
        Ok(Route53::from_builder(name.into(), config, b))
    }

    fn from_builder(
        name: String,
        config: Route53Config,
        mut b: aws_sdk_route53::config::Builder,
    ) -> Route53 {
        if let Some(e) = &config.endpoint {
            b = b.endpoint_url(e);
        }
        let mut sdk_config = b.build();
        if sdk_config.region().is_none() {
            // Route 53 is a global service: its endpoint lives in us-east-1.
            sdk_config = sdk_config
                .to_builder()
                .region(Region::new(
                    config.region.clone().unwrap_or_else(|| "us-east-1".into()),
                ))
                .build();
        }
        let tuning = Tuning::default();
        let client = Client::new(sdk_client(&sdk_config, &tuning), config.rate, tuning);
        Route53 {
            name,
            caps: capabilities(),
            config,
            sdk_config,
            client,
            resolved: Mutex::new(HashMap::new()),
            writers: Mutex::new(HashMap::new()),
            last_read: Mutex::new(HashMap::new()),
            errors: Default::default(),
        }
    }

    /// Change the timing knobs (tests shorten backoffs and timeouts).
    pub fn with_tuning(mut self, tuning: Tuning) -> Route53 {
        self.client = Client::new(
            sdk_client(&self.sdk_config, &tuning),
            self.config.rate,
            tuning,
        );
        self
    }

    /// API calls made so far (every HTTP attempt).
    pub fn stats(&self) -> CallStats {
        self.client.stats()
    }

    pub fn reset_stats(&self) {
        self.client.reset_stats()
    }

    pub fn config(&self) -> &Route53Config {
        &self.config
    }

    // -----------------------------------------------------------------------------------------
    // Zones
    // -----------------------------------------------------------------------------------------

    /// Find the hosted zone `zone` names: a zone name (which must be unique among the account's
    /// hosted zones), or a hosted zone id (`Z…`, also written `/hostedzone/Z…` or `Z….`).
    pub async fn resolve(&self, zone: &str) -> Result<(String, Name), ProviderError> {
        let text = zone.trim();
        let id_like = strip_zone_id(text.trim_end_matches('.'));
        if !id_like.is_empty()
            && !id_like.contains('.')
            && id_like.bytes().all(|b| b.is_ascii_alphanumeric())
            && id_like.len() >= 8
        {
            let id = id_like.to_ascii_uppercase();
            if let Some(hz) = self
                .client
                .hosted_zone(&id)
                .await
                .map_err(ProviderError::from)?
            {
                let name = convert::name_from_r53(hz.name()).map_err(other)?;
                return Ok((strip_zone_id(hz.id()).to_string(), name));
            }
        }
        let name: Name = text
            .parse()
            .or_else(|_| format!("{text}.").parse())
            .map_err(|e| other(format!("bad zone name {text:?}: {e}")))?;
        let h = self.resolve_name(&name).await?;
        Ok((h.id, h.name))
    }

    async fn resolve_name(&self, zone: &Name) -> Result<Hosted, ProviderError> {
        if let Some(h) = lock(&self.resolved).get(zone).cloned() {
            return Ok(h);
        }
        let zones = self
            .client
            .zones_named(&convert::name_to_r53(zone))
            .await
            .map_err(ProviderError::from)?;
        let hosted = match zones.as_slice() {
            [one] => Hosted {
                id: strip_zone_id(one.id()).to_string(),
                name: zone.clone(),
            },
            [] => {
                // A single label may be a hosted zone id (names are folded to lower case).
                let label = zone
                    .labels()
                    .next()
                    .map(|l| String::from_utf8_lossy(l).to_ascii_uppercase());
                match label {
                    Some(id) if zone.label_count() == 1 && id.len() >= 8 => {
                        match self
                            .client
                            .hosted_zone(&id)
                            .await
                            .map_err(ProviderError::from)?
                        {
                            Some(hz) => Hosted {
                                id: strip_zone_id(hz.id()).to_string(),
                                name: convert::name_from_r53(hz.name()).map_err(other)?,
                            },
                            None => return Err(ProviderError::ZoneNotFound(zone.to_string())),
                        }
                    }
                    _ => return Err(ProviderError::ZoneNotFound(zone.to_string())),
                }
            }
            many => {
                let list: Vec<String> = many.iter().map(describe_zone).collect();
                return Err(ProviderError::Other(format!(
                    "{} hosted zones are named {zone}: {}; give the hosted zone id instead \
                     of the name",
                    many.len(),
                    list.join(", ")
                )));
            }
        };
        lock(&self.resolved).insert(zone.clone(), hosted.clone());
        Ok(hosted)
    }

    fn writer(&self, zone_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        lock(&self.writers)
            .entry(zone_id.to_string())
            .or_default()
            .clone()
    }

    async fn read_hosted(&self, h: &Hosted) -> Result<Zone, ProviderError> {
        let native = self
            .client
            .list_record_sets(&h.id)
            .await
            .map_err(ProviderError::from)?;
        let mut sets = Vec::with_capacity(native.len());
        let mut by_key = HashMap::with_capacity(native.len());
        for n in native {
            let rs = convert::from_native(&n)
                .map_err(|e| other(format!("reading hosted zone {} ({}): {e}", h.name, h.id)))?;
            if by_key.insert(rs.key(), n).is_some() {
                return Err(other(format!(
                    "reading hosted zone {} ({}): record set {} came back twice",
                    h.name,
                    h.id,
                    rs.key()
                )));
            }
            sets.push(rs);
        }
        let zone = Zone::new(h.name.clone(), sets);
        lock(&self.last_read).insert(
            h.id.clone(),
            Arc::new(LastRead {
                zone: zone.clone(),
                native: by_key,
            }),
        );
        Ok(zone)
    }

    // -----------------------------------------------------------------------------------------
    // Changes
    // -----------------------------------------------------------------------------------------

    /// Check a change set and turn it into units (one per record set). Nothing is sent.
    fn prepare(&self, h: &Hosted, changes: &[Change]) -> Result<Vec<Unit>, ProviderError> {
        let last = lock(&self.last_read).get(&h.id).cloned();
        let origin = &h.name;
        let native_before = |before: &RecordSet| -> Result<ResourceRecordSet, ProviderError> {
            if let Some(last) = &last {
                if let (Some(seen), Some(n)) =
                    (last.zone.get(&before.key()), last.native.get(&before.key()))
                {
                    let mut b = before.clone();
                    b.normalize();
                    if *seen == b {
                        return Ok(n.clone());
                    }
                }
            }
            convert::to_native(before, origin)
        };
        let apex =
            |rs: &RecordSet| rs.name == *origin && matches!(rs.rtype, RType::SOA | RType::NS);
        let mut units = Vec::with_capacity(changes.len());
        for c in changes {
            let unit = match c {
                Change::Create { after } => {
                    if apex(after) || after.rtype == RType::SOA {
                        return Err(convert::invalid(
                            after,
                            "Route 53 creates the apex SOA and NS sets with the hosted zone; \
                             they can be updated, not created",
                        ));
                    }
                    Unit::new(
                        after.key(),
                        None,
                        Some(after.clone()),
                        vec![(ChangeAction::Create, convert::to_native(after, origin)?)],
                    )
                }
                Change::Delete { before } => {
                    if apex(before) {
                        return Err(convert::invalid(
                            before,
                            "the apex SOA and NS sets of a hosted zone cannot be deleted",
                        ));
                    }
                    Unit::new(
                        before.key(),
                        Some(before.clone()),
                        None,
                        vec![(ChangeAction::Delete, native_before(before)?)],
                    )
                }
                Change::Update { before, after } => {
                    if before.key() != after.key() {
                        return Err(convert::invalid(
                            after,
                            format!("an update cannot change the key (was {})", before.key()),
                        ));
                    }
                    let to = convert::to_native(after, origin)?;
                    if apex(after) {
                        // Route 53 refuses to delete these: replace in place.
                        Unit::new(
                            after.key(),
                            Some(before.clone()),
                            Some(after.clone()),
                            vec![(ChangeAction::Upsert, to)],
                        )
                    } else {
                        // DELETE with the exact current values, then CREATE: Route 53 refuses
                        // the batch if the set changed since it was read.
                        Unit::new(
                            after.key(),
                            Some(before.clone()),
                            Some(after.clone()),
                            vec![
                                (ChangeAction::Delete, native_before(before)?),
                                (ChangeAction::Create, to),
                            ],
                        )
                    }
                }
            }?;
            let max = self.config.max_batch_records;
            if unit.records > max || unit.chars > client::MAX_BATCH_VALUE_CHARS {
                let rs = c.record_set();
                return Err(convert::invalid(
                    rs,
                    format!(
                        "this change needs {} ResourceRecord elements and {} value characters \
                         (an update sends the old and the new set; UPSERT counts twice), more \
                         than one Route 53 change batch holds ({max} elements, {} characters)",
                        unit.records,
                        unit.chars,
                        client::MAX_BATCH_VALUE_CHARS
                    ),
                ));
            }
            units.push(unit);
        }
        check_zone_rules(origin, last.as_deref().map(|l| &l.zone), changes)?;
        Ok(units)
    }

    /// Send one batch; after an ambiguous failure, read the zone to see whether it landed
    /// before sending it again (so nothing is applied twice).
    async fn send_batch(&self, h: &Hosted, batch: &[Unit]) -> Result<Sent, ProviderError> {
        let changes: Vec<_> = batch.iter().flat_map(|u| u.changes.clone()).collect();
        let start = Instant::now();
        let mut attempt = 0u32;
        loop {
            match self
                .client
                .send_batch(&h.id, &changes, start, &mut attempt)
                .await
            {
                Ok(Ok(id)) => return Ok(Sent::Accepted(id)),
                Ok(Err(ambiguous)) => {
                    tracing::warn!(
                        zone = %h.name,
                        "change batch failed ({ambiguous}); checking whether it was applied"
                    );
                    let live = self.read_hosted(h).await?;
                    let state = batch_state(&live, batch);
                    match state {
                        BatchState::Applied => return Ok(Sent::AlreadyApplied),
                        BatchState::NotApplied => {
                            self.client
                                .backoff_after_ambiguous(&mut attempt, start, ambiguous)
                                .await
                                .map_err(ProviderError::from)?;
                        }
                        BatchState::Mixed(key) => {
                            return Err(other(format!(
                                "change batch for {} failed ({ambiguous}) and the zone now \
                                 matches neither the state before nor after it (at {key}); \
                                 re-plan",
                                h.name
                            )));
                        }
                    }
                }
                Err(e) => return Err(refused(e, batch)),
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn describe_zone(z: &HostedZone) -> String {
    let private = z.config().map(|c| c.private_zone()).unwrap_or(false);
    format!(
        "{} ({})",
        strip_zone_id(z.id()),
        if private { "private" } else { "public" }
    )
}

/// Counts a failed operation in `errors` (for [`Provider::client_stats`]).
fn counted<T>(
    errors: &std::sync::atomic::AtomicU64,
    r: Result<T, ProviderError>,
) -> Result<T, ProviderError> {
    if r.is_err() {
        errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    r
}

#[async_trait]
impl Provider for Route53 {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    async fn list_zones(&self) -> Result<Vec<ZoneRef>, ProviderError> {
        counted(&self.errors, self.list_zones_op().await)
    }

    async fn read_zone(&self, zone: &Name) -> Result<Zone, ProviderError> {
        counted(&self.errors, self.read_zone_op(zone).await)
    }

    async fn apply(&self, zone: &Name, changes: &[Change]) -> Result<ApplyReport, ProviderError> {
        counted(&self.errors, self.apply_op(zone, changes).await)
    }

    /// From [`CallStats`]: every HTTP attempt and the retries among them; errors are the
    /// operations (list, read, apply) that failed.
    fn client_stats(&self) -> Option<ClientStats> {
        let s = self.client.stats();
        Some(ClientStats {
            calls: s.total() as u64,
            errors: self.errors.load(std::sync::atomic::Ordering::Relaxed),
            retries: s.retries as u64,
        })
    }
}

/// The provider operations, counted by the `Provider` impl.
impl Route53 {
    async fn list_zones_op(&self) -> Result<Vec<ZoneRef>, ProviderError> {
        let zones = self
            .client
            .list_hosted_zones()
            .await
            .map_err(ProviderError::from)?;
        zones
            .iter()
            .map(|z| {
                Ok(ZoneRef {
                    name: convert::name_from_r53(z.name()).map_err(other)?,
                    id: strip_zone_id(z.id()).to_string(),
                })
            })
            .collect()
    }

    async fn read_zone_op(&self, zone: &Name) -> Result<Zone, ProviderError> {
        let before = self.client.stats();
        let h = self.resolve_name(zone).await?;
        let z = self.read_hosted(&h).await?;
        let after = self.client.stats();
        tracing::debug!(
            zone = %h.name,
            record_sets = z.record_sets.len(),
            // Saturating: `reset_stats` may run meanwhile; concurrent calls are included.
            list_pages = after.list_pages.saturating_sub(before.list_pages),
            api_calls = after.total().saturating_sub(before.total()),
            "read"
        );
        Ok(z)
    }

    async fn apply_op(
        &self,
        zone: &Name,
        changes: &[Change],
    ) -> Result<ApplyReport, ProviderError> {
        let h = self.resolve_name(zone).await?;
        if changes.is_empty() {
            return Ok(ApplyReport::default());
        }
        let writer = self.writer(&h.id);
        let _one_writer = writer.lock().await;
        let before = self.client.stats();
        let units = self.prepare(&h, changes)?;
        let batches = client::pack(units, self.config.max_batch_records);
        let n = batches.len();
        let mut ids = Vec::with_capacity(n);
        // Whatever happens from here, the last read no longer describes the zone.
        lock(&self.last_read).remove(&h.id);
        for (i, batch) in batches.iter().enumerate() {
            let sent = self.send_batch(&h, batch).await.map_err(|e| {
                if i == 0 {
                    e
                } else {
                    prefix_error(
                        e,
                        &format!(
                            "batch {} of {n} (batches 1 to {i} were applied; re-plan): ",
                            i + 1
                        ),
                    )
                }
            })?;
            lock(&self.last_read).remove(&h.id);
            if let Sent::Accepted(id) = sent {
                ids.push(id);
            }
        }
        for id in &ids {
            self.client
                .wait_insync(id)
                .await
                .map_err(ProviderError::from)?;
        }
        let after = self.client.stats();
        let api_calls = after.total().saturating_sub(before.total());
        tracing::info!(
            zone = %h.name,
            changes = changes.len(),
            batches = n,
            get_change_polls = after.get_change_polls.saturating_sub(before.get_change_polls),
            api_calls,
            "applied"
        );
        Ok(ApplyReport {
            batches: n,
            api_calls,
        })
    }
}

fn prefix_error(e: ProviderError, prefix: &str) -> ProviderError {
    match e {
        ProviderError::Invalid { record, message } => ProviderError::Invalid {
            record,
            message: format!("{prefix}{message}"),
        },
        ProviderError::Other(m) => ProviderError::Other(format!("{prefix}{m}")),
        other => other,
    }
}

#[cfg(test)]
mod tests;
