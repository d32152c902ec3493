//! `switchback store migrate --to postgres://...`: copy a SQLite state store into PostgreSQL
//! (snapshots, plans, runs and their journal, the audit log, cutover state and leases, webhook
//! events, and the built-in provider's live zones and their history), in one transaction,
//! then verify every table by its row count and a checksum computed on both sides.
//!
//! - The target gets its schema from the same migrations first, and must hold no data: a
//!   copy never merges into (or overwrites) a store in use.
//! - What describes running instances (`switchback_nodes`, `builtin_served`) is not copied:
//!   it is rewritten by the instances that start on the new store.
//! - The checksum of a table is SHA-256 over the sorted SHA-256 digests of its rows (each
//!   value in a typed, length-prefixed form), so it does not depend on either database's
//!   order or collation.

use serde::Serialize;
use sha2::{Digest, Sha256};
use switchback_sql::{Location, Tx, Value, params};

use super::{Store, StoreError};

/// The tables copied, parents before children (foreign keys).
pub const TABLES: &[&str] = &[
    "snapshots",
    "plans",
    "runs",
    "journal",
    "audit_log",
    "cutover_state",
    "cutover_lease",
    "webhook_events",
    "step_timings",
    "drills",
    "notify_queue",
    "builtin_zones",
    "builtin_journal",
    "builtin_dnssec_keys",
];

/// One table as copied and verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableCopy {
    pub table: String,
    pub rows: usize,
    /// The same on both sides (hex).
    pub checksum: String,
}

fn invalid(m: impl Into<String>) -> StoreError {
    StoreError::Invalid(m.into())
}

/// Open both stores, copy, verify (see the module docs).
pub fn migrate(from: &Location, to: &Location) -> Result<Vec<TableCopy>, StoreError> {
    if !matches!(from, Location::Sqlite(_)) || !matches!(to, Location::Postgres(_)) {
        return Err(invalid(
            "store migrate copies a SQLite store ([server] state) into PostgreSQL (--to postgres://...)",
        ));
    }
    let open_zones = |l: &Location| {
        switchback_builtin::store::ZoneStore::open(l).map_err(|e| invalid(e.to_string()))
    };
    let source = Store::open(from)?;
    let _source_zones = open_zones(from)?;
    let target = Store::open(to)?;
    let _target_zones = open_zones(to)?;

    let mut copies = Vec::new();
    target.write(|dst| {
        for table in TABLES {
            let n = dst
                .query_one(&format!("SELECT COUNT(*) FROM {table}"), params![])?
                .int(0)?;
            if n > 0 {
                return Err(invalid(format!(
                    "{} already holds data (table {table}: {n} rows); refusing to copy over it",
                    target.path()
                )));
            }
        }
        let generation = source.read(|src| {
            Ok(src
                .query_opt(
                    "SELECT value FROM builtin_meta WHERE key = 'generation'",
                    params![],
                )?
                .map(|r| r.int(0))
                .transpose()?
                .unwrap_or(0))
        })?;
        for table in TABLES {
            let columns = dst.columns(table)?;
            let list = columns.join(", ");
            let rows = source
                .read(|src| Ok(src.query(&format!("SELECT {list} FROM {table}"), params![])?))?;
            let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
            let insert = format!("INSERT INTO {table} ({list}) VALUES ({})", marks.join(", "));
            for r in &rows {
                let values: Vec<&dyn switchback_sql::ToValue> = r
                    .values()
                    .iter()
                    .map(|v| v as &dyn switchback_sql::ToValue)
                    .collect();
                dst.execute(&insert, &values)?;
            }
            copies.push(TableCopy {
                table: table.to_string(),
                rows: rows.len(),
                checksum: String::new(),
            });
        }
        dst.execute(
            "UPDATE builtin_meta SET value = ?1 WHERE key = 'generation'",
            params![generation],
        )?;
        // The identity columns continue after the copied ids.
        for table in ["builtin_journal", "builtin_dnssec_keys"] {
            dst.query(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                     COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)::text"
                ),
                params![],
            )?;
        }
        Ok(())
    })?;

    for c in &mut copies {
        let (n_src, sum_src) = source.read(|tx| checksum(tx, &c.table))?;
        let (n_dst, sum_dst) = target.read(|tx| checksum(tx, &c.table))?;
        if n_src != n_dst || sum_src != sum_dst || n_src != c.rows {
            return Err(invalid(format!(
                "table {}: the copy does not match ({n_src} rows, checksum {sum_src} in {}; \
                 {n_dst} rows, checksum {sum_dst} in {})",
                c.table,
                source.path(),
                target.path()
            )));
        }
        c.checksum = sum_dst;
    }
    Ok(copies)
}

/// A table's row count and checksum (see the module docs).
fn checksum(tx: &Tx<'_>, table: &str) -> Result<(usize, String), StoreError> {
    let columns = tx.columns(table)?.join(", ");
    let rows = tx.query(&format!("SELECT {columns} FROM {table}"), params![])?;
    let mut digests: Vec<[u8; 32]> = rows
        .iter()
        .map(|r| {
            let mut h = Sha256::new();
            for v in r.values() {
                match v {
                    Value::Null => h.update(b"N"),
                    Value::Int(n) => {
                        h.update(b"I");
                        h.update(n.to_be_bytes());
                    }
                    Value::Text(t) => {
                        h.update(b"T");
                        h.update((t.len() as u64).to_be_bytes());
                        h.update(t.as_bytes());
                    }
                }
            }
            h.finalize().into()
        })
        .collect();
    digests.sort_unstable();
    let mut all = Sha256::new();
    for d in &digests {
        all.update(d);
    }
    let hex: String = all.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((rows.len(), hex))
}
