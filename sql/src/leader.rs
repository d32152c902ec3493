//! Leadership among several instances on one PostgreSQL store: a session advisory lock, held
//! on a connection of its own for as long as that connection lives.
//!
//! The lock is the server's: when the holder's process dies, or its connection is cut
//! (`pg_terminate_backend`, a network partition noticed by TCP keepalives), the server drops
//! it and the next instance to ask gets it. The holder checks its connection every
//! [`CHECK_EVERY`] and stops calling itself the leader the moment the connection fails, before
//! another instance can have taken over (that one asks no more often than every
//! [`ASK_EVERY`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use crate::PgTarget;
use crate::postgres::connect;

/// How often the holder checks that its connection (and so the lock) is alive.
pub const CHECK_EVERY: Duration = Duration::from_millis(500);
/// How often an instance that is not the leader asks for the lock.
pub const ASK_EVERY: Duration = Duration::from_secs(1);
/// A holder that lost the lock waits this long before it asks again: an instance whose
/// network flaps does not grab the lead back from the healthy ones (they ask every
/// [`ASK_EVERY`]).
pub const STEP_DOWN: Duration = Duration::from_secs(3);
/// A check or an ask that takes longer counts as a lost connection.
const ANSWER_WITHIN: Duration = Duration::from_secs(2);

/// This instance's part in the election (see the module docs).
pub struct LeaderLock {
    held: Arc<AtomicBool>,
    task: JoinHandle<()>,
    _keep: UnboundedSender<crate::postgres::Job>,
}

impl LeaderLock {
    pub(crate) fn start(
        runtime: &tokio::runtime::Handle,
        target: PgTarget,
        key: i64,
        keep: UnboundedSender<crate::postgres::Job>,
    ) -> LeaderLock {
        let held = Arc::new(AtomicBool::new(false));
        let task = runtime.spawn(campaign(target, key, held.clone()));
        LeaderLock {
            held,
            task,
            _keep: keep,
        }
    }

    /// Whether this instance holds the lock now.
    pub fn held(&self) -> bool {
        self.held.load(Ordering::Acquire)
    }
}

impl Drop for LeaderLock {
    fn drop(&mut self) {
        // The connection goes with the task, and the lock with the connection.
        self.held.store(false, Ordering::Release);
        self.task.abort();
    }
}

async fn campaign(target: PgTarget, key: i64, held: Arc<AtomicBool>) {
    loop {
        if let Ok((client, mut driver)) = connect(&target, None).await {
            // Ask until granted (or the connection fails).
            let granted = loop {
                let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&key];
                let ask = client.query_one("SELECT pg_try_advisory_lock($1)", &params);
                match tokio::time::timeout(ANSWER_WITHIN, ask).await {
                    Ok(Ok(row)) if row.try_get::<_, bool>(0).unwrap_or(false) => break true,
                    Ok(Ok(_)) => {}
                    _ => break false,
                }
                tokio::select! {
                    _ = &mut driver => break false,
                    () = tokio::time::sleep(ASK_EVERY) => {}
                }
            };
            if granted {
                held.store(true, Ordering::Release);
                tracing::info!(target = %target, "this instance is the leader now");
                loop {
                    tokio::select! {
                        _ = &mut driver => break,
                        () = tokio::time::sleep(CHECK_EVERY) => {}
                    }
                    let check = client.simple_query("SELECT 1");
                    if !matches!(tokio::time::timeout(ANSWER_WITHIN, check).await, Ok(Ok(_))) {
                        break;
                    }
                }
                held.store(false, Ordering::Release);
                tracing::warn!(target = %target, "lost the leader lock's connection; no longer the leader");
                drop(client);
                tokio::time::sleep(STEP_DOWN).await;
                continue;
            }
            drop(client);
        }
        tokio::time::sleep(CHECK_EVERY).await;
    }
}
