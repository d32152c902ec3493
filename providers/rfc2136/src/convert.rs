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

/// One record of a message, its RDATA uncompressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireRecord {
    pub owner: Name,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    pub rdata: Vec<u8>,
}

/// A message's header fields and answer records.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub id: u16,
    pub rcode: u8,
    pub answers: Vec<WireRecord>,
}

fn bad(what: &str) -> String {
    format!("malformed DNS message from the server: {what}")
}

fn u16_at(m: &[u8], at: usize) -> Result<u16, String> {
    m.get(at..at + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or_else(|| bad("truncated"))
}

/// A name at `at` (pointers followed), and the offset after it where it was written.
fn read_name(m: &[u8], at: usize) -> Result<(Vec<u8>, usize), String> {
    let mut out = Vec::with_capacity(32);
    let (mut p, mut after, mut jumps) = (at, None, 0);
    loop {
        let len = *m.get(p).ok_or_else(|| bad("truncated name"))? as usize;
        if len & 0xC0 == 0xC0 {
            let lo = *m.get(p + 1).ok_or_else(|| bad("truncated pointer"))? as usize;
            after.get_or_insert(p + 2);
            jumps += 1;
            if jumps > 64 {
                return Err(bad("compression loop"));
            }
            p = ((len & 0x3F) << 8) | lo;
            continue;
        }
        if len & 0xC0 != 0 {
            return Err(bad("bad label type"));
        }
        out.push(len as u8);
        if len == 0 {
            break;
        }
        out.extend_from_slice(
            m.get(p + 1..p + 1 + len)
                .ok_or_else(|| bad("truncated label"))?,
        );
        if out.len() > 255 {
            return Err(bad("name longer than 255 octets"));
        }
        p += 1 + len;
    }
    Ok((out, after.unwrap_or(p + 1)))
}

/// One field of an RDATA layout, for expanding compressed names.
#[derive(Clone, Copy)]
enum Field {
    Fixed(usize),
    Name,
    CharString,
}

/// Where names sit in the RDATA of the types a server may compress (RFC 1035 types, and those
/// RFC 3597 §4 says to decompress: SRV, NAPTR).
fn layout(rtype: u16) -> Option<&'static [Field]> {
    use Field::*;
    Some(match RType(rtype) {
        RType::NS | RType::CNAME | RType::PTR | RType::DNAME => &[Name],
        RType::SOA => &[Name, Name, Fixed(20)],
        RType::MX => &[Fixed(2), Name],
        RType::SRV => &[Fixed(6), Name],
        RType::NAPTR => &[Fixed(4), CharString, CharString, CharString, Name],
        _ => return None,
    })
}

/// The RDATA at `start..start + len` of `m`, names expanded.
fn rdata_of(m: &[u8], rtype: u16, start: usize, len: usize) -> Result<Vec<u8>, String> {
    let end = start + len;
    let raw = m.get(start..end).ok_or_else(|| bad("truncated RDATA"))?;
    let Some(fields) = layout(rtype) else {
        return Ok(raw.to_vec());
    };
    let mut out = Vec::with_capacity(len + 16);
    let mut p = start;
    for f in fields {
        match *f {
            Field::Fixed(n) => {
                out.extend_from_slice(
                    m.get(p..p + n)
                        .filter(|_| p + n <= end)
                        .ok_or_else(|| bad("truncated RDATA"))?,
                );
                p += n;
            }
            Field::CharString => {
                let n = *m
                    .get(p)
                    .filter(|_| p < end)
                    .ok_or_else(|| bad("truncated RDATA"))? as usize;
                out.extend_from_slice(
                    m.get(p..p + 1 + n)
                        .filter(|_| p + 1 + n <= end)
                        .ok_or_else(|| bad("truncated RDATA"))?,
                );
                p += 1 + n;
            }
            Field::Name => {
                let (name, next) = read_name(m, p)?;
                out.extend(name.iter().map(u8::to_ascii_lowercase));
                p = next;
            }
        }
    }
    if p != end {
        return Err(bad("RDATA longer than its fields"));
    }
    Ok(out)
}

/// Reads a whole message: the header and the answer section (the question is skipped; the
/// authority and additional sections are not needed by AXFR or UPDATE answers).
pub fn parse(m: &[u8]) -> Result<Parsed, String> {
    if m.len() < 12 {
        return Err(bad("shorter than a header"));
    }
    let id = u16_at(m, 0)?;
    let rcode = m[3] & 0x0F;
    let qd = u16_at(m, 4)?;
    let an = u16_at(m, 6)?;
    let mut at = 12;
    for _ in 0..qd {
        at = read_name(m, at)?.1 + 4;
    }
    let mut answers = Vec::with_capacity(an as usize);
    for _ in 0..an {
        let (owner, next) = read_name(m, at)?;
        let rtype = u16_at(m, next)?;
        let class = u16_at(m, next + 2)?;
        let ttl = u32::from(u16_at(m, next + 4)?) << 16 | u32::from(u16_at(m, next + 6)?);
        let rdlen = u16_at(m, next + 8)? as usize;
        let rdata = rdata_of(m, rtype, next + 10, rdlen)?;
        at = next + 10 + rdlen;
        let owner = Name::from_wire(&owner.to_ascii_lowercase()).ok_or_else(|| bad("bad owner"))?;
        answers.push(WireRecord {
            owner,
            rtype,
            class,
            ttl,
            rdata,
        });
    }
    Ok(Parsed { id, rcode, answers })
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
        let (before, after) = (c.before(), c.after());
        let key = after.or(before).expect("a change has a set");
        let apex = key.name == *zone;
        match before {
            Some(b) => {
                for w in wire_values(b, zone)? {
                    put_rr(&mut prereq, &b.name, b.rtype, CLASS_IN, 0, &w);
                    np += 1;
                }
            }
            None => {
                let a = after.expect("a create has an after");
                put_rr(&mut prereq, &a.name, a.rtype, CLASS_NONE, 0, &[]);
                np += 1;
            }
        }
        if let Some(b) = before {
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

/// The RCODE mnemonic (RFC 2136 §2.2 adds YXDOMAIN..NOTZONE).
pub fn rcode_name(rc: u8) -> &'static str {
    match rc {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        _ => "RCODE?",
    }
}

#[cfg(test)]
mod tests;
