//! One leader among the `serve` instances on a store (DESIGN.md, `state`): the one whose
//! automation acts (automatic failover and failback) and whose notifications go out.
//!
//! - **Election**: on PostgreSQL, a session advisory lock ([`LEADER_LOCK`]) held on a
//!   connection of its own (`switchback_sql::LeaderLock`): when the leader's process dies or
//!   its connection is cut, the server drops the lock and another instance takes it within a
//!   second or two. On SQLite there is one store on one machine, and every `serve` on it is its
//!   own leader (the cutover lease keeps them from acting at once).
//! - **Who leads, who sees what**: every instance writes its row every [`HEARTBEAT_EVERY`]
//!   (`switchback_nodes`): whether it holds the lock, and its own view of every health check.
//!   A row older than [`NODE_EXPIRY`] is an instance that is gone.
//! - **Quorum** (`[server] quorum = N`): the leader fails a cutover over only when at least N
//!   instances (itself included, each by its own fresh view) see the primary down. Without it,
//!   the leader's view alone decides.
//! - **No action twice**: leadership only decides who tries; every step still takes the
//!   cutover's lease and re-checks the state under it (invariant 6), so a leader that lost its
//!   lock half-way, and the one after it, cannot both fail a cutover over.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tracing::{debug, info, warn};

use crate::health::HealthMonitor;
use crate::store::{NodeRow, Store};

/// The advisory lock the leader holds (per database).
pub const LEADER_LOCK: i64 = 0x5357_4243_0000_0002;
/// How often an instance writes its row.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);
/// A row whose heartbeat is older is an instance that is gone.
pub const NODE_EXPIRY: Duration = Duration::from_secs(5);

/// This instance's part in the election.
pub struct Leadership {
    node: String,
    lock: Option<switchback_sql::LeaderLock>,
}

impl std::fmt::Debug for Leadership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leadership")
            .field("node", &self.node)
            .field("leader", &self.is_leader())
            .finish()
    }
}

impl Leadership {
    /// Stand for election on `store` as `node` (on SQLite: elected at once).
    pub fn new(store: &Store, node: &str) -> Leadership {
        Leadership {
            node: node.to_string(),
            lock: store.db().leader_lock(LEADER_LOCK),
        }
    }

    /// Whether this instance is the leader now.
    pub fn is_leader(&self) -> bool {
        self.lock.as_ref().is_none_or(|l| l.held())
    }

    pub fn node(&self) -> &str {
        &self.node
    }
}

fn fresh(row: &NodeRow, now: SystemTime) -> bool {
    humantime::parse_rfc3339(&row.heartbeat_at)
        .ok()
        .is_some_and(|t| now.duration_since(t).unwrap_or_default() <= NODE_EXPIRY)
}

/// The instances whose heartbeat is fresh.
pub fn live_nodes(store: &Store) -> Vec<NodeRow> {
    let now = SystemTime::now();
    match store.nodes() {
        Ok(rows) => rows.into_iter().filter(|r| fresh(r, now)).collect(),
        Err(e) => {
            debug!(error = %e, "cannot read the instances");
            Vec::new()
        }
    }
}

/// The node that leads now: on SQLite, `me`; on PostgreSQL, the live instance that last said
/// it holds the lock (`"none"` in the second or two between a leader's death and the next).
pub fn current_leader(store: &Store, me: &str) -> String {
    if store.backend() == switchback_sql::Backend::Sqlite {
        return me.to_string();
    }
    live_nodes(store)
        .into_iter()
        .filter(|r| r.leader)
        .max_by(|a, b| a.heartbeat_at.cmp(&b.heartbeat_at))
        .map_or_else(|| "none".to_string(), |r| r.node)
}

/// Whether the instances that see check `check` down reach `quorum`: this instance by its own
/// view (`mine_down`), the others by their rows. `None` quorum: this view alone.
pub fn quorum_down(
    store: &Store,
    me: &str,
    mine_down: bool,
    check: &str,
    quorum: Option<usize>,
) -> bool {
    let Some(quorum) = quorum else {
        return mine_down;
    };
    let others = live_nodes(store)
        .into_iter()
        .filter(|r| r.node != me && r.health.get(check).is_some_and(|s| s == "down"))
        .count();
    let votes = others + usize::from(mine_down);
    debug!(check, votes, quorum, "quorum of health views");
    votes >= quorum
}

/// Write this instance's row every [`HEARTBEAT_EVERY`] until `shutdown`, then drop it.
pub async fn heartbeat(
    store: Arc<Store>,
    leadership: Arc<Leadership>,
    monitor: Arc<HealthMonitor>,
    shutdown: impl Future<Output = ()>,
) {
    let pid = i64::from(std::process::id());
    let started_at = humantime::format_rfc3339_micros(SystemTime::now()).to_string();
    let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut was_leader = false;
    let mut failing = false;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = tick.tick() => {}
        }
        let leader = leadership.is_leader();
        if leader != was_leader {
            info!(node = %leadership.node(), leader, "leadership changed");
            was_leader = leader;
        }
        let health: BTreeMap<String, String> = monitor
            .checks()
            .iter()
            .map(|c| (c.name().to_string(), c.state().as_str().to_string()))
            .collect();
        let row = NodeRow {
            node: leadership.node().to_string(),
            host: crate::host::hostname(),
            pid,
            leader,
            health,
            started_at: started_at.clone(),
            heartbeat_at: String::new(),
        };
        let s = store.clone();
        match tokio::task::spawn_blocking(move || s.put_node(&row)).await {
            Ok(Ok(())) => failing = false,
            Ok(Err(e)) if !failing => {
                failing = true;
                warn!(error = %e, "cannot write this instance's heartbeat to the state store");
            }
            _ => {}
        }
    }
    let node = leadership.node().to_string();
    let _ = tokio::task::spawn_blocking(move || store.remove_node(&node, pid)).await;
}
