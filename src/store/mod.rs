//! The state store: snapshots, plans, runs and their step journal, the audit log, cutover state
//! and leases, and webhook events: in one embedded SQLite database (`[server] state`, default
//! `.switchback/state.db`), or in a PostgreSQL database that several instances share
//! (`state = "postgres://..."`). Both go through `switchback_sql` with the same statements and
//! the same migrations; a write transaction is serialised against every other writer on both
//! (SQLite's write lock; PostgreSQL's transaction-scoped advisory lock).
//!
//! - The file is created (with its parent directories) on first use and shared: the built-in
//!   provider keeps its live zones in `builtin_*` tables of the same file, and several CLI
//!   processes may open it at once (WAL mode, a busy timeout, write transactions taken
//!   `IMMEDIATE` so writers queue instead of failing).
//! - The schema has a version and migrations ([`schema`]). A file written by a newer Switchback,
//!   a damaged file, or a file that is not a SQLite database (or is somebody else's database)
//!   is refused with a message naming it, and never written to.
//! - Every write is its own transaction and is durable when the call returns (see
//!   [`Store::open`] for why `synchronous = FULL`). The journal is how a run survives
//!   `kill -9` (DESIGN.md invariant 4): record a step `Started` before it runs and `Done` or
//!   `Failed` after.

pub mod audit;
pub mod cutover;
pub mod drill;
pub mod lease;
pub mod migrate;
pub mod nodes;
pub mod notify;
pub mod plan;
pub mod run;
pub mod schema;
pub mod snapshot;
pub mod timing;
pub mod webhook;

pub use audit::{AuditEntry, AuditRecord};
pub use plan::StoredPlan;
pub use run::{JournalEntry, Phase, Run, RunId, RunState};
pub use snapshot::{Snapshot, SnapshotMeta};

pub use cutover::CutoverRow;
pub use drill::DrillRow;
pub use lease::LeaseRow;
pub use nodes::NodeRow;
pub use notify::{NewNotification, NotifyStat, QueuedNotification};
pub use webhook::{EventClaim, EventStart, LeaseForEvent, WebhookEvent};

#[cfg(test)]
mod tests;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::OpenFlags;
use switchback_api::Name;
use switchback_sql::{Backend, Db, Location, SqlError, Tx, params};

