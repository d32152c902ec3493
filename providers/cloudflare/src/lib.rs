//! The Cloudflare API v4 provider: a thin client of its own on reqwest (rustls), not the
//! `cloudflare` crate (which cannot read zones holding CAA and other types, and has no PATCH,
//! batch, comments or tags: it cannot restore exactly).
//!
//! - [`config`]: `[providers.NAME] type = "cloudflare"`.
//! - [`client`]: requests, paging, pacing, retries; the token never leaves the header.
//! - [`convert`]: Cloudflare objects <-> the record model, for every type Cloudflare serves.
//!
//! Writes go through `POST /zones/{id}/dns_records/batch` (deletes, patches, puts, posts, run
//! in that order in one transaction), at most `batch_size` operations a batch: a change set
//! that fits one batch is one transaction. Where the batch endpoint is refused (older or
//! restricted accounts: 404/405/501, or 403 "not entitled"), single-record calls instead,
//! logged at WARN. Before writing, `apply` lists the zone: it finds the object ids and refuses a
//! change set whose `before` no longer matches the live zone (nothing is sent then). After
//! writing, every object Cloudflare returns is read back and compared with what was meant.
//!
//! Object ids are not part of the record model (they change when a record is re-created, and
//! would make every re-plan non-empty); [`Cloudflare::read_zone_with_ids`] gives them beside
//! the zone and [`id_changes`] maps a snapshot's ids to the ids after a restore.

pub mod client;
pub mod config;
pub mod convert;
mod settle;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use switchback_api::plan::{self, RecordChange};
use switchback_api::{
    ApplyReport, Capabilities, Change, Fields, Granularity, Name, Provider, ProviderError, RType,
    RecordSet, Support, Zone, ZoneRef,
};
use tracing::{info, warn};

pub use client::{RecordedRequest, Recorder, RetryPolicy, Secret};
pub use config::CloudflareConfig;

use client::{Client, ClientError, encode};
use convert::Parsed;
use settle::{Seen, holds, seen};

/// Records asked for per page when listing (Cloudflare allows up to 5,000,000; large pages keep
/// the number of requests low).
pub const PER_PAGE: usize = 5000;
/// Zones per page when listing zones (Cloudflare's maximum for `/zones`).
pub const ZONES_PER_PAGE: usize = 50;

/// One Cloudflare object id and the record it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordId {
    pub name: Name,
    #[serde(rename = "type")]
    pub rtype: RType,
    pub data: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: Fields,
    pub id: String,
}

/// Old id -> new id, for records equal in name, type, RDATA and fields whose object was
/// re-created (e.g. a snapshot's ids against the ids after restoring it).
pub fn id_changes(old: &[RecordId], new: &[RecordId]) -> Vec<(String, String)> {
    let key = |r: &RecordId| {
        (
            r.name.to_string(),
            r.rtype.0,
            r.data.clone(),
            serde_json::to_string(&r.fields).unwrap_or_default(),
        )
    };
    let mut fresh: HashMap<_, Vec<&RecordId>> = HashMap::new();
    for r in new {
        fresh.entry(key(r)).or_default().push(r);
    }
    let kept: std::collections::HashSet<&str> = new.iter().map(|r| r.id.as_str()).collect();
    let mut out = Vec::new();
    for r in old {
        if kept.contains(r.id.as_str()) {
            continue;
        }
        if let Some(list) = fresh.get_mut(&key(r)) {
            if let Some(pos) = list.iter().position(|n| !old.iter().any(|o| o.id == n.id)) {
                out.push((r.id.clone(), list.remove(pos).id.clone()));
            }
        }
    }
    out
}

/// The Cloudflare provider.
pub struct Cloudflare {
    name: String,
    config: CloudflareConfig,
    client: Client,
    caps: Capabilities,
    zone_ids: Mutex<HashMap<Name, (String, Name)>>,
    batch_refused: AtomicBool,
}

impl std::fmt::Debug for Cloudflare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cloudflare")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

fn err(e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Other(e.to_string())
}

