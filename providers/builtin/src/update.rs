//! RFC 2136 UPDATE into the built-in server: the message read ([`parse`]), its prerequisites
//! evaluated and its updates applied to a copy of the live zone ([`evaluate`]), as pure
//! functions. Who may update (`allow_update`), what may be updated (not a record set of a
//! cutover in progress) and the apply itself (one plan through the same path as every other
//! change: journal, serial bump, IXFR, NOTIFY, audit log) belong to the application, behind
//! [`UpdateHandler`].

use std::collections::BTreeMap;
use std::net::IpAddr;

use async_trait::async_trait;
use switchback_api::message::{self, Record};
use switchback_api::{Name, RType, RecordSet, RecordValue, Zone, rdata};

use crate::wire::rcode;

const CLASS_IN: u16 = 1;
const CLASS_NONE: u16 = 254;
const CLASS_ANY: u16 = 255;
pub const OPCODE_UPDATE: u8 = 5;

/// RFC 2136 RCODEs beyond RFC 1035's.
pub mod rcodes {
    pub const YXDOMAIN: u8 = 6;
    pub const YXRRSET: u8 = 7;
    pub const NXRRSET: u8 = 8;
    pub const NOTAUTH: u8 = 9;
    pub const NOTZONE: u8 = 10;
}
use rcodes::*;

/// An UPDATE message, read.
#[derive(Debug, Clone)]
pub struct Update {
    pub id: u16,
    pub zone: Name,
    pub prerequisites: Vec<Record>,
    pub updates: Vec<Record>,
}

/// Whether `msg` is an UPDATE (opcode 5): checked on the header alone.
pub fn is_update(msg: &[u8]) -> bool {
    msg.len() >= 12 && (msg[2] >> 3) & 0x0F == OPCODE_UPDATE && msg[2] & 0x80 == 0
}

/// Reads an UPDATE (RFC 2136 §3.1.1: one zone, type SOA); `Err(FORMERR)` otherwise.
pub fn parse(msg: &[u8]) -> Result<Update, u8> {
    let m = message::parse(msg).map_err(|_| rcode::FORMERR)?;
    let [z] = m.questions.as_slice() else {
        return Err(rcode::FORMERR);
    };
    if z.qtype != RType::SOA.0 || z.qclass != CLASS_IN {
        return Err(rcode::FORMERR);
    }
    Ok(Update {
        id: m.id,
        zone: z.name.clone(),
        prerequisites: m.answers,
        updates: m.authority,
    })
}

/// What the application says of an UPDATE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateAnswer {
    pub rcode: u8,
    /// Extended DNS Error text (RFC 8914, code 18 "Prohibited" or 0 "Other"), when the client
    /// sent EDNS.
    pub ede: Option<(u16, String)>,
}

impl UpdateAnswer {
    pub fn rcode(rcode: u8) -> UpdateAnswer {
        UpdateAnswer { rcode, ede: None }
    }
}

/// One UPDATE request, authenticated: `key` when it was validly signed.
#[derive(Debug)]
pub struct UpdateRequest<'a> {
    pub update: &'a Update,
    pub key: Option<&'a Name>,
    pub peer: IpAddr,
}

