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

pub mod cutover;
pub mod lease;
pub mod schema;
pub mod webhook;

pub use cutover::CutoverRow;
pub use lease::LeaseRow;
pub use webhook::{EventClaim, EventStart, LeaseForEvent, WebhookEvent};

#[cfg(test)]
mod tests;

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use switchback_api::{Name, Zone};

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

/// A snapshot's description, without its records (`snapshot list`, `snapshot create --json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotMeta {
    pub id: String,
    pub provider: String,
    pub zone: Name,
    pub label: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub record_sets: usize,
}

/// A snapshot with its zone, exactly as it was read from the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    pub meta: SnapshotMeta,
    pub zone: Zone,
}

/// A saved plan. The plan is kept as the JSON it was saved as ([`switchback_api::plan::Plan`]
/// is written, not read back, by the application).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredPlan {
    pub id: String,
    pub provider: String,
    pub zone: Name,
    pub checksum: String,
    pub changes: usize,
    pub created_at: String,
    pub plan: serde_json::Value,
}

/// A run's id: small, increasing, easy to type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub i64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for RunId {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<RunId, Self::Err> {
        s.parse().map(RunId)
    }
}

/// Where a run stands. `Running` until [`Store::finish_run`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Running,
    Done,
    Failed,
    Aborted,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Done => "done",
            RunState::Failed => "failed",
            RunState::Aborted => "aborted",
        }
    }

    fn parse(s: &str) -> Option<RunState> {
        Some(match s {
            "running" => RunState::Running,
            "done" => RunState::Done,
            "failed" => RunState::Failed,
            "aborted" => RunState::Aborted,
            _ => return None,
        })
    }
}

impl fmt::Display for RunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A journal entry's phase: before a step runs (`Started`) and after (`Done` or `Failed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Started,
    Done,
    Failed,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Started => "started",
            Phase::Done => "done",
            Phase::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<Phase> {
        Some(match s {
            "started" => Phase::Started,
            "done" => Phase::Done,
            "failed" => Phase::Failed,
            _ => return None,
        })
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A run: one rollback, apply, failover, failback stage...
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    pub id: RunId,
    /// "rollback", "apply", "failover", ...
    pub kind: String,
    /// What it works on: a snapshot id, a file, a cutover name.
    pub subject: String,
    pub provider: String,
    pub zone: Name,
    pub state: RunState,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub detail: serde_json::Value,
    /// The detail given to [`Store::finish_run`].
    pub result: Option<serde_json::Value>,
}

/// One entry of a run's step journal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JournalEntry {
    pub run: RunId,
    /// 1, 2, ... within the run, in the order written.
    pub seq: i64,
    pub at: String,
    pub step: String,
    pub phase: Phase,
    pub detail: serde_json::Value,
}

/// An audit log entry as given to [`Store::audit`]: who did what, with before and after
/// (any serializable value: the record sets themselves, not a JSON copy of them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry<T = serde_json::Value> {
    /// `user@host`, or `webhook:...` for the HTTP API.
    pub actor: String,
    pub action: String,
    pub provider: String,
    pub zone: Name,
    pub run: Option<RunId>,
    pub before: T,
    pub after: T,
}

