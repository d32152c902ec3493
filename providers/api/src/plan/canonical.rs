//! Canonical order and normal form of record sets: the order keys of [`Zone::new`] and
//! value sets compared as sets.

use super::*;

/// The order key of a record set: canonical name order, SOA first at a name, then type
/// number, then set identifier (the order of [`Zone::new`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct OrderKey {
    pub(super) name: CanonName,
    pub(super) rank: u32,
    pub(super) set_identifier: Option<String>,
}

pub(super) fn order_key(rs: &RecordSet) -> OrderKey {
    OrderKey {
        name: CanonName::of(&rs.name),
        rank: type_rank(rs.rtype),
        set_identifier: rs.set_identifier.clone(),
    }
}

/// A name in DNSSEC canonical order (as `Name`'s `Ord`) as a plain slice comparison, computed
/// once: labels from the right, each octet as `octet + 1`, a 0 after each label (so a label
/// sorts before the labels it is a prefix of, and a name before the names below it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct CanonName(pub(super) Box<[u16]>);

impl CanonName {
    pub(super) fn of(name: &Name) -> CanonName {
        let labels: Vec<&[u8]> = name.labels().collect();
        let mut v = Vec::with_capacity(name.wire().len());
        for label in labels.iter().rev() {
            v.extend(label.iter().map(|&b| b as u16 + 1));
            v.push(0);
        }
        CanonName(v.into())
    }
}

/// [`OrderKey`] order without building the keys: `Name`'s `Ord` is the canonical order.
pub(super) fn key_cmp(a: &RecordSet, b: &RecordSet) -> Ordering {
    a.name
        .cmp(&b.name)
        .then_with(|| type_rank(a.rtype).cmp(&type_rank(b.rtype)))
        .then_with(|| a.set_identifier.cmp(&b.set_identifier))
}

/// Whether these sets are as [`index`] would give them: strictly in key order (so no key
/// twice) and each normalized. A zone made by [`Zone::new`] or read back from a store is;
/// then a diff or an apply is one merge instead of a map of every set.
pub(super) fn is_canonical(sets: &[&RecordSet]) -> bool {
    sets.windows(2)
        .all(|w| key_cmp(w[0], w[1]) == Ordering::Less)
        && sets.iter().all(|rs| is_normalized(rs))
}

pub(super) fn type_rank(t: RType) -> u32 {
    if t == RType::SOA { 0 } else { t.0 as u32 + 1 }
}

/// Record sets by key, normalized (borrowed when they already are). Two sets with the same key
/// (a malformed input) are merged: the values are joined, the first set's TTL and other
/// fields win.
pub(super) fn index<'a>(
    sets: impl Iterator<Item = &'a RecordSet>,
) -> BTreeMap<OrderKey, Cow<'a, RecordSet>> {
    let mut out: BTreeMap<OrderKey, Cow<'a, RecordSet>> = BTreeMap::new();
    for rs in sets {
        match out.entry(order_key(rs)) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(norm(rs));
            }
            std::collections::btree_map::Entry::Occupied(mut o) => {
                let e = o.get_mut().to_mut();
                e.values.extend(rs.values.iter().cloned());
                e.normalize();
            }
        }
    }
    out
}

/// The order of [`RecordSet::normalize`].
pub(super) fn value_cmp(a: &RecordValue, b: &RecordValue) -> Ordering {
    a.data.cmp(&b.data).then_with(|| {
        if a.fields.is_empty() && b.fields.is_empty() {
            Ordering::Equal
        } else {
            let key = |v: &RecordValue| {
                if v.fields.is_empty() {
                    String::new()
                } else {
                    serde_json::to_string(&v.fields).unwrap_or_default()
                }
            };
            key(a).cmp(&key(b))
        }
    })
}

pub(super) fn is_normalized(rs: &RecordSet) -> bool {
    rs.values
        .windows(2)
        .all(|w| value_cmp(&w[0], &w[1]) == Ordering::Less)
}

/// `rs` normalized, without a copy when it already is.
pub(super) fn norm(rs: &RecordSet) -> Cow<'_, RecordSet> {
    if is_normalized(rs) {
        Cow::Borrowed(rs)
    } else {
        let mut rs = rs.clone();
        rs.normalize();
        Cow::Owned(rs)
    }
}
