//! Drill reports (schema migration 7), written by [`crate::planner::drill`].

use serde::Serialize;
use switchback_sql::params;

use super::{Store, StoreError, now, unused_id};

/// One stored drill, its report as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct DrillRow {
    pub id: String,
    pub cutover: String,
    pub live: bool,
    pub result: String,
    pub started_at: String,
    pub report: serde_json::Value,
}

impl Store {
    /// A new drill id (`d-YYYYMMDDTHHMMSS-xxxx`), not used yet.
    pub fn new_drill_id(&self) -> Result<String, StoreError> {
        let (t, _) = now();
        self.read(|tx| unused_id(tx, "drills", 'd', t))
    }

    /// Store (or replace) a drill's report.
    pub fn put_drill(&self, row: &DrillRow) -> Result<(), StoreError> {
        let report = serde_json::to_string(&row.report)?;
        self.write(|tx| {
            tx.execute("DELETE FROM drills WHERE id = ?1", params![row.id])?;
            tx.execute(
                "INSERT INTO drills (id, cutover, live, result, started_at, report_json) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    row.id,
                    row.cutover,
                    row.live,
                    row.result,
                    row.started_at,
                    report
                ],
            )?;
            Ok(())
        })
    }

    /// Stored drills, newest first: of `cutover`, or of all.
    pub fn drills(&self, cutover: Option<&str>, limit: usize) -> Result<Vec<DrillRow>, StoreError> {
        self.read(|tx| {
            let cols = "id, cutover, live, result, started_at, report_json";
            let rows = match cutover {
                Some(c) => tx.query(
                    &format!(
                        "SELECT {cols} FROM drills WHERE cutover = ?1 \
                         ORDER BY started_at DESC, id DESC LIMIT ?2"
                    ),
                    params![c, limit as i64],
                )?,
                None => tx.query(
                    &format!(
                        "SELECT {cols} FROM drills ORDER BY started_at DESC, id DESC LIMIT ?1"
                    ),
                    params![limit as i64],
                )?,
            };
            rows.iter()
                .map(|r| {
                    let id = r.text(0)?;
                    Ok(DrillRow {
                        cutover: r.text(1)?,
                        live: r.bool(2)?,
                        result: r.text(3)?,
                        started_at: r.text(4)?,
                        report: self.json(r.str(5)?, "drill", &id)?,
                        id,
                    })
                })
                .collect()
        })
    }
}
