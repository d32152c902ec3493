//! The HTTP API's connections: HTTP/1.1 on hyper with a header-read timeout, at most
//! [`ConnLimits::per_client`] connections per client address and [`ConnLimits::total`] in all
//! (over either, the new connection is closed at once), and a graceful shutdown that lets
//! requests in progress finish (bounded).

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use tower::ServiceExt;
use tracing::{debug, warn};

/// Connection limits of the HTTP API.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// Connections per client address, at most.
    pub per_client: usize,
    /// Connections in all, at most.
    pub total: usize,
    /// A request head not read within this closes the connection.
    pub header_timeout: Duration,
    /// A connection older than this is asked to finish (after its request in progress).
    pub max_age: Duration,
}

impl Default for ConnLimits {
    fn default() -> ConnLimits {
        ConnLimits {
            per_client: 256,
            total: 1024,
            header_timeout: Duration::from_secs(10),
            max_age: Duration::from_secs(300),
        }
    }
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_client: HashMap<IpAddr, usize>,
}

/// A connection's place; given back on drop.
struct Place {
    counts: Arc<Mutex<Counts>>,
    peer: IpAddr,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        c.total -= 1;
        if let Some(n) = c.per_client.get_mut(&self.peer) {
            *n -= 1;
            if *n == 0 {
                c.per_client.remove(&self.peer);
            }
        }
    }
}

fn admit(counts: &Arc<Mutex<Counts>>, limits: &ConnLimits, peer: IpAddr) -> Option<Place> {
    let mut c = counts.lock().unwrap_or_else(|p| p.into_inner());
    let mine = c.per_client.get(&peer).copied().unwrap_or(0);
    if c.total >= limits.total || mine >= limits.per_client {
        return None;
    }
    c.total += 1;
    *c.per_client.entry(peer).or_default() += 1;
    Some(Place {
        counts: counts.clone(),
        peer,
    })
}

/// Serve `router` on `listener` within `limits` until `shutdown`, then let the requests in
/// progress finish (at most 10 s).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let counts = Arc::new(Mutex::new(Counts::default()));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut conns = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of descriptors and the like: wait, never spin.
                    warn!(error = %e, "HTTP API accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Finished connections' tasks.
        while conns.try_join_next().is_some() {}
        let Some(place) = admit(&counts, &limits, peer.ip()) else {
            let (total, mine) = {
                let c = counts.lock().unwrap_or_else(|p| p.into_inner());
                (c.total, c.per_client.get(&peer.ip()).copied().unwrap_or(0))
            };
            debug!(%peer, total, mine, "HTTP API connection refused: too many connections");
            continue;
        };
        let router = router.clone();
        let mut stop = stop_rx.clone();
        conns.spawn(async move {
            let _place = place;
            serve_one(stream, peer, router, limits, &mut stop).await;
        });
    }
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    conns.abort_all();
    Ok(())
}

async fn serve_one(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: ConnLimits,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) {
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let mut req = req.map(axum::body::Body::new);
        req.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(req)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let old = tokio::time::sleep(limits.max_age);
    tokio::pin!(old);
    let mut finishing = false;
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    debug!(%peer, error = %e, "HTTP API connection ended");
                }
                return;
            }
            r = stop.changed(), if !finishing => {
                let _ = r;
                finishing = true;
                conn.as_mut().graceful_shutdown();
            }
            () = &mut old, if !finishing => {
                finishing = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
