//! Outgoing zone transfers: AXFR (RFC 5936) and IXFR (RFC 1995) from the zone's change
//! history, falling back to a full transfer when the history does not reach back to the
//! client's serial.

use crate::answer::{Catalog, ServedZone};
use crate::history::{self, Delta};
use crate::wire::qtype::{T_IXFR, T_SOA};
use crate::wire::{self, Owner, Section, Writer, rcode};

/// Soft limit for one transfer message (well under the 64 KiB TCP message limit).
const MESSAGE_BUDGET: usize = 16 * 1024;

/// What a transfer request got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Refused, NOTAUTH or FORMERR.
    Refused,
    Axfr,
    /// IXFR answered with the current SOA alone (the client is up to date).
    IxfrUpToDate,
    /// IXFR answered incrementally with this many deltas.
    Ixfr {
        deltas: usize,
    },
    /// IXFR answered with the whole zone (the history does not reach back far enough).
    IxfrAsAxfr,
}

/// The answer to a transfer request.
#[derive(Debug)]
pub struct Transfer {
    pub kind: Kind,
    /// The zone's current serial (0 when refused).
    pub serial: u32,
    /// The client's serial from an IXFR request.
    pub client_serial: Option<u32>,
    pub messages: Vec<Vec<u8>>,
}

/// The messages answering a transfer request in `pkt` (already known to be AXFR/IXFR for a
/// zone we serve). Refused when the client is not allowed.
pub fn axfr(cat: &Catalog, pkt: &[u8], allowed: bool) -> Vec<Vec<u8>> {
    transfer(cat, pkt, allowed).messages
}

/// Answer an AXFR or IXFR request.
pub fn transfer(cat: &Catalog, pkt: &[u8], allowed: bool) -> Transfer {
    let refused = |messages| Transfer {
        kind: Kind::Refused,
        serial: 0,
        client_serial: None,
        messages,
    };
    let Ok(q) = wire::parse_query(pkt) else {
        return refused(Vec::new());
    };
    let served = match cat.find_zone(q.qname()) {
        Some(z) if allowed && z.zone.origin.wire() == q.qname() => z,
        // A transfer for a name inside a zone, not its apex.
        Some(_) if allowed => return refused(vec![single(pkt, &q, rcode::NOTAUTH)]),
        _ => return refused(vec![single(pkt, &q, rcode::REFUSED)]),
    };
    let zone = &served.zone;
    let current = zone.serial;
    if q.qtype != T_IXFR {
        return Transfer {
            kind: Kind::Axfr,
            serial: current,
            client_serial: None,
            messages: full(served, pkt, &q),
        };
    }
    let Some(client) = wire::ixfr_client_serial(pkt, &q) else {
        // RFC 1995 §3: the query carries the client's SOA in its authority section.
        return refused(vec![single(pkt, &q, rcode::FORMERR)]);
    };
    let mut t = Transfer {
        kind: Kind::IxfrAsAxfr,
        serial: current,
        client_serial: Some(client),
        messages: Vec::new(),
    };
    if client == current || history::serial_gt(client, current) {
        // RFC 1995 §2: up to date (or newer): the current SOA alone.
        let mut buf = Vec::with_capacity(512);
        crate::answer::ixfr_soa_only(zone, pkt, &q, &mut buf);
        t.kind = Kind::IxfrUpToDate;
        t.messages = vec![buf];
        return t;
    }
    match chain(&served.history, client, current) {
        Some(deltas) => {
            t.kind = Kind::Ixfr {
                deltas: deltas.len(),
            };
            t.messages = incremental(served, deltas, pkt, &q);
        }
        None => t.messages = full(served, pkt, &q),
    }
    t
}

/// The history's deltas from `client` up to `current`, when they chain without a gap (a
/// missing change or a [`Delta::gap`]).
fn chain(
    history: &[std::sync::Arc<Delta>],
    client: u32,
    current: u32,
) -> Option<&[std::sync::Arc<Delta>]> {
    let start = history.iter().rposition(|d| d.from == client)?;
    let deltas = &history[start..];
    let linked =
        deltas.windows(2).all(|w| w[0].to == w[1].from) && !deltas.iter().any(|d| d.is_gap());
    (linked && deltas.last()?.to == current).then_some(deltas)
}

type Rec<'a> = (&'a [u8], u16, u32, &'a [u8]);

fn soa_records(z: &ServedZone) -> impl Iterator<Item = Rec<'_>> + Clone {
    let apex = z.zone.origin.wire();
    z.zone
        .apex()
        .get(T_SOA)
        .into_iter()
        .flat_map(move |s| s.rdatas.iter().map(move |r| (apex, s.rtype, s.ttl, r)))
}

/// SOA, every other record, SOA again (RFC 5936 §2.2).
fn full(z: &ServedZone, pkt: &[u8], q: &wire::Query) -> Vec<Vec<u8>> {
    let apex = z.zone.origin.wire();
    let body = z.zone.nodes.iter().flat_map(|(name, node)| {
        node.rrsets()
            .filter(move |rr| !(rr.rtype == T_SOA && name == apex))
            .flat_map(move |rr| rr.rdatas.iter().map(move |r| (name, rr.rtype, rr.ttl, r)))
    });
    let soa = soa_records(z);
    write_messages(pkt, q, soa.clone().chain(body).chain(soa))
}

/// Current SOA; per delta: old SOA, removed records, new SOA, added records; current SOA
/// (RFC 1995 §4).
fn incremental(
    z: &ServedZone,
    deltas: &[std::sync::Arc<Delta>],
    pkt: &[u8],
    q: &wire::Query,
) -> Vec<Vec<u8>> {
    let body = deltas
        .iter()
        .flat_map(move |d| d.removed.iter().map(rec).chain(d.added.iter().map(rec)));
    let soa = soa_records(z);
    write_messages(pkt, q, soa.clone().chain(body).chain(soa))
}

fn rec(r: &history::Rr) -> Rec<'_> {
    (&r.owner, r.rtype, r.ttl, &r.rdata[..])
}

fn write_messages<'a>(
    pkt: &[u8],
    q: &wire::Query,
    records: impl Iterator<Item = Rec<'a>>,
) -> Vec<Vec<u8>> {
    let mut records = records.peekable();
    let mut msgs = Vec::new();
    while records.peek().is_some() {
        let mut buf = Vec::with_capacity(MESSAGE_BUDGET + 1024);
        let mut w = if msgs.is_empty() {
            Writer::response(&mut buf, pkt, q, true, rcode::NOERROR)
        } else {
            Writer::continuation(&mut buf, pkt)
        };
        while w.len() < MESSAGE_BUDGET {
            let Some((name, rtype, ttl, rd)) = records.next() else {
                break;
            };
            w.record(Section::Answer, Owner::Name(name), rtype, ttl, rd);
        }
        msgs.push(buf);
    }
    msgs
}

fn single(pkt: &[u8], q: &wire::Query, rc: u8) -> Vec<u8> {
    let mut buf = Vec::with_capacity(512);
    Writer::response(&mut buf, pkt, q, false, rc);
    buf
}
