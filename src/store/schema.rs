//! Every SQL statement that defines the state store's schema, and the migrations.
//!
//! Portability: the schema is meant to move to PostgreSQL unchanged (a later issue lets several
//! controllers share state), so it uses plain types only: `TEXT`, `BIGINT`; JSON as `TEXT`;
//! timestamps as RFC 3339 `TEXT` in UTC with microseconds (fixed width, so they sort as text);
//! explicit primary keys (integer keys are assigned by the store, not by `AUTOINCREMENT`,
//! `SERIAL` or the SQLite rowid); foreign keys declared; no `WITHOUT ROWID`, no `STRICT`.
//!
//! The built-in provider keeps its live zones in the same file in tables prefixed `builtin_`;
//! they are its own and this module never touches them.
//!
//! Migrations: `MIGRATIONS[i]` takes the schema from version `i` to `i + 1`. Each is applied in
//! its own transaction together with the bump of `switchback_meta.schema_version`. Released
//! migrations are never edited: a change to the schema is a new entry at the end.

/// The table holding the schema version (key `schema_version`).
pub const META_TABLE: &str = "switchback_meta";

/// The key under which the schema version is stored in [`META_TABLE`].
pub const VERSION_KEY: &str = "schema_version";

/// Tables of other components that may share the file (see the module docs).
pub const FOREIGN_PREFIXES: &[&str] = &["builtin_", "sqlite_"];

/// The migrations, oldest first: entry `i` goes from schema version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: the first release.
    r#"
CREATE TABLE switchback_meta (
    key         TEXT NOT NULL PRIMARY KEY,
    value       TEXT NOT NULL
);

-- A snapshot: one zone of one provider, stored losslessly as the record model's JSON.
CREATE TABLE snapshots (
    id          TEXT NOT NULL PRIMARY KEY,      -- s-YYYYMMDDTHHMMSS-xxxx
    provider    TEXT NOT NULL,
    zone        TEXT NOT NULL,                  -- absolute, lower case, trailing dot
    label       TEXT,
    created_at  TEXT NOT NULL,                  -- RFC 3339, UTC, microseconds
    record_sets BIGINT NOT NULL,
    zone_json   TEXT NOT NULL                   -- switchback_api::Zone, serde JSON
);
CREATE INDEX snapshots_by_time ON snapshots (created_at);
CREATE INDEX snapshots_by_zone ON snapshots (provider, zone, created_at);

-- A plan as it was shown and checked, with its checksum.
CREATE TABLE plans (
    id          TEXT NOT NULL PRIMARY KEY,      -- p-YYYYMMDDTHHMMSS-xxxx
    provider    TEXT NOT NULL,
    zone        TEXT NOT NULL,
    checksum    TEXT NOT NULL,
    changes     BIGINT NOT NULL,
    created_at  TEXT NOT NULL,
    plan_json   TEXT NOT NULL                   -- switchback_api::plan::Plan, serde JSON
);
CREATE INDEX plans_by_time ON plans (created_at);

-- A run: one rollback, apply, failover, failback stage... Unfinished while finished_at is NULL.
CREATE TABLE runs (
    id          BIGINT NOT NULL PRIMARY KEY,    -- assigned by the store: max + 1
    kind        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    provider    TEXT NOT NULL,
    zone        TEXT NOT NULL,
    state       TEXT NOT NULL
                CHECK (state IN ('running', 'done', 'failed', 'aborted')),
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    detail      TEXT NOT NULL,                  -- JSON
    result      TEXT                            -- JSON, from finish_run
);
CREATE INDEX runs_by_state ON runs (state);

-- The step journal: each step is recorded before (started) and after (done/failed) it runs.
CREATE TABLE journal (
    run_id      BIGINT NOT NULL REFERENCES runs (id),
    seq         BIGINT NOT NULL,                -- 1, 2, ... within the run
    at          TEXT NOT NULL,
    step        TEXT NOT NULL,
    phase       TEXT NOT NULL CHECK (phase IN ('started', 'done', 'failed')),
    detail      TEXT NOT NULL,                  -- JSON
    PRIMARY KEY (run_id, seq)
);

