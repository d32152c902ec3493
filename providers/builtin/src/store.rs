//! The built-in provider's live zones and change history, in SQLite (the application's state
//! file, tables prefixed `builtin_`).
//!
//! Schema (version 1):
//! - `builtin_meta(key, value)`: `schema_version`, and `generation`, a counter that every write
//!   to a live zone takes the next value of (so a reader knows which zones changed).
//! - `builtin_zones(zone, serial, generation, dirty, live, live_digest, file_digest, updated_at)`:
//!   the live zone as the model's JSON; `file_digest` is the digest of the zone file it was last
//!   reconciled with, `live_digest` that of the live zone (both ignore the SOA serial); `dirty`
//!   means runtime changes differ from the file.
//! - `builtin_journal(id, zone, from_serial, to_serial, removed, added, created_at)`: one row
//!   per serial change, the records removed and added as JSON; the last [`HISTORY_KEEP`] per
//!   zone are kept.
//!
//! Every write is one `BEGIN IMMEDIATE` transaction, so a read-check-write is atomic across
//! processes. A file that is not a database, is damaged, or holds a newer schema is refused
//! before anything is written to it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};
use switchback_api::{Name, RType, Zone};

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = 2;
/// History entries kept per zone.
pub const HISTORY_KEEP: usize = 500;
/// How long a writer waits for another process's transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Migrations: `MIGRATIONS[n]` takes the schema from version `n` to `n + 1`.
const MIGRATIONS: &[&str] = &[
    // 0 -> 1
    "CREATE TABLE builtin_zones (
        zone TEXT PRIMARY KEY,
        serial INTEGER NOT NULL,
        generation INTEGER NOT NULL,
        dirty INTEGER NOT NULL,
        live TEXT NOT NULL,
        live_digest TEXT NOT NULL,
        file_digest TEXT NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE TABLE builtin_journal (
        id INTEGER PRIMARY KEY,
        zone TEXT NOT NULL,
        from_serial INTEGER NOT NULL,
        to_serial INTEGER NOT NULL,
        removed TEXT NOT NULL,
        added TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX builtin_journal_zone ON builtin_journal (zone, id);
    INSERT INTO builtin_meta (key, value) VALUES ('generation', 0);",
    // 1 -> 2: what each running `serve` serves (a CLI change waits for it).
    "CREATE TABLE builtin_served (
        node TEXT NOT NULL,
        pid INTEGER NOT NULL,
        zone TEXT NOT NULL,
        serial INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (node, pid, zone)
    );",
];

/// Why the store could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ZoneStoreError {
    #[error("state store {path}: cannot open: {message}")]
    Open { path: PathBuf, message: String },
    #[error(
        "state store {path} holds built-in provider schema version {found}, newer than the \
         version {supported} this switchback understands; refusing to use it (upgrade switchback, \
         or point [server] state at another file)"
    )]
    Newer {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "state store {path} is not a SQLite database or is damaged ({message}); refusing to \
         touch it (restore it from a backup, or move it away to start afresh)"
    )]
    Corrupt { path: PathBuf, message: String },
    #[error("state store {path}: {source}")]
    Sql {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("state store {path}: zone {zone}: stored data cannot be read: {message}")]
    Data {
        path: PathBuf,
        zone: String,
        message: String,
    },
}

/// A record as the history keeps it (presentation form).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JournalRecord {
    pub name: Name,
    #[serde(rename = "type")]
    pub rtype: RType,
    pub ttl: u32,
    pub data: String,
}

/// One history row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub from_serial: u32,
    pub to_serial: u32,
    /// The old SOA first.
    pub removed: Vec<JournalRecord>,
    /// The new SOA first.
    pub added: Vec<JournalRecord>,
    /// Unix seconds.
    pub created_at: i64,
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
    path: PathBuf,
    conn: Mutex<Connection>,
    memory: bool,
}

impl std::fmt::Debug for ZoneStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZoneStore")
            .field("path", &self.path)
            .finish()
    }
}

fn classify(path: &Path, e: rusqlite::Error) -> ZoneStoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => ZoneStoreError::Corrupt {
            path: path.to_path_buf(),
            message: e.to_string(),
        },
        _ => ZoneStoreError::Sql {
            path: path.to_path_buf(),
            source: e,
        },
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The builtin schema version in `conn` (0: none yet). Reads only.
fn schema_version(conn: &Connection) -> rusqlite::Result<i64> {
    let has_meta: bool = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'builtin_meta'",
        [],
        |r| r.get::<_, i64>(0).map(|n| n > 0),
    )?;
    if !has_meta {
        return Ok(0);
    }
    Ok(conn
        .query_row(
            "SELECT value FROM builtin_meta WHERE key = 'schema_version'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .optional()?
        .unwrap_or(0))
}

