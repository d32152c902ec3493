//! The built-in provider: the zones this process serves, behind the [`Provider`] trait.
//!
//! The state store ([`crate::store`]) is the source of truth for live zones. Zone files seed
//! it on first load; afterwards runtime changes (applies) live in the store and win until they
//! are rolled back. A zone file edited later replaces the live zone on a reload only when the
//! zone is clean (the live zone equals the file as last seen, serial aside); then it is applied
//! as one journaled change. A dirty zone keeps its live version and a warning says how to take
//! the file. Every change bumps the SOA serial, is journaled (for IXFR) and is swapped into the
//! served catalog at once; other processes on the same state file pick it up through
//! [`Builtin::watch`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use switchback_api::zonefile::{self, ZoneError};
use switchback_api::{
    ApplyReport, Capabilities, Change, Name, Provider, ProviderError, RType, RecordSet,
    RecordSetKey, Support, Zone, ZoneRef,
};
use tracing::{debug, error, info, warn};

use crate::answer::{Catalog, ServedZone, ZoneCounters};
use crate::journal::{self, Delta, Journal};
use crate::steer::HealthTable;
use crate::store::{JOURNAL_KEEP, JournalRow, Store, StoreError, ZoneMeta};
use crate::zone::CompiledZone;

/// How often a watching process looks for commits of other processes.
pub const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// A change of what is served: (zone, old serial, new serial); `None` when not served
/// before, or not any more.
pub type ZoneChange = (Name, Option<u32>, Option<u32>);

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
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("zone {zone}: {message}")]
    Zone { zone: Name, message: String },
}

/// What a (re)load did.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Zones now served, with their serials.
    pub loaded: Vec<(Name, u32)>,
    /// Zones (or files) that failed; a zone that was served before keeps its old version.
    pub failed: Vec<(PathBuf, LoadError)>,
    /// Zones whose file changed but whose runtime changes were kept (the zone is dirty), with
    /// the file that was not taken.
    pub kept_live: Vec<(Name, PathBuf)>,
}

/// The built-in authoritative provider.
pub struct Builtin {
    name: String,
    zone_dir: PathBuf,
    pub(crate) store: Store,
    pub(crate) catalog: Arc<ArcSwap<Catalog>>,
    caps: Capabilities,
    /// One writer at a time (reloads, applies and pick-ups), in this process; the store's
    /// `BEGIN IMMEDIATE` serializes processes.
    write: Mutex<()>,
    /// Bumped on every catalog swap (the NOTIFY loop waits on it).
    pub(crate) swapped: tokio::sync::watch::Sender<u64>,
    /// Health of steered targets, read per query (the health monitor writes it).
    health: Arc<HealthTable>,
    /// Each zone's response counters, by origin (wire form): every version of a zone built
    /// here counts in the same ones, so they stay monotonic across rebuilds (and a zone that
    /// goes and comes back continues). Locked when a zone is built, never per query.
    counters: Mutex<HashMap<Box<[u8]>, Arc<ZoneCounters>>>,
    /// Precompute the answers of every zone it builds: true in the process that serves DNS,
    /// false in a CLI process that only reads and changes zones (it never answers a query).
    serving: bool,
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

/// What the built-in provider can carry out (also known before one is opened: config checks).
pub fn capabilities() -> Capabilities {
    Capabilities {
        // Weighted sets are chosen per query; a variant whose `health_check` is down is left
        // out of the answers (steer.rs).
        weighted: Support::Yes,
        failover: Support::Yes,
        alias: Support::cannot("the built-in server has no alias records; use CNAME"),
        comments: Support::cannot("zone files keep no per-record comments"),
        atomic_batches: Support::Yes,
        max_batch: None,
        min_ttl: 0,
        manages_soa_serial: true,
        record_types: RECORD_TYPES.to_vec(),
        health_field: Some(crate::steer::HEALTH_FIELD),
        ..Capabilities::default()
    }
}

impl From<StoreError> for ProviderError {
    fn from(e: StoreError) -> ProviderError {
        ProviderError::Other(e.to_string())
    }
}

/// Run blocking work (SQLite, compiling a zone) from async code without stalling a runtime
/// worker where tokio allows it.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// A zone as the store holds it, read in one transaction.
struct Stored {
    meta: ZoneMeta,
    live: Zone,
    journal: Vec<JournalRow>,
}

/// Build the served form of a stored zone.
fn build(
    stored: Stored,
    serving: bool,
    health: &Arc<HealthTable>,
) -> Result<ServedZone, LoadError> {
    let zone = stored.meta.zone.clone();
    let compiled = CompiledZone::compile_with(&stored.live, Some(health))?;
    // The model is not kept (reads go to the store): free it before precomputing.
    drop(stored.live);
    let mut deltas = Vec::with_capacity(stored.journal.len());
    for row in &stored.journal {
        match Delta::from_row(row, &zone) {
            Ok(d) => deltas.push(Arc::new(d)),
            Err(message) => {
                // A journal entry we cannot read: IXFR falls back to AXFR before it.
                warn!(%zone, from = row.from_serial, to = row.to_serial, %message, "journal entry unreadable; dropped");
                deltas.clear();
            }
        }
    }
    Ok(ServedZone::with_journal(
        compiled,
        Journal::from(deltas),
        stored.meta.generation,
        serving,
    ))
}

impl Builtin {
    /// The built-in provider bumps the SOA serial itself on every change: plans should ignore
    /// serial-only SOA differences (`DiffOptions::provider_manages_soa_serial`); its
    /// capabilities say so too (`manages_soa_serial`).
    pub const MANAGES_SOA_SERIAL: bool = true;

