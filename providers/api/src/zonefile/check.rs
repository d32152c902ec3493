//! Semantic checks on a parsed zone.

use std::collections::{HashMap, HashSet};

use crate::{Name, RType};

use super::{ParsedRecord, ParsedZone, ZoneError};

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

pub(super) fn check_records(zone: &ParsedZone, whole_zone: bool) -> Vec<ZoneError> {
    let origin = &zone.origin;
    let recs = &zone.records;
    let mut errs: Vec<(usize, ZoneError)> = Vec::new();
    let err = |errs: &mut Vec<(usize, ZoneError)>, i: usize, r: &ParsedRecord, message: String| {
        errs.push((i, ZoneError::new(&*r.file, r.line, message)));
    };

    let mut at: HashMap<&Name, AtName> = HashMap::new();
    let mut soa: Option<usize> = None;
    let mut apex_ns = false;
    let mut cuts: HashSet<&Name> = HashSet::new();
    let mut dnames: HashSet<&Name> = HashSet::new();

    for (i, r) in recs.iter().enumerate() {
        if !r.name.is_subdomain_of(origin) {
            err(
                &mut errs,
                i,
                r,
                format!("{} is outside the zone {origin}", r.name),
            );
            continue;
        }
        let apex = r.name == *origin;
        match r.rtype {
            RType::SOA if !apex => err(
                &mut errs,
                i,
                r,
                format!("SOA record at {} is not at the zone apex {origin}", r.name),
            ),
            RType::SOA if soa.is_some() => {
                err(&mut errs, i, r, format!("duplicate SOA record at {origin}"))
            }
            RType::SOA => soa = Some(i),
            RType::NS if apex => apex_ns = true,
            RType::NS => {
                cuts.insert(&r.name);
            }
            RType::DNAME => {
                dnames.insert(&r.name);
            }
            _ => {}
        }
        let a = at.entry(&r.name).or_default();
        match r.rtype {
            RType::CNAME => match a.cname {
                Some(j) if recs[j].data != r.data => {
                    err(
                        &mut errs,
                        i,
                        r,
                        format!("more than one CNAME at {}", r.name),
                    );
                }
                Some(_) => {}
                None => {
                    if a.other {
                        err(
                            &mut errs,
                            i,
                            r,
                            format!("CNAME and other data at {} (RFC 1034 §3.6.2)", r.name),
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
                        format!("CNAME and other data at {} (RFC 1034 §3.6.2)", r.name),
                    );
                }
                a.other = true;
            }
        }
    }

    // Occlusion: walk each in-zone name's ancestors up to (not including) the apex.
    if !cuts.is_empty() || !dnames.is_empty() {
        for (i, r) in recs.iter().enumerate() {
            if !r.name.is_subdomain_of(origin) || r.name == *origin {
                continue;
            }
            let mut cut: Option<Name> = None;
            let mut dname: Option<Name> = None;
            let mut up = r.name.parent();
            while let Some(n) = up {
                if n == *origin {
                    break;
                }
                if cuts.contains(&n) {
                    cut = Some(n.clone());
                }
                if dnames.contains(&n) {
                    dname = Some(n.clone());
                }
                up = n.parent();
            }
            let glue = matches!(r.rtype, RType::A | RType::AAAA);
            if let Some(d) = dname {
                err(
                    &mut errs,
                    i,
                    r,
                    format!("{} {} is occluded by the DNAME at {d}", r.name, r.rtype),
                );
            } else if let Some(c) = cut {
                if !glue {
                    err(
                        &mut errs,
                        i,
                        r,
                        format!(
                            "{} {} is below the delegation at {c} (only A/AAAA glue may be there)",
                            r.name, r.rtype
                        ),
                    );
                }
            } else if cuts.contains(&r.name)
                && !glue
                && !matches!(
                    r.rtype,
                    RType::NS | RType::DS | RType::RRSIG | RType::NSEC | RType::CNAME
                )
            {
                // (A CNAME there is already "CNAME and other data".)
                err(
                    &mut errs,
                    i,
                    r,
                    format!(
                        "{} {} is at the delegation point {} (only NS, DS and A/AAAA glue may be there)",
                        r.name, r.rtype, r.name
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
                    &*r.file,
                    r.line,
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
