//! The composition root of providers: the one `match` that turns `[providers.NAME]` (one
//! typed enum, [`crate::config::providers`]) into a provider. The [`Providers`] set is built once per process and
//! handed to the CLI command, the HTTP API and the automation; `serve` puts its own serving
//! built-in provider in it ([`Providers::insert`]), so a change made through the API is served
//! without a reload. No code outside this file and that enum names a provider type.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use switchback_api::provider::{ClientStats, Served};
use switchback_api::{
    ApplyReport, Capabilities, Change, Name, Provider, ProviderError, Zone, ZoneRef,
};
use switchback_builtin::Builtin;

use crate::config::Config;
pub use crate::config::providers::{BUILTIN, BuiltinSettings, KINDS, ProviderSettings};

/// Why a provider could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("unknown provider {name:?} (configured: {known})")]
    Unknown { name: String, known: String },
    #[error("provider {name:?}: {source}")]
    Builtin {
        name: String,
        #[source]
        source: switchback_builtin::LoadError,
    },
    #[error("provider {name:?}: {source}")]
    Provider {
        name: String,
        #[source]
        source: ProviderError,
    },
}

/// Planner-level counts of one provider (zone reads and applies as the engine sees them).
#[derive(Debug, Default)]
pub struct Counts {
    pub calls: AtomicU64,
    pub errors: AtomicU64,
    pub applies: AtomicU64,
    pub reads: AtomicU64,
}

/// A provider with its counts: what the set hands out.
struct Counted {
    inner: Arc<dyn Provider>,
    counts: Arc<Counts>,
}

#[async_trait]
impl Provider for Counted {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn capabilities(&self) -> &Capabilities {
        self.inner.capabilities()
    }
    async fn list_zones(&self) -> Result<Vec<ZoneRef>, ProviderError> {
        self.inner.list_zones().await
    }
    async fn read_zone(&self, zone: &Name) -> Result<Zone, ProviderError> {
        let r = self.inner.read_zone(zone).await;
        self.counts.reads.fetch_add(1, Ordering::Relaxed);
        self.counts.calls.fetch_add(1, Ordering::Relaxed);
        self.counts
            .errors
            .fetch_add(u64::from(r.is_err()), Ordering::Relaxed);
        r
    }
    async fn apply(&self, zone: &Name, changes: &[Change]) -> Result<ApplyReport, ProviderError> {
        let r = self.inner.apply(zone, changes).await;
        self.counts.applies.fetch_add(1, Ordering::Relaxed);
        let calls = r.as_ref().map_or(1, |r| r.api_calls.max(1)) as u64;
        self.counts.calls.fetch_add(calls, Ordering::Relaxed);
        self.counts
            .errors
            .fetch_add(u64::from(r.is_err()), Ordering::Relaxed);
        r
    }
    fn client_stats(&self) -> Option<ClientStats> {
        self.inner.client_stats()
    }
    async fn wait_served(&self, zone: &Name, timeout: std::time::Duration) -> Served {
        self.inner.wait_served(zone, timeout).await
    }
}

/// The providers built so far, by name, with their counts.
type Built = BTreeMap<String, (Arc<dyn Provider>, Arc<Counts>)>;

/// The providers of one process, each built once on first use and shared from then on.
pub struct Providers {
    cfg: Arc<Config>,
    built: Mutex<Built>,
}

impl Providers {
    /// The set for `cfg`; nothing is built yet (a provider is built when first asked for, so
    /// a command that needs only the built-in server does not need a Cloudflare token).
    pub fn new(cfg: Arc<Config>) -> Providers {
        Providers {
            cfg,
            built: Mutex::new(BTreeMap::new()),
        }
    }

    /// The configuration the set was built from.
    pub fn config(&self) -> &Arc<Config> {
        &self.cfg
    }

    /// Put an already built provider in the set under `name` (serve's serving built-in).
    pub fn insert(&self, name: &str, provider: Arc<dyn Provider>) {
        self.lock()
            .insert(name.to_string(), (provider, Arc::new(Counts::default())));
    }

    /// The provider called `name`, built on first use.
    pub fn get(&self, name: &str) -> Result<Arc<dyn Provider>, RegistryError> {
        let mut built = self.lock();
        if let Some((p, c)) = built.get(name) {
            return Ok(counted(p, c));
        }
        let p = build(&self.cfg, name)?;
        let c = Arc::new(Counts::default());
        built.insert(name.to_string(), (p.clone(), c.clone()));
        Ok(counted(&p, &c))
    }