-- Who changed what and when, with the before and after of every applied change.
CREATE TABLE audit_log (
    id          BIGINT NOT NULL PRIMARY KEY,    -- assigned by the store: max + 1
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    provider    TEXT NOT NULL,
    zone        TEXT NOT NULL,
    run_id      BIGINT REFERENCES runs (id),
    before_json TEXT NOT NULL,
    after_json  TEXT NOT NULL
);
CREATE INDEX audit_by_time ON audit_log (at);
"#,
    // 2: cutover state (issue 6).
    r#"
-- One row per cutover that has ever been started: where it stands, what it last wrote, and
-- the intent of a step in progress (stored before the step's apply: what `resume` finishes).
CREATE TABLE cutover_state (
    name             TEXT NOT NULL PRIMARY KEY,   -- the [[cutover]] name
    state            TEXT NOT NULL
                     CHECK (state IN ('ready', 'failed-over', 'failing-back', 'restored')),
    stage            BIGINT NOT NULL,             -- 0 = failed over; k = failback stage k done
    provider         TEXT NOT NULL,
    zone             TEXT NOT NULL,
    snapshot_id      TEXT NOT NULL REFERENCES snapshots (id),
    targets_json     TEXT NOT NULL,               -- {"NAME/TYPE": ["value", ...]}
    written_json     TEXT NOT NULL,               -- [RecordSet]: what the last step wrote
    intent_json      TEXT,                        -- the step in progress, NULL when none
    stage_started_at TEXT,                        -- when the last step finished (soak)
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
"#,
    // 3: webhook idempotency (issue 7).
    r#"
-- One row per webhook event that got an answer: a replay with the same body gets the same
-- answer; the same id with another body is refused.
CREATE TABLE webhook_events (
    event_id     TEXT NOT NULL PRIMARY KEY,
    route        TEXT NOT NULL,                   -- pre-recovery, post-recovery, failback
    cutover      TEXT NOT NULL,
    body_digest  TEXT NOT NULL,                   -- SHA-256 (hex) of the route and the body
    status       BIGINT NOT NULL,                 -- the HTTP status of the first answer
    answer_json  TEXT NOT NULL,                   -- the first answer's body
    created_at   TEXT NOT NULL
);
CREATE INDEX webhook_events_by_time ON webhook_events (created_at);
"#,
    // 4: one actor at a time, many zones per cutover (issue 10).
    r#"
-- The lease of a cutover (invariant 6): who may change it now. Taken by compare-and-set,
-- kept alive by a heartbeat; a holder whose pid is gone (same host) or whose heartbeat is
-- older than the expiry (another host) may be replaced.
CREATE TABLE cutover_lease (
    name         TEXT NOT NULL PRIMARY KEY,   -- the [[cutover]] name
    token        TEXT NOT NULL,               -- random; the holder's proof in every write
    node         TEXT NOT NULL,               -- [server] node (default: the host name)
    host         TEXT NOT NULL,
    pid          BIGINT NOT NULL,
    pid_start    TEXT NOT NULL,               -- the process's start time ('' unknown): pid reuse
    actor        TEXT NOT NULL,               -- cli, webhook, automation
    who          TEXT NOT NULL,               -- user@host, webhook:post-recovery, auto:health
    acquired_at  TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL
);
-- Compare-and-set of the state: every write names the version it read.
ALTER TABLE cutover_state ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
-- The snapshot set: one snapshot per (provider, zone), [{"provider", "zone", "id"}].
ALTER TABLE cutover_state ADD COLUMN snapshots_json TEXT NOT NULL DEFAULT '[]';
"#,
    // 5: webhook events recorded before their work (issue 11).
    r#"
-- An event is recorded, in the transaction that takes the cutover's lease, before its work
-- starts ('running'); its answer and outcome are filled in after ('done', or 'failed': then
-- the same event may be sent again). base_version: the cutover state's version when the work
-- began (a retry after a crash tells from it whether the step ran).
ALTER TABLE webhook_events ADD COLUMN state TEXT NOT NULL DEFAULT 'done'
    CHECK (state IN ('running', 'done', 'failed'));
ALTER TABLE webhook_events ADD COLUMN base_version BIGINT NOT NULL DEFAULT 0;
-- A cutover's last runs without a scan of all of them (the status page, /metrics).
CREATE INDEX runs_by_subject ON runs (subject, id);
"#,
    // 6: several instances on one store (issue 14).
    r#"
-- Each running `serve` on the store, written every second: whether it holds the leader lock,
-- and its own view of every health check ({"web": "down"}), for the status page and quorum.
CREATE TABLE switchback_nodes (
    node         TEXT NOT NULL PRIMARY KEY,   -- [server] node
    host         TEXT NOT NULL,
    pid          BIGINT NOT NULL,
    leader       BIGINT NOT NULL,             -- 1 while it holds the leader lock
    health_json  TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL
);
"#,
    // 7: measured RTO, drills, notifications (issue 15).
    r#"
-- The measured RTO of a cutover step: one row per step, keyed by the step's last run.
CREATE TABLE step_timings (
    run_id      BIGINT NOT NULL PRIMARY KEY,
    cutover     TEXT NOT NULL,
    kind        TEXT NOT NULL,                  -- failover, failback, abort
    stage       BIGINT NOT NULL,
    created_at  TEXT NOT NULL,
    detail      TEXT NOT NULL                   -- planner::rto::Rto, serde JSON
);
CREATE INDEX step_timings_by_cutover ON step_timings (cutover, run_id);
-- A drill's report.
CREATE TABLE drills (
    id          TEXT NOT NULL PRIMARY KEY,      -- d-YYYYMMDDTHHMMSS-xxxx
    cutover     TEXT NOT NULL,
    live        BIGINT NOT NULL,                -- 1: on the real records (a planned test)
    result      TEXT NOT NULL,                  -- passed, failed, stopped
    started_at  TEXT NOT NULL,
    report_json TEXT NOT NULL                   -- planner::drill::DrillReport, serde JSON
);
CREATE INDEX drills_by_cutover ON drills (cutover, started_at);
-- Events waiting for (or done with) delivery to a [[notify]] target, oldest first. A row is
-- claimed by pushing next_at past the attempt's timeout; delivered_at is set after a 2xx.
CREATE TABLE notify_queue (
    id           BIGINT NOT NULL PRIMARY KEY,
    event_id     TEXT NOT NULL,
    target       TEXT NOT NULL,                 -- the target's name (never its URL)
    cutover      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    body         TEXT NOT NULL,                 -- the event, JSON
    created_at   TEXT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    next_at      TEXT NOT NULL,
    delivered_at TEXT,
    last_error   TEXT
);
CREATE INDEX notify_queue_pending ON notify_queue (delivered_at, target, cutover, id);
"#,
];

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Record the version after a migration (an upsert both SQLite and PostgreSQL accept).
pub const SET_VERSION: &str = "INSERT INTO switchback_meta (key, value) VALUES ('schema_version', ?1) \
     ON CONFLICT (key) DO UPDATE SET value = excluded.value";

/// Read the version (the table may not exist yet: version 0).
pub const GET_VERSION: &str = "SELECT value FROM switchback_meta WHERE key = 'schema_version'";

// --- statements used by the store (kept here with the schema they depend on) ---

pub const INSERT_SNAPSHOT: &str = "INSERT INTO snapshots \
     (id, provider, zone, label, created_at, record_sets, zone_json) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
pub const SNAPSHOT_META_COLUMNS: &str = "id, provider, zone, label, created_at, record_sets";
pub const INSERT_PLAN: &str = "INSERT INTO plans \
     (id, provider, zone, checksum, changes, created_at, plan_json) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
pub const INSERT_RUN: &str = "INSERT INTO runs \
     (id, kind, subject, provider, zone, state, started_at, finished_at, detail, result) \
     VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM runs), ?1, ?2, ?3, ?4, 'running', ?5, NULL, ?6, NULL) \
     RETURNING id";
pub const RUN_COLUMNS: &str =
    "id, kind, subject, provider, zone, state, started_at, finished_at, detail, result";
pub const FINISH_RUN: &str = "UPDATE runs SET state = ?2, finished_at = ?3, result = ?4 \
     WHERE id = ?1 AND finished_at IS NULL";
pub const INSERT_JOURNAL: &str = "INSERT INTO journal (run_id, seq, at, step, phase, detail) \
     VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM journal WHERE run_id = ?1), ?2, ?3, ?4, ?5)";
pub const JOURNAL_COLUMNS: &str = "run_id, seq, at, step, phase, detail";
pub const INSERT_AUDIT: &str = "INSERT INTO audit_log \
     (id, at, actor, action, provider, zone, run_id, before_json, after_json) \
     VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM audit_log), ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
     RETURNING id";
pub const AUDIT_COLUMNS: &str =
    "id, at, actor, action, provider, zone, run_id, before_json, after_json";

pub const CUTOVER_COLUMNS: &str = "name, state, stage, provider, zone, snapshot_id, targets_json, \
     written_json, intent_json, stage_started_at, created_at, updated_at, version, snapshots_json";
pub const UPSERT_CUTOVER: &str = "INSERT INTO cutover_state \
     (name, state, stage, provider, zone, snapshot_id, targets_json, written_json, intent_json, \
      stage_started_at, created_at, updated_at, version, snapshots_json) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12, ?13) \
     ON CONFLICT (name) DO UPDATE SET state = excluded.state, stage = excluded.stage, \
     provider = excluded.provider, zone = excluded.zone, snapshot_id = excluded.snapshot_id, \
     targets_json = excluded.targets_json, written_json = excluded.written_json, \
     intent_json = excluded.intent_json, stage_started_at = excluded.stage_started_at, \
     updated_at = excluded.updated_at, version = excluded.version, \
     snapshots_json = excluded.snapshots_json";
pub const CUTOVER_VERSION: &str = "SELECT version FROM cutover_state WHERE name = ?1";

pub const LEASE_COLUMNS: &str =
    "name, token, node, host, pid, pid_start, actor, who, acquired_at, heartbeat_at";
pub const UPSERT_LEASE: &str = "INSERT INTO cutover_lease \
     (name, token, node, host, pid, pid_start, actor, who, acquired_at, heartbeat_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) \
     ON CONFLICT (name) DO UPDATE SET token = excluded.token, node = excluded.node, \
     host = excluded.host, pid = excluded.pid, pid_start = excluded.pid_start, \
     actor = excluded.actor, who = excluded.who, acquired_at = excluded.acquired_at, \
     heartbeat_at = excluded.heartbeat_at";
pub const HEARTBEAT_LEASE: &str =
    "UPDATE cutover_lease SET heartbeat_at = ?3 WHERE name = ?1 AND token = ?2";
pub const RELEASE_LEASE: &str = "DELETE FROM cutover_lease WHERE name = ?1 AND token = ?2";
pub const LEASE_HELD: &str = "SELECT 1 FROM cutover_lease WHERE name = ?1 AND token = ?2";

pub const NODE_COLUMNS: &str = "node, host, pid, leader, health_json, started_at, heartbeat_at";
pub const UPSERT_NODE: &str = "INSERT INTO switchback_nodes \
     (node, host, pid, leader, health_json, started_at, heartbeat_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
     ON CONFLICT (node) DO UPDATE SET host = excluded.host, pid = excluded.pid, \
     leader = excluded.leader, health_json = excluded.health_json, \
     started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at";

pub const WEBHOOK_EVENT_COLUMNS: &str =
    "event_id, route, cutover, body_digest, status, answer_json, created_at, state, base_version";
/// A new event, its work about to start.
pub const INSERT_WEBHOOK_EVENT: &str = "INSERT INTO webhook_events \
     (event_id, route, cutover, body_digest, status, answer_json, created_at, state, base_version) \
     VALUES (?1, ?2, ?3, ?4, 0, '', ?5, 'running', ?6)";
/// A failed event sent again: its work starts anew.
pub const RESTART_WEBHOOK_EVENT: &str = "UPDATE webhook_events SET state = 'running', \
     status = 0, answer_json = '', base_version = ?2 WHERE event_id = ?1";
/// The event's first answer (a 202 while the work goes on), unless it has one already (the
/// work ended first).
pub const ANSWER_WEBHOOK_EVENT: &str = "UPDATE webhook_events SET status = ?2, answer_json = ?3 \
     WHERE event_id = ?1 AND answer_json = ''";
/// The event's outcome (`done` or `failed`); the answer is set when none was given yet.
pub const FINISH_WEBHOOK_EVENT: &str = "UPDATE webhook_events SET state = ?2, \
     status = CASE WHEN answer_json = '' THEN ?3 ELSE status END, \
     answer_json = CASE WHEN answer_json = '' THEN ?4 ELSE answer_json END WHERE event_id = ?1";