impl From<ClientError> for ProviderError {
    /// A failed call, classified: throttled, credentials refused, no answer, or other.
    fn from(e: ClientError) -> ProviderError {
        match &e {
            ClientError::Throttled { retry_after, .. } => ProviderError::RateLimited {
                retry_after: Some(*retry_after),
                message: e.to_string(),
            },
            ClientError::Api {
                status: 401 | 403, ..
            } => ProviderError::Auth(e.to_string()),
            ClientError::Transport { .. } => ProviderError::Transport(e.to_string()),
            _ => ProviderError::Other(e.to_string()),
        }
    }
}

/// One write: what it does, to which record, and the body.
struct Op {
    kind: OpKind,
    /// The one-value record it writes (after) or removes (before).
    record: RecordSet,
    id: Option<String>,
    body: Option<Value>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum OpKind {
    Delete,
    Patch,
    Post,
}

impl Op {
    fn label(&self) -> String {
        let v = self
            .record
            .values
            .first()
            .map(|v| v.data.as_str())
            .unwrap_or("");
        format!("{} {v}", self.record.key())
    }
}

/// What a Cloudflare provider with `config` can carry out (also known before one is built:
/// config checks).
pub fn capabilities(config: &CloudflareConfig) -> Capabilities {
    Capabilities {
        weighted: Support::cannot(
            "Cloudflare DNS has no weighted records (traffic steering by weights needs \
             Cloudflare Load Balancing pools, not supported yet); use steering = \"failover\"",
        ),
        failover: Support::cannot("Cloudflare DNS has no failover records"),
        alias: Support::cannot(
            "Cloudflare has no alias records (CNAME flattening is the `settings` field)",
        ),
        latency: Support::cannot("Cloudflare DNS has no latency-based records"),
        geo: Support::cannot("Cloudflare DNS has no geolocation records"),
        multivalue: Support::cannot("Cloudflare DNS has no multivalue answer records"),
        comments: Support::Yes,
        tags: Support::Yes,
        proxied: Support::Yes,
        atomic_batches: Support::Yes,
        max_batch: Some(config.batch_size),
        // 1 is "automatic"; 2..29 are refused by `apply` before anything is sent.
        min_ttl: 1,
        manages_soa_serial: true,
        record_types: convert::TYPES.to_vec(),
        granularity: Granularity::Record,
        health_field: None,
    }
}

impl Cloudflare {
    /// The provider named `name` (the `[providers.NAME]` key), reading the token from the
    /// environment variable `config.token_env`. An absent or empty variable is an error that
    /// names the variable.
    pub fn new(name: &str, config: CloudflareConfig) -> Result<Cloudflare, ProviderError> {
        Cloudflare::new_with_env(name, config, |k| std::env::var(k).ok())
    }

    /// As [`Cloudflare::new`], with the environment given as a lookup function.
    pub fn new_with_env(
        name: &str,
        config: CloudflareConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Cloudflare, ProviderError> {
        let var = config.token_env.clone();
        let token = env(&var).filter(|t| !t.trim().is_empty()).ok_or_else(|| {
            err(format!(
                "provider {name}: the environment variable {var} (token_env) holding the \
                 Cloudflare API token is not set or empty"
            ))
        })?;
        Cloudflare::with_token(name, config, Secret::new(token.trim()))
    }

    /// The provider with a token given directly.
    pub fn with_token(
        name: &str,
        config: CloudflareConfig,
        token: Secret,
    ) -> Result<Cloudflare, ProviderError> {
        config
            .validate()
            .map_err(|e| err(format!("provider {name}: {e}")))?;
        let client = Client::new(
            &config.endpoint,
            &token,
            config.rate,
            config::RATE_WINDOW,
            RetryPolicy {
                throttle_budget: config.throttle_budget,
                ..RetryPolicy::default()
            },
        )
        .map_err(|e| err(format!("provider {name}: {e}")))?;
        let caps = capabilities(&config);
        Ok(Cloudflare {
            name: name.to_string(),
            config,
            client,
            caps,
            zone_ids: Mutex::new(HashMap::new()),
            batch_refused: AtomicBool::new(false),
        })
    }

    /// Retry limits (tests shorten them).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Cloudflare {
        self.client.set_retry(retry);
        self
    }