/// How long a statement waits for another process's write lock before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The first 16 bytes of every SQLite 3 database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Errors of the state store. None of them carries a secret (the store holds none).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "state store {path} is damaged or is not a Switchback state store ({detail}); \
         refusing to touch it (move it aside to start afresh)"
    )]
    Corrupt { path: String, detail: String },
    #[error(
        "state store {path} was written by a newer Switchback (schema {found}, this one knows \
         {supported}); refusing to touch it"
    )]
    NewerSchema {
        path: String,
        found: i64,
        supported: i64,
    },
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("run {id} is already finished ({state})")]
    RunFinished { id: RunId, state: RunState },
    #[error("{0}")]
    Invalid(String),
    #[error(
        "cutover {cutover}: this process no longer holds its lease (another actor took it over)"
    )]
    LeaseLost { cutover: String },
    #[error(
        "cutover {cutover}: its state changed under this step (version {expected} expected, \
         {found} found)"
    )]
    Conflict {
        cutover: String,
        expected: i64,
        found: i64,
    },
    #[error("state store: {0}")]
    Sql(#[from] SqlError),
    #[error("state store {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("state store: cannot encode JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The state store. Cheap to share behind an `Arc`: one connection, one transaction at a time.
#[derive(Debug)]
pub struct Store {
    /// The file, or the server as `postgres://user@host:port/database`: how messages name it.
    path: String,
    location: Location,
    db: Db,
}

impl Store {
    /// Open the store at `location` (a SQLite file, created with its parent directories on
    /// first use, or a PostgreSQL database) and bring its schema up to date.
    ///
    /// Refused, with nothing written: a file that is not a SQLite database, a damaged one, a
    /// database of somebody else's (tables that are not ours), and a store written by a newer
    /// Switchback.
    pub fn open(location: impl Into<Location>) -> Result<Store, StoreError> {
        let location = location.into();
        let db = match &location {
            Location::Sqlite(path) => Db::sqlite(open_file(path)?),
            Location::Postgres(target) => Db::postgres(target)?,
        };
        let store = Store {
            path: location.display(),
            location,
            db,
        };
        // Processes that open a new SQLite file at the same moment race to make it a WAL
        // database and to create the tables, and SQLite answers some of those steps with
        // "database is locked" at once, without its busy handler: each step is idempotent,
        // so the set-up is tried again until BUSY_TIMEOUT.
        switchback_sql::retry_busy(
            BUSY_TIMEOUT,
            |e| matches!(e, StoreError::Sql(e) if e.is_busy()),
            || store.init(),
        )?;
        Ok(store)
    }

    /// The file this store lives in, or the server (no password).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Where the store is.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// SQLite or PostgreSQL.
    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// The database connection itself (leadership, listeners, `store migrate`).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The schema version of the open store (always [`schema::SCHEMA_VERSION`] after open).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.read(|tx| self.read_version(tx))
    }

    /// Check the store's structure: SQLite's `PRAGMA quick_check` reads the whole file (a
    /// damaged page is otherwise only noticed when something reads it; linear in the size of
    /// the file: for a health or "doctor" command, not for every open); PostgreSQL checks its
    /// own pages, so there the schema version is read. Changes nothing.
    pub fn check(&self) -> Result<(), StoreError> {
        let problems = self
            .db
            .with_sqlite(|conn| -> Result<Vec<String>, StoreError> {
                let mut stmt = conn
                    .prepare("PRAGMA quick_check(10)")
                    .map_err(|e| self.sqlite(e))?;
                let rows = stmt
                    .query_map([], |r| r.get::<_, String>(0))
                    .map_err(|e| self.sqlite(e))?;
                rows.collect::<Result<_, _>>().map_err(|e| self.sqlite(e))
            });
        match problems {
            None => self.schema_version().map(drop),
            Some(p) => {
                let p = p?;
                if p.len() == 1 && p[0] == "ok" {
                    Ok(())
                } else {
                    Err(self.corrupt(p.join("; ")))
                }
            }
        }
    }

    fn init(&self) -> Result<(), StoreError> {
        // Look before writing anything: version, and whose database this is. Both in one read
        // transaction, so another process migrating at the same moment is seen before or
        // after its commit, never half-way (its tables without its version).
        let (version, tables) = self.read(|tx| Ok((self.read_version(tx)?, tx.tables()?)))?;
        if version > schema::SCHEMA_VERSION {
            return Err(self.newer(version));
        }
        if version == 0 {
            if let Some(t) = tables
                .iter()
                .find(|t| !schema::FOREIGN_PREFIXES.iter().any(|p| t.starts_with(p)))
            {
                return Err(self.corrupt(format!(
                    "it is a database, but holds table {t:?} and no Switchback schema version"
                )));
            }
        }
        if let Some(r) = self
            .db
            .with_sqlite(|conn| sqlite_settings(&self.path, conn))
        {
            r.map_err(|e| self.sqlite(e))?;
        }
        if version < schema::SCHEMA_VERSION {
            self.migrate()?;
        }
        Ok(())
    }

    /// Apply the missing migrations, each in its own transaction with its version bump. Safe
    /// against another process migrating at the same time (the version is re-read under the
    /// write lock).
    fn migrate(&self) -> Result<(), StoreError> {
        loop {
            let done = self.write(|tx| {
                let current = self.read_version(tx)?;
                if current > schema::SCHEMA_VERSION {
                    return Err(self.newer(current));
                }
                if current == schema::SCHEMA_VERSION {
                    return Ok(true);
                }
                let next = current + 1;
                tx.batch(schema::MIGRATIONS[current as usize])?;
                tx.execute(schema::SET_VERSION, params![next.to_string()])?;
                tracing::info!(store = %self.path, version = next, "state store schema migrated");
                Ok(false)
            })?;
            if done {
                return Ok(());
            }
        }
    }

    fn read_version(&self, tx: &Tx<'_>) -> Result<i64, StoreError> {
        if !tx.table_exists(schema::META_TABLE)? {
            return Ok(0);
        }
        let value = tx.query_opt(schema::GET_VERSION, params![])?;
        match value {
            None => Ok(0),
            Some(r) => {
                let v = r.text(0)?;
                v.trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|v| *v >= 0)
                    .ok_or_else(|| self.corrupt(format!("bad schema version {v:?}")))
            }
        }
    }

    // ---- helpers ----

    /// Run `f` in one write transaction, serialised against every other writer of the store;
    /// committed (and durable) when it returns `Ok`. SQLite's "damaged" and "not a database"
    /// errors become [`StoreError::Corrupt`] naming the file.
    fn write<T>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.db.transaction(
            true,
            |tx| f(tx).map_err(|e| self.classify(e)),
            |e| self.classify(e.into()),
        )
    }

    /// Run `f` in one read transaction (one consistent view).
    fn read<T>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.db.transaction(
            false,
            |tx| f(tx).map_err(|e| self.classify(e)),
            |e| self.classify(e.into()),
        )
    }

    fn classify(&self, e: StoreError) -> StoreError {
        match e {
            StoreError::Sql(SqlError::Sqlite(e)) => corrupt_or(&self.path, e),
            e => e,
        }
    }

    fn sqlite(&self, e: rusqlite::Error) -> StoreError {
        corrupt_or(&self.path, e)
    }

    fn corrupt(&self, detail: String) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            detail,
        }
    }

    fn newer(&self, found: i64) -> StoreError {
        StoreError::NewerSchema {
            path: self.path.clone(),
            found,
            supported: schema::SCHEMA_VERSION,
        }
    }

    fn name(&self, text: &str, what: &str, id: &str) -> Result<Name, StoreError> {
        text.parse()
            .map_err(|e| self.corrupt(format!("{what} {id}: bad zone name {text:?}: {e}")))
    }

    fn json(&self, text: &str, what: &str, id: &str) -> Result<serde_json::Value, StoreError> {
        serde_json::from_str(text).map_err(|e| self.corrupt(format!("{what} {id}: {e}")))
    }
}

