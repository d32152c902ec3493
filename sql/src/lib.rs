//! The state store's connection: the embedded SQLite file (the default) or a PostgreSQL server
//! that several Switchback instances share, behind one synchronous interface.
//!
//! Both the application's store (`src/store`) and the built-in provider's live zones use it, so
//! everything they keep lives in one place on either backend.
//!
//! - **Statements** are written once, in the subset both backends speak: `TEXT` and `BIGINT`
//!   columns, `?1`-style parameters (rewritten to `$1` for PostgreSQL), `ON CONFLICT`,
//!   `RETURNING`. Values are [`Value`]s; rows come back whole ([`Row`]).
//! - **Transactions**: [`Db::write`] runs a closure in a write transaction that is serialised
//!   against every other writer of the store, in this process or another, on this machine or
//!   another: SQLite's `BEGIN IMMEDIATE`, and on PostgreSQL a transaction that first takes
//!   one transaction-scoped advisory lock ([`WRITE_LOCK`]). So a read-check-write (the lease's
//!   compare-and-set, a webhook event recorded with the lease) is as atomic on a shared
//!   PostgreSQL as it is in one file. [`Db::read`] gives a consistent snapshot (PostgreSQL:
//!   `REPEATABLE READ READ ONLY`).
//! - **PostgreSQL from synchronous code**: each [`Db`] has one connection, owned by a thread of
//!   its own that runs a small tokio runtime; a statement is a message to it and a blocking
//!   wait for the answer (as a SQLite call blocks on its file). A connection that breaks is
//!   made anew on the next transaction; a transaction whose connection broke fails as a whole.
//!   Statements time out (`statement_timeout` 30 s, `lock_timeout` 10 s), and TCP keepalives
//!   notice a dead network in seconds.
//! - **Changes** ([`Listener`], PostgreSQL's LISTEN/NOTIFY) and **leadership** ([`LeaderLock`],
//!   a session advisory lock on a connection of its own) for several instances on one store.

mod leader;
mod location;
mod postgres;
mod sqlite;
mod value;

use std::sync::Mutex;

/// The page size of a new SQLite state file: 16 KiB, not SQLite's 4 KiB. A zone's or a plan's
/// JSON is one value of megabytes, read and written as a chain of overflow pages, one system
/// call each: a rollback of 100,000 records made 41,000 reads and 32,000 writes of 4 KiB. An
/// existing file keeps the page size it was made with.
pub const PAGE_SIZE: i64 = 16 * 1024;

pub use leader::LeaderLock;
pub use location::{Location, PgTarget, is_postgres_url};
pub use postgres::{Listener, run_once};
pub use value::{Row, ToValue, Value};

/// The advisory lock every write transaction on PostgreSQL takes first (transaction scope).
pub const WRITE_LOCK: i64 = 0x5357_4243_0000_0001;

/// Which database a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// What went wrong talking to the database. Never carries a password.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {message}")]
    Postgres {
        message: String,
        /// The SQLSTATE, when the server gave one.
        code: Option<String>,
    },
    #[error("PostgreSQL at {target} cannot be used: {message}")]
    Unavailable { target: String, message: String },
    #[error("column {column}: {message}")]
    Type { column: usize, message: String },
    #[error("{0}")]
    Config(String),
}

impl SqlError {
    /// Another writer held the store longer than this one would wait.
    pub fn is_busy(&self) -> bool {
        match self {
            SqlError::Sqlite(e) => {
                e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    || e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseLocked)
            }
            // lock_not_available (lock_timeout), query_canceled (statement_timeout).
            SqlError::Postgres { code, .. } => {
                matches!(code.as_deref(), Some("55P03") | Some("57014"))
            }
            _ => false,
        }
    }

    /// The server or the network is the trouble, not the statement.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, SqlError::Unavailable { .. })
    }
}

enum Inner {
    Sqlite(Mutex<rusqlite::Connection>),
    Postgres(Box<postgres::Pg>),
}

/// Run `f` again while it fails with an error `is_busy` says is SQLite's "database is locked"
/// or "busy", pausing 5 ms and doubling up to 200 ms, until `timeout` has passed. For an
/// idempotent set-up that several processes may run on a new file at once: SQLite answers
/// some of its steps (the switch to WAL) with SQLITE_BUSY at once, without its busy handler.
pub fn retry_busy<T, E>(
    timeout: std::time::Duration,
    is_busy: impl Fn(&E) -> bool,
    mut f: impl FnMut() -> Result<T, E>,
) -> Result<T, E> {
    let deadline = std::time::Instant::now() + timeout;
    let mut pause = std::time::Duration::from_millis(5);
    loop {
        match f() {
            Err(e) if is_busy(&e) && std::time::Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(200));
            }
            r => return r,
        }
    }
}

/// A connection to the state store (see the crate docs).
pub struct Db {
    inner: Inner,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner {
            Inner::Sqlite(_) => f.write_str("Db(sqlite)"),
            Inner::Postgres(p) => write!(f, "Db({})", p.target()),
        }
    }
}