    /// A provider serving the `*.zone` files of `zone_dir` (loaded by [`Builtin::reload`]),
    /// with its live zones in memory only: nothing survives the process.
    pub fn new(name: impl Into<String>, zone_dir: impl Into<PathBuf>) -> Builtin {
        // An in-memory SQLite database needs no file; it fails only when memory does.
        let store = match Store::in_memory() {
            Ok(s) => s,
            Err(e) => panic!("cannot create an in-memory SQLite database: {e}"),
        };
        Builtin::with_store(name.into(), zone_dir.into(), store, true)
    }

    /// The provider on the state file `state_path` (created if need be): serves what the
    /// store holds, after seeding it from (and reconciling it with) the zone folder. Zone
    /// file problems are logged, not fatal (the store's version keeps serving); a state file
    /// that cannot be used is.
    ///
    /// This is the provider for a process that does not answer queries (the CLI): it keeps
    /// the zones compiled but not their precomputed answers. [`Builtin::open_serving`] is the
    /// one for `serve`.
    pub fn open(
        name: impl Into<String>,
        zone_dir: impl Into<PathBuf>,
        state_path: impl AsRef<Path>,
    ) -> Result<Builtin, LoadError> {
        Builtin::open_with_report(name, zone_dir, state_path, false).map(|(b, _)| b)
    }

    /// [`Builtin::open`] for the process that serves DNS: every zone's answers precomputed.
    pub fn open_serving(
        name: impl Into<String>,
        zone_dir: impl Into<PathBuf>,
        state_path: impl AsRef<Path>,
    ) -> Result<Builtin, LoadError> {
        Builtin::open_with_report(name, zone_dir, state_path, true).map(|(b, _)| b)
    }

    /// [`Builtin::open`] or [`Builtin::open_serving`], also returning what the first load did.
    pub fn open_with_report(
        name: impl Into<String>,
        zone_dir: impl Into<PathBuf>,
        state_path: impl AsRef<Path>,
        serving: bool,
    ) -> Result<(Builtin, LoadReport), LoadError> {
        let store = Store::open(state_path.as_ref())?;
        let b = Builtin::with_store(name.into(), zone_dir.into(), store, serving);
        // Reconcile the zone folder with the store, then build what the store holds (also
        // when the folder is unreadable now): one pass, so a zone file's parsed model is gone
        // before the served zones are built.
        let report = b.reload();
        Ok((b, report))
    }

