//! `switchback.toml`: the schema, its defaults and its validation. Unknown keys and bad
//! values are errors that name the key.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use switchback_builtin::rrl::RrlConfig;
use switchback_sql::Location;

pub mod access;
mod cutover;
mod defaults;
pub mod notify;
pub mod providers;
pub mod tsig;

pub use cutover::{Cutover, CutoverConfig, CutoverRecord, CutoverRecordConfig, Steering, ZoneKey};

use defaults::*;

use providers::ProviderSettings;

/// Errors reading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: {key}: {message}")]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
}

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub api: ApiConfig,
    /// `[providers.NAME]` as written; checked into [`Config::providers`] at load time.
    #[serde(default, rename = "providers")]
    raw_providers: BTreeMap<String, toml::Table>,
    /// `[providers.NAME]`, typed: one variant per provider type.
    #[serde(skip)]
    pub providers: BTreeMap<String, ProviderSettings>,
    /// `[tsig.NAME]`: TSIG keys, by name ([`tsig`]).
    #[serde(default)]
    pub tsig: BTreeMap<String, tsig::TsigSection>,
    /// `[[cutover]]`: the cutovers, in file order (see [`crate::config::CutoverConfig`]).
    #[serde(default, rename = "cutover")]
    pub cutovers: Vec<CutoverConfig>,
    /// `[[notify]]`: where events are sent ([`notify`]).
    #[serde(default)]
    pub notify: Vec<notify::NotifyConfig>,
    /// Where the file was read from (relative paths in it are relative to its folder).
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    #[serde(default = "default_dns")]
    pub dns: Vec<SocketAddr>,
    #[serde(default = "default_api")]
    pub api: SocketAddr,
    #[serde(default = "default_zones")]
    pub zones: PathBuf,
    /// The state store: a SQLite file (relative to the config's folder), or a
    /// `postgres://` URL that several instances share.
    #[serde(default = "default_state", deserialize_with = "state_location")]
    pub state: Location,
    /// Who may AXFR/IXFR: addresses, CIDRs and `"key:NAME"` (a `[tsig.NAME]` key).
    #[serde(default)]
    pub allow_transfer: Vec<String>,
    #[serde(default)]
    pub notify: Vec<SocketAddr>,
    /// Who may send RFC 2136 UPDATEs: addresses, CIDRs and `"key:NAME"` (default: nobody).
    #[serde(default)]
    pub allow_update: Vec<String>,
    /// `[server.zone."NAME"]`: settings of one served zone that override the server-wide ones.
    #[serde(default)]
    pub zone: BTreeMap<String, ZoneSection>,
    /// The `[tsig.NAME]` key NOTIFY messages are signed with.
    #[serde(default)]
    pub notify_key: Option<String>,
    /// UDP worker threads (SO_REUSEPORT sockets) per listener; default: one per CPU.
    #[serde(default)]
    pub udp_workers: Option<usize>,
    #[serde(default)]
    pub rrl: Option<RrlSection>,
    /// This instance's name in leases and on the status page (default: the host name).
    #[serde(default)]
    pub node: Option<String>,
    /// How many `serve` instances on a shared store must see a primary down before the
    /// leader fails it over (default: the leader's view alone).
    #[serde(default)]
    pub quorum: Option<usize>,
    /// The RFC 9432 catalog zone the built-in server serves, listing every other zone.
    #[serde(default)]
    pub catalog: Option<String>,
    /// TCP connections per client address, at most (default 16).
    #[serde(default = "default_tcp_per_client")]
    pub tcp_per_client: usize,
    /// TCP connections in all, at most (default 512).
    #[serde(default = "default_tcp_max")]
    pub tcp_max: usize,
    /// Zones the built-in server signs (DNSSEC, keys in the state store).
    #[serde(default)]
    pub dnssec: Vec<String>,
    /// The signing algorithm of new keys: `ecdsap256sha256` (default) or `ed25519`.
    #[serde(default)]
    pub dnssec_algorithm: Option<String>,
}

/// `[server.zone."example.com"]`: one zone's own settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneSection {
    /// Who may update this zone, instead of `[server] allow_update`.
    pub allow_update: Option<Vec<String>>,
}