impl Db {
    /// A SQLite connection, opened and configured (pragmas) by the caller.
    pub fn sqlite(conn: rusqlite::Connection) -> Db {
        Db {
            inner: Inner::Sqlite(Mutex::new(conn)),
        }
    }

    /// Connect to PostgreSQL (at once: a server that cannot be reached is an error now).
    pub fn postgres(target: &PgTarget) -> Result<Db, SqlError> {
        Ok(Db {
            inner: Inner::Postgres(Box::new(postgres::Pg::connect(target)?)),
        })
    }

    pub fn backend(&self) -> Backend {
        match self.inner {
            Inner::Sqlite(_) => Backend::Sqlite,
            Inner::Postgres(_) => Backend::Postgres,
        }
    }

    /// Run `f` in a write transaction serialised against every other writer; commit when it
    /// returns `Ok`, roll back otherwise.
    pub fn write<T, E: From<SqlError>>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.transaction(true, f, E::from)
    }

    /// Run `f` in a read transaction (one consistent view).
    pub fn read<T, E: From<SqlError>>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.transaction(false, f, E::from)
    }

    /// [`Db::write`] (`write`) or [`Db::read`], the database's own errors turned into `E` by
    /// `sql_error`.
    pub fn transaction<T, E>(
        &self,
        write: bool,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
        sql_error: impl Fn(SqlError) -> E,
    ) -> Result<T, E> {
        match &self.inner {
            Inner::Sqlite(m) => {
                // A panic while holding the lock dropped (rolled back) its transaction; the
                // connection itself is still good.
                let mut conn = m.lock().unwrap_or_else(|p| p.into_inner());
                let behavior = if write {
                    rusqlite::TransactionBehavior::Immediate
                } else {
                    rusqlite::TransactionBehavior::Deferred
                };
                let tx = conn
                    .transaction_with_behavior(behavior)
                    .map_err(|e| sql_error(e.into()))?;
                let t = Tx {
                    inner: TxInner::Sqlite(tx),
                };
                let out = f(&t)?;
                t.commit().map_err(&sql_error)?;
                Ok(out)
            }
            Inner::Postgres(pg) => {
                let session = pg.begin(write).map_err(&sql_error)?;
                let t = Tx {
                    inner: TxInner::Postgres(session),
                };
                let out = f(&t)?;
                t.commit().map_err(&sql_error)?;
                Ok(out)
            }
        }
    }

    /// A listener for `NOTIFY channel` from any connection (PostgreSQL only: `None` on SQLite,
    /// whose watchers look at the file instead).
    pub fn listen(&self, channel: &str) -> Option<Listener> {
        match &self.inner {
            Inner::Sqlite(_) => None,
            Inner::Postgres(pg) => Some(pg.listen(channel)),
        }
    }

    /// Compete for the session advisory lock `key` on a connection of its own (PostgreSQL
    /// only: `None` on SQLite).
    pub fn leader_lock(&self, key: i64) -> Option<LeaderLock> {
        match &self.inner {
            Inner::Sqlite(_) => None,
            Inner::Postgres(pg) => Some(pg.leader_lock(key)),
        }
    }

    /// Free the memory the connection keeps that it can do without: SQLite's cache of the
    /// pages a big write or read went through (it keeps them after the transaction, 7.7 MB
    /// after a 100,000-record zone was written). Nothing on PostgreSQL, whose connection keeps
    /// no such cache here.
    pub fn release_memory(&self) {
        if let Inner::Sqlite(m) = &self.inner {
            let conn = m.lock().unwrap_or_else(|p| p.into_inner());
            // Fails only on a misuse of the connection (it is not in use here).
            let _ = conn.release_memory();
        }
    }

    /// Copy what the write-ahead log holds into the database file, as far as no reader needs
    /// it (SQLite's passive checkpoint; nothing on PostgreSQL). SQLite reads a big value
    /// straight from the file into the caller's buffer, except the pages still in the log,
    /// which go through its page cache: a zone read back right after it was written took
    /// 7.7 MB of cache.
    pub fn checkpoint(&self) -> Result<(), SqlError> {
        if let Inner::Sqlite(m) = &self.inner {
            let conn = m.lock().unwrap_or_else(|p| p.into_inner());
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        }
        Ok(())
    }

    /// Run `f` on the SQLite connection itself (pragmas, checks); `None` on PostgreSQL.
    pub fn with_sqlite<T>(&self, f: impl FnOnce(&mut rusqlite::Connection) -> T) -> Option<T> {
        match &self.inner {
            Inner::Sqlite(m) => {
                let mut conn = m.lock().unwrap_or_else(|p| p.into_inner());
                Some(f(&mut conn))
            }
            Inner::Postgres(_) => None,
        }
    }
}

enum TxInner<'a> {
    Sqlite(rusqlite::Transaction<'a>),
    Postgres(postgres::Session<'a>),
}

/// A transaction (see [`Db::write`], [`Db::read`]).
pub struct Tx<'a> {
    inner: TxInner<'a>,
}

