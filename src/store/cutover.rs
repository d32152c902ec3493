//! Cutover state (schema migration 2): one row per cutover, written in one transaction per
//! step boundary (the intent before a step's apply, the new state after it).

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use switchback_api::Name;

use super::{Run, Store, StoreError, now, schema};

/// A cutover's stored state. JSON columns are kept as values; the planner gives them types.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CutoverRow {
    pub name: String,
    /// `ready`, `failed-over`, `failing-back`, `restored`.
    pub state: String,
    pub stage: u32,
    pub provider: String,
    pub zone: Name,
    pub snapshot_id: String,
    pub targets: serde_json::Value,
    pub written: serde_json::Value,
    pub intent: Option<serde_json::Value>,
    pub stage_started_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
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
        let raw = self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            Ok(stmt
                .query_row(params![name], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, String>(6)?,
                        r.get::<_, String>(7)?,
                        r.get::<_, Option<String>>(8)?,
                        r.get::<_, Option<String>>(9)?,
                        r.get::<_, String>(10)?,
                        r.get::<_, String>(11)?,
                    ))
                })
                .optional()?)
        })?;
        let Some((
            name,
            state,
            stage,
            provider,
            zone,
            snapshot_id,
            targets,
            written,
            intent,
            stage_started_at,
            created_at,
            updated_at,
        )) = raw
        else {
            return Ok(None);
        };
        let what = "cutover";
        Ok(Some(CutoverRow {
            stage: u32::try_from(stage)
                .map_err(|_| self.corrupt(format!("cutover {name}: bad stage {stage}")))?,
            zone: self.name(&zone, what, &name)?,
            targets: self.json(&targets, what, &name)?,
            written: self.json(&written, what, &name)?,
            intent: intent.map(|i| self.json(&i, what, &name)).transpose()?,
            name,
            state,
            provider,
            snapshot_id,
            stage_started_at,
            created_at,
            updated_at,
        }))
    }

    /// Every stored cutover state, by name.
    pub fn cutover_states(&self) -> Result<Vec<CutoverRow>, StoreError> {
        let names: Vec<String> = self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached("SELECT name FROM cutover_state ORDER BY name")?;
            let v = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(v)
        })?;
        let mut out = Vec::new();
        for n in names {
            if let Some(r) = self.cutover_state(&n)? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Write cutover state (insert or replace; `created_at` is kept). Durable when it returns.
    pub fn put_cutover_state(&self, row: &CutoverRow) -> Result<(), StoreError> {
        let targets = serde_json::to_string(&row.targets)?;
        let written = serde_json::to_string(&row.written)?;
        let intent = row.intent.as_ref().map(serde_json::to_string).transpose()?;
        let (_, at) = now();
        self.with_conn(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
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
                    at
                ],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    /// The runs of cutover `name` (failover, failback stages, abort, resume), oldest first.
    pub fn cutover_runs(&self, name: &str) -> Result<Vec<Run>, StoreError> {
        self.query_runs(
            "WHERE subject = ?1 AND kind IN ('failover', 'failback', 'abort', 'resume') ORDER BY id",
            params![name],
        )
    }
}
