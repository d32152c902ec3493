//! The built-in provider's live zones and change history, in SQLite (the application's state
//! file, tables prefixed `builtin_`).
//!
//! Schema (version 1):
//! - `builtin_meta(key, value)`: `schema_version`, and `generation`, a counter that every write
//!   to a live zone takes the next value of (so a reader knows which zones changed).
//! - `builtin_zones(zone, serial, generation, dirty, live_digest, file_digest, updated_at,
//!   live)`: the live zone as the model's JSON, in the last column since version 4 (SQLite
//!   reads a row's columns in order: the ones after a big value cost a walk of its pages); `file_digest` is the digest of the zone file it was last
//!   reconciled with, `live_digest` that of the live zone (both ignore the SOA serial); `dirty`
//!   means runtime changes differ from the file.
//! - `builtin_journal(id, zone, from_serial, to_serial, removed, added, created_at,
//!   generation, touched)`: one row per serial change, the records removed and added as JSON;
//!   the last [`HISTORY_KEEP`] per zone are kept. Since version 3 a row also holds the
//!   generation the change made and, for a change of a few names, the record sets it left at
//!   those names ([`Touched`]): a `serve` holding the previous version makes the new one from
//!   them without reading the whole zone.
//!
//! - `builtin_dnssec_keys(id, zone, role, algorithm, public, private, created_at)` (version 5):
//!   the DNSSEC keys of the signed zones (`crate::dnssec`), both halves in base64. The SQLite
//!   file is created readable by its owner only.
//!
//! Every write is one `BEGIN IMMEDIATE` transaction, so a read-check-write is atomic across
//! processes. A file that is not a database, is damaged, or holds a newer schema is refused
//! before anything is written to it.

use std::cell::Cell;
use std::path::Path;
use std::time::{Duration, Instant};

use switchback_api::{Name, Zone};
use switchback_sql::{Backend, Db, Location, Row, SqlError, params};

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = 5;
/// History entries kept per zone.
pub const HISTORY_KEEP: usize = 500;
/// How long a writer waits for another process's transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// The channel a write that changes a live zone NOTIFYs on PostgreSQL.
pub const CHANGES_CHANNEL: &str = "switchback_builtin_zones";
/// On PostgreSQL, a watcher looks at the generations this often even without a NOTIFY (a
/// notification lost with a connection is not a change lost).
pub const FALLBACK_POLL: Duration = Duration::from_secs(1);

use crate::schema::{MIGRATIONS, PG_MIGRATIONS};

mod journal;
mod keys;
pub use journal::{HistoryRow, JournalRecord, Step, Touched};
pub use keys::StoredKey;

/// Why the store could not be used. `path` is the file, or the server as
/// `postgres://user@host:port/database` (never with a password).
#[derive(Debug, thiserror::Error)]
pub enum ZoneStoreError {
    #[error("state store {path}: cannot open: {message}")]
    Open { path: String, message: String },
    #[error(
        "state store {path} holds built-in provider schema version {found}, newer than the \
         version {supported} this switchback understands; refusing to use it (upgrade switchback, \
         or point [server] state at another store)"
    )]
    Newer {
        path: String,
        found: i64,
        supported: i64,
    },
    #[error(
        "state store {path} is not a SQLite database or is damaged ({message}); refusing to \
         touch it (restore it from a backup, or move it away to start afresh)"
    )]
    Corrupt { path: String, message: String },
    #[error("state store {path}: {source}")]
    Sql {
        path: String,
        #[source]
        source: SqlError,
    },
    #[error("state store {path}: zone {zone}: stored data cannot be read: {message}")]
    Data {
        path: String,
        zone: String,
        message: String,
    },
}

/// A live zone's bookkeeping (without the zone itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneMeta {
    pub zone: Name,
    pub serial: u32,
    pub generation: i64,
    pub dirty: bool,
    pub live_digest: String,
    pub file_digest: String,
}

/// The live zones and their history.
pub struct ZoneStore {
    /// How to name it in messages.
    path: String,
    location: Location,
    db: Db,
    memory: bool,
}