    /// Record every request (method, path, body; never the token) into `recorder`.
    pub fn with_recorder(mut self, recorder: Recorder) -> Cloudflare {
        self.client.set_recorder(recorder);
        self
    }

    /// Restrict the record types listed in the capabilities (the conformance battery has no
    /// sample values for LOC and CERT).
    pub fn with_record_types(mut self, types: Vec<RType>) -> Cloudflare {
        self.caps.record_types = types;
        self
    }

    /// The record types listed in the capabilities.
    pub fn capabilities_types(&self) -> Vec<RType> {
        self.caps.record_types.clone()
    }

    pub fn config(&self) -> &CloudflareConfig {
        &self.config
    }

    /// Requests sent so far (every page, batch and retry counts).
    pub fn api_calls(&self) -> usize {
        self.client.calls()
    }

    /// Whether the batch endpoint was refused and writes now go record by record.
    pub fn batch_refused(&self) -> bool {
        self.batch_refused.load(Ordering::SeqCst)
    }

    /// Cloudflare's zone id and the zone's name, for a zone given by name, or by its id
    /// written as a one-label name (`023e105f4ecef8ad9ca31a8372d0c353.`).
    pub async fn zone_id(&self, zone: &Name) -> Result<(String, Name), ProviderError> {
        if let Some(hit) = self.lock_ids().get(zone) {
            return Ok(hit.clone());
        }
        let text = convert::undotted(&zone.to_string());
        let by_id = zone.label_count() == 1
            && text.len() == 32
            && text.bytes().all(|b| b.is_ascii_hexdigit());
        let found = if by_id {
            match self
                .client
                .call(Method::GET, &format!("/zones/{text}"), None)
                .await
            {
                Ok(v) => Some(zone_ref(&v["result"])?),
                Err(ClientError::Api { status: 404, .. }) => None,
                Err(e) => return Err(e.into()),
            }
        } else {
            let mut path = format!("/zones?name={}", encode(&text));
            if let Some(a) = &self.config.account_id {
                path.push_str(&format!("&account.id={}", encode(a)));
            }
            let v = self
                .client
                .call(Method::GET, &path, None)
                .await
                .map_err(ProviderError::from)?;
            match v["result"].as_array().and_then(|a| a.first()) {
                Some(z) => Some(zone_ref(z)?),
                None => None,
            }
        };
        let (id, name) = found.ok_or_else(|| ProviderError::ZoneNotFound(zone.to_string()))?;
        self.lock_ids()
            .insert(zone.clone(), (id.clone(), name.clone()));
        Ok((id, name))
    }

    fn lock_ids(&self) -> std::sync::MutexGuard<'_, HashMap<Name, (String, Name)>> {
        self.zone_ids.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn list(&self, zone_id: &str) -> Result<Vec<Parsed>, ProviderError> {
        let (objects, _) = self
            .client
            .get_all(&format!("/zones/{zone_id}/dns_records"), PER_PAGE)
            .await
            .map_err(ProviderError::from)?;
        let mut out = Vec::with_capacity(objects.len());
        let mut bad = Vec::new();
        for o in &objects {
            match convert::from_native(o) {
                Ok(p) => out.push(p),
                Err(e) => bad.push(e),
            }
        }
        if !bad.is_empty() {
            let more = if bad.len() > 5 {
                format!(" (and {} more)", bad.len() - 5)
            } else {
                String::new()
            };
            bad.truncate(5);
            return Err(err(format!(
                "cannot read the zone exactly: {}{more}",
                bad.join("; ")
            )));
        }
        Ok(out)
    }

