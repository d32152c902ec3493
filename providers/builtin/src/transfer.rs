//! Outgoing zone transfers (RFC 5936 AXFR; an IXFR request is answered with the whole zone,
//! which RFC 1995 §4 allows, until the change journal lands).

use crate::answer::Catalog;
use crate::wire::{self, Owner, Section, Writer, rcode};

/// Soft limit for one transfer message (well under the 64 KiB TCP message limit).
const MESSAGE_BUDGET: usize = 16 * 1024;

/// The messages answering a transfer request in `pkt` (already known to be AXFR/IXFR for a
/// zone we serve). Refused when the client is not allowed.
pub fn axfr(cat: &Catalog, pkt: &[u8], allowed: bool) -> Vec<Vec<u8>> {
    let Ok(q) = wire::parse_query(pkt) else {
        return Vec::new();
    };
    let zone = match cat.find_zone(q.qname()) {
        Some(z) if allowed && z.zone.origin.wire() == q.qname() => &z.zone,
        Some(z) if allowed => {
            // A transfer for a name inside a zone, not its apex.
            let _ = z;
            return vec![single(pkt, &q, rcode::NOTAUTH)];
        }
        _ => return vec![single(pkt, &q, rcode::REFUSED)],
    };
    let apex = zone.origin.wire();
    // SOA, every other record, SOA again (RFC 5936 §2.2).
    let soa = zone.apex().get(6);
    let soa_records = soa
        .into_iter()
        .flat_map(|s| s.rdatas.iter().map(move |r| (apex, s.rtype, s.ttl, r)));
    let body = zone.nodes.iter().flat_map(|(name, node)| {
        node.rrsets
            .iter()
            .filter(move |rr| !(rr.rtype == 6 && **name == *apex))
            .flat_map(move |rr| {
                rr.rdatas
                    .iter()
                    .map(move |r| (&**name, rr.rtype, rr.ttl, r))
            })
    });
    let mut records = soa_records
        .clone()
        .chain(body)
        .chain(soa_records)
        .peekable();
    let mut msgs = Vec::new();
    while records.peek().is_some() {
        let mut buf = Vec::with_capacity(MESSAGE_BUDGET + 1024);
        let mut w = if msgs.is_empty() {
            Writer::response(&mut buf, pkt, &q, true, rcode::NOERROR)
        } else {
            Writer::continuation(&mut buf, pkt)
        };
        while w.len() < MESSAGE_BUDGET {
            let Some((name, rtype, ttl, (rd, names))) = records.next() else {
                break;
            };
            w.record(Section::Answer, Owner::Name(name), rtype, ttl, rd, names);
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
