//! The provider trait and capabilities-as-data.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{Name, RType, RecordSet, Zone, field};

/// Whether a provider can do something, and if not, why (DNSControl's `Cannot("…")`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "supported", content = "reason")]
pub enum Support {
    #[serde(rename = "yes")]
    Yes,
    #[serde(rename = "no")]
    No(String),
}

impl Support {
    pub fn cannot(reason: impl Into<String>) -> Support {
        Support::No(reason.into())
    }
    pub fn is_yes(&self) -> bool {
        matches!(self, Support::Yes)
    }
}

impl Default for Support {
    fn default() -> Support {
        Support::No("not supported by this provider".into())
    }
}

/// The unit a provider writes: whole record sets (Route 53, the built-in server) or single
/// records (Cloudflare keeps one object per value; see `Plan::record_changes`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    #[default]
    RecordSet,
    Record,
}

/// What a provider can carry out. The planner checks a plan against these before any API call.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Capabilities {
    pub weighted: Support,
    pub failover: Support,
    pub alias: Support,
    pub latency: Support,
    pub geo: Support,
    pub multivalue: Support,
    pub comments: Support,
    pub tags: Support,
    pub proxied: Support,
    /// All changes of one apply land together or not at all.
    pub atomic_batches: Support,
    /// Largest number of changes in one batch (`None`: no limit).
    pub max_batch: Option<usize>,
    pub min_ttl: u32,
    /// The provider sets the SOA serial itself (the built-in server bumps it on every change):
    /// plans ignore serial-only SOA differences (`DiffOptions::provider_manages_soa_serial`).
    pub manages_soa_serial: bool,
    /// Record types the provider can hold.
    pub record_types: Vec<RType>,
    /// Whether the provider writes record sets or single records.
    pub granularity: Granularity,
    /// The record-set field that names a health check the provider consults per query (the
    /// built-in server leaves a weighted variant whose check is down out of its answers);
    /// `None`: the provider has no per-query health, steering is by weights alone.
    pub health_field: Option<&'static str>,
}

impl Capabilities {
    /// Refuse a record set this provider cannot hold, with the reason.
    pub fn check(&self, rs: &RecordSet) -> Result<(), ProviderError> {
        if !self.record_types.contains(&rs.rtype) {
            return Err(ProviderError::Unsupported {
                what: format!("{} records ({})", rs.rtype, rs.key()),
                reason: "the provider does not serve this type".into(),
            });
        }
        if rs.weight.is_some() {
            if let Support::No(reason) = &self.weighted {
                return Err(ProviderError::Unsupported {
                    what: format!("weighted record set {}", rs.key()),
                    reason: reason.clone(),
                });
            }
        }
        if rs.ttl < self.min_ttl {
            return Err(ProviderError::Unsupported {
                what: format!("TTL {} on {}", rs.ttl, rs.key()),
                reason: format!("the provider's minimum TTL is {}", self.min_ttl),
            });
        }
        let refuse = |support: &Support, what: &str| match support {
            Support::Yes => Ok(()),
            Support::No(reason) => Err(ProviderError::Unsupported {
                what: format!("{what} on {}", rs.key()),
                reason: reason.clone(),
            }),
        };
        for (key, support, what) in [
            (field::ALIAS, &self.alias, "an alias target (`alias`)"),
            (field::REGION, &self.latency, "latency routing (`region`)"),
            (field::GEO, &self.geo, "geolocation routing (`geo`)"),
            (
                field::GEOPROXIMITY,
                &self.geo,
                "geoproximity routing (`geoproximity`)",
            ),
            (
                field::FAILOVER,
                &self.failover,
                "failover routing (`failover`)",
            ),
            (
                field::MULTIVALUE,
                &self.multivalue,
                "multivalue routing (`multivalue`)",
            ),
        ] {
            if rs.fields.get(key).is_some_and(|v| !v.is_null()) {
                refuse(support, what)?;
            }
        }
        for v in &rs.values {
            let set = |key: &str| match v.fields.get(key) {
                None | Some(serde_json::Value::Null) | Some(serde_json::Value::Bool(false)) => {
                    false
                }
                Some(serde_json::Value::String(s)) => !s.is_empty(),
                Some(serde_json::Value::Array(a)) => !a.is_empty(),
                Some(_) => true,
            };
            if set(field::COMMENT) {
                refuse(&self.comments, "a record comment (`comment`)")?;
            }
            if set(field::TAGS) {
                refuse(&self.tags, "record tags (`tags`)")?;
            }
            if set(field::PROXIED) {
                refuse(&self.proxied, "proxying (`proxied`)")?;
            }
        }
        Ok(())
    }
}