    fn with_store(name: String, zone_dir: PathBuf, store: Store, serving: bool) -> Builtin {
        Builtin {
            name,
            zone_dir,
            store,
            catalog: Arc::new(ArcSwap::from_pointee(Catalog::default())),
            caps: capabilities(),
            write: Mutex::new(()),
            swapped: tokio::sync::watch::Sender::new(0),
            serving,
            health: Arc::new(HealthTable::default()),
            counters: Mutex::default(),
        }
    }

    /// `zone`, counting its responses in the counters of its earlier versions.
    fn counted(&self, zone: ServedZone) -> Arc<ServedZone> {
        let c = {
            let mut m = self.counters.lock().unwrap_or_else(|p| p.into_inner());
            m.entry(zone.zone.origin.wire().into()).or_default().clone()
        };
        Arc::new(zone.with_counters(c))
    }

    /// The health of steered targets: call `set(check, up)` on every transition; answers
    /// follow at once (no API call, no rebuild).
    pub fn health(&self) -> &Arc<HealthTable> {
        &self.health
    }

    /// The served catalog, for the network front ends.
    pub fn catalog(&self) -> Arc<ArcSwap<Catalog>> {
        self.catalog.clone()
    }

    pub fn zone_dir(&self) -> &Path {
        &self.zone_dir
    }

