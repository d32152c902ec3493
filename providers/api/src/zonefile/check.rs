//! Semantic checks on a parsed zone.

use std::collections::{HashMap, HashSet};

use crate::name::{wire_is_subdomain, wire_parent};
use crate::{Name, RType};

use super::parsed::Packed;
use super::{ParsedZone, ZoneError};

/// Semantic checks, each error at the file and line of the offending record (zone-wide errors
/// at line 0 of the zone file, or at the apex SOA):
/// - a CNAME with other data at its name, or two different CNAMEs (RFC 1034 §3.6.2; RRSIG and
///   NSEC may sit beside a CNAME, RFC 4035 §2.5);
/// - no SOA at the apex, more than one SOA, an SOA below the apex;
/// - no NS at the apex;
/// - names outside the zone;
/// - data occluded by a delegation (below an NS cut only A/AAAA glue; at the cut only NS, DS,
///   glue and DNSSEC records) or by a DNAME (nothing below it).
///
/// TTLs that differ inside an RRset are not an error: the set takes the first (RFC 2181 §5.2).
pub fn check(zone: &ParsedZone) -> Vec<ZoneError> {
    check_records(zone, true)
}

#[derive(Default)]
struct AtName {
    cname: Option<usize>,
    other: bool,
}

/// A name of the zone in presentation form, for a message (names are kept in wire form).
fn show(wire: &[u8]) -> Name {
    Name::from_own_wire(wire)
}

pub(super) fn check_records(zone: &ParsedZone, whole_zone: bool) -> Vec<ZoneError> {
    let origin = &zone.origin;
    let apex = origin.wire();
    let recs = zone.packed();
    let mut errs: Vec<(usize, ZoneError)> = Vec::new();
    let err = |errs: &mut Vec<(usize, ZoneError)>, i: usize, r: &Packed, message: String| {
        errs.push((i, ZoneError::new(zone.file_of(r), zone.line(r), message)));
    };

    let mut at: HashMap<&[u8], AtName> = HashMap::new();
    let mut soa: Option<usize> = None;
    let mut apex_ns = false;
    let mut cuts: HashSet<&[u8]> = HashSet::new();
    let mut dnames: HashSet<&[u8]> = HashSet::new();

    for (i, r) in recs.iter().enumerate() {
        let name = zone.name_wire(r);
        if !wire_is_subdomain(name, apex) {
            err(
                &mut errs,
                i,
                r,
                format!("{} is outside the zone {origin}", show(name)),
            );
            continue;
        }
        let is_apex = name == apex;
        match r.rtype {
            RType::SOA if !is_apex => err(
                &mut errs,
                i,
                r,
                format!(
                    "SOA record at {} is not at the zone apex {origin}",
                    show(name)
                ),
            ),
            RType::SOA if soa.is_some() => {
                err(&mut errs, i, r, format!("duplicate SOA record at {origin}"))
            }
            RType::SOA => soa = Some(i),
            RType::NS if is_apex => apex_ns = true,
            RType::NS => {
                cuts.insert(name);
            }
            RType::DNAME => {
                dnames.insert(name);
            }
            _ => {}
        }
        let a = at.entry(name).or_default();
        match r.rtype {
            RType::CNAME => match a.cname {
                Some(j) if zone.data(&recs[j]) != zone.data(r) => {
                    err(
                        &mut errs,
                        i,
                        r,
                        format!("more than one CNAME at {}", show(name)),
                    );
                }
                Some(_) => {}
                None => {
                    if a.other {
                        err(
                            &mut errs,
                            i,
                            r,
                            format!("CNAME and other data at {} (RFC 1034 §3.6.2)", show(name)),
                        );
                    }
                    a.cname = Some(i);
                }
            },
            RType::RRSIG | RType::NSEC => {}
            _ => {
                if a.cname.is_some() {
                    err(
                        &mut errs,
                        i,
                        r,
                        format!("CNAME and other data at {} (RFC 1034 §3.6.2)", show(name)),
                    );
                }
                a.other = true;
            }
        }
    }
    drop(at);

    // Occlusion: walk each in-zone name's ancestors up to (not including) the apex.
    if !cuts.is_empty() || !dnames.is_empty() {
        for (i, r) in recs.iter().enumerate() {
            let name = zone.name_wire(r);
            if !wire_is_subdomain(name, apex) || name == apex {
                continue;
            }
            let mut cut: Option<&[u8]> = None;
            let mut dname: Option<&[u8]> = None;
            let mut up = wire_parent(name);
            while let Some(n) = up {
                if n == apex {
                    break;
                }
                if cuts.contains(n) {
                    cut = Some(n);
                }
                if dnames.contains(n) {
                    dname = Some(n);
                }
                up = wire_parent(n);
            }
            let glue = matches!(r.rtype, RType::A | RType::AAAA);
            if let Some(d) = dname {
                err(
                    &mut errs,
                    i,
                    r,
                    format!(
                        "{} {} is occluded by the DNAME at {}",
                        show(name),
                        r.rtype,
                        show(d)
                    ),
                );
            } else if let Some(c) = cut {
                if !glue {
                    err(
                        &mut errs,
                        i,
                        r,
                        format!(
                            "{} {} is below the delegation at {} (only A/AAAA glue may be there)",
                            show(name),
                            r.rtype,
                            show(c)
                        ),
                    );
                }
            } else if cuts.contains(name)
                && !glue
                && !matches!(
                    r.rtype,
                    RType::NS | RType::DS | RType::RRSIG | RType::NSEC | RType::CNAME
                )
            {
                // (A CNAME there is already "CNAME and other data".)
                let name = show(name);
                err(
                    &mut errs,
                    i,
                    r,
                    format!(
                        "{name} {} is at the delegation point {name} (only NS, DS and A/AAAA glue may be there)",
                        r.rtype
                    ),
                );
            }
        }
    }

    errs.sort_by_key(|(i, _)| *i);
    let mut out: Vec<ZoneError> = Vec::new();
    if whole_zone {
        match soa {
            None => out.push(ZoneError::new(
                &zone.file,
                0,
                format!("no SOA record at the zone apex {origin}"),
            )),
            Some(i) if !apex_ns => {
                let r = &recs[i];
                out.push(ZoneError::new(
                    zone.file_of(r),
                    zone.line(r),
                    format!("no NS records at the zone apex {origin}"),
                ));
            }
            Some(_) => {}
        }
        if soa.is_none() && !apex_ns {
            out.push(ZoneError::new(
                &zone.file,
                0,
                format!("no NS records at the zone apex {origin}"),
            ));
        }
    }
    out.extend(errs.into_iter().map(|(_, e)| e));
    out
}
