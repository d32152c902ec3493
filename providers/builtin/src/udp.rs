//! The UDP answer loop: one OS thread per SO_REUSEPORT socket. On Linux it moves up to
//! [`BATCH`] datagrams per `recvmmsg`/`sendmmsg` system call; all buffers are allocated once
//! per worker, so a query costs no allocation, no lock and no task.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use arc_swap::cache::Cache;
use tracing::{debug, warn};

use crate::answer::{self, Catalog, Disposition, Transport};
use crate::metrics::DnsMetrics;
use crate::rrl::{Rrl, Verdict};
use crate::wire;

/// Datagrams per system call.
pub const BATCH: usize = 32;
/// Largest query we read (EDNS queries are small; a bigger datagram is dropped).
const IN_BUF: usize = 4096;

fn transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// Answer one datagram into `out`; `false` when nothing is to be sent.
/// What a UDP worker needs for the rare messages off the precomputed path: TSIG keys, the
/// UPDATE handler and a runtime to run it on.
pub struct SlowPath {
    pub opts: std::sync::Arc<crate::ServerOptions>,
    pub rt: tokio::runtime::Handle,
}

#[inline]
fn handle(
    (cat, ctx): (&Catalog, &SlowPath),
    pkt: &[u8],
    peer: Option<SocketAddr>,
    rrl: Option<&Rrl>,
    limited: &mut u32,
    out: &mut Vec<u8>,
    metrics: &DnsMetrics,
) -> bool {
    use std::sync::atomic::Ordering::Relaxed;
    if crate::update::is_update(pkt) {
        let Some(peer) = peer else { return false };
        ctx.rt
            .block_on(crate::update::serve(&ctx.opts, pkt, peer.ip(), out));
        return !out.is_empty();
    }
    let keys = &ctx.opts.tsig;
    let answered = match answer::answer(cat, pkt, Transport::Udp, out) {
        Disposition::Respond => true,
        // Signed (rare): verified and answered off the precomputed path.
        Disposition::Signed => matches!(
            crate::signed::answer(cat, keys, pkt, Transport::Udp, out),
            crate::signed::Signed::Respond
        ),
        Disposition::Drop | Disposition::Transfer => false,
    };
    if !answered {
        metrics.unanswered.fetch_add(1, Relaxed);
        return false;
    }
    if let (Some(rrl), Some(peer)) = (rrl, peer) {
        match rrl.check(peer.ip(), limited) {
            Verdict::Send => {}
            Verdict::Drop => {
                metrics.rrl_dropped.fetch_add(1, Relaxed);
                return false;
            }
            Verdict::Truncate => {
                metrics.rrl_truncated.fetch_add(1, Relaxed);
                truncate(out)
            }
        }
    }
    metrics.response(out);
    true
}

/// Cut a response down to header + question with TC set (RRL slip).
fn truncate(out: &mut Vec<u8>) {
    if out.len() < wire::HEADER_LEN {
        return;
    }
    let mut end = wire::HEADER_LEN;
    if u16::from_be_bytes([out[4], out[5]]) == 1 {
        while end < out.len() && out[end] != 0 {
            end += 1 + out[end] as usize;
        }
        end = (end + 5).min(out.len());
    }
    out.truncate(end);
    out[2] |= (wire::flags::TC >> 8) as u8;
    out[6..12].fill(0);
}

/// Run until `stop` is set (checked at least every read timeout of the socket).
pub fn worker(
    sock: std::net::UdpSocket,
    catalog: &ArcSwap<Catalog>,
    ctx: &SlowPath,
    stop: &AtomicBool,
    rrl: Option<&Rrl>,
    metrics: &DnsMetrics,
) {
    #[cfg(target_os = "linux")]
    {
        mmsg::worker(sock, catalog, ctx, stop, rrl, metrics)
    }
    #[cfg(not(target_os = "linux"))]
    {
        simple_worker(sock, catalog, ctx, stop, rrl, metrics)
    }
}

