//! Outgoing NOTIFY (RFC 1996): tell secondaries that a zone's serial changed.

use std::net::SocketAddr;
use std::time::Duration;

use switchback_api::Name;
use switchback_api::tsig::{self, Key};
use tokio::net::UdpSocket;
use tracing::{debug, warn};

use crate::wire::qtype::T_SOA;
use crate::wire::{flags, rcode};
use crate::zone::CompiledZone;

/// Sends per secondary before giving up.
pub const TRIES: usize = 3;
/// How long to wait for the answer to each send.
pub const RETRY: Duration = Duration::from_secs(1);

const OPCODE_NOTIFY: u16 = 4;

/// A NOTIFY for `zone`: opcode NOTIFY, AA, the zone's SOA in the question and its current
/// SOA record in the answer section (RFC 1996 §3.7).
pub fn packet(id: u16, zone: &CompiledZone) -> Vec<u8> {
    let mut p = Vec::with_capacity(128);
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&((OPCODE_NOTIFY << 11) | flags::AA).to_be_bytes());
    let soa = zone
        .apex()
        .get(T_SOA)
        .and_then(|s| s.rdatas.first().map(|r| (s.ttl, r)));
    let an: u16 = if soa.is_some() { 1 } else { 0 };
    p.extend_from_slice(&[0, 1]);
    p.extend_from_slice(&an.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 0]);
    p.extend_from_slice(zone.origin.wire());
    p.extend_from_slice(&T_SOA.to_be_bytes());
    p.extend_from_slice(&1u16.to_be_bytes());
    if let Some((ttl, rd)) = soa {
        p.extend_from_slice(&[0xC0, 12]);
        p.extend_from_slice(&T_SOA.to_be_bytes());
        p.extend_from_slice(&1u16.to_be_bytes());
        p.extend_from_slice(&ttl.to_be_bytes());
        p.extend_from_slice(&(rd.len() as u16).to_be_bytes());
        p.extend_from_slice(rd);
    }
    p
}

/// Is `resp` the answer to the NOTIFY `id`? Returns its rcode.
fn answer_to(resp: &[u8], id: u16) -> Option<u8> {
    if resp.len() < 12 || resp[0..2] != id.to_be_bytes() {
        return None;
    }
    let fl = u16::from_be_bytes([resp[2], resp[3]]);
    let opcode = (fl & flags::OPCODE_MASK) >> 11;
    (fl & flags::QR != 0 && opcode == OPCODE_NOTIFY).then_some((fl & 0xF) as u8)
}

/// Send `packet` (a NOTIFY for `zone` at `serial`, signed with `signed`'s key when given, its
/// MAC alongside) to `target` until an answer with its id arrives, [`TRIES`] times [`RETRY`]
/// apart. A signed NOTIFY's answer must be signed by the same key over the request's MAC
/// (RFC 8945 §5.3); one that is not is logged and counts as no answer. Returns whether the
/// secondary answered.
pub async fn send(
    target: SocketAddr,
    zone: &Name,
    serial: u32,
    packet: Vec<u8>,
    signed: Option<(Key, Vec<u8>)>,
) -> bool {
    let id = u16::from_be_bytes([packet[0], packet[1]]);
    let bind: SocketAddr = if target.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let sock = match UdpSocket::bind(bind).await {
        Ok(s) => s,
        Err(e) => {
            warn!(%zone, serial, %target, error = %e, "NOTIFY: cannot open a socket");
            return false;
        }
    };
    let mut buf = [0u8; 1024];
    for attempt in 1..=TRIES {
        if let Err(e) = sock.send_to(&packet, target).await {
            debug!(%zone, serial, %target, attempt, error = %e, "NOTIFY send failed");
        }
        let deadline = tokio::time::Instant::now() + RETRY;
        loop {
            match tokio::time::timeout_at(deadline, sock.recv_from(&mut buf)).await {
                Err(_) => break,
                Ok(Err(e)) => {
                    // e.g. ICMP port unreachable from an earlier send: wait out the interval.
                    debug!(%zone, %target, error = %e, "NOTIFY receive failed");
                    tokio::time::sleep_until(deadline).await;
                    break;
                }
                Ok(Ok((n, from))) if from == target => {
                    let Some(rc) = answer_to(&buf[..n], id) else {
                        continue;
                    };
                    if let Some((key, mac)) = &signed {
                        let now = crate::signed::now();
                        if let Err(e) = tsig::Verifier::new(key, mac, now).check(&buf[..n]) {
                            warn!(%zone, serial, %target, rcode = rc, error = %e, key = %key.name(), "NOTIFY answer not accepted (TSIG)");
                            continue;
                        }
                    }
                    if rc == rcode::NOERROR {
                        debug!(%zone, serial, %target, attempt, "NOTIFY answered");
                    } else {
                        warn!(%zone, serial, %target, rcode = rc, "NOTIFY answered with an error (does the secondary allow NOTIFY from us?)");
                    }
                    return true;
                }
                Ok(Ok(_)) => {}
            }
        }
    }
    warn!(%zone, serial, %target, tries = TRIES, "NOTIFY not answered");
    false
}
