//! The one `match` that turns provider configuration into a provider.

use std::sync::Arc;

use switchback_api::Provider;
use switchback_builtin::Builtin;

use crate::config::Config;

/// Why a provider could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("unknown provider {name:?} (configured: {known})")]
    Unknown { name: String, known: String },
    #[error("provider {name:?}: type {kind:?} is not available in this build yet")]
    NotYet { name: String, kind: String },
    #[error("provider {name:?}: {source}")]
    Builtin {
        name: String,
        #[source]
        source: switchback_builtin::LoadError,
    },
    #[error("providers.{name}: {message}")]
    Config { name: String, message: String },
    #[error("provider {name:?}: {source}")]
    Provider {
        name: String,
        #[source]
        source: switchback_api::ProviderError,
    },
}

/// The `[providers.NAME]` table (minus `type`) as a provider's own config type; unknown keys
/// and bad values are errors naming the key.
fn settings<T: serde::de::DeserializeOwned>(cfg: &Config, name: &str) -> Result<T, RegistryError> {
    let table: toml::Table = cfg
        .providers
        .get(name)
        .map(|p| p.settings.clone().into_iter().collect())
        .unwrap_or_default();
    toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| RegistryError::Config {
            name: name.to_string(),
            message: e.message().to_string(),
        })
}

/// The name under which the built-in server is always available, configured or not.
pub const BUILTIN: &str = "builtin";

/// Every provider type this build knows.
pub const KINDS: &[&str] = &["builtin", "route53", "cloudflare"];

/// Whether providers of type `kind` hold weighted record sets (checked statically at config
/// load, next to the one `match` below: a weighted cutover on a provider without weights is
/// a config error).
pub fn supports_weights(kind: &str) -> bool {
    match kind {
        "builtin" | "route53" => true,
        "cloudflare" => false,
        _ => false,
    }
}

/// Open the provider called `name`.
pub fn provider(cfg: &Config, name: &str) -> Result<Arc<dyn Provider>, RegistryError> {
    let kind = match cfg.providers.get(name) {
        Some(p) => p.kind.as_str(),
        None if name == BUILTIN => "builtin",
        None => {
            let mut known: Vec<&str> = cfg.providers.keys().map(String::as_str).collect();
            if !known.contains(&BUILTIN) {
                known.push(BUILTIN);
            }
            return Err(RegistryError::Unknown {
                name: name.to_string(),
                known: known.join(", "),
            });
        }
    };
    match kind {
        "builtin" => Ok(Arc::new(open_builtin(cfg, name, false)?)),
        "route53" => {
            let c: switchback_route53::Route53Config = settings(cfg, name)?;
            // The AWS credential chain is set up asynchronously (no API call): run it to
            // completion on a thread of its own, whatever runtime the caller is in.
            let p = std::thread::scope(|s| {
                s.spawn(|| {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| switchback_api::ProviderError::Other(e.to_string()))?
                        .block_on(switchback_route53::Route53::new(name, c))
                })
                .join()
                .unwrap_or_else(|_| {
                    Err(switchback_api::ProviderError::Other(
                        "AWS client set-up panicked".into(),
                    ))
                })
            })
            .map_err(|source| RegistryError::Provider {
                name: name.to_string(),
                source,
            })?;
            Ok(Arc::new(p))
        }
        "cloudflare" => {
            let c: switchback_cloudflare::CloudflareConfig = settings(cfg, name)?;
            let p = switchback_cloudflare::Cloudflare::new(name, c).map_err(|source| {
                RegistryError::Provider {
                    name: name.to_string(),
                    source,
                }
            })?;
            Ok(Arc::new(p))
        }
        other => Err(RegistryError::NotYet {
            name: name.to_string(),
            kind: other.to_string(),
        }),
    }
}

/// The built-in provider on the configured zone folder and state store, for `serve`
/// (`serving`: answers precomputed) or for a process that never answers queries.
pub fn open_builtin(cfg: &Config, name: &str, serving: bool) -> Result<Builtin, RegistryError> {
    let open = if serving {
        Builtin::open_serving
    } else {
        Builtin::open
    };
    open(name, &cfg.server.zones, &cfg.server.state).map_err(|source| RegistryError::Builtin {
        name: name.to_string(),
        source,
    })
}
