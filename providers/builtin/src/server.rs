//! Network front ends: UDP workers (one OS thread and one SO_REUSEPORT socket each, no task
//! or allocation per packet) and a tokio TCP server (queries and zone transfers).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;

use crate::acl::Acl;
use crate::answer::Catalog;
use crate::rrl::{Rrl, RrlConfig};

/// How the server runs (the `[server]` section, minus what the application keeps).
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub udp_workers: usize,
    /// Who may AXFR/IXFR: addresses, CIDRs and TSIG keys (`"key:NAME"`).
    pub allow_transfer: Acl,
    /// The TSIG keys this server verifies signed messages with (`[tsig.NAME]`).
    pub tsig: Arc<switchback_api::tsig::Keyring>,
    /// Who may send RFC 2136 UPDATEs (`[server] allow_update`; default: nobody).
    pub allow_update: Acl,
    /// Zones whose updaters differ (`[server.zone."NAME"] allow_update`).
    pub allow_update_zones: std::collections::HashMap<switchback_api::Name, Acl>,
    /// What applies them (the application); `None`: UPDATE is NOTIMP.
    pub updates: Option<Arc<dyn crate::update::UpdateHandler>>,
    pub rrl: Option<RrlConfig>,
    /// A TCP connection waiting longer than this for (the rest of) a query is closed.
    pub tcp_idle_timeout: Duration,
    /// A TCP client that does not read an answer within this is disconnected.
    pub tcp_write_timeout: Duration,
    /// TCP connections per client address, at most (`[server] tcp_per_client`).
    pub tcp_per_client: usize,
    /// TCP connections in all, at most (`[server] tcp_max`).
    pub tcp_max: usize,
    /// The answer path's counters (read by the application's `/metrics`).
    pub metrics: Arc<crate::metrics::DnsMetrics>,
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        ServerOptions {
            udp_workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            allow_transfer: Acl::default(),
            tsig: Arc::default(),
            allow_update: Acl::default(),
            allow_update_zones: Default::default(),
            updates: None,
            rrl: Some(RrlConfig::default()),
            tcp_idle_timeout: Duration::from_secs(10),
            tcp_write_timeout: Duration::from_secs(10),
            tcp_per_client: 16,
            tcp_max: 512,
            metrics: Arc::default(),
        }
    }
}

/// Sockets bound before the server starts (so tests can bind port 0).
pub struct Listeners {
    pub udp: Vec<std::net::UdpSocket>,
    pub tcp: Vec<std::net::TcpListener>,
}

impl Listeners {
    /// Bind UDP (`workers` SO_REUSEPORT sockets each) and TCP on every address. Port 0 picks one
    /// free port per address, the same for UDP and TCP.
    pub fn bind(addrs: &[SocketAddr], workers: usize) -> io::Result<Listeners> {
        let mut udp = Vec::new();
        let mut tcp = Vec::new();
        for &addr in addrs {
            // Retry a few times when port 0 gives a UDP port whose TCP twin is taken.
            let mut last_err = None;
            for _ in 0..16 {
                match bind_one(addr, workers.max(1)) {
                    Ok((u, t)) => {
                        udp.extend(u);
                        tcp.push(t);
                        last_err = None;
                        break;
                    }
                    Err(e) if addr.port() == 0 => last_err = Some(e),
                    Err(e) => return Err(e),
                }
            }
            if let Some(e) = last_err {
                return Err(e);
            }
        }
        Ok(Listeners { udp, tcp })
    }

    /// The addresses actually bound (TCP; UDP shares them).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.tcp
            .iter()
            .filter_map(|t| t.local_addr().ok())
            .collect()
    }
}

fn bind_one(
    addr: SocketAddr,
    workers: usize,
) -> io::Result<(Vec<std::net::UdpSocket>, std::net::TcpListener)> {
    let domain = Domain::for_address(addr);
    let mut socks = Vec::with_capacity(workers);
    let mut bound = addr;
    for _ in 0..workers {
        let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
        s.set_reuse_port(true)?;
        if addr.is_ipv6() {
            s.set_only_v6(true)?;
        }
        s.set_recv_buffer_size(4 << 20).ok();
        s.bind(&bound.into())?;
        let u: std::net::UdpSocket = s.into();
        bound = u.local_addr()?;
        u.set_read_timeout(Some(Duration::from_millis(200)))?;
        socks.push(u);
    }
    let t = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    t.set_reuse_address(true)?;
    if addr.is_ipv6() {
        t.set_only_v6(true)?;
    }
    t.bind(&bound.into())?;
    t.listen(1024)?;
    t.set_nonblocking(true)?;
    Ok((socks, t.into()))
}

/// Serve until `shutdown` completes. The catalog is read (never locked) on every query; swap
/// it to change what is served.
pub async fn serve(
    catalog: Arc<ArcSwap<Catalog>>,
    listeners: Listeners,
    opts: ServerOptions,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    // `/metrics` reads the per-zone counters from the catalog served here.
    opts.metrics.attach_catalog(catalog.clone());
    let rrl = opts.rrl.clone().map(|c| Arc::new(Rrl::new(c)));
    let slots = crate::tcp::TcpSlots::new(&opts);
    let opts = Arc::new(opts);
    let mut threads = Vec::new();
    for (i, sock) in listeners.udp.into_iter().enumerate() {
        let (catalog, stop, rrl) = (catalog.clone(), stop.clone(), rrl.clone());
        let metrics = opts.metrics.clone();
        // Signed queries and UPDATEs (rare) take the slow path; an UPDATE runs the
        // application's handler on this runtime.
        let ctx = crate::udp::SlowPath {
            opts: opts.clone(),
            rt: tokio::runtime::Handle::current(),
        };
        threads.push(
            std::thread::Builder::new()
                .name(format!("dns-udp-{i}"))
                .spawn(move || {
                    crate::udp::worker(sock, &catalog, &ctx, &stop, rrl.as_deref(), &metrics)
                })?,
        );
    }
    let mut tcp_tasks = tokio::task::JoinSet::new();
    for l in listeners.tcp {
        let l = TcpListener::from_std(l)?;
        let (catalog, slots, opts) = (catalog.clone(), slots.clone(), opts.clone());
        tcp_tasks.spawn(async move { crate::tcp::accept(l, catalog, slots, opts).await });
    }
    shutdown.await;
    stop.store(true, Ordering::Relaxed);
    tcp_tasks.abort_all();
    tokio::task::spawn_blocking(move || {
        for t in threads {
            let _ = t.join();
        }
    })
    .await
    .map_err(io::Error::other)?;
    Ok(())
}
