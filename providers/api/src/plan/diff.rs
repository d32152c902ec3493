//! Existing vs desired record sets -> deletes, updates, creates (the order the module doc of
//! [`super`] explains).

use super::*;

/// The SOA RDATA with its serial (third field) replaced by `serial`; `None` when it does not
/// look like an SOA in presentation form.
pub(super) fn soa_with_serial(data: &str, serial: &str) -> Option<String> {
    let fields: Vec<&str> = data.split_ascii_whitespace().collect();
    if fields.len() != 7 {
        return None;
    }
    let mut out = String::with_capacity(data.len());
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(if i == 2 { serial } else { f });
    }
    Some(out)
}

pub(super) fn soa_serial(data: &str) -> Option<&str> {
    let mut it = data.split_ascii_whitespace();
    let serial = it.nth(2)?;
    (it.count() == 4).then_some(serial)
}

/// An SOA set with every serial masked out (for comparisons that ignore it).
pub(super) fn mask_soa_serial(rs: &RecordSet) -> RecordSet {
    let mut out = rs.clone();
    for v in &mut out.values {
        if let Some(masked) = soa_with_serial(&v.data, "0") {
            v.data = masked;
        }
    }
    out.normalize();
    out
}

pub(super) fn same(existing: &RecordSet, desired: &RecordSet, opts: &DiffOptions) -> bool {
    if existing == desired {
        return true;
    }
    opts.provider_manages_soa_serial
        && existing.rtype == RType::SOA
        && mask_soa_serial(existing) == mask_soa_serial(desired)
}

/// The `after` of an update: the desired set, except that an SOA keeps the existing serial when
/// the provider owns it (the provider bumps it when it applies the change).
pub(super) fn update_after(
    existing: &RecordSet,
    desired: &RecordSet,
    opts: &DiffOptions,
) -> RecordSet {
    let mut after = desired.clone();
    if opts.provider_manages_soa_serial && after.rtype == RType::SOA {
        if let Some(serial) = existing.values.first().and_then(|v| soa_serial(&v.data)) {
            for v in &mut after.values {
                if let Some(kept) = soa_with_serial(&v.data, serial) {
                    v.data = kept;
                }
            }
            after.normalize();
        }
    }
    after
}

/// Existing vs desired -> changes, in a stable order (see the module documentation).
///
/// Record sets are keyed by `(name, type, set_identifier)`. A set present on both sides and
/// different in anything (TTL, values as a set, weight, per-value fields, set-level fields) is
/// an update; one only in `existing` a delete; one only in `desired` a create.
pub fn diff(existing: &Zone, desired: &Zone, opts: &DiffOptions) -> Vec<Change> {
    let ex: Vec<&RecordSet> = existing
        .record_sets
        .iter()
        .filter(|rs| opts.selects(rs))
        .collect();
    let de: Vec<&RecordSet> = desired
        .record_sets
        .iter()
        .filter(|rs| opts.selects(rs))
        .collect();
    if is_canonical(&ex) && is_canonical(&de) {
        return merged(&ex, &de, opts);
    }
    let ex = index(ex.into_iter());
    let de = index(de.into_iter());
    let mut deletes = Vec::new();
    let mut updates = Vec::new();
    for (k, e) in &ex {
        match de.get(k) {
            None => deletes.push(Change::Delete {
                before: e.clone().into_owned(),
            }),
            Some(d) if !same(e, d, opts) => updates.push(Change::Update {
                before: e.clone().into_owned(),
                after: update_after(e, d, opts),
            }),
            Some(_) => {}
        }
    }
    let creates = de
        .iter()
        .filter(|(k, _)| !ex.contains_key(k))
        .map(|(_, d)| Change::Create {
            after: d.clone().into_owned(),
        });
    // BTreeMap iteration already gives canonical key order inside each group.
    let mut out = deletes;
    out.extend(updates);
    out.extend(creates);
    out
}

/// [`diff`] of two canonical set lists: one pass over both, in the same order of changes.
fn merged(ex: &[&RecordSet], de: &[&RecordSet], opts: &DiffOptions) -> Vec<Change> {
    let mut deletes = Vec::new();
    let mut updates = Vec::new();
    let mut creates = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < ex.len() || j < de.len() {
        let order = match (ex.get(i), de.get(j)) {
            (Some(e), Some(d)) => key_cmp(e, d),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        match order {
            Ordering::Less => {
                deletes.push(Change::Delete {
                    before: ex[i].clone(),
                });
                i += 1;
            }
            Ordering::Greater => {
                creates.push(Change::Create {
                    after: de[j].clone(),
                });
                j += 1;
            }
            Ordering::Equal => {
                let (e, d) = (ex[i], de[j]);
                if !same(e, d, opts) {
                    updates.push(Change::Update {
                        before: e.clone(),
                        after: update_after(e, d, opts),
                    });
                }
                i += 1;
                j += 1;
            }
        }
    }
    deletes.append(&mut updates);
    deletes.append(&mut creates);
    deletes
}
