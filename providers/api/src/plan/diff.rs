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

/// [`diff`] of two canonical set lists, in the same order of changes: deletes, updates,
/// creates. One walk counts them and one per group fills a list of the exact size (no group
/// is built apart and then copied behind another).
fn merged(ex: &[&RecordSet], de: &[&RecordSet], opts: &DiffOptions) -> Vec<Change> {
    let mut counts = [0usize; 3];
    walk(ex, de, opts, |group, _, _| counts[group] += 1);
    let mut out = Vec::with_capacity(counts.iter().sum());
    for (wanted, _) in counts.iter().enumerate().filter(|(_, n)| **n > 0) {
        walk(ex, de, opts, |group, e, d| {
            if group != wanted {
                return;
            }
            out.push(match (e, d) {
                (Some(e), Some(d)) => Change::Update {
                    before: e.clone(),
                    after: update_after(e, d, opts),
                },
                (Some(e), None) => Change::Delete { before: e.clone() },
                (None, Some(d)) => Change::Create { after: d.clone() },
                (None, None) => return,
            });
        });
    }
    out
}

/// One pass over two canonical set lists, calling `f` with each difference: group 0 a set
/// only in `ex` (a delete), 1 a set in both that differs (an update), 2 a set only in `de`.
fn walk<'a>(
    ex: &[&'a RecordSet],
    de: &[&'a RecordSet],
    opts: &DiffOptions,
    mut f: impl FnMut(usize, Option<&'a RecordSet>, Option<&'a RecordSet>),
) {
    let (mut i, mut j) = (0, 0);
    loop {
        let order = match (ex.get(i), de.get(j)) {
            (Some(e), Some(d)) => key_cmp(e, d),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => return,
        };
        match order {
            Ordering::Less => {
                f(0, Some(ex[i]), None);
                i += 1;
            }
            Ordering::Greater => {
                f(2, None, Some(de[j]));
                j += 1;
            }
            Ordering::Equal => {
                if !same(ex[i], de[j], opts) {
                    f(1, Some(ex[i]), Some(de[j]));
                }
                i += 1;
                j += 1;
            }
        }
    }
}
