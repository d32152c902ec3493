//! `[providers.NAME] type = "rfc2136"`: the provider's configuration.
//!
//! ```toml
//! [providers.bind]
//! type = "rfc2136"
//! server = "127.0.0.1:53"      # the primary: AXFR from it, UPDATE to it (TCP)
//! zones = ["corp.example."]    # RFC 2136 has no zone listing
//! key = "xfr"                  # the [tsig.NAME] key for UPDATE and AXFR
//! transfer_key = "xfr-read"    # optional: another key for AXFR
//! batch_size = 100             # changes per UPDATE message at most
//! timeout = "10s"              # per exchange
//! manages_soa_serial = true    # the server bumps the serial itself (BIND, Knot)
//! ```
//!
//! The key names refer to `[tsig.NAME]` tables; the application resolves them into keys (the
//! secrets never pass through here as text).

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

/// Changes in one UPDATE message by default.
pub const DEFAULT_BATCH_SIZE: usize = 100;

/// The provider's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rfc2136Config {
    /// The primary's address (port 53 unless given).
    pub server: SocketAddr,
    /// The zones this provider manages (absolute or not).
    pub zones: Vec<String>,
    /// The `[tsig.NAME]` key UPDATE (and AXFR, unless `transfer_key`) is signed with; `None`:
    /// unsigned (a server that takes nonsecure updates, e.g. Windows DNS without GSS-TSIG).
    #[serde(default)]
    pub key: Option<String>,
    /// Another `[tsig.NAME]` key for AXFR.
    #[serde(default)]
    pub transfer_key: Option<String>,
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// How long one exchange (an UPDATE and its answer, a whole AXFR) may take.
    #[serde(
        default = "default_timeout",
        deserialize_with = "switchback_api::duration::from_text"
    )]
    pub timeout: Duration,
    /// The server sets the SOA serial itself on every update (BIND's and Knot's default), so
    /// plans ignore serial-only SOA differences.
    #[serde(default = "default_true")]
    pub manages_soa_serial: bool,
}

fn default_batch_size() -> usize {
    DEFAULT_BATCH_SIZE
}
fn default_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_true() -> bool {
    true
}

impl Rfc2136Config {
    /// Check values serde cannot: a message that names the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.zones.is_empty() {
            return Err("zones: name at least one zone (RFC 2136 servers list none)".into());
        }
        if self.batch_size == 0 || self.batch_size > 1000 {
            return Err("batch_size: must be between 1 and 1000".into());
        }
        if self.timeout.is_zero() {
            return Err("timeout: must be more than 0s".into());
        }
        Ok(())
    }
}