impl ZoneStore {
    /// Open (creating it and its folder if need be) the state file at `path`, and bring the
    /// builtin tables to [`SCHEMA_VERSION`].
    pub fn open(path: &Path) -> Result<ZoneStore, ZoneStoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| ZoneStoreError::Open {
                path: path.to_path_buf(),
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
                    path: path.to_path_buf(),
                    message: format!("cannot create the state file: {e}"),
                });
            }
        }
        let conn = Connection::open(path).map_err(|e| classify(path, e))?;
        ZoneStore::init(conn, path, false)
    }

    /// A store that lives in memory only (for [`crate::Builtin::new`] and tests).
    pub fn in_memory() -> Result<ZoneStore, ZoneStoreError> {
        let path = Path::new(":memory:");
        let conn = Connection::open_in_memory().map_err(|e| classify(path, e))?;
        ZoneStore::init(conn, path, true)
    }

    fn init(mut conn: Connection, path: &Path, memory: bool) -> Result<ZoneStore, ZoneStoreError> {
        let err = |e| classify(path, e);
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        // Look before writing anything: a foreign or newer file is left as it is.
        let found = schema_version(&conn).map_err(err)?;
        if found > SCHEMA_VERSION {
            return Err(ZoneStoreError::Newer {
                path: path.to_path_buf(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        if !memory {
            let mode: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .map_err(err)?;
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(path = %path.display(), %mode, "state store is not in WAL mode");
            }
        }
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        tx.execute(
            "CREATE TABLE IF NOT EXISTS builtin_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
            [],
        )
        .map_err(err)?;
        // Again inside the transaction: another process may have migrated meanwhile.
        let version = schema_version(&tx).map_err(err)?;
        if version > SCHEMA_VERSION {
            return Err(ZoneStoreError::Newer {
                path: path.to_path_buf(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql).map_err(err)?;
            tx.execute(
                "INSERT INTO builtin_meta (key, value) VALUES ('schema_version', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [i as i64 + 1],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(ZoneStore {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            memory,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this store is in memory only (no other process can see it).
    pub fn is_memory(&self) -> bool {
        self.memory
    }

    /// Run `f` in one write transaction (`BEGIN IMMEDIATE`); commit when it returns `Ok`.
    pub fn write<T, E: From<ZoneStoreError>>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| classify(&self.path, e))?;
        let t = Tx {
            tx,
            path: &self.path,
        };
        let out = f(&t)?;
        t.tx.commit().map_err(|e| classify(&self.path, e))?;
        Ok(out)
    }

    /// Run `f` in one read transaction (a consistent view).
    pub fn read<T, E: From<ZoneStoreError>>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .map_err(|e| classify(&self.path, e))?;
        let t = Tx {
            tx,
            path: &self.path,
        };
        f(&t)
    }

    /// A second connection on the same file, for watching commits of other connections.
    pub fn watcher(&self) -> Result<Watcher, ZoneStoreError> {
        let conn = Connection::open(&self.path).map_err(|e| classify(&self.path, e))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| classify(&self.path, e))?;
        Ok(Watcher {
            conn,
            path: self.path.clone(),
            last: None,
        })
    }
}

/// Sees when any other connection commits to the file (`PRAGMA data_version`).
pub struct Watcher {
    conn: Connection,
    path: PathBuf,
    last: Option<i64>,
}

impl Watcher {
    /// Whether something was committed since the last call (true on the first call).
    pub fn changed(&mut self) -> Result<bool, ZoneStoreError> {
        let v: i64 = self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(|e| classify(&self.path, e))?;
        let changed = self.last != Some(v);
        self.last = Some(v);
        Ok(changed)
    }
}

/// A transaction on the store.
pub struct Tx<'c> {
    tx: rusqlite::Transaction<'c>,
    path: &'c Path,
}

fn meta_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, ZoneMetaRaw)> {
    Ok((
        r.get(0)?,
        ZoneMetaRaw {
            serial: r.get(1)?,
            generation: r.get(2)?,
            dirty: r.get(3)?,
            live_digest: r.get(4)?,
            file_digest: r.get(5)?,
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
    fn sql(&self, e: rusqlite::Error) -> ZoneStoreError {
        classify(self.path, e)
    }

    fn data(&self, zone: &str, message: impl Into<String>) -> ZoneStoreError {
        ZoneStoreError::Data {
            path: self.path.to_path_buf(),
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
        let mut st = self
            .tx
            .prepare_cached(&format!(
                "SELECT {META_COLUMNS} FROM builtin_zones ORDER BY zone"
            ))
            .map_err(|e| self.sql(e))?;
        let rows = st
            .query_map([], meta_from_row)
            .map_err(|e| self.sql(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sql(e))?;
        rows.into_iter()
            .map(|(z, raw)| self.meta_of(z, raw))
            .collect()
    }

    /// One live zone's bookkeeping.
    pub fn meta(&self, zone: &Name) -> Result<Option<ZoneMeta>, ZoneStoreError> {
        let row = self
            .tx
            .query_row(
                &format!("SELECT {META_COLUMNS} FROM builtin_zones WHERE zone = ?1"),
                [zone.to_string()],
                meta_from_row,
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        row.map(|(z, raw)| self.meta_of(z, raw)).transpose()
    }

    /// The live zone itself.
    pub fn live(&self, zone: &Name) -> Result<Option<Zone>, ZoneStoreError> {
        let key = zone.to_string();
        let text: Option<String> = self
            .tx
            .query_row(
                "SELECT live FROM builtin_zones WHERE zone = ?1",
                [&key],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| self.data(&key, e.to_string())))
            .transpose()
    }

    /// The next value of the generation counter.
    pub fn next_generation(&self) -> Result<i64, ZoneStoreError> {
        self.tx
            .query_row(
                "UPDATE builtin_meta SET value = value + 1 WHERE key = 'generation' RETURNING value",
                [],
                |r| r.get(0),
            )
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
                    i64::from(serial),
                    generation,
                    dirty,
                    json,
                    live_digest,
                    file_digest,
                    now()
                ],
            )
            .map_err(|e| self.sql(e))?;
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

    /// Drop a zone and its history.
    pub fn delete_zone(&self, zone: &Name) -> Result<(), ZoneStoreError> {
        let key = zone.to_string();
        self.tx
            .execute("DELETE FROM builtin_zones WHERE zone = ?1", [&key])
            .map_err(|e| self.sql(e))?;
        self.tx
            .execute("DELETE FROM builtin_journal WHERE zone = ?1", [&key])
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Append one change to a zone's history and keep the last [`HISTORY_KEEP`].
    pub fn append_history(&self, zone: &Name, row: &HistoryRow) -> Result<(), ZoneStoreError> {
        let key = zone.to_string();
        let removed =
            serde_json::to_string(&row.removed).map_err(|e| self.data(&key, e.to_string()))?;
        let added =
            serde_json::to_string(&row.added).map_err(|e| self.data(&key, e.to_string()))?;
        self.tx
            .execute(
                "INSERT INTO builtin_journal (zone, from_serial, to_serial, removed, added, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    key,
                    i64::from(row.from_serial),
                    i64::from(row.to_serial),
                    removed,
                    added,
                    row.created_at
                ],
            )
            .map_err(|e| self.sql(e))?;
        self.tx
            .execute(
                "DELETE FROM builtin_journal WHERE zone = ?1 AND id NOT IN
                   (SELECT id FROM builtin_journal WHERE zone = ?1 ORDER BY id DESC LIMIT ?2)",
                params![key, HISTORY_KEEP as i64],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// A zone's history, oldest first.
    pub fn history(&self, zone: &Name) -> Result<Vec<HistoryRow>, ZoneStoreError> {
        let key = zone.to_string();
        let mut st = self
            .tx
            .prepare_cached(
                "SELECT from_serial, to_serial, removed, added, created_at FROM builtin_journal
                 WHERE zone = ?1 ORDER BY id",
            )
            .map_err(|e| self.sql(e))?;
        let rows = st
            .query_map([&key], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .map_err(|e| self.sql(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sql(e))?;
        rows.into_iter()
            .map(|(from, to, removed, added, at)| {
                let bad = |m: String| self.data(&key, format!("history: {m}"));
                Ok(HistoryRow {
                    from_serial: u32::try_from(from).map_err(|e| bad(e.to_string()))?,
                    to_serial: u32::try_from(to).map_err(|e| bad(e.to_string()))?,
                    removed: serde_json::from_str(&removed).map_err(|e| bad(e.to_string()))?,
                    added: serde_json::from_str(&added).map_err(|e| bad(e.to_string()))?,
                    created_at: at,
                })
            })
            .collect()
    }
}

/// A zone as a running `serve` serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedRow {
    pub node: String,
    pub pid: u32,
    pub serial: u32,
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
                params![node, i64::from(pid), zone.to_string(), i64::from(serial), now()],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Forget what process `pid` serves (it stops; or it is gone).
    pub fn clear_served(&self, pid: u32) -> Result<(), ZoneStoreError> {
        self.tx
            .execute(
                "DELETE FROM builtin_served WHERE pid = ?1",
                [i64::from(pid)],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Who reports serving `zone`, at which serial.
    pub fn served(&self, zone: &Name) -> Result<Vec<ServedRow>, ZoneStoreError> {
        let mut st = self
            .tx
            .prepare_cached(
                "SELECT node, pid, serial FROM builtin_served WHERE zone = ?1 ORDER BY node",
            )
            .map_err(|e| self.sql(e))?;
        let rows = st
            .query_map([zone.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(|e| self.sql(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sql(e))?;
        Ok(rows
            .into_iter()
            .filter_map(|(node, pid, serial)| {
                Some(ServedRow {
                    node,
                    pid: u32::try_from(pid).ok()?,
                    serial: u32::try_from(serial).ok()?,
                })
            })
            .collect())
    }
}

/// Unix seconds now (history timestamps).
pub fn unix_now() -> i64 {
    now()
}
