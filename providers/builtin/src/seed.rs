//! The zone folder into the state store: each `*.zone` file seeds its zone once, a changed
//! file is taken when the live zone is clean, a removed file forgets its zone.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use switchback_api::zonefile::ParsedZone;
use switchback_api::zonefile::{self, ZoneError};
use switchback_api::{Name, RType, ZoneJson};
use tracing::{error, info, warn};

use crate::answer::ServedZone;
use crate::history::{self, History};
use crate::provider::Builtin;
use crate::store::{HISTORY_KEEP, ZoneStoreError};
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
    #[error(transparent)]
    ZoneStore(#[from] ZoneStoreError),
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
    /// Zones whose file is byte for byte the one last reconciled: not parsed again (a restart
    /// serves them from the store).
    pub unchanged: Vec<Name>,
}

impl Builtin {
    /// Read the zone folder again and reconcile it with the store: new files seed new zones;
    /// an edited file replaces a clean zone (as one change in its IXFR history) and is left aside for a
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
                        Ok(FileOutcome::Unchanged) => report.unchanged.push(origin),
                        Ok(FileOutcome::Other | FileOutcome::Compiled(..)) => {}
                        Err(e) => report.failed.push((path, e)),
                    }
                }
                // The catalog zone has no file: it is made from the others.
                if let Some(c) = &self.catalog_zone {
                    seen.insert(c.clone());
                }
                if let Err(e) = self.forget_missing(&seen) {
                    report.failed.push((self.zone_dir.clone(), e));
                }
                if let Err(e) = self.sync_catalog_zone() {
                    report.failed.push((self.zone_dir.clone(), e));
                }
            }
            Err(e) => report.failed.push((self.zone_dir.clone(), e)),
        }
        // The files' parsed records are gone: give back their pages, and the store's cache of
        // the pages their text was written through, before the zones are compiled; and move
        // what was written out of the write-ahead log, whose pages are read through the cache.
        if let Err(e) = self.store.checkpoint() {
            warn!(error = %e, "state store checkpoint failed");
        }
        crate::provider::release_free_memory(&self.store);
        if let Err(e) = self.sync_catalog(&fresh, false) {
            report
                .failed
                .push((std::path::PathBuf::from(self.store.path()), e));
        }
        report.loaded = if self.serving {
            let cat = self.catalog.load();
            cat.zones
                .values()
                .map(|z| (z.zone.origin.clone(), z.zone.serial))
                .collect()
        } else {
            // Not compiled here (a CLI process reads the store): what the store holds.
            match self.store.read(|tx| tx.zones()) {
                Ok(metas) => metas.into_iter().map(|m| (m.zone, m.serial)).collect(),
                Err(e) => {
                    report
                        .failed
                        .push((std::path::PathBuf::from(self.store.path()), e.into()));
                    Vec::new()
                }
            }
        };
        report.loaded.sort();
        for (path, e) in &report.failed {
            error!(file = %path.display(), error = %e, "zone not loaded");
        }
        info!(zones = report.loaded.len(), failed = report.failed.len(), dir = %self.zone_dir.display(), "zones loaded");
        // The parsed models are gone: give their pages back to the system.
        crate::provider::release_free_memory(&self.store);
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
        // A file exactly as last reconciled (a restart): nothing to parse, the store has it.
        let fingerprint = fingerprint(path);
        if let Some(fp) = &fingerprint {
            if self.store.read(|tx| tx.file_fingerprint(origin))?.as_ref() == Some(fp) {
                return Ok(FileOutcome::Unchanged);
            }
        }
        let parsed =
            zonefile::checked_file(path, origin, &self.zone_dir).map_err(LoadError::Parse)?;
        let fd = {
            let mut d = history::ModelDigest::new(origin);
            parsed.sets().for_each(|rs| d.add(&rs));
            d.finish()
        };
        let outcome = self.take_file(parsed, fd, path, origin)?;
        if !matches!(outcome, FileOutcome::KeptLive(_)) {
            // A kept-live file is looked at again each time (its warning repeats).
            let fp = fingerprint.as_deref();
            self.store.write(|tx| tx.set_file_fingerprint(origin, fp))?;
        }
        Ok(outcome)
    }

    /// Bring one parsed zone file (`parsed`, whose model has the digest `fd`) and the store
    /// together.
    fn take_file(
        &self,
        parsed: ParsedZone,
        fd: String,
        path: &Path,
        origin: &Name,
    ) -> Result<FileOutcome, LoadError> {
        let served = self.catalog.load().zones.get(origin.wire()).cloned();
        self.store.write(|tx| {
            let meta = tx.meta(origin)?;
            if meta.as_ref().is_some_and(|m| m.file_digest == fd) {
                // Unchanged since last seen (a comment or the serial aside).
                return Ok(FileOutcome::Other);
            }
            let Some(meta) = meta else {
                // First sight: the file seeds the store. Its record sets are made one at a
                // time from the packed records, checked as a compile checks them (the catalog
                // sync compiles the stored zone as it reads it) and written out as JSON: the
                // model is never made, and only the packed records and the JSON are in memory.
                let (json, serial) = seed_json(&parsed)?;
                drop(parsed);
                tx.put_zone_json(origin, &json, serial, false, &fd, &fd)?;
                info!(zone = %origin, serial, "zone seeded from its file");
                return Ok(FileOutcome::Other);
            };
            let model = parsed.into_zone();
            let file = CompiledZone::compile_with(&model, Some(&self.health))?;
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
            let to = if history::serial_gt(file.serial, from) {
                file.serial
            } else {
                from.wrapping_add(1)
            };
            let mut model = model;
            history::set_serial(&mut model, to).map_err(|message| LoadError::Zone {
                zone: origin.clone(),
                message,
            })?;
            let new = CompiledZone::compile_with(&model, Some(&self.health))?;
            let mut delta = history::diff(old, &new, None);
            delta.from = from;
            let row = delta.to_row().map_err(|message| LoadError::Zone {
                zone: origin.clone(),
                message,
            })?;
            let generation = tx.put_zone(&model, to, false, &fd, &fd)?;
            tx.append_history(origin, &row, generation, None)?;
            info!(zone = %origin, file = %path.display(), from, to, "zone file taken as a change");
            let Some(current) = current else {
                return Ok(FileOutcome::Other);
            };
            let history = history::appended(&current.history, Arc::new(delta), HISTORY_KEEP);
            Ok(FileOutcome::Compiled(new, history, generation))
        })
        // The closure owned the parsed model: it is freed before the answers are precomputed.
        .map(|outcome| match outcome {
            FileOutcome::Compiled(zone, history, generation) => FileOutcome::Built(
                self.counted(ServedZone::with_history(zone, history, generation, self.serving)),
            ),
            other => other,
        })
    }

    /// Zones in the store whose file is gone: a clean one is dropped, a dirty one keeps its
    /// runtime changes (and serving).
    ///
    /// On a store that several instances share, each with its own zone folder, a file counts
    /// as gone only when this process saw it at its last reload and not now: an instance that
    /// starts with an empty (or another) folder never drops the zones the others serve.
    fn forget_missing(&self, seen: &HashSet<Name>) -> Result<(), LoadError> {
        let before = {
            let mut last = self.files_seen.lock().unwrap_or_else(|p| p.into_inner());
            std::mem::replace(&mut *last, seen.clone())
        };
        let shared = self.store.is_shared();
        self.store.write(|tx| {
            for meta in tx.zones()? {
                if seen.contains(&meta.zone) {
                    continue;
                }
                if shared && !before.contains(&meta.zone) {
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
}

/// A zone file's fingerprint: its length and a 64-bit hash of its bytes, read in chunks.
/// `None` for a file that cannot be read or that has an `$INCLUDE` (the included file can
/// change on its own: such a zone is parsed every time).
fn fingerprint(path: &Path) -> Option<String> {
    use std::hash::Hasher;
    use std::io::Read;
    let mut f = std::fs::File::open(path).ok()?;
    let mut h = crate::hash::FxHasher::default();
    let mut buf = vec![0u8; 1 << 16];
    // Bytes not hashed yet: whole 8-byte words are, so the hash does not depend on how
    // the reads split the file. The last 7 of them also catch an `$INCLUDE` across two reads.
    let mut pending: Vec<u8> = Vec::new();
    let mut len = 0u64;
    loop {
        let n = f.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        len += n as u64;
        let scan_from = pending.len().saturating_sub(7);
        pending.extend_from_slice(&buf[..n]);
        if pending[scan_from..]
            .windows(8)
            .any(|w| w.eq_ignore_ascii_case(b"$include"))
        {
            return None;
        }
        let words = pending.len() / 8 * 8;
        let keep = words.min(pending.len().saturating_sub(7));
        let whole = keep / 8 * 8;
        h.write(&pending[..whole]);
        pending.drain(..whole);
    }
    h.write(&pending);
    Some(format!("{len}:{:016x}", h.finish()))
}

enum FileOutcome {
    /// The served form is ready (seeded, or the file taken with the history at hand).
    Built(Arc<ServedZone>),
    /// Compiled, to be served once the parsed model is freed: (zone, history, generation).
    Compiled(CompiledZone, History, i64),
    /// The file changed, the zone is dirty: the live zone (this serial) stays.
    KeptLive(u32),
    /// Nothing to build here (unchanged, bookkeeping only, or left to the catalog sync).
    Other,
    /// The file is the one last reconciled, byte for byte: not parsed.
    Unchanged,
}

/// The JSON of the zone of `parsed` (the text `serde_json` makes of its model) and its serial,
/// made one record set at a time; each set is checked as a compile checks it.
fn seed_json(parsed: &ParsedZone) -> Result<(String, u32), LoadError> {
    let origin = &parsed.origin;
    let json_error = |e: serde_json::Error| LoadError::Zone {
        zone: origin.clone(),
        message: e.to_string(),
    };
    let mut serial = None;
    let mut json = ZoneJson::start(Vec::new(), origin).map_err(json_error)?;
    for rs in parsed.sets() {
        crate::zone::check_sets([&rs], origin)?;
        if rs.rtype == RType::SOA && rs.name == *origin {
            serial = history::soa_serial(&rs);
        }
        json.push(&rs).map_err(json_error)?;
    }
    let serial = serial.ok_or_else(|| crate::zone::CompileError::NoSoa(origin.clone()))?;
    let json = json.finish().map_err(json_error)?;
    // serde_json writes UTF-8 only.
    let json = String::from_utf8(json).map_err(|e| LoadError::Zone {
        zone: origin.clone(),
        message: e.to_string(),
    })?;
    Ok((json, serial))
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
