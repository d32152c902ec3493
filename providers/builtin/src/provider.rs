//! The built-in provider: the zones this process serves, loaded from the zone folder, behind
//! the [`Provider`] trait.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use switchback_api::zonefile::{self, ZoneError};
use switchback_api::{
    ApplyReport, Capabilities, Change, Name, Provider, ProviderError, RType, Support, Zone, ZoneRef,
};
use tracing::{error, info};

use crate::answer::{Catalog, ServedZone};
use crate::zone::CompiledZone;

/// Why a zone could not be (re)loaded. The previous version, if any, keeps serving.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Parse(Vec<ZoneError>),
    #[error(transparent)]
    Compile(#[from] crate::zone::CompileError),
    #[error("cannot read zone folder {dir}: {source}")]
    Dir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: the file name must be ZONE.zone with ZONE a domain name: {message}")]
    FileName { file: PathBuf, message: String },
}

/// What a (re)load did.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Zones now served, with their serials.
    pub loaded: Vec<(Name, u32)>,
    /// Zones (or files) that failed; a zone that was served before keeps its old version.
    pub failed: Vec<(PathBuf, LoadError)>,
}

/// The built-in authoritative provider.
pub struct Builtin {
    name: String,
    zone_dir: PathBuf,
    catalog: Arc<ArcSwap<Catalog>>,
    caps: Capabilities,
    /// One writer at a time (reloads and applies).
    write: tokio::sync::Mutex<()>,
}

/// The record types the built-in server holds and serves.
pub const RECORD_TYPES: &[RType] = &[
    RType::SOA,
    RType::NS,
    RType::A,
    RType::AAAA,
    RType::CNAME,
    RType::MX,
    RType::TXT,
    RType::SPF,
    RType::SRV,
    RType::CAA,
    RType::PTR,
    RType::NAPTR,
    RType::DS,
    RType::DNSKEY,
    RType::SSHFP,
    RType::TLSA,
    RType::SVCB,
    RType::HTTPS,
    RType::HINFO,
    RType::URI,
];

impl Builtin {
    /// A provider serving the `*.zone` files of `zone_dir` (loaded by [`Builtin::reload`]).
    pub fn new(name: impl Into<String>, zone_dir: impl Into<PathBuf>) -> Builtin {
        Builtin {
            name: name.into(),
            zone_dir: zone_dir.into(),
            catalog: Arc::new(ArcSwap::from_pointee(Catalog::default())),
            caps: Capabilities {
                weighted: Support::cannot(
                    "per-query weighted steering arrives with the cutover engine",
                ),
                failover: Support::cannot("health-based answers arrive with the cutover engine"),
                alias: Support::cannot("the built-in server has no alias records; use CNAME"),
                comments: Support::cannot("zone files keep no per-record comments"),
                atomic_batches: Support::Yes,
                max_batch: None,
                min_ttl: 0,
                record_types: RECORD_TYPES.to_vec(),
                ..Capabilities::default()
            },
            write: tokio::sync::Mutex::new(()),
        }
    }

    /// The served catalog, for the network front ends.
    pub fn catalog(&self) -> Arc<ArcSwap<Catalog>> {
        self.catalog.clone()
    }

    pub fn zone_dir(&self) -> &Path {
        &self.zone_dir
    }

    /// Read the zone folder again and swap in what loads. A zone whose file fails keeps its
    /// old version; a zone whose file is gone stops being served. Queries are never blocked:
    /// the new catalog is built aside and swapped in one step.
    pub fn reload(&self) -> LoadReport {
        let mut report = LoadReport::default();
        let old = self.catalog.load_full();
        let files = match zone_files(&self.zone_dir) {
            Ok(f) => f,
            Err(e) => {
                report.failed.push((self.zone_dir.clone(), e));
                return report;
            }
        };
        let mut zones: BTreeMap<Name, Arc<ServedZone>> = BTreeMap::new();
        for (path, origin) in files {
            let origin = match origin {
                Ok(o) => o,
                Err(e) => {
                    report.failed.push((path, e));
                    continue;
                }
            };
            match load_zone(&path, &origin, &self.zone_dir) {
                Ok(z) => {
                    zones.insert(origin, Arc::new(z));
                }
                Err(e) => {
                    if let Some(prev) = old
                        .find_zone(origin.wire())
                        .filter(|z| z.zone.origin == origin)
                    {
                        zones.insert(origin, prev.clone());
                    }
                    report.failed.push((path, e));
                }
            }
        }
        report.loaded = zones
            .iter()
            .map(|(n, z)| (n.clone(), z.zone.serial))
            .collect();
        self.catalog
            .store(Arc::new(Catalog::new(zones.into_values())));
        for (path, e) in &report.failed {
            error!(file = %path.display(), error = %e, "zone not loaded");
        }
        info!(zones = report.loaded.len(), failed = report.failed.len(), dir = %self.zone_dir.display(), "zones loaded");
        report
    }

