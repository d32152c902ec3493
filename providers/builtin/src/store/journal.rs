//! The change history in the store (`builtin_journal`): one row per serial change, with the
//! records it removed and added (IXFR), the generation it made and, for a change of a few
//! names, the record sets it left at them ([`Touched`]).

use switchback_api::{Name, RType};
use switchback_sql::{Row, params};

use super::{HISTORY_KEEP, Tx, ZoneStoreError};

/// A record as the history keeps it (presentation form).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JournalRecord {
    pub name: Name,
    #[serde(rename = "type")]
    pub rtype: RType,
    pub ttl: u32,
    pub data: String,
}

/// The names a change touched and every record set it left at them (none at a name: the
/// name is gone).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Touched {
    pub names: Vec<Name>,
    pub sets: Vec<switchback_api::RecordSet>,
}

/// One change as a reader that follows the store sees it: the generation it made, and what
/// it touched when the writer kept that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub row: HistoryRow,
    pub generation: i64,
    pub touched: Option<Touched>,
}

/// One history row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub from_serial: u32,
    pub to_serial: u32,
    /// The old SOA first.
    pub removed: Vec<JournalRecord>,
    /// The new SOA first.
    pub added: Vec<JournalRecord>,
    /// Unix seconds.
    pub created_at: i64,
}

impl Tx<'_> {
    /// Append one change to a zone's history and keep the last [`HISTORY_KEEP`]:
    /// `generation` is the one the change made ([`Tx::put_zone`]'s), `touched` what it left
    /// at the names it touched (when few enough for a reader to patch its copy with).
    pub fn append_history(
        &self,
        zone: &Name,
        row: &HistoryRow,
        generation: i64,
        touched: Option<&Touched>,
    ) -> Result<(), ZoneStoreError> {
        let key = zone.to_string();
        let removed =
            serde_json::to_string(&row.removed).map_err(|e| self.data(&key, e.to_string()))?;
        let added =
            serde_json::to_string(&row.added).map_err(|e| self.data(&key, e.to_string()))?;
        let touched = touched
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| self.data(&key, e.to_string()))?;
        self.tx
            .execute(
                "INSERT INTO builtin_journal
                   (zone, from_serial, to_serial, removed, added, created_at, generation, touched)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    key,
                    row.from_serial,
                    row.to_serial,
                    removed,
                    added,
                    row.created_at,
                    generation,
                    touched
                ],
            )
            .map_err(|e| self.sql(e))?;
        self.tx
            .execute(
                "DELETE FROM builtin_journal WHERE zone = ?1 AND id NOT IN
                   (SELECT id FROM builtin_journal WHERE zone = ?1 ORDER BY id DESC LIMIT ?2)",
                params![key, HISTORY_KEEP as i64],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// A zone's history, oldest first.
    pub fn history(&self, zone: &Name) -> Result<Vec<HistoryRow>, ZoneStoreError> {
        let key = zone.to_string();
        let rows = self
            .tx
            .query(
                "SELECT from_serial, to_serial, removed, added, created_at FROM builtin_journal
                 WHERE zone = ?1 ORDER BY id",
                params![key],
            )
            .map_err(|e| self.sql(e))?;
        rows.iter().map(|r| self.history_row(&key, r)).collect()
    }

    /// The changes of `zone` that made a generation after `generation`, oldest first (rows
    /// written before schema version 3 have none and are left out).
    pub fn steps_after(&self, zone: &Name, generation: i64) -> Result<Vec<Step>, ZoneStoreError> {
        let key = zone.to_string();
        let rows = self
            .tx
            .query(
                "SELECT from_serial, to_serial, removed, added, created_at, generation, touched
                 FROM builtin_journal WHERE zone = ?1 AND generation > ?2 ORDER BY id",
                params![key, generation],
            )
            .map_err(|e| self.sql(e))?;
        rows.iter()
            .map(|r| {
                let touched = match r.opt_text(6).map_err(|e| self.sql(e))? {
                    Some(t) => Some(
                        serde_json::from_str(&t)
                            .map_err(|e| self.data(&key, format!("history: {e}")))?,
                    ),
                    None => None,
                };
                Ok(Step {
                    row: self.history_row(&key, r)?,
                    generation: r.int(5).map_err(|e| self.sql(e))?,
                    touched,
                })
            })
            .collect()
    }

    fn history_row(&self, key: &str, r: &Row) -> Result<HistoryRow, ZoneStoreError> {
        let bad = |m: String| self.data(key, format!("history: {m}"));
        let (from, to, at) = (
            r.int(0).map_err(|e| self.sql(e))?,
            r.int(1).map_err(|e| self.sql(e))?,
            r.int(4).map_err(|e| self.sql(e))?,
        );
        Ok(HistoryRow {
            from_serial: u32::try_from(from).map_err(|e| bad(e.to_string()))?,
            to_serial: u32::try_from(to).map_err(|e| bad(e.to_string()))?,
            removed: serde_json::from_str(r.str(2).map_err(|e| self.sql(e))?)
                .map_err(|e| bad(e.to_string()))?,
            added: serde_json::from_str(r.str(3).map_err(|e| self.sql(e))?)
                .map_err(|e| bad(e.to_string()))?,
            created_at: at,
        })
    }
}
