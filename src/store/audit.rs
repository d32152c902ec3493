//! The audit log: who changed what and when, with before and after.
use serde::{Deserialize, Serialize};
use switchback_api::Name;
use switchback_sql::params;

use super::run::RunId;
use super::{Store, StoreError, now, schema};

/// An audit log entry as given to [`Store::audit`]: who did what, with before and after
/// (any serializable value: the record sets themselves, not a JSON copy of them). An applied
/// plan's entry names its run, whose journaled plan holds every set's before and after:
/// `{"plan_of_run": ID, "record_sets": N}` on each side.
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

impl Store {
    /// Append to the audit log; the store sets the time.
    pub fn audit<T: Serialize>(&self, e: &AuditEntry<T>) -> Result<(), StoreError> {
        let before = serde_json::to_string(&e.before)?;
        let after = serde_json::to_string(&e.after)?;
        let (_, at) = now();
        let zone = e.zone.to_string();
        self.write(|tx| {
            tx.query_one(
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
            )?;
            Ok(())
        })
    }

    /// The latest `limit` audit entries, newest first.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        let sql = format!(
            "SELECT {} FROM audit_log ORDER BY id DESC LIMIT ?1",
            schema::AUDIT_COLUMNS
        );
        self.read(|tx| {
            let rows = tx.query(&sql, params![i64::try_from(limit).unwrap_or(i64::MAX)])?;
            let mut out = Vec::new();
            for r in &rows {
                let id = r.int(0)?;
                let what = id.to_string();
                out.push(AuditRecord {
                    id,
                    at: r.text(1)?,
                    entry: AuditEntry {
                        actor: r.text(2)?,
                        action: r.text(3)?,
                        provider: r.text(4)?,
                        zone: self.name(r.str(5)?, "audit entry", &what)?,
                        run: r.opt_int(6)?.map(RunId),
                        before: self.json(r.str(7)?, "audit entry", &what)?,
                        after: self.json(r.str(8)?, "audit entry", &what)?,
                    },
                });
            }
            Ok(out)
        })
    }
}