    /// The state store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// A zone's bookkeeping in the store (serial, generation, whether it is dirty).
    pub fn zone_meta(&self, zone: &Name) -> Result<Option<ZoneMeta>, StoreError> {
        self.store.read(|tx| tx.meta(zone))
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        self.write.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn swap(&self, mut catalog: Catalog) {
        catalog.keep_counters(&self.catalog.load());
        self.catalog.store(Arc::new(catalog));
        self.swapped.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Read the zone folder again and reconcile it with the store: new files seed new zones;
    /// an edited file replaces a clean zone (as one journaled change) and is left aside for a
    /// dirty one (with a warning); a zone whose file is gone stops being served when clean.
    /// Queries are never blocked: the new catalog is built aside and swapped in one step.
    pub fn reload(&self) -> LoadReport {
        let mut report = LoadReport::default();
        let _w = self.lock();
        let mut fresh: HashMap<Name, Arc<ServedZone>> = HashMap::new();
        match zone_files(&self.zone_dir) {
            Ok(files) => {
                let mut seen = HashSet::new();
                for (path, origin) in files {
                    let origin = match origin {
                        Ok(o) => o,
                        Err(e) => {
                            report.failed.push((path, e));
                            continue;
                        }
                    };
                    seen.insert(origin.clone());
                    match self.reconcile_file(&path, &origin) {
                        Ok(FileOutcome::KeptLive(serial)) => {
                            warn!(
                                zone = %origin,
                                file = %path.display(),
                                serial,
                                "the zone file changed but the zone has runtime changes; \
                                 keeping the live zone. To serve the file instead, run: \
                                 switchback apply builtin {origin} {}",
                                path.display()
                            );
                            report.kept_live.push((origin, path));
                        }
                        Ok(FileOutcome::Built(z)) => {
                            fresh.insert(origin, z);
                        }
                        Ok(FileOutcome::Other | FileOutcome::Compiled(..)) => {}
                        Err(e) => report.failed.push((path, e)),
                    }
                }
                if let Err(e) = self.forget_missing(&seen) {
                    report.failed.push((self.zone_dir.clone(), e));
                }
            }
            Err(e) => report.failed.push((self.zone_dir.clone(), e)),
        }
        if let Err(e) = self.sync_catalog(&fresh, false) {
            report.failed.push((self.store.path().to_path_buf(), e));
        }
        let cat = self.catalog.load();
        report.loaded = cat
            .zones
            .values()
            .map(|z| (z.zone.origin.clone(), z.zone.serial))
            .collect();
        report.loaded.sort();
        for (path, e) in &report.failed {
            error!(file = %path.display(), error = %e, "zone not loaded");
        }
        info!(zones = report.loaded.len(), failed = report.failed.len(), dir = %self.zone_dir.display(), "zones loaded");
        report
    }

    /// Bring one zone file and the store together (under the write lock).
    fn reconcile_file(&self, path: &Path, origin: &Name) -> Result<FileOutcome, LoadError> {
        // The serving process owns the zone folder: it takes edited files on start and on
        // SIGHUP. A CLI process only seeds zones the store does not hold yet, so that it
        // neither re-reads big zone files on every command nor takes a file behind the
        // server's back.
        if !self.serving && self.store.read(|tx| tx.meta(origin))?.is_some() {
            return Ok(FileOutcome::Other);
        }
        let model = zonefile::load_file(path, origin, &self.zone_dir).map_err(LoadError::Parse)?;
        let fd = journal::model_digest(&model);
        let served = self.catalog.load().zones.get(origin.wire()).cloned();
        self.store.write(|tx| {
            let meta = tx.meta(origin)?;
            if meta.as_ref().is_some_and(|m| m.file_digest == fd) {
                // Unchanged since last seen (a comment or the serial aside).
                return Ok(FileOutcome::Other);
            }
            let file = CompiledZone::compile_with(&model, Some(&self.health))?;
            let Some(meta) = meta else {
                // First sight: the file seeds the store.
                let serial = file.serial;
                let generation = tx.put_zone(&model, serial, false, &fd, &fd)?;
                info!(zone = %origin, serial, "zone seeded from its file");
                return Ok(FileOutcome::Compiled(file, journal::empty(), generation));
            };
            if meta.dirty || meta.live_digest == fd {
                let dirty = meta.live_digest != fd;
                tx.set_file_state(origin, &fd, dirty)?;
                return Ok(if dirty {
                    FileOutcome::KeptLive(meta.serial)
                } else {
                    FileOutcome::Other
                });
            }
            // Clean and the file changed: take the file as one change.
            let current = served.filter(|s| s.generation == meta.generation);
            let fetched;
            let old: &CompiledZone = match &current {
                Some(s) => &s.zone,
                None => {
                    let live = tx.live(origin)?.ok_or_else(|| LoadError::Zone {
                        zone: origin.clone(),
                        message: "vanished from the state store".into(),
                    })?;
                    fetched = CompiledZone::compile_with(&live, Some(&self.health))?;
                    &fetched
                }
            };
            let from = meta.serial;
            let to = if journal::serial_gt(file.serial, from) {
                file.serial
            } else {
                from.wrapping_add(1)
            };
            let mut model = model;
            journal::set_serial(&mut model, to).map_err(|message| LoadError::Zone {
                zone: origin.clone(),
                message,
            })?;
            let new = CompiledZone::compile_with(&model, Some(&self.health))?;
            let mut delta = journal::diff(old, &new, None);
            delta.from = from;
            let row = delta.to_row().map_err(|message| LoadError::Zone {
                zone: origin.clone(),
                message,
            })?;
            let generation = tx.put_zone(&model, to, false, &fd, &fd)?;
            tx.append_journal(origin, &row)?;
            info!(zone = %origin, file = %path.display(), from, to, "zone file taken as a change");
            let Some(current) = current else {
                return Ok(FileOutcome::Other);
            };
            let journal = journal::appended(&current.journal, Arc::new(delta), JOURNAL_KEEP);
            Ok(FileOutcome::Compiled(new, journal, generation))
        })
        // The closure owned the parsed model: it is freed before the answers are precomputed.
        .map(|outcome| match outcome {
            FileOutcome::Compiled(zone, journal, generation) => FileOutcome::Built(
                self.counted(ServedZone::with_journal(zone, journal, generation, self.serving)),
            ),
            other => other,
        })
    }

    /// Zones in the store whose file is gone: a clean one is dropped, a dirty one keeps its
    /// runtime changes (and serving).
    fn forget_missing(&self, seen: &HashSet<Name>) -> Result<(), LoadError> {
        self.store.write(|tx| {
            for meta in tx.zones()? {
                if seen.contains(&meta.zone) {
                    continue;
                }
                if meta.dirty {
                    warn!(zone = %meta.zone, serial = meta.serial, "the zone file is gone but the zone has runtime changes; still serving it from the state store");
                } else {
                    tx.delete_zone(&meta.zone)?;
                    info!(zone = %meta.zone, "zone file gone: zone no longer served");
                }
            }
            Ok(())
        })
    }

    /// Make the catalog serve what the store holds: zones whose generation differs are
    /// (re)built (from `fresh` when it has that generation), zones gone are dropped. Call with
    /// the write lock held, or from a context that takes it (`lock_self`). Returns the
    /// changes as (zone, old serial, new serial).
    fn sync_catalog(
        &self,
        fresh: &HashMap<Name, Arc<ServedZone>>,
        log_pickups: bool,
    ) -> Result<Vec<ZoneChange>, LoadError> {
        let cat = self.catalog.load_full();
        // One read transaction: metas, and the rows of the zones to rebuild.
        let (metas, stored) = self.store.read(|tx| {
            let metas = tx.zones()?;
            let mut stored = Vec::new();
            for m in &metas {
                let current = cat.zones.get(m.zone.wire()).map(|z| z.generation);
                let fresh_gen = fresh.get(&m.zone).map(|z| z.generation);
                if current == Some(m.generation) || fresh_gen == Some(m.generation) {
                    continue;
                }
                let Some(live) = tx.live(&m.zone)? else {
                    continue;
                };
                // Only a serving process answers IXFR from the journal.
                let journal = if self.serving {
                    tx.journal(&m.zone)?
                } else {
                    Vec::new()
                };
                stored.push(Stored {
                    meta: m.clone(),
                    live,
                    journal,
                });
            }
            Ok::<_, StoreError>((metas, stored))
        })?;
        let mut built: HashMap<Name, Arc<ServedZone>> = HashMap::new();
        let mut first_err = None;
        for s in stored {
            let zone = s.meta.zone.clone();
            match build(s, self.serving, &self.health) {
                Ok(z) => {
                    built.insert(zone, self.counted(z));
                }
                Err(e) => {
                    error!(%zone, error = %e, "cannot serve the zone from the state store; keeping the previous version");
                    first_err.get_or_insert(e);
                }
            }
        }
        let mut changes = Vec::new();
        let mut zones: Vec<Arc<ServedZone>> = Vec::with_capacity(metas.len());
        for m in &metas {
            let old = cat.zones.get(m.zone.wire());
            let pick = match (old, fresh.get(&m.zone), built.get(&m.zone)) {
                (Some(o), _, _) if o.generation == m.generation => o.clone(),
                (_, Some(f), _) if f.generation == m.generation => f.clone(),
                (_, _, Some(b)) => b.clone(),
                (Some(o), _, _) => o.clone(),
                (None, _, _) => continue,
            };
            if old.is_none_or(|o| !Arc::ptr_eq(o, &pick)) {
                changes.push((
                    m.zone.clone(),
                    old.map(|o| o.zone.serial),
                    Some(pick.zone.serial),
                ));
            }
            zones.push(pick);
        }
        let kept: HashSet<&[u8]> = zones.iter().map(|z| z.zone.origin.wire()).collect();
        for z in cat.zones.values() {
            if !kept.contains(z.zone.origin.wire()) {
                changes.push((z.zone.origin.clone(), Some(z.zone.serial), None));
            }
        }
        if !changes.is_empty() {
            self.swap(Catalog::new(zones));
        }
        if log_pickups {
            for (zone, old, new) in &changes {
                match (old, new) {
                    (Some(o), Some(n)) => {
                        info!(%zone, from = o, to = n, "picked up a change from the state store: serial {o} -> {n}")
                    }
                    (None, Some(n)) => {
                        info!(%zone, serial = n, "picked up a new zone from the state store")
                    }
                    (Some(o), None) => {
                        info!(%zone, serial = o, "zone removed from the state store; no longer served")
                    }
                    (None, None) => {}
                }
            }
        }
        match first_err {
            Some(e) if changes.is_empty() => Err(e),
            _ => Ok(changes),
        }
    }

    /// Catch up with commits of other processes now (what [`Builtin::watch`] does on each
    /// commit it sees). Returns the changes as (zone, old serial, new serial).
    pub fn refresh(&self) -> Result<Vec<ZoneChange>, LoadError> {
        let _w = self.lock();
        self.sync_catalog(&HashMap::new(), false)
    }

    fn apply_sync(&self, zone: &Name, changes: &[Change]) -> Result<ApplyReport, ProviderError> {
        for c in changes {
            if let Change::Create { after } | Change::Update { after, .. } = c {
                self.caps.check(after)?;
            }
        }
        let _w = self.lock();
        let served = self.catalog.load().zones.get(zone.wire()).cloned();
        let outcome = self.store.write(|tx| {
            let meta = tx
                .meta(zone)?
                .ok_or_else(|| ProviderError::ZoneNotFound(zone.to_string()))?;
            if changes.is_empty() {
                return Ok(None);
            }
            let current = served.filter(|s| s.generation == meta.generation);
            // The store holds the live model; the served zone (when current) its wire form.
            let live = tx
                .live(zone)?
                .ok_or_else(|| ProviderError::ZoneNotFound(zone.to_string()))?;
            let fetched;
            let old: &CompiledZone = match &current {
                Some(s) => &s.zone,
                None => {
                    fetched = CompiledZone::compile_with(&live, Some(&self.health))
                        .map_err(|e| ProviderError::Other(e.to_string()))?;
                    &fetched
                }
            };
            let mut model = edit(&live, changes)?;
            drop(live);
            let from = meta.serial;
            let to = from.wrapping_add(1);
            journal::set_serial(&mut model, to).map_err(ProviderError::Other)?;
            let new = CompiledZone::compile_with(&model, Some(&self.health))
                .map_err(|e| ProviderError::Other(e.to_string()))?;
            let mut names: Vec<Box<[u8]>> = vec![zone.wire().into()];
            for c in changes {
                match c {
                    Change::Create { after } => names.push(after.name.wire().into()),
                    Change::Update { before, after } => {
                        names.push(before.name.wire().into());
                        names.push(after.name.wire().into());
                    }
                    Change::Delete { before } => names.push(before.name.wire().into()),
                }
            }
            let mut delta = journal::diff(old, &new, Some(&names));
            delta.from = from;
            let row = delta.to_row().map_err(ProviderError::Other)?;
            let digest = journal::model_digest(&model);
            let dirty = digest != meta.file_digest;
            let generation = tx.put_zone(&model, to, dirty, &digest, &meta.file_digest)?;
            tx.append_journal(zone, &row)?;
            let journal = match &current {
                Some(s) => journal::appended(&s.journal, Arc::new(delta), JOURNAL_KEEP),
                None if !self.serving => journal::empty(),
                None => tx
                    .journal(zone)?
                    .iter()
                    .filter_map(|r| Delta::from_row(r, zone).ok().map(Arc::new))
                    .collect(),
            };
            Ok::<_, ProviderError>(Some((new, journal, generation, from, to, dirty)))
        })?;
        let Some((new, journal, generation, from, to, dirty)) = outcome else {
            return Ok(ApplyReport {
                batches: 0,
                api_calls: 0,
            });
        };
        let served = self.counted(ServedZone::with_journal(
            new,
            journal,
            generation,
            self.serving,
        ));
        let old = self.catalog.load_full();
        let zones = old
            .zones
            .values()
            .filter(|z| z.zone.origin != *zone)
            .cloned()
            .chain(std::iter::once(served));
        self.swap(Catalog::new(zones));
        info!(%zone, from, to, changes = changes.len(), dirty, "zone changed: serial {from} -> {to}");
        Ok(ApplyReport {
            batches: 1,
            api_calls: 0,
        })
    }

    /// Follow the state store and NOTIFY secondaries, until `shutdown` completes. Run it in
    /// `serve` next to the DNS server:
    ///
    /// - every [`POLL_INTERVAL`] a dedicated connection checks `PRAGMA data_version`; when
    ///   another connection (another process) committed, zones whose generation changed are
    ///   rebuilt and swapped in (one log line per zone, old -> new serial);
    /// - on every serial change of a served zone (picked up, applied or reloaded here), and
    ///   once for every zone at start, a NOTIFY goes to each address in `notify`.
    pub async fn watch(
        self: Arc<Self>,
        notify: Vec<SocketAddr>,
        shutdown: impl Future<Output = ()>,
    ) {
        let stop = Arc::new(AtomicBool::new(false));
        let poller = if self.store.is_memory() {
            None
        } else {
            let (b, stop) = (self.clone(), stop.clone());
            match std::thread::Builder::new()
                .name("builtin-watch".into())
                .spawn(move || b.poll_store(&stop))
            {
                Ok(t) => Some(t),
                Err(e) => {
                    error!(error = %e, "cannot start the state store watcher");
                    None
                }
            }
        };
        let notifier = self.clone().notify_loop(notify);
        tokio::select! {
            () = shutdown => {}
            () = notifier => {}
        }
        stop.store(true, Ordering::Relaxed);
        if let Some(t) = poller {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }

    fn poll_store(&self, stop: &AtomicBool) {
        let mut watcher = match self.store.watcher() {
            Ok(w) => w,
            Err(e) => {
                error!(error = %e, "cannot watch the state store; changes from other processes will not be picked up");
                return;
            }
        };
        let mut failing = false;
        while !stop.load(Ordering::Relaxed) {
            match watcher.changed() {
                Ok(true) => {
                    let _w = self.lock();
                    match self.sync_catalog(&HashMap::new(), true) {
                        Ok(_) => failing = false,
                        Err(e) if !failing => {
                            failing = true;
                            error!(error = %e, "cannot pick up changes from the state store");
                        }
                        Err(e) => debug!(error = %e, "still cannot pick up changes"),
                    }
                }
                Ok(false) => {}
                Err(e) if !failing => {
                    failing = true;
                    error!(error = %e, "cannot read the state store");
                }
                Err(_) => {}
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    async fn notify_loop(self: Arc<Self>, targets: Vec<SocketAddr>) {
        if targets.is_empty() {
            return std::future::pending().await;
        }
        let mut rx = self.swapped.subscribe();
        let mut sent: HashMap<Name, u32> = HashMap::new();
        loop {
            let cat = self.catalog.load_full();
            for z in cat.zones.values() {
                let (origin, serial) = (&z.zone.origin, z.zone.serial);
                if sent.get(origin) == Some(&serial) {
                    continue;
                }
                sent.insert(origin.clone(), serial);
                let packet = crate::notify::packet(rand::random(), &z.zone);
                for &target in &targets {
                    let (zone, packet) = (origin.clone(), packet.clone());
                    tokio::spawn(async move {
                        crate::notify::send(target, &zone, serial, packet).await;
                    });
                }
            }
            sent.retain(|n, _| cat.zones.contains_key(n.wire()));
            if rx.changed().await.is_err() {
                return;
            }
        }
    }
}

enum FileOutcome {
    /// The served form is ready (seeded, or the file taken with the journal at hand).
    Built(Arc<ServedZone>),
    /// Compiled, to be served once the parsed model is freed: (zone, journal, generation).
    Compiled(CompiledZone, Journal, i64),
    /// The file changed, the zone is dirty: the live zone (this serial) stays.
    KeptLive(u32),
    /// Nothing to build here (unchanged, bookkeeping only, or left to the catalog sync).
    Other,
}

/// The zone with `changes` applied; every `before` must match the live set exactly.
fn edit(live: &Zone, changes: &[Change]) -> Result<Zone, ProviderError> {
    let mut sets: Vec<Option<RecordSet>> = live.record_sets.iter().cloned().map(Some).collect();
    let mut index: HashMap<RecordSetKey, usize> = sets
        .iter()
        .enumerate()
        .filter_map(|(i, rs)| rs.as_ref().map(|rs| (rs.key(), i)))
        .collect();
    // The set `before` names; it must be there and equal.
    let find = |index: &HashMap<RecordSetKey, usize>,
                sets: &[Option<RecordSet>],
                before: &RecordSet|
     -> Result<usize, ProviderError> {
        index
            .get(&before.key())
            .copied()
            .filter(|&i| sets[i].as_ref() == Some(before))
            .ok_or_else(|| ProviderError::Invalid {
                record: before.key().to_string(),
                message: "the live record set differs from the one the change was planned against"
                    .into(),
            })
    };
    for c in changes {
        match c {
            Change::Create { after } => {
                let key = after.key();
                if index.contains_key(&key) {
                    return Err(ProviderError::Invalid {
                        record: key.to_string(),
                        message: "already exists".into(),
                    });
                }
                index.insert(key, sets.len());
                sets.push(Some(after.clone()));
            }
            Change::Update { before, after } => {
                let i = find(&index, &sets, before)?;
                let key = after.key();
                if key != before.key() {
                    if index.contains_key(&key) {
                        return Err(ProviderError::Invalid {
                            record: key.to_string(),
                            message: "already exists".into(),
                        });
                    }
                    index.remove(&before.key());
                    index.insert(key, i);
                }
                sets[i] = Some(after.clone());
            }
            Change::Delete { before } => {
                let i = find(&index, &sets, before)?;
                index.remove(&before.key());
                sets[i] = None;
            }
        }
    }
    Ok(Zone::new(
        live.origin.clone(),
        sets.into_iter().flatten().collect(),
    ))
}

/// Parse, check and compile one zone file.
pub fn load_zone(path: &Path, origin: &Name, root: &Path) -> Result<ServedZone, LoadError> {
    let model = zonefile::load_file(path, origin, root).map_err(LoadError::Parse)?;
    Ok(ServedZone::new(CompiledZone::compile(&model)?))
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

    /// The live zones (the store's, caught up with other processes first).
    async fn list_zones(&self) -> Result<Vec<ZoneRef>, ProviderError> {
        blocking(|| self.refresh()).map_err(|e| ProviderError::Other(e.to_string()))?;
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

    /// The live zone from the store, with its current serial (the served zones keep only
    /// their wire form).
    async fn read_zone(&self, zone: &Name) -> Result<Zone, ProviderError> {
        blocking(|| self.store.read(|tx| tx.live(zone)))?
            .ok_or_else(|| ProviderError::ZoneNotFound(zone.to_string()))
    }

    /// Apply a change set in one store transaction: every `before` must match the live zone
    /// exactly (else nothing changes), the SOA serial becomes the old one plus one (an SOA
    /// update in the set keeps its other fields), the delta is journaled, and the new zone is
    /// served here at once (other processes pick it up through [`Builtin::watch`]).
    async fn apply(&self, zone: &Name, changes: &[Change]) -> Result<ApplyReport, ProviderError> {
        blocking(|| self.apply_sync(zone, changes))
    }

    /// Wait until a running `serve` on the same store serves the zone's stored serial.
    async fn wait_served(
        &self,
        zone: &Name,
        timeout: std::time::Duration,
    ) -> switchback_api::provider::Served {
        crate::served::wait(self, zone, timeout).await
    }
}

/// Zones by name, for tests and tools.
pub fn served_serials(cat: &Catalog) -> BTreeMap<Name, u32> {
    cat.zones
        .values()
        .map(|z| (z.zone.origin.clone(), z.zone.serial))
        .collect()
}
