//! The instances of `serve` on the store (schema migration 6): one row each, written every
//! second, for the status page, `cutover status` and the quorum of health views.

use std::collections::BTreeMap;

use serde::Serialize;
use switchback_sql::params;

use super::{Store, StoreError, now, schema};

/// One `serve` instance as it last reported itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeRow {
    pub node: String,
    pub host: String,
    pub pid: i64,
    /// It held the leader lock at its last heartbeat.
    pub leader: bool,
    /// Its view of every health check: check name -> `up`, `down`, `unknown`.
    pub health: BTreeMap<String, String>,
    pub started_at: String,
    pub heartbeat_at: String,
}

impl Store {
    /// Write this instance's row (its heartbeat is now).
    pub fn put_node(&self, row: &NodeRow) -> Result<(), StoreError> {
        let health = serde_json::to_string(&row.health)?;
        let (_, at) = now();
        self.write(|tx| {
            tx.execute(
                schema::UPSERT_NODE,
                params![
                    row.node,
                    row.host,
                    row.pid,
                    row.leader,
                    health,
                    row.started_at,
                    at
                ],
            )?;
            Ok(())
        })
    }

    /// Drop instance `node`'s row, if process `pid` wrote it (a clean stop).
    pub fn remove_node(&self, node: &str, pid: i64) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM switchback_nodes WHERE node = ?1 AND pid = ?2",
                params![node, pid],
            )?;
            Ok(())
        })
    }

    /// Every instance's row, by name.
    pub fn nodes(&self) -> Result<Vec<NodeRow>, StoreError> {
        let sql = format!(
            "SELECT {} FROM switchback_nodes ORDER BY node",
            schema::NODE_COLUMNS
        );
        self.read(|tx| {
            let mut out = Vec::new();
            for r in &tx.query(&sql, params![])? {
                let node = r.text(0)?;
                let health = serde_json::from_str(r.str(4)?)
                    .map_err(|e| self.corrupt(format!("node {node}: {e}")))?;
                out.push(NodeRow {
                    host: r.text(1)?,
                    pid: r.int(2)?,
                    leader: r.bool(3)?,
                    health,
                    started_at: r.text(5)?,
                    heartbeat_at: r.text(6)?,
                    node,
                });
            }
            Ok(out)
        })
    }
}
