//! Writing a model zone as a master file.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::{RType, RecordSet, Zone};

/// Write a model zone as a master file that Knot and BIND load: `$ORIGIN`, `$TTL` (the most
/// common TTL), the apex SOA first, then the other sets in canonical order; owner names
/// relative to the origin where possible, one record per line, values as stored (canonical
/// presentation, TXT as quoted strings). Set identifiers, weights and provider fields have no
/// master-file form: they are shown in a comment above their set.
pub fn write_zone(zone: &Zone) -> String {
    let origin = &zone.origin;
    let mut out = String::new();
    let _ = writeln!(out, "$ORIGIN {origin}");

    let mut counts: BTreeMap<u32, usize> = BTreeMap::new();
    for rs in &zone.record_sets {
        *counts.entry(rs.ttl).or_default() += rs.values.len();
    }
    // Most common TTL; the lowest on a tie.
    let default_ttl = counts
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(&ttl, _)| ttl);
    if let Some(ttl) = default_ttl {
        let _ = writeln!(out, "$TTL {ttl}");
    }

    let mut sets: Vec<&RecordSet> = zone.record_sets.iter().collect();
    sets.sort_by(|a, b| {
        let key = |rs: &RecordSet| {
            let apex_soa = rs.rtype == RType::SOA && rs.name == *origin;
            (
                !apex_soa,
                rs.name.clone(),
                rs.rtype != RType::SOA,
                rs.rtype,
                rs.set_identifier.clone(),
            )
        };
        key(a).cmp(&key(b))
    });

    let width = sets
        .iter()
        .map(|rs| rs.name.relative_to(origin).len())
        .max()
        .unwrap_or(0)
        .min(40);
    for rs in sets {
        if rs.set_identifier.is_some() || rs.weight.is_some() || !rs.fields.is_empty() {
            let mut note = String::from(";");
            if let Some(id) = &rs.set_identifier {
                let _ = write!(
                    note,
                    " set_identifier={}",
                    serde_json::Value::from(id.as_str())
                );
            }
            if let Some(w) = rs.weight {
                let _ = write!(note, " weight={w}");
            }
            if !rs.fields.is_empty() {
                let _ = write!(
                    note,
                    " fields={}",
                    serde_json::to_string(&rs.fields).unwrap_or_default()
                );
            }
            out.push_str(&one_line(&note));
            out.push('\n');
        }
        let owner = rs.name.relative_to(origin);
        let ttl = if Some(rs.ttl) == default_ttl {
            String::new()
        } else {
            rs.ttl.to_string()
        };
        for v in &rs.values {
            let _ = writeln!(
                out,
                "{owner:<width$} {ttl:>6} IN {} {}",
                rs.rtype,
                one_line(&v.data)
            );
        }
    }
    out
}

/// Keep a value on one line: line breaks become `\DDD` escapes.
fn one_line(s: &str) -> String {
    if !s.contains(['\n', '\r']) {
        return s.to_string();
    }
    s.replace('\n', "\\010").replace('\r', "\\013")
}
