//! The measured RTO of cutover steps (schema migration 7): one JSON document per step, keyed
//! by the step's last run, written by [`crate::planner::rto`].

use switchback_sql::params;

use super::{RunId, Store, StoreError, now};

impl Store {
    /// Store (or replace) the timing of the step whose last run is `run`.
    pub fn put_step_timing(
        &self,
        run: RunId,
        cutover: &str,
        kind: &str,
        stage: u32,
        detail: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let (_, at) = now();
        let detail = serde_json::to_string(detail)?;
        self.write(|tx| {
            tx.execute("DELETE FROM step_timings WHERE run_id = ?1", params![run.0])?;
            tx.execute(
                "INSERT INTO step_timings (run_id, cutover, kind, stage, created_at, detail) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![run.0, cutover, kind, i64::from(stage), at, detail],
            )?;
            Ok(())
        })
    }

    /// The last `limit` step timings of `cutover`, newest first.
    pub fn step_timings(
        &self,
        cutover: &str,
        limit: usize,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        self.read(|tx| {
            let rows = tx.query(
                "SELECT run_id, detail FROM step_timings WHERE cutover = ?1 \
                 ORDER BY run_id DESC LIMIT ?2",
                params![cutover, limit as i64],
            )?;
            rows.iter()
                .map(|r| {
                    let id = r.int(0)?.to_string();
                    self.json(r.str(1)?, "step timing", &id)
                })
                .collect()
        })
    }
}