/// One datagram per system call (portable).
#[cfg_attr(target_os = "linux", allow(dead_code))]
fn simple_worker(
    sock: std::net::UdpSocket,
    catalog: &ArcSwap<Catalog>,
    ctx: &SlowPath,
    stop: &AtomicBool,
    rrl: Option<&Rrl>,
    metrics: &DnsMetrics,
) {
    let mut cache = Cache::new(catalog);
    let mut inbuf = [0u8; IN_BUF];
    let mut out = Vec::with_capacity(IN_BUF);
    let mut limited = 0u32;
    while !stop.load(Ordering::Relaxed) {
        let (n, peer) = match sock.recv_from(&mut inbuf) {
            Ok(x) => x,
            Err(e) if transient(&e) => continue,
            Err(e) => {
                warn!(error = %e, "udp receive failed");
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let t0 = Instant::now();
        let respond = handle(
            (cache.load(), ctx),
            &inbuf[..n],
            Some(peer),
            rrl,
            &mut limited,
            &mut out,
            metrics,
        );
        metrics.latency(t0.elapsed(), 1);
        if respond {
            if let Err(e) = sock.send_to(&out, peer) {
                debug!(error = %e, %peer, "udp send failed");
            }
        }
    }
}

#[cfg(target_os = "linux")]
mod mmsg {
    use std::mem::size_of;
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
    use std::os::fd::AsRawFd;
    use std::ptr;

    use super::*;

    /// Every buffer and header of one worker. Boxed and never moved after [`Batch::new`], so
    /// the pointers inside the headers stay valid.
    struct Batch {
        inbufs: [[u8; IN_BUF]; BATCH],
        addrs: [libc::sockaddr_storage; BATCH],
        iov_in: [libc::iovec; BATCH],
        hdr_in: [libc::mmsghdr; BATCH],
        outs: Vec<Vec<u8>>,
        iov_out: [libc::iovec; BATCH],
        hdr_out: [libc::mmsghdr; BATCH],
    }

    impl Batch {
        fn new() -> Box<Batch> {
            // SAFETY: every field is plain old data (byte arrays, C structs of integers and
            // pointers) for which all-zero is valid, except `outs`, written right after.
            let mut b: Box<Batch> = unsafe {
                let layout = std::alloc::Layout::new::<Batch>();
                let p = std::alloc::alloc_zeroed(layout) as *mut Batch;
                if p.is_null() {
                    std::alloc::handle_alloc_error(layout);
                }
                ptr::addr_of_mut!((*p).outs)
                    .write((0..BATCH).map(|_| Vec::with_capacity(1024)).collect());
                Box::from_raw(p)
            };
            for i in 0..BATCH {
                b.iov_in[i] = libc::iovec {
                    iov_base: b.inbufs[i].as_mut_ptr().cast(),
                    iov_len: IN_BUF,
                };
                let iov = ptr::addr_of_mut!(b.iov_in[i]);
                let name = ptr::addr_of_mut!(b.addrs[i]);
                let h = &mut b.hdr_in[i].msg_hdr;
                h.msg_iov = iov;
                h.msg_iovlen = 1;
                h.msg_name = name.cast();
                let iov = ptr::addr_of_mut!(b.iov_out[i]);
                b.hdr_out[i].msg_hdr.msg_iov = iov;
                b.hdr_out[i].msg_hdr.msg_iovlen = 1;
            }
            b
        }
    }

    fn peer(a: &libc::sockaddr_storage) -> Option<SocketAddr> {
        match a.ss_family as libc::c_int {
            libc::AF_INET => {
                // SAFETY: the kernel wrote a sockaddr_in for AF_INET; storage is large enough.
                let v4: libc::sockaddr_in =
                    unsafe { ptr::read((a as *const libc::sockaddr_storage).cast()) };
                Some(SocketAddr::V4(SocketAddrV4::new(
                    Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr)),
                    u16::from_be(v4.sin_port),
                )))
            }
            libc::AF_INET6 => {
                // SAFETY: as above, for AF_INET6.
                let v6: libc::sockaddr_in6 =
                    unsafe { ptr::read((a as *const libc::sockaddr_storage).cast()) };
                Some(SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(v6.sin6_addr.s6_addr),
                    u16::from_be(v6.sin6_port),
                    v6.sin6_flowinfo,
                    v6.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }

    pub fn worker(
        sock: std::net::UdpSocket,
        catalog: &ArcSwap<Catalog>,
        ctx: &SlowPath,
        stop: &AtomicBool,
        rrl: Option<&Rrl>,
        metrics: &DnsMetrics,
    ) {
        let fd = sock.as_raw_fd();
        let mut cache = Cache::new(catalog);
        let mut b = Batch::new();
        let mut limited = 0u32;
        while !stop.load(Ordering::Relaxed) {
            for h in b.hdr_in.iter_mut() {
                h.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
                h.msg_hdr.msg_flags = 0;
                h.msg_len = 0;
            }
            // SAFETY: hdr_in holds BATCH headers whose buffers live in `b` (boxed, not moved);
            // the socket's read timeout bounds the wait for the first datagram.
            let n = unsafe {
                libc::recvmmsg(
                    fd,
                    b.hdr_in.as_mut_ptr(),
                    BATCH as libc::c_uint,
                    libc::MSG_WAITFORONE,
                    ptr::null_mut(),
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if !transient(&e) {
                    warn!(error = %e, "udp receive failed");
                    std::thread::sleep(Duration::from_millis(10));
                }
                continue;
            }
            // Answer time per batch (one clock read per recvmmsg), spread over its queries.
            let t0 = Instant::now();
            let cat = cache.load();
            let mut k = 0;
            let Batch {
                inbufs,
                addrs,
                hdr_in,
                outs,
                iov_out,
                hdr_out,
                ..
            } = &mut *b;
            for i in 0..n as usize {
                let h = &hdr_in[i];
                if h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                    continue;
                }
                let pkt = &inbufs[i][..(h.msg_len as usize).min(IN_BUF)];
                let from = if rrl.is_some() || crate::update::is_update(pkt) {
                    peer(&addrs[i])
                } else {
                    None
                };
                if !handle(
                    (cat, ctx),
                    pkt,
                    from,
                    rrl,
                    &mut limited,
                    &mut outs[k],
                    metrics,
                ) {
                    continue;
                }
                iov_out[k] = libc::iovec {
                    iov_base: outs[k].as_mut_ptr().cast(),
                    iov_len: outs[k].len(),
                };
                let o = &mut hdr_out[k].msg_hdr;
                o.msg_name = ptr::addr_of_mut!(addrs[i]).cast();
                o.msg_namelen = h.msg_hdr.msg_namelen;
                k += 1;
            }
            metrics.latency(t0.elapsed(), n as u64);
            let mut sent = 0;
            while sent < k {
                // SAFETY: hdr_out[sent..k] point at iov_out entries and `outs` buffers that are
                // not touched until the next batch.
                let r = unsafe {
                    libc::sendmmsg(
                        fd,
                        hdr_out.as_mut_ptr().add(sent),
                        (k - sent) as libc::c_uint,
                        0,
                    )
                };
                if r < 0 {
                    let e = io::Error::last_os_error();
                    if e.kind() == io::ErrorKind::Interrupted {
                        continue;
                    }
                    debug!(error = %e, "udp send failed");
                    sent += 1; // skip the datagram that failed
                } else {
                    sent += r as usize;
                }
            }
        }
        // `sock` (and so `fd`) lives until here.
        drop(sock);
    }
}
