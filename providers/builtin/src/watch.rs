//! Following the state store while serving: changes made by other processes are picked up
//! (a poll), and NOTIFY goes out to the secondaries after each new serial.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use switchback_api::Name;
use tracing::{debug, error};

use crate::provider::Builtin;

/// How often a watching process looks for commits of other processes.
pub const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Where NOTIFY goes on every serial change, and the TSIG key it is signed with
/// (`[server] notify`, `notify_key`).
#[derive(Debug, Clone, Default)]
pub struct Notify {
    pub targets: Vec<SocketAddr>,
    pub key: Option<switchback_api::tsig::Key>,
}

impl Notify {
    /// Unsigned NOTIFY to `targets`.
    pub fn to(targets: Vec<SocketAddr>) -> Notify {
        Notify { targets, key: None }
    }
}

impl Builtin {
    /// Follow the state store and NOTIFY secondaries, until `shutdown` completes. Run it in
    /// `serve` next to the DNS server:
    ///
    /// - every [`POLL_INTERVAL`] a dedicated connection checks `PRAGMA data_version`; when
    ///   another connection (another process) committed, zones whose generation changed are
    ///   rebuilt and swapped in (one log line per zone, old -> new serial);
    /// - on every serial change of a served zone (picked up, applied or reloaded here), and
    ///   once for every zone at start, a NOTIFY goes to each address in `notify`.
    pub async fn watch(self: Arc<Self>, notify: Notify, shutdown: impl Future<Output = ()>) {
        let stop = Arc::new(AtomicBool::new(false));
        let poller = if self.store.is_memory() {
            None
        } else {
            let (b, stop) = (self.clone(), stop.clone());
            match std::thread::Builder::new()
                .name("builtin-watch".into())
                .spawn(move || b.poll_store(&stop))
            {
                Ok(t) => Some(t),
                Err(e) => {
                    error!(error = %e, "cannot start the state store watcher");
                    None
                }
            }
        };
        let notifier = self.clone().notify_loop(notify);
        tokio::select! {
            () = shutdown => {}
            () = notifier => {}
        }
        stop.store(true, Ordering::Relaxed);
        if let Some(t) = poller {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }

    fn poll_store(&self, stop: &AtomicBool) {
        let mut watcher = match self.store.watcher() {
            Ok(w) => w,
            Err(e) => {
                error!(error = %e, "cannot watch the state store; changes from other processes will not be picked up");
                return;
            }
        };
        let mut failing = false;
        while !stop.load(Ordering::Relaxed) {
            match watcher.changed() {
                Ok(true) => {
                    let _w = self.lock();
                    match self.sync_catalog(&HashMap::new(), true) {
                        Ok(_) => failing = false,
                        Err(e) if !failing => {
                            failing = true;
                            error!(error = %e, "cannot pick up changes from the state store");
                        }
                        Err(e) => debug!(error = %e, "still cannot pick up changes"),
                    }
                }
                Ok(false) => {}
                Err(e) if !failing => {
                    failing = true;
                    error!(error = %e, "cannot read the state store");
                }
                Err(_) => {}
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    async fn notify_loop(self: Arc<Self>, notify: Notify) {
        let Notify { targets, key } = notify;
        if targets.is_empty() {
            return std::future::pending().await;
        }
        let mut rx = self.swapped.subscribe();
        let mut sent: HashMap<Name, u32> = HashMap::new();
        loop {
            let cat = self.catalog.load_full();
            for z in cat.zones.values() {
                let (origin, serial) = (&z.zone.origin, z.zone.serial);
                if sent.get(origin) == Some(&serial) {
                    continue;
                }
                sent.insert(origin.clone(), serial);
                for &target in &targets {
                    // A fresh id (and signature) per secondary.
                    let mut packet = crate::notify::packet(rand::random(), &z.zone);
                    let mac = key.as_ref().map(|k| {
                        let mac =
                            switchback_api::tsig::sign(&mut packet, k, crate::signed::now(), None);
                        (k.clone(), mac)
                    });
                    let zone = origin.clone();
                    tokio::spawn(async move {
                        crate::notify::send(target, &zone, serial, packet, mac).await;
                    });
                }
            }
            sent.retain(|n, _| cat.zones.contains_key(n.wire()));
            if rx.changed().await.is_err() {
                return;
            }
        }
    }
}
