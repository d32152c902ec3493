//! The state store: snapshots, plans, runs and their step journal, and the audit log, in one
//! embedded SQLite database (`[server] state`, default `.switchback/state.db`).
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
pub mod lease;
pub mod plan;
pub mod run;
pub mod schema;
pub mod snapshot;
pub mod webhook;

pub use audit::{AuditEntry, AuditRecord};
pub use plan::StoredPlan;
pub use run::{JournalEntry, Phase, Run, RunId, RunState};
pub use snapshot::{Snapshot, SnapshotMeta};

pub use cutover::CutoverRow;
pub use lease::LeaseRow;
pub use webhook::{EventClaim, EventStart, LeaseForEvent, WebhookEvent};

#[cfg(test)]
mod tests;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use switchback_api::Name;

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
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "state store {path} was written by a newer Switchback (schema {found}, this one knows \
         {supported}); refusing to touch it"
    )]
    NewerSchema {
        path: PathBuf,
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
    Sqlite(#[from] rusqlite::Error),
    #[error("state store {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("state store: cannot encode JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl From<rusqlite::types::FromSqlError> for StoreError {
    fn from(e: rusqlite::types::FromSqlError) -> StoreError {
        StoreError::Sqlite(e.into())
    }
}

/// The state store. Cheap to share behind an `Arc`: one connection, used under a mutex.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl Store {
    /// Open the store at `path`, creating it (and its parent directories) on first use and
    /// bringing its schema up to date.
    ///
    /// Refused, with nothing written: a file that is not a SQLite database, a damaged one, a
    /// SQLite database of somebody else's, and a store written by a newer Switchback.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let path = path.to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(|source| StoreError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        check_header(&path)?;
        create_private(&path)?;
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| corrupt_or(&path, e))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let store = Store {
            path,
            conn: Mutex::new(conn),
        };
        store.with_conn(|conn| store.init(conn))?;
        Ok(store)
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open store (always [`schema::SCHEMA_VERSION`] after open).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.with_conn(|conn| self.read_version(conn))
    }

    /// Read the whole file and check its structure (`PRAGMA quick_check`): a damaged page is
    /// otherwise only noticed when something reads it. Linear in the size of the file; for a
    /// health or "doctor" command, not for every open. Changes nothing.
    pub fn check(&self) -> Result<(), StoreError> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare("PRAGMA quick_check(10)")?;
            let problems: Vec<String> = stmt
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<_, _>>()?;
            if problems.len() == 1 && problems[0] == "ok" {
                Ok(())
            } else {
                Err(self.corrupt(problems.join("; ")))
            }
        })
    }

    fn init(&self, conn: &mut Connection) -> Result<(), StoreError> {
        // Look before writing anything: version, and whose database this is. Both in one read
        // transaction, so another process migrating at the same moment is seen before or
        // after its commit, never half-way (its tables without its version).
        let (version, tables) = {
            let tx = conn.transaction()?;
            let version = self.read_version(&tx)?;
            let tables: Vec<String> = tx
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            tx.commit()?;
            (version, tables)
        };
        if version > schema::SCHEMA_VERSION {
            return Err(self.newer(version));
        }
        if version == 0 {
            if let Some(t) = tables
                .iter()
                .find(|t| !schema::FOREIGN_PREFIXES.iter().any(|p| t.starts_with(p)))
            {
                return Err(self.corrupt(format!(
                    "it is a SQLite database, but holds table {t:?} and no Switchback schema version"
                )));
            }
        }

        // Write-ahead log: readers (the built-in server, `snapshot list`) never block the writer.
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %self.path.display(), mode, "state store is not in WAL mode");
        }
        // Durability: FULL, not NORMAL. With WAL, NORMAL survives a crash of the process
        // (`kill -9`) but may lose the last commits on power loss or a kernel crash; the journal
        // is a write-ahead record of calls to external APIs ("step started" must be on disk
        // before the step's side effect can happen), so a commit must be on disk when the call
        // returns. The cost is one fsync of the WAL per commit: a handful per run, one per
        // snapshot.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Keep the WAL from staying large after a big snapshot has been checkpointed.
        conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;

        if version < schema::SCHEMA_VERSION {
            self.migrate(conn)?;
        }
        Ok(())
    }

    /// Apply the missing migrations, each in its own transaction with its version bump. Safe
    /// against another process migrating at the same time (the version is re-read under the
    /// write lock).
    fn migrate(&self, conn: &mut Connection) -> Result<(), StoreError> {
        loop {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let current = self.read_version(&tx)?;
            if current > schema::SCHEMA_VERSION {
                return Err(self.newer(current));
            }
            if current == schema::SCHEMA_VERSION {
                return Ok(());
            }
            let next = current + 1;
            tx.execute_batch(schema::MIGRATIONS[current as usize])?;
            tx.execute(schema::SET_VERSION, params![next.to_string()])?;
            tx.commit()?;
            tracing::info!(path = %self.path.display(), version = next, "state store schema migrated");
        }
    }

    fn read_version(&self, conn: &Connection) -> Result<i64, StoreError> {
        let has_meta: bool = conn.query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            params![schema::META_TABLE],
            |r| r.get::<_, i64>(0).map(|n| n > 0),
        )?;
        if !has_meta {
            return Ok(0);
        }
        let value: Option<String> = conn
            .query_row(schema::GET_VERSION, [], |r| r.get(0))
            .optional()?;
        match value {
            None => Ok(0),
            Some(v) => v
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|v| *v >= 0)
                .ok_or_else(|| self.corrupt(format!("bad schema version {v:?}"))),
        }
    }

    // ---- snapshots ----
    // ---- helpers ----

    /// Run `f` on the connection; SQLite's "damaged" and "not a database" errors become
    /// [`StoreError::Corrupt`] naming the file.
    fn with_conn<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock();
        f(&mut conn).map_err(|e| match e {
            StoreError::Sqlite(e) => corrupt_or(&self.path, e),
            e => e,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock dropped any open transaction (rolled back); the
        // connection itself is still good.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
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

/// Refuse, before SQLite sees it, a file that is not a SQLite database. An empty file is fine
/// (SQLite treats it as a new database).
fn check_header(path: &Path) -> Result<(), StoreError> {
    use std::io::Read;
    let corrupt = |detail: &str| StoreError::Corrupt {
        path: path.to_path_buf(),
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

fn corrupt_or(path: &Path, e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: e.to_string(),
        },
        _ => StoreError::Sqlite(e),
    }
}

/// The time now, and as stored: RFC 3339 in UTC with microseconds (fixed width: sorts as text).
fn now() -> (SystemTime, String) {
    let t = SystemTime::now();
    (t, humantime::format_rfc3339_micros(t).to_string())
}

/// An id `P-YYYYMMDDTHHMMSS-xxxx` not yet used in `table` (checked under the write lock).
fn unused_id(
    conn: &Connection,
    table: &str,
    prefix: char,
    at: SystemTime,
) -> Result<String, StoreError> {
    let stamp: String = humantime::format_rfc3339_seconds(at)
        .to_string()
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    let sql = format!("SELECT 1 FROM {table} WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut salt = 0u64;
    loop {
        // Four hex digits are plenty within one second; on a clash, try again, and after a
        // few clashes use a longer suffix rather than loop.
        let suffix = random_suffix(salt);
        let id = if salt < 8 {
            format!("{prefix}-{stamp}-{:04x}", suffix & 0xffff)
        } else {
            format!("{prefix}-{stamp}-{:08x}", suffix & 0xffff_ffff)
        };
        if !stmt.exists(params![id])? {
            return Ok(id);
        }
        salt += 1;
    }
}

/// A random number without a random-number crate: std's randomly keyed hasher over the time,
/// the process id and a counter.
fn random_suffix(salt: u64) -> u64 {
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
