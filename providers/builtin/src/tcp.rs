//! The TCP front end (queries and zone transfers) and its connection table: no client can
//! take the slots away from the others.
//!
//! - Reads, writes and idle waits are all bounded ([`ServerOptions::tcp_idle_timeout`],
//!   [`ServerOptions::tcp_write_timeout`]): a client that stops reading loses its connection.
//! - At most [`ServerOptions::tcp_per_client`] connections per client address and
//!   [`ServerOptions::tcp_max`] in all; when the table is full, the connection idle for the
//!   longest is closed to make room, and a new one is refused only when none is idle.
//! - Peers allowed to transfer zones keep a reserved share of the table
//!   ([`TcpSlots::reserved`]): others never fill it.
//!
//! The table is locked when a connection opens, closes or turns idle/busy, never per query.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arc_swap::ArcSwap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tracing::{debug, info, warn};

use crate::answer::{self, Catalog, Disposition, Transport};
use crate::server::ServerOptions;
use crate::{signed, transfer, wire};
use switchback_api::tsig;

/// One open connection as the table sees it.
struct Slot {
    peer: IpAddr,
    /// Waiting for a query (may be closed to make room), since when.
    idle_since: Option<Instant>,
    /// Told to close (evicted).
    close: Arc<Notify>,
}

#[derive(Default)]
struct Table {
    next: u64,
    slots: HashMap<u64, Slot>,
    per_client: HashMap<IpAddr, usize>,
}

/// The connection table of one server.
pub struct TcpSlots {
    table: Mutex<Table>,
    max: usize,
    per_client: usize,
    reserved: usize,
    transfer_peer: Box<dyn Fn(IpAddr) -> bool + Send + Sync>,
    metrics: Arc<crate::metrics::DnsMetrics>,
}

/// A connection's place in the table; dropped when it closes.
pub struct Admitted {
    slots: Arc<TcpSlots>,
    id: u64,
    close: Arc<Notify>,
}

impl TcpSlots {
    pub fn new(opts: &ServerOptions) -> Arc<TcpSlots> {
        let max = opts.tcp_max.max(1);
        let allow = opts.allow_transfer.clone();
        Arc::new(TcpSlots {
            table: Mutex::default(),
            max,
            per_client: opts.tcp_per_client.max(1),
            reserved: TcpSlots::reserved(max),
            transfer_peer: Box::new(move |ip| allow.lists_address(ip)),
            metrics: opts.metrics.clone(),
        })
    }