    /// The zone and the id of every object in it.
    pub async fn read_zone_with_ids(
        &self,
        zone: &Name,
    ) -> Result<(Zone, Vec<RecordId>), ProviderError> {
        let (id, origin) = self.zone_id(zone).await?;
        let objects = self.list(&id).await?;
        let ids = objects
            .iter()
            .map(|p| RecordId {
                name: p.name.clone(),
                rtype: p.rtype,
                data: p.data.clone(),
                fields: p.fields.clone(),
                id: p.id.clone(),
            })
            .collect();
        Ok((Zone::new(origin, convert::group(&objects)), ids))
    }

    /// Send the writes: in batches while the batch endpoint is available, else one by one.
    /// Returns the number of batches.
    async fn send(&self, zone_id: &str, ops: &[Op]) -> Result<usize, ProviderError> {
        let mut batches = 0;
        let mut done = 0;
        if !self.batch_refused() {
            for chunk in ops.chunks(self.config.batch_size) {
                match self.send_batch_settled(zone_id, chunk).await {
                    Ok(()) => {
                        batches += 1;
                        done += chunk.len();
                    }
                    Err(e) if e.is_batch_refusal() => {
                        warn!(provider = %self.name, error = %e,
                            "Cloudflare refused the batch endpoint; falling back to \
                             single-record calls (not atomic)");
                        self.batch_refused.store(true, Ordering::SeqCst);
                        break;
                    }
                    Err(e) => return Err(batch_error(e, chunk, done > 0)),
                }
            }
        }
        if done < ops.len() {
            info!(provider = %self.name, operations = ops.len() - done,
                "Cloudflare: writing record by record");
            for op in &ops[done..] {
                self.send_single(zone_id, op).await?;
            }
        }
        Ok(batches)
    }