/// The application's side of an UPDATE: evaluate it against the live zone ([`evaluate`]),
/// decide whether it may be applied, apply it.
#[async_trait]
pub trait UpdateHandler: Send + Sync + std::fmt::Debug {
    async fn update(&self, req: UpdateRequest<'_>) -> UpdateAnswer;
}

fn is_meta(t: u16) -> bool {
    matches!(t, 0 | 41 | 249 | 250 | 251 | 252 | 253 | 254 | 255)
}

/// The presentation form of a record's RDATA (what the model holds).
fn text(r: &Record) -> Result<String, u8> {
    rdata::format(RType(r.rtype), &r.rdata).map_err(|_| rcode::FORMERR)
}

/// The zone `live` becomes by an UPDATE (RFC 2136 §3.2 prerequisites, §3.4 updates), or the
/// RCODE it fails with; the caller plans from `live` to it (the shared diff). Weighted record
/// sets (several sets with one name and type) are not changed by UPDATE: REFUSED.
pub fn evaluate(live: &Zone, u: &Update) -> Result<Zone, u8> {
    let zone = &live.origin;
    let in_zone = |n: &Name| n.is_subdomain_of(zone);
    // The plain sets of the zone, by (name, type).
    let mut sets: BTreeMap<(Name, RType), RecordSet> = BTreeMap::new();
    let mut weighted = std::collections::BTreeSet::new();
    for rs in &live.record_sets {
        if rs.set_identifier.is_some() {
            weighted.insert((rs.name.clone(), rs.rtype));
        } else {
            sets.insert((rs.name.clone(), rs.rtype), rs.clone());
        }
    }
    let name_in_use = |sets: &BTreeMap<(Name, RType), RecordSet>, n: &Name| {
        sets.keys().any(|(name, _)| name == n) || weighted.iter().any(|(name, _)| name == n)
    };

    // §3.2: prerequisites.
    let mut value_sets: BTreeMap<(Name, RType), Vec<String>> = BTreeMap::new();
    for p in &u.prerequisites {
        if p.ttl != 0 {
            return Err(rcode::FORMERR);
        }
        if !in_zone(&p.owner) {
            return Err(NOTZONE);
        }
        let t = RType(p.rtype);
        match p.class {
            CLASS_ANY | CLASS_NONE if !p.rdata.is_empty() => return Err(rcode::FORMERR),
            CLASS_ANY if p.rtype == 255 => {
                if !name_in_use(&sets, &p.owner) {
                    return Err(rcode::NXDOMAIN);
                }
            }
            CLASS_ANY => {
                if !sets.contains_key(&(p.owner.clone(), t))
                    && !weighted.contains(&(p.owner.clone(), t))
                {
                    return Err(NXRRSET);
                }
            }
            CLASS_NONE if p.rtype == 255 => {
                if name_in_use(&sets, &p.owner) {
                    return Err(YXDOMAIN);
                }
            }
            CLASS_NONE => {
                if sets.contains_key(&(p.owner.clone(), t))
                    || weighted.contains(&(p.owner.clone(), t))
                {
                    return Err(YXRRSET);
                }
            }
            CLASS_IN => value_sets
                .entry((p.owner.clone(), t))
                .or_default()
                .push(text(p)?),
            _ => return Err(rcode::FORMERR),
        }
    }
    for (key, mut want) in value_sets {
        let Some(have) = sets.get(&key) else {
            return Err(NXRRSET);
        };
        let mut have: Vec<String> = have.values.iter().map(|v| v.data.clone()).collect();
        want.sort();
        want.dedup();
        have.sort();
        if want != have {
            return Err(NXRRSET);
        }
    }

    // §3.4.1: prescan.
    for r in &u.updates {
        if !in_zone(&r.owner) {
            return Err(NOTZONE);
        }
        match r.class {
            CLASS_IN if is_meta(r.rtype) => return Err(rcode::FORMERR),
            CLASS_IN => {}
            CLASS_ANY if r.ttl != 0 || !r.rdata.is_empty() => return Err(rcode::FORMERR),
            CLASS_ANY if is_meta(r.rtype) && r.rtype != 255 => return Err(rcode::FORMERR),
            CLASS_ANY => {}
            CLASS_NONE if r.ttl != 0 || is_meta(r.rtype) => return Err(rcode::FORMERR),
            CLASS_NONE => {}
            _ => return Err(rcode::FORMERR),
        }
        let touched: Vec<RType> = if r.rtype == 255 {
            weighted
                .iter()
                .filter(|(n, _)| *n == r.owner)
                .map(|(_, t)| *t)
                .collect()
        } else {
            vec![RType(r.rtype)]
        };
        if touched
            .iter()
            .any(|t| weighted.contains(&(r.owner.clone(), *t)))
        {
            return Err(rcode::REFUSED);
        }
    }

    // §3.4.2: the updates, in order, on the working copy.
    for r in &u.updates {
        let t = RType(r.rtype);
        let apex = r.owner == *zone;
        match r.class {
            CLASS_IN => {
                let data = text(r)?;
                let has_cname = sets.contains_key(&(r.owner.clone(), RType::CNAME));
                let has_other = sets
                    .keys()
                    .any(|(n, ty)| *n == r.owner && *ty != RType::CNAME);
                // §3.4.2.2: no CNAME beside other data, either way round: ignored.
                if (t == RType::CNAME && has_other) || (t != RType::CNAME && has_cname) {
                    continue;
                }
                match sets.get_mut(&(r.owner.clone(), t)) {
                    // A CNAME or SOA set holds one record: replaced.
                    Some(rs) if t == RType::CNAME || t == RType::SOA => {
                        rs.values = vec![RecordValue::new(data)];
                        rs.ttl = r.ttl;
                    }
                    Some(rs) => {
                        if !rs.values.iter().any(|v| v.data == data) {
                            rs.values.push(RecordValue::new(data));
                        }
                        rs.ttl = r.ttl;
                    }
                    None => {
                        sets.insert(
                            (r.owner.clone(), t),
                            RecordSet::new(r.owner.clone(), t, r.ttl, [data]),
                        );
                    }
                }
            }
            CLASS_ANY if r.rtype == 255 => {
                sets.retain(|(n, ty), _| {
                    !(*n == r.owner && !(apex && matches!(*ty, RType::SOA | RType::NS)))
                });
            }
            CLASS_ANY => {
                if !(apex && matches!(t, RType::SOA | RType::NS)) {
                    sets.remove(&(r.owner.clone(), t));
                }
            }
            _ => {
                // CLASS_NONE: one record.
                if apex && t == RType::SOA {
                    continue;
                }
                let data = text(r)?;
                let key = (r.owner.clone(), t);
                if let Some(rs) = sets.get_mut(&key) {
                    if apex && t == RType::NS && rs.values.len() == 1 {
                        continue; // the last apex NS stays (§3.4.2.4)
                    }
                    rs.values.retain(|v| v.data != data);
                    if rs.values.is_empty() {
                        sets.remove(&key);
                    }
                }
            }
        }
    }

    // The zone after the update: the plain sets as updated, the weighted ones as they were.
    let mut record_sets: Vec<RecordSet> = sets.into_values().collect();
    record_sets.extend(
        live.record_sets
            .iter()
            .filter(|rs| rs.set_identifier.is_some())
            .cloned(),
    );
    Ok(Zone::new(zone.clone(), record_sets))
}

/// The answer to an UPDATE: the header (QR, opcode, the id, `rc`) and the zone section as the
/// client sent it (RFC 2136 §3.8), an OPT record (with an EDE option) when the client sent
/// EDNS.
pub fn answer(msg: &[u8], answer: &UpdateAnswer, out: &mut Vec<u8>) {
    out.clear();
    if msg.len() < 12 {
        return;
    }
    let edns = message::parse(msg)
        .ok()
        .and_then(|m| m.additional.iter().find(|r| r.rtype == 41).map(|_| ()))
        .is_some();
    out.extend_from_slice(&msg[0..2]);
    out.push(0x80 | (msg[2] & 0x78));
    out.push(answer.rcode & 0x0F);
    // The zone section: copied up to its end.
    let zone_end = message::read_name(msg, 12).map(|(_, e)| e + 4).ok();
    match zone_end.filter(|&e| e <= msg.len() && u16::from_be_bytes([msg[4], msg[5]]) == 1) {
        Some(end) => {
            out.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
            out.extend_from_slice(&msg[12..end]);
        }
        None => out.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]),
    }
    if edns {
        out.push(0);
        out.extend_from_slice(&41u16.to_be_bytes());
        out.extend_from_slice(&crate::wire::OUR_UDP_PAYLOAD.to_be_bytes());
        out.extend_from_slice(&[0, 0, 0, 0]);
        match &answer.ede {
            Some((code, text)) => {
                let text = &text.as_bytes()[..text.len().min(400)];
                let opt_len = 4 + 2 + text.len();
                out.extend_from_slice(&(opt_len as u16).to_be_bytes());
                out.extend_from_slice(&15u16.to_be_bytes()); // EDE (RFC 8914)
                out.extend_from_slice(&((2 + text.len()) as u16).to_be_bytes());
                out.extend_from_slice(&code.to_be_bytes());
                out.extend_from_slice(text);
            }
            None => out.extend_from_slice(&0u16.to_be_bytes()),
        }
        out[11] = 1;
    }
}