impl std::fmt::Debug for ZoneStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZoneStore")
            .field("path", &self.path)
            .finish()
    }
}

fn classify(path: &str, e: SqlError) -> ZoneStoreError {
    let damaged = matches!(&e, SqlError::Sqlite(s) if matches!(
        s.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    ));
    if damaged {
        ZoneStoreError::Corrupt {
            path: path.to_string(),
            message: e.to_string(),
        }
    } else {
        ZoneStoreError::Sql {
            path: path.to_string(),
            source: e,
        }
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The builtin schema version (0: none yet). Reads only.
fn schema_version(tx: &switchback_sql::Tx<'_>) -> Result<i64, SqlError> {
    if !tx.table_exists("builtin_meta")? {
        return Ok(0);
    }
    match tx.query_opt(
        "SELECT value FROM builtin_meta WHERE key = 'schema_version'",
        params![],
    )? {
        Some(r) => r.int(0),
        None => Ok(0),
    }
}

impl ZoneStore {
    /// Open the store at `location` (a SQLite file, created with its folder if need be, or a
    /// PostgreSQL server), and bring the builtin tables to [`SCHEMA_VERSION`].
    pub fn open(location: impl Into<Location>) -> Result<ZoneStore, ZoneStoreError> {
        let location = location.into();
        match &location {
            Location::Sqlite(path) => {
                let conn = open_file(path)?;
                ZoneStore::init(Db::sqlite(conn), location, false)
            }
            Location::Postgres(target) => {
                let db = Db::postgres(target).map_err(|e| ZoneStoreError::Open {
                    path: target.to_string(),
                    message: e.to_string(),
                })?;
                ZoneStore::init(db, location, false)
            }
        }
    }

    /// A store that lives in memory only (for [`crate::Builtin::new`] and tests).
    pub fn in_memory() -> Result<ZoneStore, ZoneStoreError> {
        let path = Path::new(":memory:");
        let conn =
            rusqlite::Connection::open_in_memory().map_err(|e| classify(":memory:", e.into()))?;
        ZoneStore::init(Db::sqlite(conn), Location::Sqlite(path.to_path_buf()), true)
    }

    fn init(db: Db, location: Location, memory: bool) -> Result<ZoneStore, ZoneStoreError> {
        let path = location.display();
        // Processes that open a new SQLite file at the same moment race to make it a WAL
        // database and to create the tables, and SQLite answers some of those steps with
        // "database is locked" at once, without its busy handler: each step is idempotent,
        // so the whole set-up is tried again until BUSY_TIMEOUT.
        switchback_sql::retry_busy(
            BUSY_TIMEOUT,
            |e| matches!(e, ZoneStoreError::Sql { source, .. } if source.is_busy()),
            || ZoneStore::prepare(&db, &path, memory),
        )?;
        Ok(ZoneStore {
            path,
            location,
            db,
            memory,
        })
    }

    /// Check the schema version, switch a file to WAL and bring the tables to
    /// [`SCHEMA_VERSION`] (see [`ZoneStore::init`]).
    fn prepare(db: &Db, path: &str, memory: bool) -> Result<(), ZoneStoreError> {
        let path = path.to_string();
        let err = |e| classify(&path, e);
        let newer = |found| ZoneStoreError::Newer {
            path: path.clone(),
            found,
            supported: SCHEMA_VERSION,
        };
        // Look before writing anything: a foreign or newer store is left as it is.
        let found = db.read(schema_version).map_err(err)?;
        if found > SCHEMA_VERSION {
            return Err(newer(found));
        }
        if !memory {
            let mode = db.with_sqlite(|c| {
                // A new file's page size (an existing one keeps its own).
                c.pragma_update(None, "page_size", switchback_sql::PAGE_SIZE)?;
                c.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
            });
            match mode {
                Some(Ok(m)) if !m.eq_ignore_ascii_case("wal") => {
                    tracing::warn!(%path, mode = %m, "state store is not in WAL mode");
                }
                Some(Err(e)) => return Err(err(e.into())),
                _ => {}
            }
        }
        let migrations = match db.backend() {
            Backend::Sqlite => MIGRATIONS,
            Backend::Postgres => PG_MIGRATIONS,
        };
        let meta = match db.backend() {
            Backend::Sqlite => {
                "CREATE TABLE IF NOT EXISTS builtin_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)"
            }
            Backend::Postgres => {
                "CREATE TABLE IF NOT EXISTS builtin_meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL)"
            }
        };
        db.transaction(
            true,
            |tx| {
                tx.execute(meta, params![]).map_err(err)?;
                // Again inside the transaction: another process may have migrated meanwhile.
                let version = schema_version(tx).map_err(err)?;
                if version > SCHEMA_VERSION {
                    return Err(newer(version));
                }
                for (i, sql) in migrations.iter().enumerate().skip(version as usize) {
                    tx.batch(sql).map_err(err)?;
                    tx.execute(
                        "INSERT INTO builtin_meta (key, value) VALUES ('schema_version', ?1)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        params![i as i64 + 1],
                    )
                    .map_err(err)?;
                }
                Ok(())
            },
            err,
        )
    }

    /// Free the cache the connection keeps of pages it read or wrote (see
    /// [`switchback_sql::Db::release_memory`]).
    pub fn release_memory(&self) {
        self.db.release_memory();
    }

    /// Move what the write-ahead log holds into the file (see
    /// [`switchback_sql::Db::checkpoint`]): after zones were seeded, before they are read.
    pub fn checkpoint(&self) -> Result<(), ZoneStoreError> {
        self.db.checkpoint().map_err(|e| classify(&self.path, e))
    }

    /// The file, or the server, as shown in messages.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Where the store is.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Whether this store is in memory only (no other process can see it).
    pub fn is_memory(&self) -> bool {
        self.memory
    }

    /// Whether several instances may share it (PostgreSQL).
    pub fn is_shared(&self) -> bool {
        self.db.backend() == Backend::Postgres
    }

    /// Run `f` in one write transaction, serialised against every other writer; commit when
    /// it returns `Ok`. A write that changed a live zone tells the other instances (NOTIFY).
    pub fn write<T, E: From<ZoneStoreError>>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let path = self.path.as_str();
        self.db.transaction(
            true,
            |tx| {
                let t = Tx {
                    tx,
                    path: &self.path,
                    changed: Cell::new(false),
                };
                let out = f(&t)?;
                if t.changed.get() {
                    tx.notify(CHANGES_CHANNEL)
                        .map_err(|e| E::from(classify(&self.path, e)))?;
                }
                Ok(out)
            },
            |e| E::from(classify(path, e)),
        )
    }

    /// Run `f` in one read transaction (a consistent view).
    pub fn read<T, E: From<ZoneStoreError>>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let path = self.path.as_str();
        self.db.transaction(
            false,
            |tx| {
                f(&Tx {
                    tx,
                    path,
                    changed: Cell::new(false),
                })
            },
            |e| E::from(classify(path, e)),
        )
    }

    /// Something that sees when other connections (other processes, other instances) commit.
    pub fn watcher(&self) -> Result<Watcher, ZoneStoreError> {
        match &self.location {
            Location::Sqlite(path) => {
                let conn =
                    rusqlite::Connection::open(path).map_err(|e| classify(&self.path, e.into()))?;
                conn.busy_timeout(BUSY_TIMEOUT)
                    .map_err(|e| classify(&self.path, e.into()))?;
                Ok(Watcher::File {
                    conn,
                    path: self.path.clone(),
                    last: None,
                })
            }
            Location::Postgres(_) => match self.db.listen(CHANGES_CHANNEL) {
                Some(listener) => Ok(Watcher::Listen {
                    listener,
                    polled: Instant::now(),
                }),
                None => Err(ZoneStoreError::Open {
                    path: self.path.clone(),
                    message: "cannot LISTEN".into(),
                }),
            },
        }
    }
}

