//! The RFC 2136 provider: any primary that takes dynamic updates (BIND 9, Knot DNS, PowerDNS,
//! Windows DNS with nonsecure updates), read by AXFR and written by UPDATE, both signed with
//! TSIG (RFC 8945) when a key is configured.
//!
//! - Zones come from config (RFC 2136 has no zone listing).
//! - A read is one AXFR; an apply is one AXFR (every `before` checked against it, TTLs
//!   included, which RFC 2136 prerequisites do not compare) and one UPDATE message per at most
//!   `batch_size` changes, each with prerequisites that the planned-against values are still
//!   there (see [`convert::update`]): a record someone else changed fails the message (a
//!   conflict), it is never overwritten. A message is atomic on BIND, Knot and PowerDNS; several messages are
//!   not (declared: the plan says so before it is confirmed).
//! - No weights, no routing policies, no per-record fields: RFC 2136 servers hold plain
//!   RRsets; a weighted cutover on this provider is refused at config load.

pub mod client;
pub mod config;
pub mod convert;

use async_trait::async_trait;
use switchback_api::provider::ClientStats;
use switchback_api::tsig::Key;
use switchback_api::{
    ApplyReport, Capabilities, Change, Granularity, Name, Provider, ProviderError, Support, Zone,
    ZoneRef,
};
use tracing::info;

pub use client::Client;
pub use config::Rfc2136Config;

/// What an RFC 2136 primary can carry out.
pub fn capabilities(config: &Rfc2136Config) -> Capabilities {
    let plain = |what: &str| {
        Support::cannot(format!(
            "RFC 2136 servers hold plain record sets: no {what} (use steering = \"failover\")"
        ))
    };
    Capabilities {
        weighted: plain("weights"),
        failover: Support::Yes,
        alias: Support::cannot("RFC 2136 has no alias records; use CNAME"),
        latency: plain("latency routing"),
        geo: plain("geolocation routing"),
        multivalue: plain("multivalue routing"),
        comments: Support::cannot("DNS records carry no comments"),
        tags: Support::cannot("DNS records carry no tags"),
        proxied: Support::cannot("proxying is a Cloudflare feature"),
        // One UPDATE message is applied whole or not at all (RFC 2136 §3.2: prerequisites,
        // then every update, as one transaction on BIND, Knot and PowerDNS).
        atomic_batches: Support::Yes,
        max_batch: Some(config.batch_size),
        min_ttl: 0,
        manages_soa_serial: config.manages_soa_serial,
        record_types: switchback_api::rtype::ZONE_TYPES.to_vec(),
        granularity: Granularity::RecordSet,
        health_field: None,
    }
}

/// A provider on one RFC 2136 primary.
#[derive(Debug)]
pub struct Rfc2136 {
    name: String,
    config: Rfc2136Config,
    zones: Vec<Name>,
    client: Client,
    caps: Capabilities,
}

impl Rfc2136 {
    /// `key` signs UPDATE (and AXFR unless `transfer_key`); both resolved by the application
    /// from `[tsig.NAME]`.
    pub fn new(
        name: &str,
        config: Rfc2136Config,
        key: Option<Key>,
        transfer_key: Option<Key>,
    ) -> Result<Rfc2136, ProviderError> {
        config
            .validate()
            .map_err(|e| ProviderError::Other(format!("provider {name}: {e}")))?;
        let zones = config
            .zones
            .iter()
            .map(|z| {
                let abs = if z.ends_with('.') {
                    z.clone()
                } else {
                    format!("{z}.")
                };
                Name::parse(&abs, None).map_err(|e| {
                    ProviderError::Other(format!("provider {name}: zones: {z:?}: {e}"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let client = Client::new(config.server, config.timeout, key, transfer_key);
        Ok(Rfc2136 {
            name: name.to_string(),
            caps: capabilities(&config),
            config,
            zones,
            client,
        })
    }

    fn zone(&self, zone: &Name) -> Result<&Name, ProviderError> {
        self.zones
            .iter()
            .find(|z| *z == zone)
            .ok_or_else(|| ProviderError::ZoneNotFound(zone.to_string()))
    }
}

#[async_trait]
impl Provider for Rfc2136 {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    async fn list_zones(&self) -> Result<Vec<ZoneRef>, ProviderError> {
        Ok(self
            .zones
            .iter()
            .map(|z| ZoneRef {
                name: z.clone(),
                id: z.to_string(),
            })
            .collect())
    }

    async fn read_zone(&self, zone: &Name) -> Result<Zone, ProviderError> {
        let zone = self.zone(zone)?;
        let records = self.client.axfr(zone).await?;
        convert::to_zone(zone, &records)
    }

    async fn apply(&self, zone: &Name, changes: &[Change]) -> Result<ApplyReport, ProviderError> {
        let zone = self.zone(zone)?;
        for c in changes {
            if let Some(after) = c.after() {
                self.caps.check(after)?;
            }
        }
        // Encode every message before sending the first: a value that does not encode stops
        // the apply with nothing sent.
        let messages = changes
            .chunks(self.config.batch_size)
            .map(|chunk| convert::update(rand::random(), zone, chunk))
            .collect::<Result<Vec<_>, _>>()?;
        // RFC 2136 prerequisites compare values, not TTLs (§2.4.2): check the whole `before`,
        // TTLs included, against a fresh read first (the shared reference rules), then let the
        // prerequisites guard the values up to the moment the server applies the message.
        let live = convert::to_zone(zone, &self.client.axfr(zone).await?)?;
        switchback_api::plan::check_live(&live, changes).map_err(ProviderError::from)?;
        let mut report = ApplyReport {
            api_calls: 1,
            ..ApplyReport::default()
        };
        for (i, m) in messages.into_iter().enumerate() {
            self.client.update(zone, m).await.map_err(|e| match e {
                // Earlier messages stay applied: say so.
                ProviderError::Conflict { record, message } if i > 0 => ProviderError::Conflict {
                    record,
                    message: format!("{message}; the {i} message(s) before it were applied"),
                },
                other => other,
            })?;
            report.batches += 1;
            report.api_calls += 1;
        }
        info!(provider = %self.name, %zone, changes = changes.len(), messages = report.batches, "UPDATE applied");
        Ok(report)
    }

    fn client_stats(&self) -> Option<ClientStats> {
        Some(self.client.stats())
    }
}