    async fn send_batch(&self, zone_id: &str, ops: &[Op]) -> Result<(), ClientError> {
        let mut deletes = Vec::new();
        let mut patches = Vec::new();
        let mut posts = Vec::new();
        let mut patch_ops = Vec::new();
        let mut post_ops = Vec::new();
        for op in ops {
            match op.kind {
                OpKind::Delete => deletes.push(json!({"id": op.id})),
                OpKind::Patch => {
                    let mut b = op.body.clone().unwrap_or_default();
                    b["id"] = json!(op.id);
                    patches.push(b);
                    patch_ops.push(op);
                }
                OpKind::Post => {
                    posts.push(op.body.clone().unwrap_or_default());
                    post_ops.push(op);
                }
            }
        }
        let mut body = serde_json::Map::new();
        for (k, v) in [("deletes", deletes), ("patches", patches), ("posts", posts)] {
            if !v.is_empty() {
                body.insert(k.into(), Value::Array(v));
            }
        }
        let v = self
            .client
            .call(
                Method::POST,
                &format!("/zones/{zone_id}/dns_records/batch"),
                Some(&Value::Object(body)),
            )
            .await?;
        for (key, list) in [("patches", &patch_ops), ("posts", &post_ops)] {
            if let Some(Value::Array(got)) = v["result"].get(key) {
                for (op, o) in list.iter().zip(got) {
                    if let Err(e) = verify(op, o) {
                        warn!(provider = %self.name, "{e}");
                        return Err(ClientError::Decode {
                            method: "POST".into(),
                            path: format!("/zones/{zone_id}/dns_records/batch"),
                            message: e,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    async fn send_single(&self, zone_id: &str, op: &Op) -> Result<(), ProviderError> {
        let base = format!("/zones/{zone_id}/dns_records");
        let r = match op.kind {
            OpKind::Delete => {
                let id = op.id.as_deref().unwrap_or_default();
                self.client
                    .call(Method::DELETE, &format!("{base}/{id}"), None)
                    .await
            }
            OpKind::Patch => {
                let id = op.id.as_deref().unwrap_or_default();
                self.client
                    .call(Method::PATCH, &format!("{base}/{id}"), op.body.as_ref())
                    .await
            }
            OpKind::Post => {
                match self
                    .client
                    .call(Method::POST, &base, op.body.as_ref())
                    .await
                {
                    // Unknown whether it was created: the zone says.
                    Err(e) if e.maybe_applied() => {
                        let live = self.list(zone_id).await?;
                        match seen(std::slice::from_ref(op), &live) {
                            Seen::All => return Ok(()),
                            Seen::None => {
                                self.client
                                    .call(Method::POST, &base, op.body.as_ref())
                                    .await
                            }
                            Seen::Part(_) => Err(e),
                        }
                    }
                    r => r,
                }
            }
        };
        let v = r.map_err(|e| ProviderError::Invalid {
            record: op.label(),
            message: e.to_string(),
        })?;
        if op.kind != OpKind::Delete {
            verify(op, &v["result"]).map_err(|message| ProviderError::Invalid {
                record: op.label(),
                message,
            })?;
        }
        Ok(())
    }
}

/// The object Cloudflare returned for a write holds what was meant.
fn verify(op: &Op, got: &Value) -> Result<(), String> {
    let p = convert::from_native(got).map_err(|e| format!("reading back {}: {e}", op.label()))?;
    if holds(op, &p).is_err() {
        return Err(format!(
            "Cloudflare stored {} as {} {} ttl {} {}, not as written",
            op.label(),
            p.name,
            p.data,
            p.ttl,
            serde_json::to_string(&p.fields).unwrap_or_default()
        ));
    }
    Ok(())
}

fn zone_ref(v: &Value) -> Result<(String, Name), ProviderError> {
    let id = v["id"].as_str().unwrap_or_default().to_string();
    let name = v["name"].as_str().unwrap_or_default();
    let name = Name::parse(&format!("{}.", name.trim_end_matches('.')), None)
        .map_err(|e| err(format!("Cloudflare zone {id} has a bad name {name:?}: {e}")))?;
    if id.is_empty() {
        return Err(err(format!("Cloudflare zone {name} has no id")));
    }
    Ok((id, name))
}

/// A refused batch, naming the record Cloudflare's message names (or the batch's records).
fn batch_error(e: ClientError, chunk: &[Op], earlier_applied: bool) -> ProviderError {
    let text = e
        .api_messages()
        .iter()
        .map(|m| m.message.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let named: Vec<String> = chunk
        .iter()
        .filter(|op| {
            let n = convert::cf_name(&op.record.name);
            !n.is_empty() && text.contains(&n)
        })
        .map(Op::label)
        .collect();
    let record = if !named.is_empty() {
        named.join(", ")
    } else {
        let mut l: Vec<String> = chunk.iter().take(5).map(Op::label).collect();
        if chunk.len() > 5 {
            l.push(format!("and {} more", chunk.len() - 5));
        }
        format!("one of {}", l.join(", "))
    };
    let state = match (e.maybe_applied(), earlier_applied) {
        (true, true) => "earlier batches of this apply were applied; this one may have been",
        (true, false) => "it may have been applied",
        (false, true) => "earlier batches of this apply were applied; this one was not",
        (false, false) => "nothing of it was applied",
    };
    ProviderError::Invalid {
        record,
        message: format!("{e} ({state})"),
    }
}

#[async_trait]
impl Provider for Cloudflare {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    async fn list_zones(&self) -> Result<Vec<ZoneRef>, ProviderError> {
        let mut path = "/zones".to_string();
        if let Some(a) = &self.config.account_id {
            path.push_str(&format!("?account.id={}", encode(a)));
        }
        let (zones, _) = self
            .client
            .get_all(&path, ZONES_PER_PAGE)
            .await
            .map_err(ProviderError::from)?;
        let mut out = Vec::new();
        for z in &zones {
            let (id, name) = zone_ref(z)?;
            out.push(ZoneRef { name, id });
        }
        Ok(out)
    }

    async fn read_zone(&self, zone: &Name) -> Result<Zone, ProviderError> {
        Ok(self.read_zone_with_ids(zone).await?.0)
    }

    /// From the client: requests sent (retries included), the retries, and requests that
    /// failed after their retries.
    fn client_stats(&self) -> Option<switchback_api::provider::ClientStats> {
        Some(switchback_api::provider::ClientStats {
            calls: self.client.calls() as u64,
            errors: self.client.errors() as u64,
            retries: self.client.retries() as u64,
        })
    }

    async fn apply(&self, zone: &Name, changes: &[Change]) -> Result<ApplyReport, ProviderError> {
        if changes.is_empty() {
            return Ok(ApplyReport::default());
        }
        let calls_before = self.client.calls();
        // 1. Everything is checked before the first request.
        for c in changes {
            if let Some(after) = c.after() {
                convert::check_set(after).map_err(|message| ProviderError::Invalid {
                    record: after.key().to_string(),
                    message,
                })?;
            }
        }
        // 2. The live zone: ids, and the check that every `before` still holds.
        let (zone_id, origin) = self.zone_id(zone).await?;
        let live = self.list(&zone_id).await?;
        let live_zone = Zone::new(origin.clone(), convert::group(&live));
        for c in changes {
            let key = c.key();
            if !key.name.is_subdomain_of(&origin) {
                return Err(ProviderError::Invalid {
                    record: key.to_string(),
                    message: format!("the name is outside the zone {origin}"),
                });
            }
        }
        // Every `before` still live, every created set still absent (the reference rules).
        plan::check_live(&live_zone, changes).map_err(|e| {
            let record = e.key.to_string();
            let message = format!("{}; nothing was changed (re-plan and review)", e.reason);
            if e.stale {
                ProviderError::Conflict { record, message }
            } else {
                ProviderError::Invalid { record, message }
            }
        })?;
        let mut ids: HashMap<(String, u16, String, String), Vec<String>> = HashMap::new();
        for p in &live {
            let mut f = p.fields.clone();
            f.remove("ttl");
            ids.entry((
                p.name.to_string(),
                p.rtype.0,
                p.data.clone(),
                serde_json::to_string(&(p.ttl, &f)).unwrap_or_default(),
            ))
            .or_default()
            .push(p.id.clone());
        }
        let mut take_id = |rs: &RecordSet| -> Result<String, ProviderError> {
            let v = &rs.values[0];
            let (ttl, f) = convert::expected(rs, v).map_err(err)?;
            let k = (
                rs.name.to_string(),
                rs.rtype.0,
                v.data.clone(),
                serde_json::to_string(&(ttl, &f)).unwrap_or_default(),
            );
            ids.get_mut(&k)
                .and_then(Vec::pop)
                .ok_or_else(|| ProviderError::Invalid {
                    record: format!("{} {}", rs.key(), v.data),
                    message: "no live Cloudflare object holds this record".into(),
                })
        };
        // 3. Record-level operations, in the batch's own order: deletes, patches, posts.
        let mut deletes = Vec::new();
        let mut patches = Vec::new();
        let mut posts = Vec::new();
        for rc in plan::record_changes(changes) {
            match rc {
                RecordChange::Keep { .. } => {}
                RecordChange::Remove { before } => deletes.push(Op {
                    kind: OpKind::Delete,
                    id: Some(take_id(&before)?),
                    record: before,
                    body: None,
                }),
                RecordChange::Update { before, after } => {
                    let body = convert::to_native(&after, &after.values[0], true).map_err(err)?;
                    patches.push(Op {
                        kind: OpKind::Patch,
                        id: Some(take_id(&before)?),
                        record: after,
                        body: Some(body),
                    });
                }
                RecordChange::Add { after } => {
                    let body = convert::to_native(&after, &after.values[0], false).map_err(err)?;
                    posts.push(Op {
                        kind: OpKind::Post,
                        id: None,
                        record: after,
                        body: Some(body),
                    });
                }
            }
        }
        let mut ops = deletes;
        ops.extend(patches);
        ops.extend(posts);
        // 4. Write.
        let batches = self.send(&zone_id, &ops).await?;
        Ok(ApplyReport {
            batches,
            api_calls: self.client.calls() - calls_before,
        })
    }
}