/// Open (creating it and its folder if need be) the state file at `path`.
fn open_file(path: &Path) -> Result<rusqlite::Connection, ZoneStoreError> {
    let shown = path.display().to_string();
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| ZoneStoreError::Open {
            path: shown.clone(),
            message: format!("cannot create folder {}: {e}", parent.display()),
        })?;
    }
    // A new state file is readable by its owner only (the application's store does the
    // same): it holds every zone and the history of their changes.
    let mut create = std::fs::OpenOptions::new();
    create.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
    match create.open(path) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(ZoneStoreError::Open {
                path: shown,
                message: format!("cannot create the state file: {e}"),
            });
        }
    }
    let conn = rusqlite::Connection::open(path).map_err(|e| classify(&shown, e.into()))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| classify(&shown, e.into()))?;
    Ok(conn)
}

/// Sees when any other connection commits: a SQLite file's `PRAGMA data_version`, or
/// PostgreSQL's NOTIFY (with a poll every [`FALLBACK_POLL`]).
pub enum Watcher {
    File {
        conn: rusqlite::Connection,
        path: String,
        last: Option<i64>,
    },
    Listen {
        listener: switchback_sql::Listener,
        polled: Instant,
    },
}

impl Watcher {
    /// Whether something was committed since the last call (true on the first call).
    pub fn changed(&mut self) -> Result<bool, ZoneStoreError> {
        match self {
            Watcher::File { conn, path, last } => {
                let v: i64 = conn
                    .query_row("PRAGMA data_version", [], |r| r.get(0))
                    .map_err(|e| classify(path, e.into()))?;
                let changed = *last != Some(v);
                *last = Some(v);
                Ok(changed)
            }
            Watcher::Listen { listener, polled } => {
                let heard = listener.changed();
                if heard || polled.elapsed() >= FALLBACK_POLL {
                    *polled = Instant::now();
                    return Ok(true);
                }
                Ok(false)
            }
        }
    }
}

