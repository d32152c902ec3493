//! The cutover lease rows (schema migration 4). The store gives compare-and-set; who counts as
//! alive is the planner's decision (`planner::lease`), passed in as a predicate.

use serde::Serialize;
use switchback_sql::{Row, Tx, params};

use super::{Store, StoreError, now, schema};

/// Who holds a cutover's lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeaseRow {
    pub name: String,
    /// The holder's proof; never shown.
    #[serde(skip)]
    pub token: String,
    pub node: String,
    pub host: String,
    pub pid: i64,
    pub pid_start: String,
    /// `cli`, `webhook` or `automation`.
    pub actor: String,
    /// `user@host`, `webhook:post-recovery`, `auto:health`.
    pub who: String,
    pub acquired_at: String,
    pub heartbeat_at: String,
}

impl Store {
    /// The lease of cutover `name`, if someone holds (or held and never released) it.
    pub fn lease(&self, name: &str) -> Result<Option<LeaseRow>, StoreError> {
        self.read(|tx| read_lease(tx, name))
    }

    /// Take the lease of `me.name` for `me`, in one write transaction: when nobody holds it,
    /// or when `replaceable` says the current holder is gone. `Ok(Err(holder))`: a live holder
    /// has it. The stored `acquired_at`/`heartbeat_at` are now.
    pub fn take_lease(
        &self,
        me: &LeaseRow,
        replaceable: impl Fn(&LeaseRow) -> bool,
    ) -> Result<Result<LeaseRow, LeaseRow>, StoreError> {
        let (_, at) = now();
        self.write(|tx| {
            if let Some(cur) = read_lease(tx, &me.name)? {
                if cur.token != me.token && !replaceable(&cur) {
                    return Ok(Err(cur));
                }
            }
            upsert_lease(tx, me, &at)?;
            let mut held = me.clone();
            held.acquired_at = at.clone();
            held.heartbeat_at = at;
            Ok(Ok(held))
        })
    }

    /// Renew the lease's heartbeat; `false` when `token` no longer holds it (it was taken
    /// over after it looked dead).
    pub fn heartbeat_lease(&self, name: &str, token: &str) -> Result<bool, StoreError> {
        let (_, at) = now();
        self.write(|tx| Ok(tx.execute(schema::HEARTBEAT_LEASE, params![name, token, at])? == 1))
    }

    /// Give the lease back (a no-op when `token` does not hold it).
    pub fn release_lease(&self, name: &str, token: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(schema::RELEASE_LEASE, params![name, token])?;
            Ok(())
        })
    }

    /// Write a lease row as it is given, heartbeat included (tests: a holder on another node
    /// whose heartbeat stopped).
    pub fn put_lease_row(&self, row: &LeaseRow) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                &format!(
                    "INSERT INTO cutover_lease ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
                     ON CONFLICT (name) DO UPDATE SET token = excluded.token, node = excluded.node, \
                     host = excluded.host, pid = excluded.pid, pid_start = excluded.pid_start, \
                     actor = excluded.actor, who = excluded.who, acquired_at = excluded.acquired_at, \
                     heartbeat_at = excluded.heartbeat_at",
                    schema::LEASE_COLUMNS
                ),
                params![
                    row.name,
                    row.token,
                    row.node,
                    row.host,
                    row.pid,
                    row.pid_start,
                    row.actor,
                    row.who,
                    row.acquired_at,
                    row.heartbeat_at
                ],
            )?;
            Ok(())
        })
    }
}

/// Write `me` as the holder, taken and beating at `at`.
pub(super) fn upsert_lease(tx: &Tx<'_>, me: &LeaseRow, at: &str) -> Result<(), StoreError> {
    tx.execute(
        schema::UPSERT_LEASE,
        params![
            me.name,
            me.token,
            me.node,
            me.host,
            me.pid,
            me.pid_start,
            me.actor,
            me.who,
            at
        ],
    )?;
    Ok(())
}

pub(super) fn read_lease(tx: &Tx<'_>, name: &str) -> Result<Option<LeaseRow>, StoreError> {
    let sql = format!(
        "SELECT {} FROM cutover_lease WHERE name = ?1",
        schema::LEASE_COLUMNS
    );
    Ok(tx
        .query_opt(&sql, params![name])?
        .map(|r| lease_of(&r))
        .transpose()?)
}

fn lease_of(r: &Row) -> Result<LeaseRow, switchback_sql::SqlError> {
    Ok(LeaseRow {
        name: r.text(0)?,
        token: r.text(1)?,
        node: r.text(2)?,
        host: r.text(3)?,
        pid: r.int(4)?,
        pid_start: r.text(5)?,
        actor: r.text(6)?,
        who: r.text(7)?,
        acquired_at: r.text(8)?,
        heartbeat_at: r.text(9)?,
    })
}
