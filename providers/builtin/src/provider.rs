//! The built-in provider: the zones this process serves, behind the [`Provider`] trait.
//!
//! The state store ([`crate::store`]) is the source of truth for live zones. Zone files seed
//! it on first load; afterwards runtime changes (applies) live in the store and win until they
//! are rolled back. A zone file edited later replaces the live zone on a reload only when the
//! zone is clean (the live zone equals the file as last seen, serial aside); then it is applied
//! as one change in its IXFR history. A dirty zone keeps its live version and a warning says how to take
//! the file. Every change bumps the SOA serial, is kept in the IXFR history and is swapped into the
//! served catalog at once; other processes on the same state file pick it up through
//! [`Builtin::watch`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;
use async_trait::async_trait;
use switchback_api::{
    ApplyReport, Capabilities, Change, Name, Provider, ProviderError, RType, Support, Zone, ZoneRef,
};
use tracing::{debug, error, info, warn};

use crate::answer::{Catalog, ServedZone, ZoneCounters};
use crate::history::{self, Delta, History};
use crate::patch;
use crate::seed::{LoadError, LoadReport};
use crate::steer::HealthTable;
use crate::store::{HISTORY_KEEP, HistoryRow, Touched, ZoneMeta, ZoneStore, ZoneStoreError};
use crate::zone::CompiledZone;

/// A change of what is served: (zone, old serial, new serial); `None` when not served
/// before, or not any more.
pub type ZoneChange = (Name, Option<u32>, Option<u32>);

/// The built-in authoritative provider.
pub struct Builtin {
    pub(crate) name: String,
    pub(crate) zone_dir: PathBuf,
    pub(crate) store: ZoneStore,
    pub(crate) catalog: Arc<ArcSwap<Catalog>>,
    pub(crate) caps: Capabilities,
    /// One writer at a time (reloads, applies and pick-ups), in this process; the store's
    /// `BEGIN IMMEDIATE` serializes processes.
    pub(crate) write: Mutex<()>,
    /// Bumped on every catalog swap (the NOTIFY loop waits on it).
    pub(crate) swapped: tokio::sync::watch::Sender<u64>,
    /// Health of steered targets, read per query (the health monitor writes it).
    pub(crate) health: Arc<HealthTable>,
    /// Each zone's response counters, by origin (wire form): every version of a zone built
    /// here counts in the same ones, so they stay monotonic across rebuilds (and a zone that
    /// goes and comes back continues). Locked when a zone is built, never per query.
    pub(crate) counters: Mutex<HashMap<Box<[u8]>, Arc<ZoneCounters>>>,
    /// Precompute the answers of every zone it builds: true in the process that serves DNS,
    /// false in a CLI process that only reads and changes zones (it never answers a query).
    pub(crate) serving: bool,
    /// `[server] catalog`: the RFC 9432 catalog zone of every other zone (catalog_zone.rs).
    pub(crate) catalog_zone: Option<Name>,
    /// The zone files this process saw at its last reload (seed.rs: on a shared store, only a
    /// file seen and then removed here removes its zone).
    pub(crate) files_seen: Mutex<HashSet<Name>>,
}

/// The record types the built-in server holds and serves.
pub const RECORD_TYPES: &[RType] = switchback_api::rtype::ZONE_TYPES;

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

impl From<ZoneStoreError> for ProviderError {
    fn from(e: ZoneStoreError) -> ProviderError {
        ProviderError::Other(e.to_string())
    }
}

/// Run blocking work (SQLite, compiling a zone) from async code without stalling a runtime
/// worker where tokio allows it.
pub(crate) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// A zone as the store holds it, read in one transaction (and compiled as it was read).
pub(crate) struct Stored {
    meta: ZoneMeta,
    /// The live zone, compiled from its JSON as the store gave it.
    compiled: Result<CompiledZone, crate::zone::CompileError>,
    history: Vec<HistoryRow>,
}

