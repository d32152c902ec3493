//! The defaults of `switchback.toml`'s keys (DESIGN.md "Configuration"), and how
//! `[server] state` is read.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;
use switchback_sql::Location;

use super::ServerConfig;

pub(super) fn default_stages() -> Vec<u32> {
    vec![10, 50, 100]
}
pub(super) fn default_soak() -> String {
    "5m".into()
}
pub(super) fn default_hold_down() -> String {
    "10m".into()
}
pub(super) fn default_cutover_ttl() -> u32 {
    60
}
pub(super) fn default_drill_soak() -> String {
    "0s".into()
}
pub(super) fn default_dns() -> Vec<SocketAddr> {
    vec![SocketAddr::from(([127, 0, 0, 1], 5353))]
}
pub(super) fn default_api() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8053))
}
pub(super) fn default_zones() -> PathBuf {
    PathBuf::from("zones")
}
pub(super) fn default_state() -> Location {
    Location::Sqlite(PathBuf::from(".switchback/state.db"))
}

/// `[server] state`: a path or a `postgres://` URL (whose password may come from
/// `PGPASSWORD` or a password file; never from the config's text into a message).
pub(super) fn state_location<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Location, D::Error> {
    let text = String::deserialize(d)?;
    Location::parse(&text, |k| std::env::var(k).ok()).map_err(serde::de::Error::custom)
}
pub(super) fn default_slip() -> u32 {
    2
}
pub(super) fn default_enabled() -> bool {
    true
}
pub(super) fn default_rrl_rate() -> u32 {
    200
}
pub(super) fn default_tcp_per_client() -> usize {
    16
}
pub(super) fn default_tcp_max() -> usize {
    512
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            dns: default_dns(),
            api: default_api(),
            zones: default_zones(),
            state: default_state(),
            allow_transfer: Vec::new(),
            notify: Vec::new(),
            allow_update: Vec::new(),
            zone: BTreeMap::new(),
            notify_key: None,
            udp_workers: None,
            rrl: None,
            node: None,
            quorum: None,
            catalog: None,
            tcp_per_client: default_tcp_per_client(),
            tcp_max: default_tcp_max(),
            dnssec: Vec::new(),
            dnssec_algorithm: None,
        }
    }
}
