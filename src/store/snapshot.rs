//! Snapshots: a zone exactly as a provider returned it, kept losslessly.
use serde::{Deserialize, Serialize};
use switchback_api::{Name, Zone};
use switchback_sql::{Row, params};

use super::{Store, StoreError, now, schema, unused_id};

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

impl Store {
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
        let id = self.write(|tx| {
            let id = unused_id(tx, "snapshots", 's', now)?;
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
        self.read(|tx| {
            let sql = format!(
                "SELECT {}, zone_json FROM snapshots WHERE id = ?1",
                schema::SNAPSHOT_META_COLUMNS
            );
            let Some(row) = tx.query_opt(&sql, params![id])? else {
                return Err(StoreError::NotFound {
                    what: "snapshot",
                    id: id.to_string(),
                });
            };
            let meta = self.snapshot_meta(&row)?;
            let zone: Zone = serde_json::from_str(row.str(6)?)
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
        let mut args: Vec<switchback_sql::Value> = Vec::new();
        if let Some(p) = provider {
            args.push(switchback_sql::Value::Text(p.to_string()));
            sql.push_str(&format!(" AND provider = ?{}", args.len()));
        }
        if let Some(z) = &zone {
            args.push(switchback_sql::Value::Text(z.clone()));
            sql.push_str(&format!(" AND zone = ?{}", args.len()));
        }
        sql.push_str(" ORDER BY created_at DESC, id DESC");
        self.read(|tx| {
            let params: Vec<&dyn switchback_sql::ToValue> = args
                .iter()
                .map(|a| a as &dyn switchback_sql::ToValue)
                .collect();
            tx.query(&sql, &params)?
                .iter()
                .map(|row| self.snapshot_meta(row))
                .collect()
        })
    }

    fn snapshot_meta(&self, row: &Row) -> Result<SnapshotMeta, StoreError> {
        let id = row.text(0)?;
        let zone = row.text(2)?;
        let record_sets = row.int(5)?;
        Ok(SnapshotMeta {
            zone: self.name(&zone, "snapshot", &id)?,
            record_sets: usize::try_from(record_sets)
                .map_err(|_| self.corrupt(format!("snapshot {id}: bad record count")))?,
            provider: row.text(1)?,
            label: row.opt_text(3)?,
            created_at: row.text(4)?,
            id,
        })
    }
}
