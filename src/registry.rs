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
}

/// The name under which the built-in server is always available, configured or not.
pub const BUILTIN: &str = "builtin";

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