/// `[server] rrl = { responses_per_second = 200, slip = 2, exempt = ["127.0.0.0/8", "::1/128"] }`
/// (on by default with these values; `enabled = false` turns it off).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RrlSection {
    #[serde(default = "default_enabled")]
    pub enabled: bool,
    #[serde(default = "default_rrl_rate")]
    pub responses_per_second: u32,
    #[serde(default = "default_slip")]
    pub slip: u32,
    /// Sources never limited (addresses or CIDRs).
    #[serde(default)]
    pub exempt: Option<Vec<String>>,
}

/// `[api]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    pub token_env: Option<String>,
    pub webhook_secret_env: Option<String>,
    /// Requests per second per client (IP) before 429 (default 20).
    pub rate_per_second: Option<u32>,
    /// Requests a client may send at once above the rate (default 100).
    pub burst: Option<u32>,
    /// How long a hook's request waits for its work before answering 202 with the run id
    /// (default 1s; between 100ms and 5min).
    pub hook_wait: Option<String>,
}

impl ApiConfig {
    /// `hook_wait`, checked.
    pub fn hook_wait(&self) -> Result<Option<std::time::Duration>, String> {
        let Some(v) = &self.hook_wait else {
            return Ok(None);
        };
        let d = crate::duration::parse_duration(v)?;
        if d < std::time::Duration::from_millis(100) || d > std::time::Duration::from_secs(300) {
            return Err(format!("{v:?} is outside 100ms..5min"));
        }
        Ok(Some(d))
    }
}

/// The default config file, read when `-c` is not given and it exists.
pub const DEFAULT_PATH: &str = "switchback.toml";