    /// The share of the table kept for peers allowed to transfer zones: a tenth, at least 1
    /// (none when the table has a single slot).
    pub fn reserved(max: usize) -> usize {
        if max <= 1 { 0 } else { (max / 10).max(1) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A place for a new connection from `peer`, or why not (it is closed at once).
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Admitted, &'static str> {
        let mut t = self.lock();
        if t.per_client.get(&peer).copied().unwrap_or(0) >= self.per_client {
            self.metrics.tcp_refused.fetch_add(1, Ordering::Relaxed);
            return Err("too many connections from this client");
        }
        let limit = if (self.transfer_peer)(peer) {
            self.max
        } else {
            self.max - self.reserved
        };
        if t.slots.len() >= limit {
            // Make room: close the connection idle for the longest (it may reconnect).
            let oldest = t
                .slots
                .iter()
                .filter_map(|(id, s)| s.idle_since.map(|since| (since, *id)))
                .min();
            match oldest {
                Some((_, id)) => {
                    if let Some(s) = t.slots.remove(&id) {
                        s.close.notify_one();
                        release(&mut t, s.peer);
                        self.metrics.tcp_evicted.fetch_add(1, Ordering::Relaxed);
                    }
                }
                None => {
                    self.metrics.tcp_refused.fetch_add(1, Ordering::Relaxed);
                    return Err("every connection is busy");
                }
            }
        }
        t.next += 1;
        let id = t.next;
        let close = Arc::new(Notify::new());
        t.slots.insert(
            id,
            Slot {
                peer,
                idle_since: Some(Instant::now()),
                close: close.clone(),
            },
        );
        *t.per_client.entry(peer).or_default() += 1;
        Ok(Admitted {
            slots: self.clone(),
            id,
            close,
        })
    }
}

fn release(t: &mut Table, peer: IpAddr) {
    if let Some(n) = t.per_client.get_mut(&peer) {
        *n -= 1;
        if *n == 0 {
            t.per_client.remove(&peer);
        }
    }
}

impl Admitted {
    /// Mark the connection idle (waiting for a query) or busy (answering).
    fn set_idle(&self, idle: bool) {
        let mut t = self.slots.lock();
        if let Some(s) = t.slots.get_mut(&self.id) {
            s.idle_since = idle.then(Instant::now);
        }
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut t = self.slots.lock();
        if let Some(s) = t.slots.remove(&self.id) {
            release(&mut t, s.peer);
        }
    }
}

/// Accept connections on `l` until the task is aborted.
pub async fn accept(
    l: TcpListener,
    catalog: Arc<ArcSwap<Catalog>>,
    slots: Arc<TcpSlots>,
    opts: Arc<ServerOptions>,
) {
    loop {
        let (stream, peer) = match l.accept().await {
            Ok(x) => x,
            Err(e) => {
                // Out of descriptors (EMFILE) and the like: wait, never spin.
                warn!(error = %e, "tcp accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let admitted = match slots.admit(peer.ip()) {
            Ok(a) => a,
            Err(why) => {
                debug!(%peer, why, "tcp connection refused");
                continue;
            }
        };
        let (catalog, opts) = (catalog.clone(), opts.clone());
        tokio::spawn(async move {
            let close = admitted.close.clone();
            tokio::select! {
                r = conn(stream, peer, &catalog, &opts, &admitted) => {
                    if let Err(e) = r {
                        debug!(error = %e, %peer, "tcp connection ended");
                    }
                }
                () = close.notified() => debug!(%peer, "idle tcp connection closed to make room"),
            }
            drop(admitted);
        });
    }
}

async fn conn(
    mut s: TcpStream,
    peer: SocketAddr,
    catalog: &ArcSwap<Catalog>,
    opts: &ServerOptions,
    slot: &Admitted,
) -> io::Result<()> {
    s.set_nodelay(true).ok();
    let peer = peer.ip();
    let mut msg = Vec::with_capacity(512);
    let mut out = Vec::with_capacity(4096);
    loop {
        slot.set_idle(true);
        let mut len = [0u8; 2];
        match tokio::time::timeout(opts.tcp_idle_timeout, s.read_exact(&mut len)).await {
            Err(_) => return Ok(()),
            Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Ok(r) => r?,
        };
        slot.set_idle(false);
        let n = u16::from_be_bytes(len) as usize;
        msg.resize(n, 0);
        tokio::time::timeout(opts.tcp_idle_timeout, s.read_exact(&mut msg))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "tcp read timed out"))??;
        let cat = catalog.load_full();
        let metrics = &opts.metrics;
        let t0 = Instant::now();
        if crate::update::is_update(&msg) {
            crate::update::serve(opts, &msg, peer, &mut out).await;
            if !out.is_empty() {
                metrics.response(&out);
                write_msg(&mut s, &out, opts).await?;
            }
            continue;
        }
        let mut outcome = answer::answer(&cat, &msg, Transport::Tcp, &mut out);
        let mut signed = None;
        if outcome == Disposition::Signed {
            outcome = match signed::answer(&cat, &opts.tsig, &msg, Transport::Tcp, &mut out) {
                signed::Signed::Respond => Disposition::Respond,
                signed::Signed::Drop => Disposition::Drop,
                signed::Signed::Transfer { key, mac, message } => {
                    signed = Some((key, mac));
                    msg = message;
                    Disposition::Transfer
                }
            };
        }
        if outcome != Disposition::Transfer {
            metrics.latency(t0.elapsed(), 1);
        }
        match outcome {
            Disposition::Drop | Disposition::Signed => {
                metrics.unanswered.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            Disposition::Respond => {
                metrics.response(&out);
                write_msg(&mut s, &out, opts).await?
            }
            Disposition::Transfer => {
                let key = signed.as_ref().map(|(k, _)| *k);
                let allowed = opts.allow_transfer.allows(peer, key);
                let mut t = transfer::transfer(&cat, &msg, allowed);
                // Signed request: every message of the answer is signed (RFC 8945 §5.3.1),
                // refusals included.
                if let Some((key, mac)) = &signed {
                    let mut signer = tsig::Signer::new(key, signed::now(), mac);
                    for m in &mut t.messages {
                        signer.sign(m);
                    }
                }
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
                let key_name = key.map(|k| k.name().to_string());
                match t.kind {
                    transfer::Kind::Refused => {
                        info!(%peer, %zone, allowed, key = ?key_name, "zone transfer refused")
                    }
                    kind => info!(
                        %peer,
                        %zone,
                        key = ?key_name,
                        serial = t.serial,
                        client_serial = ?t.client_serial,
                        ?kind,
                        messages = t.messages.len(),
                        "zone transfer"
                    ),
                }
                for m in &t.messages {
                    write_msg(&mut s, m, opts).await?;
                }
            }
        }
    }
}

/// One framed message, bounded by the write timeout: a client that stops reading loses its
/// connection instead of holding it.
async fn write_msg(s: &mut TcpStream, m: &[u8], opts: &ServerOptions) -> io::Result<()> {
    let mut framed = Vec::with_capacity(m.len() + 2);
    framed.extend_from_slice(&(m.len() as u16).to_be_bytes());
    framed.extend_from_slice(m);
    match tokio::time::timeout(opts.tcp_write_timeout, s.write_all(&framed)).await {
        Ok(r) => r,
        Err(_) => {
            opts.metrics
                .tcp_write_timeouts
                .fetch_add(1, Ordering::Relaxed);
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "tcp write timed out: the client does not read",
            ))
        }
    }
}
