//! "Served, not just stored": a running `serve` records, after each swap, the serial it serves
//! of every zone (table `builtin_served`); a change made by another process (a CLI command)
//! waits until a live `serve` reports the change's serial, so `apply --yes && dig` sees it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchback_api::Name;
use switchback_api::provider::Served;
use tracing::{debug, warn};

use crate::Builtin;
use crate::store::ServedRow;

/// How often a waiting change looks again.
const POLL: Duration = Duration::from_millis(10);
/// On a shared store, how often a serving instance says it is still there, and how old its
/// word may be: an instance on another machine has no process here to look at.
const TOUCH_EVERY: Duration = Duration::from_secs(5);
const REMOTE_ALIVE_SECS: i64 = 15;

/// Whether process `pid` runs (a zombie does not).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
    }
}

/// `a` is `b` or later in serial-number arithmetic (RFC 1982).
fn serial_ge(a: u32, b: u32) -> bool {
    a == b || a.wrapping_sub(b) < (1 << 31)
}

impl Builtin {
    /// Record what this process serves after every swap, until `shutdown` (then forget it).
    /// Run it in `serve`, next to [`Builtin::watch`].
    pub async fn report_served(self: Arc<Self>, node: String, shutdown: impl Future<Output = ()>) {
        let pid = std::process::id();
        let mut rx = self.swapped.subscribe();
        let mut written: HashMap<Name, u32> = HashMap::new();
        let report = async {
            loop {
                let cat = self.catalog.load_full();
                let fresh: Vec<(Name, u32)> = cat
                    .zones
                    .values()
                    .map(|z| (z.zone.origin.clone(), z.zone.serial))
                    .filter(|(n, s)| written.get(n) != Some(s))
                    .collect();
                if !fresh.is_empty() {
                    let b = self.clone();
                    let node = node.clone();
                    let rows = fresh.clone();
                    let r = tokio::task::spawn_blocking(move || {
                        b.store.write(|tx| {
                            for (zone, serial) in &rows {
                                tx.put_served(&node, pid, zone, *serial)?;
                            }
                            Ok::<_, crate::ZoneStoreError>(())
                        })
                    })
                    .await;
                    match r {
                        Ok(Ok(())) => written.extend(fresh),
                        Ok(Err(e)) => warn!(error = %e, "cannot record the served serials"),
                        Err(e) => warn!(error = %e, "served-serial task failed"),
                    }
                }
                tokio::select! {
                    r = rx.changed() => if r.is_err() { return },
                    () = tokio::time::sleep(TOUCH_EVERY), if self.store.is_shared() => {
                        let b = self.clone();
                        let node = node.clone();
                        let _ = tokio::task::spawn_blocking(move || {
                            b.store.write(|tx| tx.touch_served(&node, pid))
                        })
                        .await;
                    }
                }
            }
        };
        tokio::select! {
            () = shutdown => {}
            () = report => {}
        }
        if let Err(e) = self.store.write(|tx| tx.clear_served(&node, pid)) {
            debug!(error = %e, "served serials not cleared");
        }
    }
}

/// Wait (up to `timeout`) until a live `serve` on `b`'s store serves `zone` at its stored
/// serial.
pub async fn wait(b: &Builtin, zone: &Name, timeout: Duration) -> Served {
    let want = match b.store.read(|tx| tx.meta(zone)) {
        Ok(Some(m)) => m.serial,
        _ => return Served::NoServer,
    };
    let deadline = Instant::now() + timeout;
    loop {
        let rows: Vec<ServedRow> = b
            .store
            .read(|tx| tx.served(zone))
            .unwrap_or_default()
            .into_iter()
            .filter(|r| {
                alive(r.pid)
                    || (b.store.is_shared()
                        && crate::store::unix_now() - r.updated_at <= REMOTE_ALIVE_SECS)
            })
            .collect();
        let Some(best) = rows
            .iter()
            .max_by(|x, y| {
                if x.serial == y.serial {
                    std::cmp::Ordering::Equal
                } else if serial_ge(x.serial, y.serial) {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Less
                }
            })
            .cloned()
        else {
            return Served::NoServer;
        };
        if serial_ge(best.serial, want) {
            return Served::Served {
                node: best.node,
                serial: best.serial,
            };
        }
        if Instant::now() >= deadline {
            return Served::Late {
                node: best.node,
                serial: best.serial,
                want,
            };
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_arithmetic() {
        assert!(serial_ge(5, 5) && serial_ge(6, 5) && !serial_ge(4, 5));
        assert!(serial_ge(1, u32::MAX), "wraps");
        assert!(alive(std::process::id()));
        assert!(!alive(u32::MAX - 3));
    }
}