    /// The capabilities of provider `name` without building it.
    pub fn capabilities(cfg: &Config, name: &str) -> Option<Capabilities> {
        cfg.provider_capabilities(name)
    }

    /// The providers built so far, by name: their planner counts and client statistics.
    pub fn stats(&self) -> Vec<(String, ProviderStats)> {
        self.lock()
            .iter()
            .map(|(n, (p, c))| {
                (
                    n.clone(),
                    ProviderStats {
                        calls: c.calls.load(Ordering::Relaxed),
                        errors: c.errors.load(Ordering::Relaxed),
                        applies: c.applies.load(Ordering::Relaxed),
                        reads: c.reads.load(Ordering::Relaxed),
                        client: p.client_stats(),
                    },
                )
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Built> {
        self.built.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn counted(p: &Arc<dyn Provider>, c: &Arc<Counts>) -> Arc<dyn Provider> {
    Arc::new(Counted {
        inner: p.clone(),
        counts: c.clone(),
    })
}

/// One provider's counts, for `/metrics`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProviderStats {
    pub calls: u64,
    pub errors: u64,
    pub applies: u64,
    pub reads: u64,
    /// The provider client's own counts (`Provider::client_stats`); `None` for providers that
    /// report none.
    pub client: Option<ClientStats>,
}

/// Build the provider called `name` (the one `match`).
fn build(cfg: &Config, name: &str) -> Result<Arc<dyn Provider>, RegistryError> {
    let Some(s) = cfg.provider_settings(name) else {
        let mut known: Vec<&str> = cfg.providers.keys().map(String::as_str).collect();
        if !known.contains(&BUILTIN) {
            known.push(BUILTIN);
        }
        return Err(RegistryError::Unknown {
            name: name.to_string(),
            known: known.join(", "),
        });
    };
    let failed = |source| RegistryError::Provider {
        name: name.to_string(),
        source,
    };
    match s.into_owned() {
        ProviderSettings::Builtin(_) => Ok(Arc::new(open_builtin(cfg, name, false)?)),
        ProviderSettings::Route53(c) => {
            // The AWS credential chain is set up asynchronously (no API call): run it to
            // completion on a thread of its own, whatever runtime the caller is in.
            let p = std::thread::scope(|s| {
                s.spawn(|| {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| ProviderError::Other(e.to_string()))?
                        .block_on(switchback_route53::Route53::new(name, c))
                })
                .join()
                .unwrap_or_else(|_| Err(ProviderError::Other("AWS client set-up panicked".into())))
            })
            .map_err(failed)?;
            Ok(Arc::new(p))
        }
        ProviderSettings::Cloudflare(c) => Ok(Arc::new(
            switchback_cloudflare::Cloudflare::new(name, c).map_err(failed)?,
        )),
        ProviderSettings::Rfc2136(c) => {
            let keys = cfg
                .tsig_keys()
                .map_err(|e| failed(ProviderError::Other(e.to_string())))?;
            let key = |k: &Option<String>| -> Result<_, RegistryError> {
                let Some(k) = k else { return Ok(None) };
                let n = crate::config::tsig::key_name(k)
                    .map_err(|(_, m)| failed(ProviderError::Other(m)))?;
                keys.by_name(&n)
                    .cloned()
                    .map(Some)
                    .ok_or_else(|| failed(ProviderError::Other(format!("no [tsig.{k}] key"))))
            };
            let (k, tk) = (key(&c.key)?, key(&c.transfer_key)?);
            Ok(Arc::new(
                switchback_rfc2136::Rfc2136::new(name, c, k, tk).map_err(failed)?,
            ))
        }
    }
}

/// The built-in provider on the configured zone folder and state store, for `serve`
/// (`serving`: answers precomputed) or for a process that never answers queries.
pub fn open_builtin(cfg: &Config, name: &str, serving: bool) -> Result<Builtin, RegistryError> {
    let failed = |source| RegistryError::Builtin {
        name: name.to_string(),
        source,
    };
    // Checked when the config was read.
    let catalog = cfg.catalog_zone().ok().flatten();
    Builtin::open_full(name, &cfg.server.zones, &cfg.server.state, serving, catalog)
        .map(|(b, _)| b)
        .map_err(failed)
}
