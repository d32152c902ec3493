//! Plans as reviewed, with their checksums.
use serde::Serialize;
use switchback_api::Name;
use switchback_sql::params;

use super::{Store, StoreError, now, schema, unused_id};

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

impl Store {
    /// Store a plan as reviewed, with its checksum; returns its id.
    pub fn save_plan(&self, plan: &switchback_api::plan::Plan) -> Result<String, StoreError> {
        let json = serde_json::to_string(plan)?;
        let checksum = plan.checksum();
        let (now, created_at) = now();
        let zone = plan.zone.to_string();
        self.write(|tx| {
            let id = unused_id(tx, "plans", 'p', now)?;
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
            Ok(id)
        })
    }

    /// A saved plan; `NotFound` naming the id when there is none.
    pub fn plan(&self, id: &str) -> Result<StoredPlan, StoreError> {
        self.read(|tx| {
            let row = tx
                .query_opt(
                    "SELECT provider, zone, checksum, changes, created_at, plan_json \
                     FROM plans WHERE id = ?1",
                    params![id],
                )?
                .map(|r| {
                    Ok::<_, switchback_sql::SqlError>((
                        r.text(0)?,
                        r.text(1)?,
                        r.text(2)?,
                        r.int(3)?,
                        r.text(4)?,
                        r.text(5)?,
                    ))
                })
                .transpose()?;
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
}
