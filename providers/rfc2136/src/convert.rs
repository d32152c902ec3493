//! DNS messages <-> the record model: AXFR answers read into record sets (compressed names in
//! RDATA expanded, RDATA in canonical presentation form through [`switchback_api::rdata`]),
//! and changes written as RFC 2136 UPDATE messages.
//!
//! An UPDATE for a list of changes (RFC 2136 §2.4, §2.5):
//! - prerequisites that each change's `before` is what the server holds: "RRset exists (value
//!   dependent)" with every old record (the server compares the whole set, not TTLs), or "RRset
//!   does not exist" for a create; so a record someone else changed in between fails the whole
//!   message (NXRRSET/YXRRSET) instead of being clobbered;
//! - then deletes before adds (a server ignores data added beside a CNAME): an update or a
//!   delete removes the old RRset (class ANY), except the apex SOA (replaced by adding the new
//!   one) and the apex NS set (its records removed one by one, class NONE: a server keeps the
//!   apex NS set however it is asked);
//! - then the new records (class IN, the set's TTL).

use switchback_api::token::tokenize;
use switchback_api::{Change, Name, ProviderError, RType, RecordSet, RecordValue, Zone, rdata};

const CLASS_IN: u16 = 1;
const CLASS_NONE: u16 = 254;
const CLASS_ANY: u16 = 255;
const OPCODE_UPDATE: u16 = 5;
/// BIND's default `sig-signing-type` (RFC 6895 private use).
const BIND_SIGNING_STATE: u16 = 65534;

pub use switchback_api::message::Record as WireRecord;

/// A message's id, RCODE and answer records (RDATA uncompressed).
#[derive(Debug, Clone)]
pub struct Parsed {
    pub id: u16,
    pub rcode: u8,
    pub answers: Vec<WireRecord>,
}

/// Reads an answer from the server (the shared reader, [`switchback_api::message`]).
pub fn parse(m: &[u8]) -> Result<Parsed, String> {
    let msg = switchback_api::message::parse(m).map_err(|e| format!("the server sent a {e}"))?;
    Ok(Parsed {
        id: msg.id,
        rcode: msg.rcode(),
        answers: msg.answers,
    })
}

/// The records of a transfer as a zone: grouped into sets by (name, type), each value in
/// canonical presentation form, the set's TTL that of its first record. The closing SOA of an
/// AXFR is dropped (it repeats the first).
pub fn to_zone(origin: &Name, records: &[WireRecord]) -> Result<Zone, ProviderError> {
    let mut sets: Vec<RecordSet> = Vec::new();
    let mut seen_soa = false;
    for r in records {
        if r.class != CLASS_IN {
            continue;
        }
        // BIND's key-signing state (`sig-signing-type`, a private type at the apex that BIND
        // adds when a DNSKEY is added): the server's own bookkeeping, not zone data anyone
        // wrote, and not something an UPDATE may set.
        if r.rtype == BIND_SIGNING_STATE && r.owner == *origin {
            continue;
        }
        let rtype = RType(r.rtype);
        if rtype == RType::SOA && r.owner == *origin {
            if seen_soa {
                continue;
            }
            seen_soa = true;
        }
        let text = rdata::format(rtype, &r.rdata).map_err(|e| ProviderError::Invalid {
            record: format!("{}/{rtype}", r.owner),
            message: format!("the server sent RDATA Switchback cannot read: {e}"),
        })?;
        match sets
            .iter_mut()
            .find(|s| s.name == r.owner && s.rtype == rtype)
        {
            Some(s) => {
                if !s.values.iter().any(|v| v.data == text) {
                    s.values.push(RecordValue::new(text));
                }
            }
            None => sets.push(RecordSet::new(r.owner.clone(), rtype, r.ttl, [text])),
        }
    }
    if !seen_soa {
        return Err(ProviderError::Other(format!(
            "the transfer of {origin} holds no SOA record"
        )));
    }
    Ok(Zone::new(origin.clone(), sets))
}

/// Appends a name (uncompressed) to `m`.
fn put_name(m: &mut Vec<u8>, n: &Name) {
    m.extend_from_slice(n.wire());
}

fn put_rr(m: &mut Vec<u8>, owner: &Name, rtype: RType, class: u16, ttl: u32, rdata: &[u8]) {
    put_name(m, owner);
    m.extend_from_slice(&rtype.0.to_be_bytes());
    m.extend_from_slice(&class.to_be_bytes());
    m.extend_from_slice(&ttl.to_be_bytes());
    m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    m.extend_from_slice(rdata);
}