/// Hand the heap's free pages back to the system (glibc keeps what a freed zone model or an
/// old zone version used, and the process's resident size never comes down otherwise), after
/// the state store's connection gave back its cache of the pages a zone's text went through.
/// Called after each reload (the first load included), never per query or per patch.
pub(crate) fn release_free_memory(store: &ZoneStore) {
    store.release_memory();
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own heap; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Build the served form of a stored zone.
pub(crate) fn build(stored: Stored, serving: bool) -> Result<ServedZone, LoadError> {
    let zone = stored.meta.zone.clone();
    let compiled = stored.compiled?;
    let mut deltas = Vec::with_capacity(stored.history.len());
    for row in &stored.history {
        match Delta::from_row(row, &zone) {
            Ok(d) => {
                if d.is_gap() {
                    // Nothing before a gap can be sent as IXFR.
                    deltas.clear();
                }
                deltas.push(Arc::new(d));
            }
            Err(message) => {
                // A history entry we cannot read: IXFR falls back to AXFR before it.
                warn!(%zone, from = row.from_serial, to = row.to_serial, %message, "history entry unreadable; dropped");
                deltas.clear();
            }
        }
    }
    let served = ServedZone::with_history(
        compiled,
        History::from(deltas),
        stored.meta.generation,
        serving,
    );
    let f = served.zone.footprint();
    debug!(
        %zone,
        nodes = served.zone.nodes.len(),
        shards = served.zone.nodes.shards(),
        names = f.names,
        tables = f.tables,
        rrsets = f.rrsets,
        rdata = f.rdata,
        answers = f.answers,
        total = f.total(),
        "zone compiled: memory by part (bytes)"
    );
    Ok(served)
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
        let store = match ZoneStore::in_memory() {
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
        state: impl Into<switchback_sql::Location>,
    ) -> Result<Builtin, LoadError> {
        Builtin::open_with_report(name, zone_dir, state, false).map(|(b, _)| b)
    }

    /// [`Builtin::open`] for the process that serves DNS: every zone's answers precomputed.
    pub fn open_serving(
        name: impl Into<String>,
        zone_dir: impl Into<PathBuf>,
        state: impl Into<switchback_sql::Location>,
    ) -> Result<Builtin, LoadError> {
        Builtin::open_with_report(name, zone_dir, state, true).map(|(b, _)| b)
    }

    /// [`Builtin::open`] or [`Builtin::open_serving`], also returning what the first load did.
    pub fn open_with_report(
        name: impl Into<String>,
        zone_dir: impl Into<PathBuf>,
        state: impl Into<switchback_sql::Location>,
        serving: bool,
    ) -> Result<(Builtin, LoadReport), LoadError> {
        Builtin::open_full(name, zone_dir, state, serving, None)
    }

    /// [`Builtin::open_with_report`], serving the catalog zone `catalog` (RFC 9432) too.
    pub fn open_full(
        name: impl Into<String>,
        zone_dir: impl Into<PathBuf>,
        state: impl Into<switchback_sql::Location>,
        serving: bool,
        catalog: Option<Name>,
    ) -> Result<(Builtin, LoadReport), LoadError> {
        let store = ZoneStore::open(state)?;
        let mut b = Builtin::with_store(name.into(), zone_dir.into(), store, serving);
        b.catalog_zone = catalog;
        // Reconcile the zone folder with the store, then build what the store holds (also
        // when the folder is unreadable now): one pass, so a zone file's parsed model is gone
        // before the served zones are built.
        let report = b.reload();
        Ok((b, report))
    }

    pub(crate) fn with_store(
        name: String,
        zone_dir: PathBuf,
        store: ZoneStore,
        serving: bool,
    ) -> Builtin {
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
            catalog_zone: None,
            files_seen: Mutex::default(),
        }
    }

    /// `zone`, counting its responses in the counters of its earlier versions.
    pub(crate) fn counted(&self, zone: ServedZone) -> Arc<ServedZone> {
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
    pub fn store(&self) -> &ZoneStore {
        &self.store
    }

    /// A zone's bookkeeping in the store (serial, generation, whether it is dirty).
    pub fn zone_meta(&self, zone: &Name) -> Result<Option<ZoneMeta>, ZoneStoreError> {
        self.store.read(|tx| tx.meta(zone))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, ()> {
        self.write.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn swap(&self, mut catalog: Catalog) {
        catalog.keep_counters(&self.catalog.load());
        self.catalog.store(Arc::new(catalog));
        self.swapped.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Make the catalog serve what the store holds: zones whose generation differs are
    /// (re)built (from `fresh` when it has that generation), zones gone are dropped. Call with
    /// the write lock held, or from a context that takes it (`lock_self`). Returns the
    /// changes as (zone, old serial, new serial).
    pub(crate) fn sync_catalog(
        &self,
        fresh: &HashMap<Name, Arc<ServedZone>>,
        log_pickups: bool,
    ) -> Result<Vec<ZoneChange>, LoadError> {
        if !self.serving {
            // A process that never answers queries compiles a zone only to change it
            // (apply_sync); it reads zones and their list from the store.
            return Ok(Vec::new());
        }
        let cat = self.catalog.load_full();
        let mut built: HashMap<Name, Arc<ServedZone>> = HashMap::new();
        // One read transaction: metas, the changes to patch the served zones with, and the
        // rows of the zones to rebuild whole.
        let (metas, stored) = self.store.read(|tx| {
            let metas = tx.zones()?;
            let mut stored = Vec::new();
            for m in &metas {
                let current = cat.zones.get(m.zone.wire());
                let fresh_gen = fresh.get(&m.zone).map(|z| z.generation);
                if current.map(|z| z.generation) == Some(m.generation)
                    || fresh_gen == Some(m.generation)
                {
                    continue;
                }
                if let Some(cur) = current {
                    let steps = tx.steps_after(&m.zone, cur.generation)?;
                    if let Some(z) = patch::follow(cur, &steps, m, &self.health, self.serving) {
                        built.insert(m.zone.clone(), self.counted(z));
                        continue;
                    }
                }
                // Straight from the JSON as it is read: no model is made, and on SQLite the
                // text is never held whole (reads of the zone go to the store).
                let compiled = tx.read_live(&m.zone, |json, len| {
                    crate::stored_zone::compile_reader(json, len, Some(&self.health))
                })?;
                let Some(compiled) = compiled else {
                    continue;
                };
                // Only a serving process answers IXFR from the history.
                let history = if self.serving {
                    tx.history(&m.zone)?
                } else {
                    Vec::new()
                };
                stored.push(Stored {
                    meta: m.clone(),
                    compiled,
                    history,
                });
            }
            Ok::<_, ZoneStoreError>((metas, stored))
        })?;
        let mut first_err = None;
        for s in stored {
            let zone = s.meta.zone.clone();
            match build(s, self.serving) {
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

    pub(crate) fn apply_sync(
        &self,
        zone: &Name,
        changes: &[Change],
    ) -> Result<ApplyReport, ProviderError> {
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
            if !self.serving {
                return self
                    .apply_unserved(tx, &meta, live, changes)
                    .map(|g| Some((None, g)));
            }
            let fetched;
            let old: &CompiledZone = match &current {
                Some(s) => &s.zone,
                None => {
                    fetched = CompiledZone::compile_with(&live, Some(&self.health))
                        .map_err(|e| ProviderError::Other(e.to_string()))?;
                    &fetched
                }
            };
            let gap = history::too_big_for_ixfr(changes, &live);
            // The reference semantics: every `before` must match the live set exactly.
            let mut model = live;
            switchback_api::plan::apply_changes(&mut model, changes)?;
            let from = meta.serial;
            let to = from.wrapping_add(1);
            history::set_serial(&mut model, to).map_err(ProviderError::Other)?;
            let names = patch::touched_names(zone, changes);
            let names_wire: Vec<Box<[u8]>> = names.iter().map(|n| n.wire().into()).collect();
            // A few names: patched into the served version (which shares the rest), and kept
            // in the history for the other instances to patch theirs the same way.
            let touched = patch::worth_patching(names.len(), model.record_sets.len())
                .then(|| patch::touched(&model, names));
            let new = match touched
                .as_ref()
                .and_then(|t| patch::patched(old, t, &self.health))
            {
                Some(z) => z,
                None => CompiledZone::compile_with(&model, Some(&self.health))
                    .map_err(|e| ProviderError::Other(e.to_string()))?,
            };
            let mut delta = if gap {
                Delta::gap(from, to)
            } else {
                history::diff(old, &new, Some(&names_wire))
            };
            delta.from = from;
            let row = delta.to_row().map_err(ProviderError::Other)?;
            let (generation, dirty) = store_version(tx, &meta, &model, to, &row, touched.as_ref())?;
            let history = match &current {
                Some(s) => history::appended(&s.history, Arc::new(delta), HISTORY_KEEP),
                None if !self.serving => history::empty(),
                None => tx
                    .history(zone)?
                    .iter()
                    .filter_map(|r| Delta::from_row(r, zone).ok().map(Arc::new))
                    .collect(),
            };
            let compiled = Some((new, history));
            Ok::<_, ProviderError>(Some((compiled, (generation, from, to, dirty))))
        })?;
        let Some((compiled, (generation, from, to, dirty))) = outcome else {
            return Ok(ApplyReport {
                batches: 0,
                api_calls: 0,
            });
        };
        // Committed: logged now, so the line's time is the commit's (tests/bench/swap.sh).
        info!(%zone, from, to, changes = changes.len(), dirty, "zone changed: serial {from} -> {to}");
        let Some((new, history)) = compiled else {
            return Ok(ApplyReport {
                batches: 1,
                api_calls: 0,
            });
        };
        let served = self.counted(ServedZone::with_history(
            new,
            history,
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
        Ok(ApplyReport {
            batches: 1,
            api_calls: 0,
        })
    }

    /// [`Builtin::apply_sync`] in a process that serves nothing (the CLI): no zone is
    /// compiled, old or new. The history's delta is made from the touched names' sets alone,
    /// which also checks the new sets as a compile would (the rest of the zone is as it was,
    /// and was valid). Returns (generation, from, to, dirty).
    fn apply_unserved(
        &self,
        tx: &crate::store::Tx<'_>,
        meta: &ZoneMeta,
        live: Zone,
        changes: &[Change],
    ) -> Result<(i64, u32, u32, bool), ProviderError> {
        let zone = &meta.zone;
        let names = patch::touched_names(zone, changes);
        let gap = history::too_big_for_ixfr(changes, &live);
        let old_sets = if gap {
            Vec::new()
        } else {
            patch::touched(&live, names.clone()).sets
        };
        let mut model = live;
        switchback_api::plan::apply_changes(&mut model, changes)?;
        let from = meta.serial;
        let to = from.wrapping_add(1);
        history::set_serial(&mut model, to).map_err(ProviderError::Other)?;
        let compile = |e: crate::zone::CompileError| ProviderError::Other(e.to_string());
        let delta = if gap {
            // No delta to make: the new sets are checked as a compile checks them.
            let soa = model.soa().into_iter();
            crate::zone::check_sets(changes.iter().filter_map(Change::after).chain(soa), zone)
                .map_err(compile)?;
            Delta::gap(from, to)
        } else {
            history::model_diff(zone, &old_sets, &model.record_sets, &names, (from, to))
                .map_err(compile)?
        };
        drop(old_sets);
        let row = delta.to_row().map_err(ProviderError::Other)?;
        drop(delta);
        let touched = patch::worth_patching(names.len(), model.record_sets.len())
            .then(|| patch::touched(&model, names));
        let (generation, dirty) = store_version(tx, meta, &model, to, &row, touched.as_ref())?;
        Ok((generation, from, to, dirty))
    }
}

/// Store a changed zone as its next version, with the history row that leads to it.
/// Returns (generation, dirty: the zone now differs from its file).
fn store_version(
    tx: &crate::store::Tx<'_>,
    meta: &ZoneMeta,
    model: &Zone,
    serial: u32,
    row: &HistoryRow,
    touched: Option<&Touched>,
) -> Result<(i64, bool), ZoneStoreError> {
    let digest = history::model_digest(model);
    let dirty = digest != meta.file_digest;
    let generation = tx.put_zone(model, serial, dirty, &digest, &meta.file_digest)?;
    tx.append_history(&meta.zone, row, generation, touched)?;
    Ok((generation, dirty))
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
        let names: Vec<Name> = if self.serving {
            blocking(|| self.refresh()).map_err(|e| ProviderError::Other(e.to_string()))?;
            let cat = self.catalog.load();
            cat.zones.values().map(|z| z.zone.origin.clone()).collect()
        } else {
            blocking(|| self.store.read(|tx| tx.zones()))?
                .into_iter()
                .map(|m| m.zone)
                .collect()
        };
        let mut zones: Vec<ZoneRef> = names
            .into_iter()
            .map(|name| ZoneRef {
                id: name.to_string(),
                name,
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
    /// update in the set keeps its other fields), the delta is kept in the history, and the new zone is
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