/// Open (creating it, readable by its owner only, and its parent directories) the SQLite file
/// at `path`, refusing one that is not a SQLite database before SQLite sees it.
fn open_file(path: &Path) -> Result<rusqlite::Connection, StoreError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|source| StoreError::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    check_header(path)?;
    create_private(path)?;
    let shown = path.display().to_string();
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| corrupt_or(&shown, e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| corrupt_or(&shown, e))?;
    Ok(conn)
}

/// The SQLite connection's settings (after the look at its version and tables).
fn sqlite_settings(path: &str, conn: &mut rusqlite::Connection) -> Result<(), rusqlite::Error> {
    // A new file's page size (an existing one keeps its own): see switchback_sql::PAGE_SIZE.
    conn.pragma_update(None, "page_size", switchback_sql::PAGE_SIZE)?;
    // Write-ahead log: readers (the built-in server, `snapshot list`) never block the writer.
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(path, mode, "state store is not in WAL mode");
    }
    // Durability: FULL, not NORMAL. With WAL, NORMAL survives a crash of the process
    // (`kill -9`) but may lose the last commits on power loss or a kernel crash; the journal
    // is a write-ahead record of calls to external APIs ("step started" must be on disk
    // before the step's side effect can happen), so a commit must be on disk when the call
    // returns. The cost is one fsync of the WAL per commit: a handful per run, one per
    // snapshot. (On PostgreSQL, `synchronous_commit` is the server's setting.)
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Keep the WAL from staying large after a big snapshot has been checkpointed.
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    Ok(())
}

/// Refuse, before SQLite sees it, a file that is not a SQLite database. An empty file is fine
/// (SQLite treats it as a new database).
fn check_header(path: &Path) -> Result<(), StoreError> {
    use std::io::Read;
    let corrupt = |detail: &str| StoreError::Corrupt {
        path: path.display().to_string(),
        detail: detail.to_string(),
    };
    let mut file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(StoreError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let meta = file.metadata().map_err(|source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.is_dir() {
        return Err(corrupt("it is a directory"));
    }
    if meta.len() == 0 {
        return Ok(());
    }
    let mut head = [0u8; 100];
    let mut got = 0;
    while got < head.len() {
        match file.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(StoreError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    }
    if got < head.len() || &head[..16] != SQLITE_MAGIC {
        return Err(corrupt("not a SQLite database: no SQLite header"));
    }
    Ok(())
}

/// Create the file readable by its owner only (it holds the history of every change), unless
/// it exists.
fn create_private(path: &Path) -> Result<(), StoreError> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn corrupt_or(path: &str, e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => StoreError::Corrupt {
            path: path.to_string(),
            detail: e.to_string(),
        },
        _ => StoreError::Sql(e.into()),
    }
}

/// The time now, and as stored: RFC 3339 in UTC with microseconds (fixed width: sorts as text).
fn now() -> (SystemTime, String) {
    let t = SystemTime::now();
    (t, humantime::format_rfc3339_micros(t).to_string())
}

/// An id `P-YYYYMMDDTHHMMSS-xxxx` not yet used in `table` (checked under the write lock).
fn unused_id(tx: &Tx<'_>, table: &str, prefix: char, at: SystemTime) -> Result<String, StoreError> {
    let stamp: String = humantime::format_rfc3339_seconds(at)
        .to_string()
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    let sql = format!("SELECT 1 FROM {table} WHERE id = ?1");
    let mut salt = 0u64;
    loop {
        // Four hex digits are plenty within one second; on a clash, try again, and after a
        // few clashes use a longer suffix rather than loop.
        let suffix = random_u64(salt);
        let id = if salt < 8 {
            format!("{prefix}-{stamp}-{:04x}", suffix & 0xffff)
        } else {
            format!("{prefix}-{stamp}-{:08x}", suffix & 0xffff_ffff)
        };
        if tx.query_opt(&sql, params![id])?.is_none() {
            return Ok(id);
        }
        salt += 1;
    }
}

/// A random number without a random-number crate (store ids, event ids, DNS query ids): std's randomly keyed hasher over the time,
/// the process id and a counter.
pub fn random_u64(salt: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    h.write_u128(nanos);
    h.write_u32(std::process::id());
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u64(salt);
    h.finish()
}
