//! Cutover state (schema migrations 2 and 4): one row per cutover, written by compare-and-set
//! on its version, by the holder of the cutover's lease only, in one transaction per step
//! boundary (the intent before a step's apply, progress per zone, the new state after it).

use serde::Serialize;
use switchback_api::Name;
use switchback_sql::params;

use super::{Run, Store, StoreError, now, schema};

/// A cutover's stored state. JSON columns are kept as values; the planner gives them types.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CutoverRow {
    pub name: String,
    /// `ready`, `failed-over`, `failing-back`, `restored`.
    pub state: String,
    pub stage: u32,
    /// The first zone's provider, zone and snapshot (the snapshot set is in `snapshots`).
    pub provider: String,
    pub zone: Name,
    pub snapshot_id: String,
    /// The snapshot set: `[{"provider", "zone", "id"}]`, one per zone, in config order.
    pub snapshots: serde_json::Value,
    pub targets: serde_json::Value,
    pub written: serde_json::Value,
    pub intent: Option<serde_json::Value>,
    pub stage_started_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Bumped by every write; a write names the version it read (compare-and-set).
    pub version: i64,
}

/// The run kinds a cutover writes (their subject is the cutover's name).
pub const CUTOVER_RUN_KINDS: &[&str] = &["failover", "failback", "abort", "resume"];

impl Store {
    /// The stored state of cutover `name`; `None` when it was never started.
    pub fn cutover_state(&self, name: &str) -> Result<Option<CutoverRow>, StoreError> {
        let sql = format!(
            "SELECT {} FROM cutover_state WHERE name = ?1",
            schema::CUTOVER_COLUMNS
        );
        let Some(r) = self.read(|tx| Ok(tx.query_opt(&sql, params![name])?))? else {
            return Ok(None);
        };
        let (name, stage, zone) = (r.text(0)?, r.int(2)?, r.text(4)?);
        let what = "cutover";
        Ok(Some(CutoverRow {
            stage: u32::try_from(stage)
                .map_err(|_| self.corrupt(format!("cutover {name}: bad stage {stage}")))?,
            zone: self.name(&zone, what, &name)?,
            targets: self.json(r.str(6)?, what, &name)?,
            written: self.json(r.str(7)?, what, &name)?,
            intent: r
                .opt_text(8)?
                .map(|i| self.json(&i, what, &name))
                .transpose()?,
            snapshots: self.json(r.str(13)?, what, &name)?,
            state: r.text(1)?,
            provider: r.text(3)?,
            snapshot_id: r.text(5)?,
            stage_started_at: r.opt_text(9)?,
            created_at: r.text(10)?,
            updated_at: r.text(11)?,
            version: r.int(12)?,
            name,
        }))
    }

    /// Every stored cutover state, by name.
    pub fn cutover_states(&self) -> Result<Vec<CutoverRow>, StoreError> {
        let names: Vec<String> = self.read(|tx| {
            tx.query("SELECT name FROM cutover_state ORDER BY name", params![])?
                .iter()
                .map(|r| Ok(r.text(0)?))
                .collect()
        })?;
        let mut out = Vec::new();
        for n in names {
            if let Some(r) = self.cutover_state(&n)? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Write cutover state by compare-and-set: only while `lease_token` holds the cutover's
    /// lease, and only when the stored version is still `row.version` (0: no row yet). The
    /// row is written with the next version, which is returned; `created_at` is kept.
    /// Durable when it returns.
    pub fn put_cutover_state(
        &self,
        row: &CutoverRow,
        lease_token: &str,
    ) -> Result<i64, StoreError> {
        let targets = serde_json::to_string(&row.targets)?;
        let written = serde_json::to_string(&row.written)?;
        let snapshots = serde_json::to_string(&row.snapshots)?;
        let intent = row.intent.as_ref().map(serde_json::to_string).transpose()?;
        let (_, at) = now();
        self.write(|tx| {
            let held = tx
                .query_opt(schema::LEASE_HELD, params![row.name, lease_token])?
                .is_some();
            if !held {
                return Err(StoreError::LeaseLost {
                    cutover: row.name.clone(),
                });
            }
            let current = match tx.query_opt(schema::CUTOVER_VERSION, params![row.name])? {
                Some(r) => r.int(0)?,
                None => 0,
            };
            if current != row.version {
                return Err(StoreError::Conflict {
                    cutover: row.name.clone(),
                    expected: row.version,
                    found: current,
                });
            }
            let next = current + 1;
            tx.execute(
                schema::UPSERT_CUTOVER,
                params![
                    row.name,
                    row.state,
                    i64::from(row.stage),
                    row.provider,
                    row.zone.to_string(),
                    row.snapshot_id,
                    targets,
                    written,
                    intent,
                    row.stage_started_at,
                    at,
                    next,
                    snapshots
                ],
            )?;
            Ok(next)
        })
    }

    /// The last `limit` runs of cutover `name`, oldest first (an indexed read of those only).
    pub fn cutover_runs_last(&self, name: &str, limit: usize) -> Result<Vec<Run>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut runs = self.query_runs(
            "WHERE subject = ?1 AND kind IN ('failover', 'failback', 'abort', 'resume') \
             ORDER BY id DESC LIMIT ?2",
            params![name, limit],
        )?;
        runs.reverse();
        Ok(runs)
    }

    /// The runs of cutover `name` (failover, failback stages, abort, resume), oldest first.
    pub fn cutover_runs(&self, name: &str) -> Result<Vec<Run>, StoreError> {
        self.query_runs(
            "WHERE subject = ?1 AND kind IN ('failover', 'failback', 'abort', 'resume') ORDER BY id",
            params![name],
        )
    }
}