/// A transaction on the store.
pub struct Tx<'c> {
    tx: &'c switchback_sql::Tx<'c>,
    path: &'c str,
    /// A live zone was written or dropped.
    changed: Cell<bool>,
}

fn meta_from_row(r: &Row) -> Result<(String, ZoneMetaRaw), SqlError> {
    Ok((
        r.text(0)?,
        ZoneMetaRaw {
            serial: r.int(1)?,
            generation: r.int(2)?,
            dirty: r.bool(3)?,
            live_digest: r.text(4)?,
            file_digest: r.text(5)?,
        },
    ))
}

struct ZoneMetaRaw {
    serial: i64,
    generation: i64,
    dirty: bool,
    live_digest: String,
    file_digest: String,
}

const META_COLUMNS: &str = "zone, serial, generation, dirty, live_digest, file_digest";

impl Tx<'_> {
    fn sql(&self, e: SqlError) -> ZoneStoreError {
        classify(self.path, e)
    }

    pub(crate) fn data(&self, zone: &str, message: impl Into<String>) -> ZoneStoreError {
        ZoneStoreError::Data {
            path: self.path.to_string(),
            zone: zone.to_string(),
            message: message.into(),
        }
    }

    fn meta_of(&self, zone: String, raw: ZoneMetaRaw) -> Result<ZoneMeta, ZoneStoreError> {
        let name: Name = zone
            .parse()
            .map_err(|e| self.data(&zone, format!("bad zone name: {e}")))?;
        Ok(ZoneMeta {
            zone: name,
            serial: u32::try_from(raw.serial)
                .map_err(|_| self.data(&zone, format!("bad serial {}", raw.serial)))?,
            generation: raw.generation,
            dirty: raw.dirty,
            live_digest: raw.live_digest,
            file_digest: raw.file_digest,
        })
    }

    /// Every live zone's bookkeeping, by name.
    pub fn zones(&self) -> Result<Vec<ZoneMeta>, ZoneStoreError> {
        let rows = self
            .tx
            .query(
                &format!("SELECT {META_COLUMNS} FROM builtin_zones ORDER BY zone"),
                params![],
            )
            .map_err(|e| self.sql(e))?;
        rows.iter()
            .map(|r| {
                let (z, raw) = meta_from_row(r).map_err(|e| self.sql(e))?;
                self.meta_of(z, raw)
            })
            .collect()
    }

    /// One live zone's bookkeeping.
    pub fn meta(&self, zone: &Name) -> Result<Option<ZoneMeta>, ZoneStoreError> {
        let row = self
            .tx
            .query_opt(
                &format!("SELECT {META_COLUMNS} FROM builtin_zones WHERE zone = ?1"),
                params![zone.to_string()],
            )
            .map_err(|e| self.sql(e))?;
        row.map(|r| {
            let (z, raw) = meta_from_row(&r).map_err(|e| self.sql(e))?;
            self.meta_of(z, raw)
        })
        .transpose()
    }

    /// The live zone itself.
    pub fn live(&self, zone: &Name) -> Result<Option<Zone>, ZoneStoreError> {
        let key = zone.to_string();
        let row = self
            .tx
            .query_opt(
                "SELECT live FROM builtin_zones WHERE zone = ?1",
                params![key],
            )
            .map_err(|e| self.sql(e))?;
        row.map(|r| {
            let text = r.str(0).map_err(|e| self.sql(e))?;
            serde_json::from_str(text).map_err(|e| self.data(&key, e.to_string()))
        })
        .transpose()
    }

    /// The live zone's JSON as a stream, given to `f` (for
    /// [`crate::stored_zone::compile_reader`]: a zone compiled while it is read, its text never
    /// held whole on SQLite).
    pub fn read_live<T>(
        &self,
        zone: &Name,
        f: impl FnOnce(&mut dyn std::io::Read, usize) -> T,
    ) -> Result<Option<T>, ZoneStoreError> {
        self.tx
            .read_text("builtin_zones", "live", "zone", &zone.to_string(), f)
            .map_err(|e| self.sql(e))
    }

    /// The next value of the generation counter.
    pub fn next_generation(&self) -> Result<i64, ZoneStoreError> {
        self.tx
            .query_one(
                "UPDATE builtin_meta SET value = value + 1 WHERE key = 'generation' RETURNING value",
                params![],
            )
            .and_then(|r| r.int(0))
            .map_err(|e| self.sql(e))
    }

    /// Insert or replace a live zone. Returns its new generation.
    pub fn put_zone(
        &self,
        live: &Zone,
        serial: u32,
        dirty: bool,
        live_digest: &str,
        file_digest: &str,
    ) -> Result<i64, ZoneStoreError> {
        let key = live.origin.to_string();
        let json = serde_json::to_string(live).map_err(|e| self.data(&key, e.to_string()))?;
        self.put_zone_json(&live.origin, &json, serial, dirty, live_digest, file_digest)
    }

    /// [`Tx::put_zone`] of a zone already in its JSON form (`serde_json` of the model), for a
    /// caller that drops the model before the text is written.
    pub fn put_zone_json(
        &self,
        zone: &Name,
        json: &str,
        serial: u32,
        dirty: bool,
        live_digest: &str,
        file_digest: &str,
    ) -> Result<i64, ZoneStoreError> {
        let key = zone.to_string();
        let generation = self.next_generation()?;
        self.tx
            .execute(
                "INSERT INTO builtin_zones
                   (zone, serial, generation, dirty, live, live_digest, file_digest, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (zone) DO UPDATE SET
                   serial = excluded.serial, generation = excluded.generation,
                   dirty = excluded.dirty, live = excluded.live,
                   live_digest = excluded.live_digest, file_digest = excluded.file_digest,
                   updated_at = excluded.updated_at",
                params![
                    key,
                    serial,
                    generation,
                    dirty,
                    json,
                    live_digest,
                    file_digest,
                    now()
                ],
            )
            .map_err(|e| self.sql(e))?;
        self.changed.set(true);
        Ok(generation)
    }

    /// Change only the file bookkeeping of a zone (what is served stays, so does its
    /// generation).
    pub fn set_file_state(
        &self,
        zone: &Name,
        file_digest: &str,
        dirty: bool,
    ) -> Result<(), ZoneStoreError> {
        self.tx
            .execute(
                "UPDATE builtin_zones SET file_digest = ?2, dirty = ?3, updated_at = ?4
                 WHERE zone = ?1",
                params![zone.to_string(), file_digest, dirty, now()],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// The fingerprint of the zone file as last reconciled ([`Tx::set_file_fingerprint`]).
    pub fn file_fingerprint(&self, zone: &Name) -> Result<Option<String>, ZoneStoreError> {
        self.tx
            .query_opt(
                "SELECT fingerprint FROM builtin_files WHERE zone = ?1",
                params![zone.to_string()],
            )
            .and_then(|r| r.map(|r| r.text(0)).transpose())
            .map_err(|e| self.sql(e))
    }

    /// Remember the fingerprint of the zone file just reconciled (`None`: forget it, the file
    /// is parsed next time).
    pub fn set_file_fingerprint(
        &self,
        zone: &Name,
        fingerprint: Option<&str>,
    ) -> Result<(), ZoneStoreError> {
        let key = zone.to_string();
        let r = match fingerprint {
            Some(f) => self.tx.execute(
                "INSERT INTO builtin_files (zone, fingerprint) VALUES (?1, ?2)
                 ON CONFLICT (zone) DO UPDATE SET fingerprint = excluded.fingerprint",
                params![key, f],
            ),
            None => self
                .tx
                .execute("DELETE FROM builtin_files WHERE zone = ?1", params![key]),
        };
        r.map(|_| ()).map_err(|e| self.sql(e))
    }

    /// Drop a zone and its history.
    pub fn delete_zone(&self, zone: &Name) -> Result<(), ZoneStoreError> {
        let key = zone.to_string();
        self.tx
            .execute("DELETE FROM builtin_zones WHERE zone = ?1", params![key])
            .map_err(|e| self.sql(e))?;
        self.tx
            .execute("DELETE FROM builtin_journal WHERE zone = ?1", params![key])
            .map_err(|e| self.sql(e))?;
        self.tx
            .execute("DELETE FROM builtin_files WHERE zone = ?1", params![key])
            .map_err(|e| self.sql(e))?;
        self.changed.set(true);
        Ok(())
    }
}

/// A zone as a running `serve` serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedRow {
    pub node: String,
    pub pid: u32,
    pub serial: u32,
    /// Unix seconds of its last report or refresh.
    pub updated_at: i64,
}

impl Tx<'_> {
    /// Record that `node` (process `pid`) serves `zone` at `serial` now.
    pub fn put_served(
        &self,
        node: &str,
        pid: u32,
        zone: &Name,
        serial: u32,
    ) -> Result<(), ZoneStoreError> {
        self.tx
            .execute(
                "INSERT INTO builtin_served (node, pid, zone, serial, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (node, pid, zone) DO UPDATE SET serial = excluded.serial,
                 updated_at = excluded.updated_at",
                params![node, pid, zone.to_string(), serial, now()],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Process `pid` of `node` still serves what it reported (a shared store's liveness).
    pub fn touch_served(&self, node: &str, pid: u32) -> Result<(), ZoneStoreError> {
        self.tx
            .execute(
                "UPDATE builtin_served SET updated_at = ?3 WHERE node = ?1 AND pid = ?2",
                params![node, pid, now()],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Forget what process `pid` of `node` serves (it stops; or it is gone).
    pub fn clear_served(&self, node: &str, pid: u32) -> Result<(), ZoneStoreError> {
        self.tx
            .execute(
                "DELETE FROM builtin_served WHERE node = ?1 AND pid = ?2",
                params![node, pid],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Who reports serving `zone`, at which serial.
    pub fn served(&self, zone: &Name) -> Result<Vec<ServedRow>, ZoneStoreError> {
        let rows = self
            .tx
            .query(
                "SELECT node, pid, serial, updated_at FROM builtin_served WHERE zone = ?1 ORDER BY node",
                params![zone.to_string()],
            )
            .map_err(|e| self.sql(e))?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(ServedRow {
                    node: r.text(0).ok()?,
                    pid: u32::try_from(r.int(1).ok()?).ok()?,
                    serial: u32::try_from(r.int(2).ok()?).ok()?,
                    updated_at: r.int(3).ok()?,
                })
            })
            .collect())
    }
}

/// Unix seconds now (history timestamps).
pub fn unix_now() -> i64 {
    now()
}
