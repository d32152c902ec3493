//! The lease (invariant 6): one actor at a time per cutover. A row in the state store, taken
//! by compare-and-set and kept alive by a heartbeat thread; a holder that died is replaced at
//! once when it ran on this host (its pid is gone, or is another process now) and after
//! [`EXPIRY`] without a heartbeat otherwise. Every write of a step names the lease's token, so
//! a holder that lost its lease cannot write the cutover's state.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use tracing::{debug, warn};

use super::error::CutoverError;
use super::state::ActorKind;
use crate::store::{
    EventClaim, EventStart, LeaseForEvent, LeaseRow, Store, StoreError, WebhookEvent,
};

/// A holder whose heartbeat is older than this is taken for dead.
pub const EXPIRY: Duration = Duration::from_secs(10);
/// How often the holder renews its heartbeat.
pub const HEARTBEAT: Duration = Duration::from_secs(2);
/// How often a waiting actor (`--wait`) tries again.
const RETRY: Duration = Duration::from_millis(100);

/// Who asks for a lease.
#[derive(Debug, Clone)]
pub struct Holder {
    pub node: String,
    pub host: String,
    pub pid: u32,
    pub pid_start: String,
    pub actor: ActorKind,
    pub who: String,
}

impl Holder {
    /// This process, as `actor` (`who`: `user@host`, `webhook:…`), on `node`.
    pub fn me(node: &str, actor: ActorKind, who: &str) -> Holder {
        let pid = std::process::id();
        Holder {
            node: node.to_string(),
            host: crate::host::hostname(),
            pid,
            pid_start: proc_start(pid).unwrap_or_default(),
            actor,
            who: who.to_string(),
        }
    }
}

