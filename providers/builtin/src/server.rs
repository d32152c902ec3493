//! Network front ends: UDP workers (one OS thread and one SO_REUSEPORT socket each, no task
//! or allocation per packet) and a tokio TCP server (queries and zone transfers).

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tracing::{debug, info, warn};

use crate::acl::Cidr;
use crate::answer::{self, Catalog, Outcome, Transport};
use crate::rrl::{Rrl, RrlConfig};
use crate::{transfer, wire};

/// How the server runs (the `[server]` section, minus what the application keeps).
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub udp_workers: usize,
    pub allow_transfer: Vec<Cidr>,
    pub rrl: Option<RrlConfig>,
    pub tcp_idle_timeout: Duration,
    pub max_tcp_connections: usize,
    /// The answer path's counters (read by the application's `/metrics`).
    pub metrics: Arc<crate::metrics::DnsMetrics>,
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        ServerOptions {
            udp_workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            allow_transfer: Vec::new(),
            rrl: None,
            tcp_idle_timeout: Duration::from_secs(10),
            max_tcp_connections: 256,
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
    let rrl = opts.rrl.map(|c| Arc::new(Rrl::new(c)));
    let mut threads = Vec::new();
    for (i, sock) in listeners.udp.into_iter().enumerate() {
        let (catalog, stop, rrl) = (catalog.clone(), stop.clone(), rrl.clone());
        let metrics = opts.metrics.clone();
        threads.push(
            std::thread::Builder::new()
                .name(format!("dns-udp-{i}"))
                .spawn(move || {
                    crate::udp::worker(sock, &catalog, &stop, rrl.as_deref(), &metrics)
                })?,
        );
    }
    let limit = Arc::new(Semaphore::new(opts.max_tcp_connections));
    let opts = Arc::new(opts);
    let mut tcp_tasks = tokio::task::JoinSet::new();
    for l in listeners.tcp {
        let l = TcpListener::from_std(l)?;
        let (catalog, limit, opts) = (catalog.clone(), limit.clone(), opts.clone());
        tcp_tasks.spawn(async move { tcp_accept(l, catalog, limit, opts).await });
    }
    if let Some(rrl) = &rrl {
        let rrl = rrl.clone();
        tcp_tasks.spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(30)).await;
                rrl.housekeeping();
            }
        });
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

async fn tcp_accept(
    l: TcpListener,
    catalog: Arc<ArcSwap<Catalog>>,
    limit: Arc<Semaphore>,
    opts: Arc<ServerOptions>,
) {
    loop {
        let (stream, peer) = match l.accept().await {
            Ok(x) => x,
            Err(e) => {
                warn!(error = %e, "tcp accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            debug!(%peer, "too many tcp connections; closing");
            continue;
        };
        let (catalog, opts) = (catalog.clone(), opts.clone());
        tokio::spawn(async move {
            if let Err(e) = tcp_conn(stream, peer.ip(), &catalog, &opts).await {
                debug!(error = %e, %peer, "tcp connection ended");
            }
            drop(permit);
        });
    }
}

async fn tcp_conn(
    mut s: TcpStream,
    peer: IpAddr,
    catalog: &ArcSwap<Catalog>,
    opts: &ServerOptions,
) -> io::Result<()> {
    s.set_nodelay(true).ok();
    let mut msg = Vec::with_capacity(512);
    let mut out = Vec::with_capacity(4096);
    loop {
        let mut len = [0u8; 2];
        match tokio::time::timeout(opts.tcp_idle_timeout, s.read_exact(&mut len)).await {
            Err(_) => return Ok(()),
            Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Ok(r) => r?,
        };
        let n = u16::from_be_bytes(len) as usize;
        msg.resize(n, 0);
        tokio::time::timeout(opts.tcp_idle_timeout, s.read_exact(&mut msg))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "tcp read timed out"))??;
        let cat = catalog.load_full();
        let metrics = &opts.metrics;
        let t0 = Instant::now();
        let outcome = answer::answer(&cat, &msg, Transport::Tcp, &mut out);
        if outcome != Outcome::Transfer {
            metrics.latency(t0.elapsed(), 1);
        }
        match outcome {
            Outcome::Drop => {
                metrics.unanswered.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            Outcome::Respond => {
                metrics.response(&out);
                write_msg(&mut s, &out).await?
            }
            Outcome::Transfer => {
                let allowed = opts.allow_transfer.iter().any(|c| c.contains(peer));
                let t = transfer::transfer(&cat, &msg, allowed);
                // One response per transfer (its first message's RCODE), in the zone asked
                // for (answer() gives Transfer only for a zone we serve).
                if let Some(first) = t.messages.first() {
                    metrics.response(first);
                    let served = wire::parse_query(&msg)
                        .ok()
                        .and_then(|q| cat.find_zone(q.qname()).cloned());
                    match served {
                        Some(z) => z.counters.count(first),
                        None => cat.other.count(first),
                    }
                }
                let zone = wire::parse_query(&msg)
                    .ok()
                    .and_then(|q| switchback_api::Name::from_wire(q.qname()))
                    .map(|n| n.to_string())
                    .unwrap_or_default();
                match t.kind {
                    transfer::Kind::Refused => {
                        info!(%peer, %zone, allowed, "zone transfer refused")
                    }
                    kind => info!(
                        %peer,
                        %zone,
                        serial = t.serial,
                        client_serial = ?t.client_serial,
                        ?kind,
                        messages = t.messages.len(),
                        "zone transfer"
                    ),
                }
                for m in &t.messages {
                    write_msg(&mut s, m).await?;
                }
            }
        }
    }
}

async fn write_msg(s: &mut TcpStream, m: &[u8]) -> io::Result<()> {
    let mut framed = Vec::with_capacity(m.len() + 2);
    framed.extend_from_slice(&(m.len() as u16).to_be_bytes());
    framed.extend_from_slice(m);
    s.write_all(&framed).await
}