impl Config {
    /// Read `path`, or `switchback.toml` when present, or the built-in defaults.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None if Path::new(DEFAULT_PATH).exists() => PathBuf::from(DEFAULT_PATH),
            None => return Ok(Config::default()),
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        Config::parse(&text, &path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: one_line(&e.to_string()),
        })?;
        let base = path.parent().unwrap_or(Path::new(""));
        if cfg.server.zones.is_relative() {
            cfg.server.zones = base.join(&cfg.server.zones);
        }
        if let Location::Sqlite(p) = &mut cfg.server.state {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        cfg.path = Some(path.to_path_buf());
        // On PostgreSQL, this instance's connections carry its node name
        // (`pg_stat_activity.application_name`): an operator sees who is connected.
        if let Location::Postgres(t) = &cfg.server.state {
            let app = format!("switchback {}", cfg.node());
            cfg.server.state = Location::Postgres(Box::new(t.with_application_name(&app)));
        }
        for (name, table) in &cfg.raw_providers {
            let typed = ProviderSettings::parse(name, table)
                .map_err(|(key, message)| cfg.invalid(&key, message))?;
            cfg.providers.insert(name.clone(), typed);
        }
        cfg.validate()?;
        Ok(cfg)
    }

    pub(crate) fn invalid(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.clone().unwrap_or_default(),
            key: key.to_string(),
            message: message.into(),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.server.dns.is_empty() {
            return Err(self.invalid("server.dns", "needs at least one address"));
        }
        for (name, t) in &self.tsig {
            t.validate(name).map_err(|(k, m)| self.invalid(&k, m))?;
        }
        for (name, p) in &self.providers {
            if let ProviderSettings::Rfc2136(c) = p {
                for (field, k) in [("key", &c.key), ("transfer_key", &c.transfer_key)] {
                    if let Some(k) = k.as_ref().filter(|k| !self.tsig.contains_key(*k)) {
                        return Err(self.invalid(
                            &format!("providers.{name}.{field}"),
                            format!("no [tsig.{k}] section defines the key {k:?}"),
                        ));
                    }
                }
            }
        }
        self.allow_transfer()?;
        self.allow_update()?;
        self.allow_update_zones()?;
        if let Some(k) = &self.server.notify_key {
            if !self.tsig.contains_key(k) {
                return Err(self.invalid(
                    "server.notify_key",
                    format!("no [tsig.{k}] section defines the key {k:?}"),
                ));
            }
        }
        self.rrl()?;
        self.catalog_zone()?;
        self.dnssec_zones()?;
        self.dnssec_algorithm()?;
        self.notify_targets()?;
        self.api
            .hook_wait()
            .map_err(|m| self.invalid("api.hook_wait", m))?;
        if self.server.quorum == Some(0) {
            return Err(self.invalid("server.quorum", "must be at least 1"));
        }
        if self.server.udp_workers == Some(0) {
            return Err(self.invalid("server.udp_workers", "must be at least 1"));
        }
        if self.server.tcp_max == 0 {
            return Err(self.invalid("server.tcp_max", "must be at least 1"));
        }
        if self.server.tcp_per_client == 0 || self.server.tcp_per_client > self.server.tcp_max {
            return Err(self.invalid(
                "server.tcp_per_client",
                format!(
                    "must be between 1 and server.tcp_max ({})",
                    self.server.tcp_max
                ),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, c) in self.cutovers.iter().enumerate() {
            if !seen.insert(c.name.as_str()) {
                return Err(self.invalid(
                    &format!("cutover[{i}].name"),
                    format!("duplicate cutover name {:?}", c.name),
                ));
            }
            self.resolve_cutover(i, c)?;
        }
        Ok(())
    }

    /// This instance's name: `[server] node`, else the host name.
    /// `[server] catalog` as a zone name.
    pub fn catalog_zone(&self) -> Result<Option<switchback_api::Name>, ConfigError> {
        self.server
            .catalog
            .as_deref()
            .map(|c| {
                c.parse()
                    .map_err(|e| self.invalid("server.catalog", format!("not a zone name: {e}")))
            })
            .transpose()
    }

    /// `[server] dnssec` as zone names.
    pub fn dnssec_zones(&self) -> Result<Vec<switchback_api::Name>, ConfigError> {
        self.server
            .dnssec
            .iter()
            .enumerate()
            .map(|(i, z)| {
                z.parse().map_err(|e| {
                    self.invalid(
                        &format!("server.dnssec[{i}]"),
                        format!("not a zone name: {e}"),
                    )
                })
            })
            .collect()
    }

    /// `[server] dnssec_algorithm` (default ECDSA P-256 with SHA-256).
    pub fn dnssec_algorithm(&self) -> Result<switchback_builtin::dnssec::Algorithm, ConfigError> {
        use switchback_builtin::dnssec::Algorithm;
        match self.server.dnssec_algorithm.as_deref() {
            None => Ok(Algorithm::EcdsaP256Sha256),
            Some(a) => Algorithm::parse(a).ok_or_else(|| {
                self.invalid(
                    "server.dnssec_algorithm",
                    format!("{a:?}: expected \"ecdsap256sha256\" or \"ed25519\""),
                )
            }),
        }
    }

    pub fn node(&self) -> String {
        self.server
            .node
            .clone()
            .unwrap_or_else(crate::host::hostname)
    }

    /// The cutover called `name`, resolved (names parsed, durations read), or `None`.
    pub fn cutover(&self, name: &str) -> Result<Option<Cutover>, ConfigError> {
        match self.cutovers.iter().position(|c| c.name == name) {
            Some(i) => self.resolve_cutover(i, &self.cutovers[i]).map(Some),
            None => Ok(None),
        }
    }

    /// Every cutover, resolved, in file order.
    pub fn all_cutovers(&self) -> Result<Vec<Cutover>, ConfigError> {
        self.cutovers
            .iter()
            .enumerate()
            .map(|(i, c)| self.resolve_cutover(i, c))
            .collect()
    }

    /// Response rate limiting: on by default (200 responses/s per /24 or /56, slip 2,
    /// loopback exempt); `None` when `enabled = false`.
    pub fn rrl(&self) -> Result<Option<RrlConfig>, ConfigError> {
        let Some(r) = &self.server.rrl else {
            return Ok(Some(RrlConfig::default()));
        };
        if !r.enabled {
            return Ok(None);
        }
        let rps = NonZeroU32::new(r.responses_per_second)
            .ok_or_else(|| self.invalid("server.rrl.responses_per_second", "must be at least 1"))?;
        let exempt = match &r.exempt {
            None => RrlConfig::default().exempt,
            Some(list) => list
                .iter()
                .map(|c| {
                    c.parse()
                        .map_err(|e: String| self.invalid("server.rrl.exempt", e))
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(Some(RrlConfig {
            responses_per_second: rps,
            slip: r.slip,
            exempt,
        }))
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str) -> Result<Config, ConfigError> {
        Config::parse(t, Path::new("/etc/sb/switchback.toml"))
    }

    #[test]
    fn defaults() {
        let c = parse("").unwrap();
        assert_eq!(c.server.dns, vec!["127.0.0.1:5353".parse().unwrap()]);
        assert_eq!(c.server.zones, PathBuf::from("/etc/sb/zones"));
        let rrl = c.rrl().unwrap().expect("on by default");
        assert_eq!((rrl.responses_per_second.get(), rrl.slip), (200, 2));
        assert!(
            rrl.exempt
                .iter()
                .any(|c| c.contains("127.0.0.1".parse().unwrap()))
        );
        let off = parse("[server]\nrrl = { enabled = false }\n").unwrap();
        assert!(off.rrl().unwrap().is_none());
    }

    #[test]
    fn errors_name_the_key() {
        let e = parse("[server]\nbogus = 1\n").unwrap_err().to_string();
        assert!(e.contains("bogus"), "{e}");
        let e = parse("[server]\nallow_transfer = [\"10.0.0.0/99\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("server.allow_transfer"), "{e}");
        let e = parse("[server]\nrrl = { responses_per_second = 0 }\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("server.rrl.responses_per_second"), "{e}");
        let e = parse("[server]\ndns = [\"nonsense\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("dns"), "{e}");
        let e = parse("[providers.x]\ntype = \"bind\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("providers.x.type"), "{e}");
        for bad in ["\"10ms\"", "\"1h\"", "\"soon\""] {
            let e = parse(&format!("[api]\nhook_wait = {bad}\n"))
                .unwrap_err()
                .to_string();
            assert!(e.contains("api.hook_wait"), "{e}");
        }
        let c = parse("[api]\nhook_wait = \"30s\"\n").unwrap();
        assert_eq!(
            c.api.hook_wait().unwrap(),
            Some(std::time::Duration::from_secs(30))
        );
        assert_eq!(parse("").unwrap().api.hook_wait().unwrap(), None);
    }

    #[test]
    fn providers_are_one_typed_enum_checked_at_load() {
        let e = parse("[providers.cf]\ntype = \"cloudflare\"\nbogus = 1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("providers.cf") && e.contains("bogus"), "{e}");
        let e = parse("[providers.aws]\ntype = \"route53\"\nrate = \"fast\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("providers.aws"), "{e}");
        let e = parse("[providers.x]\nendpoint = \"y\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("providers.x.type"), "{e}");
        let c = parse("[providers.cf]\ntype = \"cloudflare\"\nbatch_size = 50\n").unwrap();
        assert!(matches!(
            c.providers.get("cf"),
            Some(ProviderSettings::Cloudflare(s)) if s.batch_size == 50
        ));
    }

    #[test]
    fn cutover_records_name_their_own_zone_and_provider() {
        let base = "[providers.aws]\ntype = \"route53\"\n[[cutover]]\nname = \"web\"\n\
                    provider = \"builtin\"\nzone = \"example.com\"\n\
                    [[cutover.record]]\nname = \"www.example.com.\"\ntype = \"A\"\n";
        let c = parse(&format!(
            "{base}[[cutover.record]]\nname = \"www.corp.example.\"\ntype = \"A\"\n\
             provider = \"aws\"\nzone = \"corp.example\"\nrecovery = [\"10.0.0.1\"]\n"
        ))
        .unwrap();
        let web = c.cutover("web").unwrap().unwrap();
        let zones: Vec<String> = web.zones().iter().map(ToString::to_string).collect();
        assert_eq!(zones, ["builtin/example.com.", "aws/corp.example."]);
        assert!(web.staged);
        // Outside its own zone; an unknown provider: errors naming the record's key.
        let e = parse(&format!(
            "{base}[[cutover.record]]\nname = \"www.other.example.\"\ntype = \"A\"\nzone = \"corp.example\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("cutover[web].record[1].name")
                && e.contains("outside its zone corp.example."),
            "{e}"
        );
        let e = parse(&format!(
            "{base}[[cutover.record]]\nname = \"www.example.com.\"\ntype = \"AAAA\"\nprovider = \"nope\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("cutover[web].record[1].provider"), "{e}");
    }

    #[test]
    fn rrl_section() {
        let c = parse("[server]\nrrl = { responses_per_second = 20 }\n").unwrap();
        let r = c.rrl().unwrap().unwrap();
        assert_eq!((r.responses_per_second.get(), r.slip), (20, 2));
    }
}