/// Whether a change is served yet ([`Provider::wait_served`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Served {
    /// The provider is an API in front of someone else's servers.
    NotApplicable,
    /// Nothing is running that serves the zone from this provider's store.
    NoServer,
    /// `node` serves the zone at `serial` (the change's serial or later).
    Served { node: String, serial: u32 },
    /// `node` still serves `serial`, older than the change's `want`, after the timeout.
    Late {
        node: String,
        serial: u32,
        want: u32,
    },
}

/// A zone a provider holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZoneRef {
    pub name: Name,
    /// The provider's own id (hosted zone id, Cloudflare zone id); the name for the built-in.
    pub id: String,
}

/// One change of a change set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Change {
    Create { after: RecordSet },
    Update { before: RecordSet, after: RecordSet },
    Delete { before: RecordSet },
}

/// What a provider reports after applying a change set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    pub batches: usize,
    pub api_calls: usize,
}

/// A provider client's API traffic since it was opened, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ClientStats {
    /// HTTP requests sent (every attempt, retries included).
    pub calls: u64,
    /// Failed operations: requests that gave up (after their retries) or API errors.
    pub errors: u64,
    /// Attempts that were retries (included in `calls`).
    pub retries: u64,
}

/// Errors a provider returns.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("zone {0} not found")]
    ZoneNotFound(String),
    #[error("cannot apply {what}: {reason}")]
    Unsupported { what: String, reason: String },
    #[error("invalid record {record}: {message}")]
    Invalid { record: String, message: String },
    /// Throttled past the retries; `retry_after` when the provider said how long to wait.
    #[error("{message}")]
    RateLimited {
        retry_after: Option<std::time::Duration>,
        message: String,
    },
    /// The provider refused the credentials (a wrong, expired or under-privileged token).
    #[error("{0}")]
    Auth(String),
    /// The live zone is not what the change was planned against: someone else changed the
    /// record set since (nothing was applied; re-plan and review).
    #[error("conflict on {record}: {message}")]
    Conflict { record: String, message: String },
    /// No answer from the provider (connection refused or reset, timeout), after the retries
    /// that were safe.
    #[error("{0}")]
    Transport(String),
    #[error("{0}")]
    Other(String),
}

impl ProviderError {
    /// Whether the same call may succeed later unchanged (throttling, no answer): an actor
    /// may retry it; every other error needs a change first.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ProviderError::RateLimited { .. } | ProviderError::Transport(_)
        )
    }
}

impl From<crate::plan::ApplyError> for ProviderError {
    /// A change refused by [`crate::plan::apply_changes`] (the reference semantics): the
    /// record set it names and why.
    fn from(e: crate::plan::ApplyError) -> ProviderError {
        let record = e.key.to_string();
        let message = e.to_string();
        if e.stale {
            ProviderError::Conflict { record, message }
        } else {
            ProviderError::Invalid { record, message }
        }
    }
}

/// A DNS provider: lists zones, reads a zone into record sets, applies a change set.
/// Providers translate; the planner decides.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The configured name of this provider instance.
    fn name(&self) -> &str;
    fn capabilities(&self) -> &Capabilities;
    async fn list_zones(&self) -> Result<Vec<ZoneRef>, ProviderError>;
    async fn read_zone(&self, zone: &Name) -> Result<Zone, ProviderError>;
    async fn apply(&self, zone: &Name, changes: &[Change]) -> Result<ApplyReport, ProviderError>;

    /// The API traffic of this instance so far (`None`: the provider makes no API calls, or
    /// does not count them).
    /// After a change to `zone`: wait (up to `timeout`) until the server that answers for the
    /// zone serves it, and say who serves it at which serial. Providers that do not serve DNS
    /// themselves answer [`Served::NotApplicable`] at once.
    async fn wait_served(&self, zone: &Name, timeout: std::time::Duration) -> Served {
        let _ = (zone, timeout);
        Served::NotApplicable
    }

    fn client_stats(&self) -> Option<ClientStats> {
        None
    }
}