impl Tx<'_> {
    fn commit(self) -> Result<(), SqlError> {
        match self.inner {
            TxInner::Sqlite(tx) => Ok(tx.commit()?),
            TxInner::Postgres(s) => s.commit(),
        }
    }

    pub fn backend(&self) -> Backend {
        match self.inner {
            TxInner::Sqlite(_) => Backend::Sqlite,
            TxInner::Postgres(_) => Backend::Postgres,
        }
    }

    /// Run a statement; the number of rows it changed.
    pub fn execute(&self, sql: &str, params: &[&dyn ToValue]) -> Result<u64, SqlError> {
        match &self.inner {
            TxInner::Sqlite(tx) => sqlite::execute(tx, sql, params),
            TxInner::Postgres(s) => s.execute(sql, params),
        }
    }

    /// Run a query; all its rows.
    pub fn query(&self, sql: &str, params: &[&dyn ToValue]) -> Result<Vec<Row>, SqlError> {
        match &self.inner {
            TxInner::Sqlite(tx) => sqlite::query(tx, sql, params),
            TxInner::Postgres(s) => s.query(sql, params),
        }
    }

    /// Run a query; its first row, if any.
    pub fn query_opt(&self, sql: &str, params: &[&dyn ToValue]) -> Result<Option<Row>, SqlError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// Run a query that returns exactly one row.
    pub fn query_one(&self, sql: &str, params: &[&dyn ToValue]) -> Result<Row, SqlError> {
        self.query_opt(sql, params)?.ok_or_else(|| SqlError::Type {
            column: 0,
            message: "the statement returned no row".into(),
        })
    }

    /// Read one text value as a stream, `f` given its bytes to read: the value in `column` of
    /// the row of `table` whose `key_column` is `key`. SQLite reads it from the file piece by
    /// piece (incremental BLOB I/O, which reads a TEXT value as well), so a big value is never
    /// held whole; PostgreSQL sends it whole. `f` also gets the value's length in bytes.
    /// `None`: no such row. The names are the caller's own identifiers, never input.
    pub fn read_text<T>(
        &self,
        table: &str,
        column: &str,
        key_column: &str,
        key: &str,
        f: impl FnOnce(&mut dyn std::io::Read, usize) -> T,
    ) -> Result<Option<T>, SqlError> {
        match &self.inner {
            TxInner::Sqlite(tx) => {
                let sql = format!("SELECT rowid FROM {table} WHERE {key_column} = ?1");
                let Some(row) = self.query_opt(&sql, params![key])? else {
                    return Ok(None);
                };
                let mut blob = tx.blob_open(rusqlite::MAIN_DB, table, column, row.int(0)?, true)?;
                let len = blob.len();
                Ok(Some(f(&mut blob, len)))
            }
            TxInner::Postgres(_) => {
                let sql = format!("SELECT {column} FROM {table} WHERE {key_column} = ?1");
                let Some(mut row) = self.query_opt(&sql, params![key])? else {
                    return Ok(None);
                };
                let text = row.take_text(0)?;
                Ok(Some(f(&mut text.as_bytes(), text.len())))
            }
        }
    }

    /// Run statements separated by `;`, without parameters (migrations).
    pub fn batch(&self, sql: &str) -> Result<(), SqlError> {
        match &self.inner {
            TxInner::Sqlite(tx) => Ok(tx.execute_batch(sql)?),
            TxInner::Postgres(s) => s.batch(sql),
        }
    }

    /// Whether table `name` exists.
    pub fn table_exists(&self, name: &str) -> Result<bool, SqlError> {
        let sql = match self.inner {
            TxInner::Sqlite(_) => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1"
            }
            TxInner::Postgres(_) => {
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = ?1"
            }
        };
        Ok(self.query_one(sql, params![name])?.int(0)? > 0)
    }

    /// Every table's name, sorted.
    pub fn tables(&self) -> Result<Vec<String>, SqlError> {
        let sql = match self.inner {
            TxInner::Sqlite(_) => {
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            }
            TxInner::Postgres(_) => {
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() ORDER BY 1"
            }
        };
        self.query(sql, params![])?
            .iter()
            .map(|r| r.text(0))
            .collect()
    }

    /// Table `name`'s columns, in their order.
    pub fn columns(&self, table: &str) -> Result<Vec<String>, SqlError> {
        let sql = match self.inner {
            TxInner::Sqlite(_) => "SELECT name FROM pragma_table_info(?1) ORDER BY cid",
            TxInner::Postgres(_) => {
                "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = ?1 ORDER BY ordinal_position"
            }
        };
        self.query(sql, params![table])?
            .iter()
            .map(|r| r.text(0))
            .collect()
    }

    /// Tell listeners on `channel` (delivered when the transaction commits; a no-op on SQLite).
    pub fn notify(&self, channel: &str) -> Result<(), SqlError> {
        match &self.inner {
            TxInner::Sqlite(_) => Ok(()),
            TxInner::Postgres(s) => s
                .query("SELECT pg_notify(?1, '')::text", params![channel])
                .map(drop),
        }
    }
}