/// The wire form of every value of `rs`.
fn wire_values(rs: &RecordSet, origin: &Name) -> Result<Vec<Vec<u8>>, ProviderError> {
    rs.values
        .iter()
        .map(|v| {
            let tokens = tokenize(&v.data).map_err(|e| invalid(rs, &v.data, &e))?;
            rdata::parse(rs.rtype, &tokens, origin).map_err(|e| invalid(rs, &v.data, &e.0))
        })
        .collect()
}

fn invalid(rs: &RecordSet, value: &str, e: &str) -> ProviderError {
    ProviderError::Invalid {
        record: rs.key().to_string(),
        message: format!("bad {} value {value:?}: {e}", rs.rtype),
    }
}

/// An UPDATE message (id `id`) carrying `changes` to `zone`, unsigned. `Err` for a value that
/// does not encode (nothing is sent).
pub fn update(id: u16, zone: &Name, changes: &[Change]) -> Result<Vec<u8>, ProviderError> {
    let mut prereq = Vec::new();
    let mut deletes = Vec::new();
    let mut adds = Vec::new();
    let (mut np, mut nu) = (0u16, 0u16);
    for c in changes {
        let (before, after) = match c {
            Change::Create { after } => (None, Some(after)),
            Change::Update { before, after } => (Some(before), Some(after)),
            Change::Delete { before } => (Some(before), None),
        };
        match (before, after) {
            (Some(b), _) => {
                for w in wire_values(b, zone)? {
                    put_rr(&mut prereq, &b.name, b.rtype, CLASS_IN, 0, &w);
                    np += 1;
                }
            }
            (None, Some(a)) => {
                put_rr(&mut prereq, &a.name, a.rtype, CLASS_NONE, 0, &[]);
                np += 1;
            }
            (None, None) => {}
        }
        if let Some(b) = before {
            let apex = b.name == *zone;
            match (apex, b.rtype) {
                // The new SOA replaces the old one when it is added.
                (true, RType::SOA) => {}
                (true, RType::NS) => {
                    let keep = after
                        .map(|a| wire_values(a, zone))
                        .transpose()?
                        .unwrap_or_default();
                    for w in wire_values(b, zone)? {
                        if !keep.contains(&w) {
                            put_rr(&mut deletes, &b.name, b.rtype, CLASS_NONE, 0, &w);
                            nu += 1;
                        }
                    }
                }
                _ => {
                    put_rr(&mut deletes, &b.name, b.rtype, CLASS_ANY, 0, &[]);
                    nu += 1;
                }
            }
        }
        if let Some(a) = after {
            for w in wire_values(a, zone)? {
                put_rr(&mut adds, &a.name, a.rtype, CLASS_IN, a.ttl, &w);
                nu += 1;
            }
        }
    }
    let mut m =
        Vec::with_capacity(12 + zone.wire().len() + 4 + prereq.len() + deletes.len() + adds.len());
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&(OPCODE_UPDATE << 11).to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    m.extend_from_slice(&np.to_be_bytes());
    m.extend_from_slice(&nu.to_be_bytes());
    m.extend_from_slice(&0u16.to_be_bytes());
    put_name(&mut m, zone);
    m.extend_from_slice(&RType::SOA.0.to_be_bytes());
    m.extend_from_slice(&CLASS_IN.to_be_bytes());
    m.extend_from_slice(&prereq);
    m.extend_from_slice(&deletes);
    m.extend_from_slice(&adds);
    Ok(m)
}

/// An AXFR query for `zone`.
pub fn axfr_query(id: u16, zone: &Name) -> Vec<u8> {
    let mut m = Vec::with_capacity(12 + zone.wire().len() + 4);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    put_name(&mut m, zone);
    m.extend_from_slice(&RType::AXFR.0.to_be_bytes());
    m.extend_from_slice(&CLASS_IN.to_be_bytes());
    m
}

/// The RCODE mnemonic of a header's 4-bit RCODE (`RCODE?` for an unassigned one).
pub fn rcode_name(rc: u8) -> &'static str {
    switchback_api::message::rcode_name(rc.into()).unwrap_or("RCODE?")
}

#[cfg(test)]
mod tests;