/// An audit log entry as stored: numbered and timed by the store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    pub id: i64,
    pub at: String,
    #[serde(flatten)]
    pub entry: AuditEntry,
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

    /// Store a snapshot of `zone` as read from `provider`. The zone is kept losslessly (the
    /// record model's JSON).
    pub fn create_snapshot(
        &self,
        provider: &str,
        zone: &Zone,
        label: Option<&str>,
    ) -> Result<SnapshotMeta, StoreError> {
        // Encode before taking the lock: the write lock is held only for the insert.
        let json = serde_json::to_string(zone)?;
        let (now, created_at) = now();
        let zone_name = zone.origin.to_string();
        let record_sets = zone.record_sets.len();
        let id = self.with_conn(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let id = unused_id(&tx, "snapshots", 's', now)?;
            tx.execute(
                schema::INSERT_SNAPSHOT,
                params![
                    id,
                    provider,
                    zone_name,
                    label,
                    created_at,
                    record_sets as i64,
                    json
                ],
            )?;
            tx.commit()?;
            Ok(id)
        })?;
        Ok(SnapshotMeta {
            id,
            provider: provider.to_string(),
            zone: zone.origin.clone(),
            label: label.map(str::to_string),
            created_at,
            record_sets,
        })
    }

    /// A snapshot with its zone; `NotFound` naming the id when there is none.
    pub fn snapshot(&self, id: &str) -> Result<Snapshot, StoreError> {
        self.with_conn(|conn| {
            let sql = format!(
                "SELECT {}, zone_json FROM snapshots WHERE id = ?1",
                schema::SNAPSHOT_META_COLUMNS
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![id])?;
            let Some(row) = rows.next()? else {
                return Err(StoreError::NotFound {
                    what: "snapshot",
                    id: id.to_string(),
                });
            };
            let meta = self.snapshot_meta(row)?;
            let zone: Zone = serde_json::from_str(row.get_ref(6)?.as_str()?)
                .map_err(|e| self.corrupt(format!("snapshot {id}: {e}")))?;
            if zone.origin != meta.zone || zone.record_sets.len() != meta.record_sets {
                return Err(self.corrupt(format!(
                    "snapshot {id}: its records do not match its description"
                )));
            }
            Ok(Snapshot { meta, zone })
        })
    }

    /// Snapshots, newest first, optionally of one provider and/or one zone.
    pub fn list_snapshots(
        &self,
        provider: Option<&str>,
        zone: Option<&Name>,
    ) -> Result<Vec<SnapshotMeta>, StoreError> {
        let zone = zone.map(|z| z.to_string());
        let mut sql = format!(
            "SELECT {} FROM snapshots WHERE 1 = 1",
            schema::SNAPSHOT_META_COLUMNS
        );
        let mut args: Vec<&str> = Vec::new();
        if let Some(p) = provider {
            args.push(p);
            sql.push_str(&format!(" AND provider = ?{}", args.len()));
        }
        if let Some(z) = &zone {
            args.push(z);
            sql.push_str(&format!(" AND zone = ?{}", args.len()));
        }
        sql.push_str(" ORDER BY created_at DESC, id DESC");
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                out.push(self.snapshot_meta(row)?);
            }
            Ok(out)
        })
    }

    fn snapshot_meta(&self, row: &rusqlite::Row<'_>) -> Result<SnapshotMeta, StoreError> {
        let id: String = row.get(0)?;
        let zone: String = row.get(2)?;
        let record_sets: i64 = row.get(5)?;
        Ok(SnapshotMeta {
            zone: self.name(&zone, "snapshot", &id)?,
            record_sets: usize::try_from(record_sets)
                .map_err(|_| self.corrupt(format!("snapshot {id}: bad record count")))?,
            provider: row.get(1)?,
            label: row.get(3)?,
            created_at: row.get(4)?,
            id,
        })
    }

    // ---- plans ----

    /// Store a plan as reviewed, with its checksum; returns its id.
    pub fn save_plan(&self, plan: &switchback_api::plan::Plan) -> Result<String, StoreError> {
        let json = serde_json::to_string(plan)?;
        let checksum = plan.checksum();
        let (now, created_at) = now();
        let zone = plan.zone.to_string();
        self.with_conn(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let id = unused_id(&tx, "plans", 'p', now)?;
            tx.execute(
                schema::INSERT_PLAN,
                params![
                    id,
                    plan.provider,
                    zone,
                    checksum,
                    plan.changes.len() as i64,
                    created_at,
                    json
                ],
            )?;
            tx.commit()?;
            Ok(id)
        })
    }

    /// A saved plan; `NotFound` naming the id when there is none.
    pub fn plan(&self, id: &str) -> Result<StoredPlan, StoreError> {
        self.with_conn(|conn| {
            let row = conn
                .query_row(
                    "SELECT provider, zone, checksum, changes, created_at, plan_json \
                     FROM plans WHERE id = ?1",
                    params![id],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, i64>(3)?,
                            r.get::<_, String>(4)?,
                            r.get::<_, String>(5)?,
                        ))
                    },
                )
                .optional()?;
            let Some((provider, zone, checksum, changes, created_at, json)) = row else {
                return Err(StoreError::NotFound {
                    what: "plan",
                    id: id.to_string(),
                });
            };
            Ok(StoredPlan {
                id: id.to_string(),
                provider,
                zone: self.name(&zone, "plan", id)?,
                checksum,
                changes: usize::try_from(changes).unwrap_or(0),
                created_at,
                plan: self.json(&json, "plan", id)?,
            })
        })
    }

    // ---- runs and the step journal ----

    /// Start a run; it stays unfinished (see [`Store::unfinished_runs`]) until
    /// [`Store::finish_run`].
    pub fn start_run(
        &self,
        kind: &str,
        subject: &str,
        provider: &str,
        zone: &Name,
        detail: &(impl Serialize + ?Sized),
    ) -> Result<RunId, StoreError> {
        let detail = serde_json::to_string(detail)?;
        let (_, at) = now();
        let zone = zone.to_string();
        self.with_conn(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let id: i64 = tx.query_row(
                schema::INSERT_RUN,
                params![kind, subject, provider, zone, at, detail],
                |r| r.get(0),
            )?;
            tx.commit()?;
            Ok(RunId(id))
        })
    }

    /// Record a step of a run: call with `Started` before the step does anything, and with
    /// `Done` or `Failed` after. Durable when it returns.
    pub fn journal(
        &self,
        run: RunId,
        step: &str,
        phase: Phase,
        detail: &(impl Serialize + ?Sized),
    ) -> Result<(), StoreError> {
        let detail = serde_json::to_string(detail)?;
        let (_, at) = now();
        self.with_conn(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            self.check_running(&tx, run)?;
            tx.execute(
                schema::INSERT_JOURNAL,
                params![run.0, at, step, phase.as_str(), detail],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Finish a run as `Done`, `Failed` or `Aborted`, with a detail (e.g. what was applied).
    pub fn finish_run(
        &self,
        run: RunId,
        state: RunState,
        detail: &(impl Serialize + ?Sized),
    ) -> Result<(), StoreError> {
        if state == RunState::Running {
            return Err(StoreError::Invalid(format!(
                "run {run}: a run is finished as done, failed or aborted, not running"
            )));
        }
        let detail = serde_json::to_string(detail)?;
        let (_, at) = now();
        self.with_conn(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            self.check_running(&tx, run)?;
            tx.execute(
                schema::FINISH_RUN,
                params![run.0, state.as_str(), at, detail],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn check_running(&self, conn: &Connection, run: RunId) -> Result<(), StoreError> {
        let state: Option<String> = conn
            .query_row(
                "SELECT state FROM runs WHERE id = ?1",
                params![run.0],
                |r| r.get(0),
            )
            .optional()?;
        match state.as_deref().map(|s| (s, RunState::parse(s))) {
            None => Err(StoreError::NotFound {
                what: "run",
                id: run.to_string(),
            }),
            Some((_, Some(RunState::Running))) => Ok(()),
            Some((_, Some(state))) => Err(StoreError::RunFinished { id: run, state }),
            Some((s, None)) => Err(self.corrupt(format!("run {run}: bad state {s:?}"))),
        }
    }

    /// One run; `NotFound` naming the id when there is none.
    pub fn run(&self, id: RunId) -> Result<Run, StoreError> {
        let mut runs = self.query_runs("WHERE id = ?1", params![id.0])?;
        runs.pop().ok_or_else(|| StoreError::NotFound {
            what: "run",
            id: id.to_string(),
        })
    }

    /// The latest `limit` runs, newest first.
    pub fn runs(&self, limit: usize) -> Result<Vec<Run>, StoreError> {
        self.query_runs(
            "ORDER BY id DESC LIMIT ?1",
            params![i64::try_from(limit).unwrap_or(i64::MAX)],
        )
    }

    /// Runs that were started and never finished (crashed or still going), oldest first:
    /// what `resume` and `abort` look at.
    pub fn unfinished_runs(&self) -> Result<Vec<Run>, StoreError> {
        self.query_runs("WHERE finished_at IS NULL ORDER BY id", params![])
    }

    fn query_runs(
        &self,
        tail: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<Run>, StoreError> {
        let sql = format!("SELECT {} FROM runs {tail}", schema::RUN_COLUMNS);
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(args)?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let id = RunId(r.get(0)?);
                let what = id.to_string();
                let state: String = r.get(5)?;
                let result: Option<String> = r.get(9)?;
                out.push(Run {
                    id,
                    kind: r.get(1)?,
                    subject: r.get(2)?,
                    provider: r.get(3)?,
                    zone: self.name(&r.get::<_, String>(4)?, "run", &what)?,
                    state: RunState::parse(&state)
                        .ok_or_else(|| self.corrupt(format!("run {id}: bad state {state:?}")))?,
                    started_at: r.get(6)?,
                    finished_at: r.get(7)?,
                    detail: self.json(&r.get::<_, String>(8)?, "run", &what)?,
                    result: result.map(|j| self.json(&j, "run", &what)).transpose()?,
                });
            }
            Ok(out)
        })
    }

    /// A run's journal, in the order it was written; `NotFound` when there is no such run.
    pub fn journal_entries(&self, run: RunId) -> Result<Vec<JournalEntry>, StoreError> {
        self.with_conn(|conn| {
            let exists: bool = conn
                .query_row("SELECT 1 FROM runs WHERE id = ?1", params![run.0], |_| {
                    Ok(())
                })
                .optional()?
                .is_some();
            if !exists {
                return Err(StoreError::NotFound {
                    what: "run",
                    id: run.to_string(),
                });
            }
            let sql = format!(
                "SELECT {} FROM journal WHERE run_id = ?1 ORDER BY seq",
                schema::JOURNAL_COLUMNS
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![run.0])?;
            let mut out = Vec::new();
            let what = run.to_string();
            while let Some(r) = rows.next()? {
                let phase: String = r.get(4)?;
                out.push(JournalEntry {
                    run: RunId(r.get(0)?),
                    seq: r.get(1)?,
                    at: r.get(2)?,
                    step: r.get(3)?,
                    phase: Phase::parse(&phase).ok_or_else(|| {
                        self.corrupt(format!("journal of run {run}: bad phase {phase:?}"))
                    })?,
                    detail: self.json(r.get_ref(5)?.as_str()?, "journal of run", &what)?,
                });
            }
            Ok(out)
        })
    }

    // ---- audit log ----

    /// Append to the audit log; the store sets the time.
    pub fn audit<T: Serialize>(&self, e: &AuditEntry<T>) -> Result<(), StoreError> {
        let before = serde_json::to_string(&e.before)?;
        let after = serde_json::to_string(&e.after)?;
        let (_, at) = now();
        let zone = e.zone.to_string();
        self.with_conn(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.query_row(
                schema::INSERT_AUDIT,
                params![
                    at,
                    e.actor,
                    e.action,
                    e.provider,
                    zone,
                    e.run.map(|r| r.0),
                    before,
                    after
                ],
                |r| r.get::<_, i64>(0),
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    /// The latest `limit` audit entries, newest first.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        let sql = format!(
            "SELECT {} FROM audit_log ORDER BY id DESC LIMIT ?1",
            schema::AUDIT_COLUMNS
        );
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![i64::try_from(limit).unwrap_or(i64::MAX)])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(0)?;
                let what = id.to_string();
                out.push(AuditRecord {
                    id,
                    at: r.get(1)?,
                    entry: AuditEntry {
                        actor: r.get(2)?,
                        action: r.get(3)?,
                        provider: r.get(4)?,
                        zone: self.name(&r.get::<_, String>(5)?, "audit entry", &what)?,
                        run: r.get::<_, Option<i64>>(6)?.map(RunId),
                        before: self.json(r.get_ref(7)?.as_str()?, "audit entry", &what)?,
                        after: self.json(r.get_ref(8)?.as_str()?, "audit entry", &what)?,
                    },
                });
            }
            Ok(out)
        })
    }

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

/// `$USER@hostname` (from the environment, else `/etc/hostname`), for the audit log.
pub fn default_actor() -> String {
    let user = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|v| v.trim().to_string())
        .find(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".to_string());
    let host = std::env::var("HOSTNAME")
        .ok()
        .into_iter()
        .chain(
            ["/etc/hostname", "/proc/sys/kernel/hostname"]
                .iter()
                .filter_map(|p| fs::read_to_string(p).ok()),
        )
        .map(|h| h.trim().to_string())
        .find(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    format!("{user}@{host}")
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
