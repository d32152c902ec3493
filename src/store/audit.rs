//! The audit log: who changed what and when, with before and after.
use rusqlite::{TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use switchback_api::Name;

use super::run::RunId;
use super::{Store, StoreError, now, schema};

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

impl Store {
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
}