    fn served(&self, zone: &Name) -> Result<Arc<ServedZone>, ProviderError> {
        self.catalog
            .load()
            .zones
            .get(zone.wire())
            .cloned()
            .ok_or_else(|| ProviderError::ZoneNotFound(zone.to_string()))
    }
}

/// Parse, check and compile one zone file.
pub fn load_zone(path: &Path, origin: &Name, root: &Path) -> Result<ServedZone, LoadError> {
    let model = zonefile::load_file(path, origin, root).map_err(LoadError::Parse)?;
    Ok(ServedZone::new(CompiledZone::compile(model)?))
}

type ZoneFiles = Vec<(PathBuf, Result<Name, LoadError>)>;

/// The `*.zone` files directly in `dir`, each with the zone name its file name gives.
fn zone_files(dir: &Path) -> Result<ZoneFiles, LoadError> {
    let rd = std::fs::read_dir(dir).map_err(|source| LoadError::Dir {
        dir: dir.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for entry in rd.flatten() {
        let path = entry.path();
        let Some(stem) = path
            .file_name()
            .and_then(|f| f.to_str())
            .and_then(|f| f.strip_suffix(".zone"))
        else {
            continue;
        };
        if !path.is_file() {
            continue;
        }
        let origin = stem.parse::<Name>().map_err(|e| LoadError::FileName {
            file: path.clone(),
            message: e.to_string(),
        });
        out.push((path, origin));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

#[async_trait]
impl Provider for Builtin {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    async fn list_zones(&self) -> Result<Vec<ZoneRef>, ProviderError> {
        let cat = self.catalog.load();
        let mut zones: Vec<ZoneRef> = cat
            .zones
            .values()
            .map(|z| ZoneRef {
                name: z.zone.origin.clone(),
                id: z.zone.origin.to_string(),
            })
            .collect();
        zones.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(zones)
    }

    async fn read_zone(&self, zone: &Name) -> Result<Zone, ProviderError> {
        Ok(self.served(zone)?.zone.model.clone())
    }

    /// Apply a change set to a served zone in one swap (runtime changes are kept in memory
    /// until the state store lands; the zone folder is not rewritten).
    async fn apply(&self, zone: &Name, changes: &[Change]) -> Result<ApplyReport, ProviderError> {
        let _one_writer = self.write.lock().await;
        let current = self.served(zone)?;
        let mut model = current.zone.model.clone();
        for c in changes {
            match c {
                Change::Create { after } => {
                    self.caps.check(after)?;
                    if model.get(&after.key()).is_some() {
                        return Err(ProviderError::Invalid {
                            record: after.key().to_string(),
                            message: "already exists".into(),
                        });
                    }
                    model.record_sets.push(after.clone());
                }
                Change::Update { before, after } => {
                    self.caps.check(after)?;
                    let pos = position(&model, before)?;
                    model.record_sets[pos] = after.clone();
                }
                Change::Delete { before } => {
                    let pos = position(&model, before)?;
                    model.record_sets.remove(pos);
                }
            }
        }
        let model = Zone::new(model.origin, model.record_sets);
        let compiled =
            CompiledZone::compile(model).map_err(|e| ProviderError::Other(e.to_string()))?;
        let served = Arc::new(ServedZone::new(compiled));
        let old = self.catalog.load_full();
        let zones = old
            .zones
            .values()
            .filter(|z| z.zone.origin != *zone)
            .cloned()
            .chain(std::iter::once(served));
        self.catalog.store(Arc::new(Catalog::new(zones)));
        Ok(ApplyReport {
            batches: 1,
            api_calls: 0,
        })
    }
}

/// Where `before` stands in the zone; it must match the live set exactly.
fn position(model: &Zone, before: &switchback_api::RecordSet) -> Result<usize, ProviderError> {
    model
        .record_sets
        .iter()
        .position(|rs| rs == before)
        .ok_or_else(|| ProviderError::Invalid {
            record: before.key().to_string(),
            message: "the live record set differs from the one the change was planned against"
                .into(),
        })
}