/// Process `pid`'s start time (clock ticks since boot, `/proc/PID/stat` field 22), and
/// whether it is a zombie; `None` when there is no such process.
fn proc_stat(pid: u32) -> Option<(String, bool)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ...`: comm may hold spaces and parentheses; fields follow the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let zombie = matches!(fields.first(), Some(&"Z") | Some(&"X"));
    Some((fields.get(19)?.to_string(), zombie))
}

fn proc_start(pid: u32) -> Option<String> {
    proc_stat(pid).map(|(s, _)| s)
}

/// Whether the holder `cur` may be replaced by `me`: its heartbeat stopped, or it ran on this
/// host and its process is gone (or the pid is another process's now).
pub fn replaceable(cur: &LeaseRow, me: &Holder, now: SystemTime) -> bool {
    let stale = match humantime::parse_rfc3339(&cur.heartbeat_at) {
        // Unreadable: taken for dead.
        Err(_) => true,
        // A heartbeat in the future (clock skew) counts as fresh.
        Ok(t) => now.duration_since(t).is_ok_and(|age| age > EXPIRY),
    };
    if stale {
        return true;
    }
    if cur.host != me.host {
        return false;
    }
    let Ok(pid) = u32::try_from(cur.pid) else {
        return true;
    };
    match proc_stat(pid) {
        None => true,
        Some((_, true)) => true,
        Some((start, false)) => !cur.pid_start.is_empty() && start != cur.pid_start,
    }
}

/// `actor who (pid P on node N, since T)`: who holds a lease, for messages.
pub fn describe(h: &LeaseRow) -> String {
    format!(
        "{} {} (pid {} on node {}, host {}, since {})",
        h.actor, h.who, h.pid, h.node, h.host, h.acquired_at
    )
}

/// A held lease. Dropping it stops the heartbeat and gives the lease back.
pub struct Lease {
    store: Arc<Store>,
    name: String,
    token: String,
    lost: Arc<AtomicBool>,
    stop: Option<std::sync::mpsc::Sender<()>>,
    beat: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease").field("name", &self.name).finish()
    }
}

impl Lease {
    /// Take the lease of cutover `name` for `holder`; when a live actor holds it, wait up to
    /// `wait` (`None`: not at all), then [`CutoverError::Busy`] naming the holder.
    pub async fn acquire(
        store: &Arc<Store>,
        name: &str,
        holder: &Holder,
        wait: Option<Duration>,
    ) -> Result<Lease, CutoverError> {
        let me = row(name, holder);
        let deadline = wait.map(|w| Instant::now() + w);
        loop {
            let taken = store.take_lease(&me, |cur| replaceable(cur, holder, SystemTime::now()));
            let cur = match taken {
                Ok(Ok(_)) => break,
                Ok(Err(cur)) => cur,
                // Another writer held the database longer than the busy timeout: busy too.
                Err(StoreError::Sql(e)) if e.is_busy() => LeaseRow {
                    who: "another writer of the state store".into(),
                    ..me.clone()
                },
                Err(e) => return Err(e.into()),
            };
            match deadline {
                Some(d) if Instant::now() < d => tokio::time::sleep(RETRY).await,
                _ => {
                    return Err(CutoverError::Busy {
                        name: name.to_string(),
                        holder: describe(&cur),
                    });
                }
            }
        }
        Ok(Lease::held(store, name, me.token))
    }

    /// For a webhook event: in one transaction, look the event up and, unless it is known,
    /// take the lease (never waiting) and record the event as running (DESIGN.md "HTTP API":
    /// the event is recorded before its work starts, in the transaction that takes the lease).
    pub fn acquire_for_event(
        store: &Arc<Store>,
        name: &str,
        holder: &Holder,
        event: &EventStart<'_>,
    ) -> Result<EventLease, CutoverError> {
        let me = row(name, holder);
        match store.take_lease_for_event(
            &me,
            |cur| replaceable(cur, holder, SystemTime::now()),
            event,
        )? {
            LeaseForEvent::Taken(_, claim) => {
                Ok(EventLease::Taken(Lease::held(store, name, me.token), claim))
            }
            LeaseForEvent::Known(ev) => Ok(EventLease::Known(ev)),
            LeaseForEvent::Busy(cur) => Err(CutoverError::Busy {
                name: name.to_string(),
                holder: describe(&cur),
            }),
        }
    }

    /// The lease just taken with `token`: its heartbeat starts.
    fn held(store: &Arc<Store>, name: &str, token: String) -> Lease {
        debug!(cutover = name, "lease taken");
        let lost = Arc::new(AtomicBool::new(false));
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let beat = {
            let store = store.clone();
            let name = name.to_string();
            let token = token.clone();
            let lost = lost.clone();
            std::thread::Builder::new()
                .name("lease-heartbeat".into())
                .spawn(move || {
                    while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                        stopped.recv_timeout(HEARTBEAT)
                    {
                        match store.heartbeat_lease(&name, &token) {
                            Ok(true) => {}
                            Ok(false) => {
                                warn!(cutover = %name, "lease lost: another actor took it over");
                                lost.store(true, Ordering::SeqCst);
                                return;
                            }
                            // The store was busy: try again at the next beat (the expiry is
                            // five beats away).
                            Err(e) => debug!(cutover = %name, error = %e, "heartbeat failed"),
                        }
                    }
                })
                .ok()
        };
        Lease {
            store: store.clone(),
            name: name.to_string(),
            token,
            lost,
            stop: Some(stop),
            beat,
        }
    }

    /// The token every write of the step names.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The cutover it is the lease of.
    pub fn cutover(&self) -> &str {
        &self.name
    }

    /// Refuse to go on when the lease was lost (checked before every provider write).
    pub fn check(&self) -> Result<(), CutoverError> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(StoreError::LeaseLost {
                cutover: self.name.clone(),
            }
            .into());
        }
        Ok(())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(b) = self.beat.take() {
            let _ = b.join();
        }
        if let Err(e) = self.store.release_lease(&self.name, &self.token) {
            warn!(cutover = %self.name, error = %e, "lease not released; it expires by itself");
        }
    }
}

/// What [`Lease::acquire_for_event`] found.
#[derive(Debug)]
pub enum EventLease {
    /// The lease is held, and the event's work is this request's.
    Taken(Lease, EventClaim),
    /// The event is known: answer from it.
    Known(WebhookEvent),
}

/// The lease row `holder` asks for, with a fresh token.
fn row(name: &str, holder: &Holder) -> LeaseRow {
    LeaseRow {
        name: name.to_string(),
        token: token(),
        node: holder.node.clone(),
        host: holder.host.clone(),
        pid: i64::from(holder.pid),
        pid_start: holder.pid_start.clone(),
        actor: holder.actor.as_str().to_string(),
        who: holder.who.clone(),
        acquired_at: String::new(),
        heartbeat_at: String::new(),
    }
}

/// A random token (128 bits from std's randomly keyed hasher, the time and the pid).
fn token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::new();
    for i in 0..2u8 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u8(i);
        h.write_u128(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.write_u32(std::process::id());
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(host: &str, pid: i64, start: &str, heartbeat: SystemTime) -> LeaseRow {
        LeaseRow {
            name: "web".into(),
            token: "t".into(),
            node: "n".into(),
            host: host.into(),
            pid,
            pid_start: start.into(),
            actor: "cli".into(),
            who: "x@y".into(),
            acquired_at: String::new(),
            heartbeat_at: humantime::format_rfc3339_micros(heartbeat).to_string(),
        }
    }

    #[test]
    fn liveness() {
        let me = Holder::me("a", ActorKind::Cli, "me");
        let now = SystemTime::now();
        // This very process: alive.
        let alive = row(&me.host, i64::from(me.pid), &me.pid_start, now);
        assert!(!replaceable(&alive, &me, now));
        // Same pid, another start time: the pid was reused, the holder is gone.
        let reused = row(&me.host, i64::from(me.pid), "1", now);
        assert!(replaceable(&reused, &me, now));
        // A pid that does not exist on this host: gone at once.
        let gone = row(&me.host, i64::from(u32::MAX - 7), "", now);
        assert!(replaceable(&gone, &me, now));
        // Another host: alive while its heartbeat is fresh, dead after the expiry.
        let other = row("elsewhere", 1, "", now - Duration::from_secs(9));
        assert!(!replaceable(&other, &me, now));
        let other = row("elsewhere", 1, "", now - Duration::from_secs(11));
        assert!(replaceable(&other, &me, now));
        // A stale heartbeat on this host too (another pid namespace, a frozen process).
        let frozen = row(&me.host, i64::from(me.pid), &me.pid_start, now - EXPIRY * 2);
        assert!(replaceable(&frozen, &me, now));
    }
}