/// Answers the UPDATE `msg` from `peer` into `out`: its TSIG verified (RFC 8945; an UPDATE
/// signed with a key the server does not know, or badly, is NOTAUTH), `allow_update` checked
/// (REFUSED, with an EDE text), then the application's [`UpdateHandler`]; the answer is signed
/// with the request's key.
pub async fn serve(opts: &crate::ServerOptions, msg: &[u8], peer: IpAddr, out: &mut Vec<u8>) {
    use switchback_api::tsig::{self, Check};
    let now = crate::signed::now();
    let (key, mac, body) = match tsig::verify_request(msg, |n| opts.tsig.get(n), now) {
        Err(_) => {
            answer(msg, &UpdateAnswer::rcode(rcode::FORMERR), out);
            return;
        }
        Ok(Check::Failed(f)) => {
            tracing::info!(%peer, key = %f.key_name(), error = f.error_name(), "UPDATE: TSIG verification failed");
            answer(msg, &UpdateAnswer::rcode(NOTAUTH), out);
            // The error answer carries no OPT: the TSIG is the last record either way.
            f.append_to(out);
            return;
        }
        Ok(Check::Unsigned) => (None, None, msg.to_vec()),
        Ok(Check::Valid { key, mac, message }) => (Some(key), Some(mac), message),
    };
    let reply = |a: UpdateAnswer, out: &mut Vec<u8>| {
        answer(&body, &a, out);
        if let (Some(k), Some(m)) = (key, &mac) {
            tsig::sign(out, k, now, Some(m));
        }
    };
    let u = parse(&body);
    let acl = u
        .as_ref()
        .ok()
        .and_then(|u| opts.allow_update_zones.get(&u.zone))
        .unwrap_or(&opts.allow_update);
    if !acl.allows(peer, key) {
        tracing::info!(%peer, key = ?key.map(|k| k.name().to_string()), "UPDATE refused: not in allow_update");
        let text = match key {
            Some(_) => "this key may not update (allow_update)",
            None => "updates need a TSIG key listed in allow_update",
        };
        return reply(
            UpdateAnswer {
                rcode: rcode::REFUSED,
                ede: Some((18, text.into())),
            },
            out,
        );
    }
    let Some(handler) = &opts.updates else {
        return reply(UpdateAnswer::rcode(rcode::NOTIMP), out);
    };
    let u = match u {
        Ok(u) => u,
        Err(rc) => return reply(UpdateAnswer::rcode(rc), out),
    };
    let a = handler
        .update(UpdateRequest {
            update: &u,
            key: key.map(|k| k.name()),
            peer,
        })
        .await;
    reply(a, out);
}

#[cfg(test)]
mod tests;
