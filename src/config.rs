//! `switchback.toml`: the schema, its defaults and its validation. Unknown keys and bad
//! values are errors that name the key.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use switchback_builtin::acl::Cidr;
use switchback_builtin::rrl::RrlConfig;

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
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderConfig>,
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
    #[serde(default = "default_state")]
    pub state: PathBuf,
    #[serde(default)]
    pub allow_transfer: Vec<String>,
    #[serde(default)]
    pub notify: Vec<SocketAddr>,
    /// UDP worker threads (SO_REUSEPORT sockets) per listener; default: one per CPU.
    #[serde(default)]
    pub udp_workers: Option<usize>,
    #[serde(default)]
    pub rrl: Option<RrlSection>,
}

/// `[server] rrl = { responses_per_second = N, slip = 2 }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RrlSection {
    pub responses_per_second: u32,
    #[serde(default = "default_slip")]
    pub slip: u32,
}

/// `[api]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    pub token_env: Option<String>,
    pub webhook_secret_env: Option<String>,
}

/// `[providers.NAME]`: the type and that type's own keys (checked by the registry).
#[derive(Debug, Clone, Deserialize)]
pub struct ProviderConfig {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(flatten)]
    pub settings: BTreeMap<String, toml::Value>,
}

fn default_dns() -> Vec<SocketAddr> {
    vec![SocketAddr::from(([127, 0, 0, 1], 5353))]
}
fn default_api() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8053))
}
fn default_zones() -> PathBuf {
    PathBuf::from("zones")
}
fn default_state() -> PathBuf {
    PathBuf::from(".switchback/state.db")
}
fn default_slip() -> u32 {
    2
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
            udp_workers: None,
            rrl: None,
        }
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
        for p in [&mut cfg.server.zones, &mut cfg.server.state] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        cfg.path = Some(path.to_path_buf());
        cfg.validate()?;
        Ok(cfg)
    }

    fn invalid(&self, key: &str, message: impl Into<String>) -> ConfigError {
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
        self.allow_transfer()?;
        self.rrl()?;
        if self.server.udp_workers == Some(0) {
            return Err(self.invalid("server.udp_workers", "must be at least 1"));
        }
        for (name, p) in &self.providers {
            if !matches!(p.kind.as_str(), "builtin" | "route53" | "cloudflare") {
                return Err(self.invalid(
                    &format!("providers.{name}.type"),
                    format!(
                        "unknown provider type {:?} (builtin, route53, cloudflare)",
                        p.kind
                    ),
                ));
            }
        }
        Ok(())
    }

    pub fn allow_transfer(&self) -> Result<Vec<Cidr>, ConfigError> {
        self.server
            .allow_transfer
            .iter()
            .map(|s| {
                s.parse()
                    .map_err(|e: String| self.invalid("server.allow_transfer", e))
            })
            .collect()
    }

    pub fn rrl(&self) -> Result<Option<RrlConfig>, ConfigError> {
        let Some(r) = &self.server.rrl else {
            return Ok(None);
        };
        let rps = NonZeroU32::new(r.responses_per_second)
            .ok_or_else(|| self.invalid("server.rrl.responses_per_second", "must be at least 1"))?;
        Ok(Some(RrlConfig {
            responses_per_second: rps,
            slip: r.slip,
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
        assert!(c.rrl().unwrap().is_none());
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
    }

    #[test]
    fn rrl_section() {
        let c = parse("[server]\nrrl = { responses_per_second = 20 }\n").unwrap();
        let r = c.rrl().unwrap().unwrap();
        assert_eq!((r.responses_per_second.get(), r.slip), (20, 2));
    }
}
