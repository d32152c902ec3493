//! Applying changes to a zone value: the reference semantics of `Provider::apply`, and the
//! RFC 1034 CNAME rule.

use super::*;

/// Why [`apply_changes`] refused a change set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("change {index} ({op} {key}): {reason}")]
pub struct ApplyError {
    /// Position of the refused change in the change set (from 0).
    pub index: usize,
    pub op: &'static str,
    pub key: RecordSetKey,
    pub reason: String,
    /// The live zone is not what the change was planned against (the set exists, is gone or
    /// differs): someone else changed it. `false`: the change itself is wrong.
    pub stale: bool,
}

/// Apply a change set to a zone value, all or nothing: a create needs the key to be absent; an
/// update or a delete needs the live set to equal its `before` exactly (values as a set). On
/// error `zone` is left as it was. The result is in canonical order ([`Zone::new`]).
///
/// This is the reference semantics of [`crate::Provider::apply`] (used by the test kit and
/// usable by providers that hold zones as values). It checks no CNAME rule: see
/// [`cname_conflicts`].
pub fn apply_changes(zone: &mut Zone, changes: &[Change]) -> Result<(), ApplyError> {
    apply_sorted(zone, changes).unwrap_or_else(|| apply_indexed(zone, changes))
}

/// [`apply_changes`] through a map of every set (any zone, canonical or not).
pub(super) fn apply_indexed(zone: &mut Zone, changes: &[Change]) -> Result<(), ApplyError> {
    let mut sets = owned_index(zone);
    for (i, c) in changes.iter().enumerate() {
        apply_one(&mut sets, c).map_err(|(stale, reason)| ApplyError {
            index: i,
            op: c.op(),
            key: c.key(),
            reason,
            stale,
        })?;
    }
    zone.record_sets = sets.into_values().collect();
    Ok(())
}

/// The check a provider makes against its live zone before it sends anything: in order, every
/// create's set is absent and every update's or delete's `before` is live exactly
/// ([`apply_changes`]'s rules, without keeping the result). So a change planned against a zone
/// someone changed since fails whole instead of clobbering it.
pub fn check_live(live: &Zone, changes: &[Change]) -> Result<(), ApplyError> {
    let mut zone = live.clone();
    apply_changes(&mut zone, changes)
}

/// Apply changes one at a time, calling `check` after each with the record sets now at the
/// changed name (for providers that validate every step, e.g. RFC 1034 CNAME exclusivity with
/// [`cname_conflict`], and for tests of the order of changes). All or nothing.
pub fn apply_changes_stepwise(
    zone: &mut Zone,
    changes: &[Change],
    mut check: impl FnMut(usize, &Change, &[RecordSet]) -> Result<(), String>,
) -> Result<(), ApplyError> {
    let mut sets = owned_index(zone);
    for (i, c) in changes.iter().enumerate() {
        let err = |(stale, reason)| ApplyError {
            index: i,
            op: c.op(),
            key: c.key(),
            reason,
            stale,
        };
        apply_one(&mut sets, c).map_err(err)?;
        let name = CanonName::of(&c.record_set().name);
        let start = OrderKey {
            name: name.clone(),
            rank: 0,
            set_identifier: None,
        };
        let here: Vec<RecordSet> = sets
            .range(start..)
            .take_while(|(k, _)| k.name == name)
            .map(|(_, rs)| rs.clone())
            .collect();
        check(i, c, &here).map_err(|reason| err((false, reason)))?;
    }
    zone.record_sets = sets.into_values().collect();
    Ok(())
}

pub(super) fn owned_index(zone: &Zone) -> BTreeMap<OrderKey, RecordSet> {
    index(zone.record_sets.iter())
        .into_iter()
        .map(|(k, v)| (k, v.into_owned()))
        .collect()
}

pub(super) fn apply_one(
    sets: &mut BTreeMap<OrderKey, RecordSet>,
    c: &Change,
) -> Result<(), (bool, String)> {
    let key = order_key(c.record_set());
    let mut here = sets.remove(&key).map(Cow::Owned);
    let result = step(&mut here, c);
    if let Some(rs) = here {
        sets.insert(key, rs.into_owned());
    }
    result
}

/// One change against the set live at its key (`None`: no set there), which it replaces only
/// when the change holds: a create needs no set, an update or a delete the set equal to its
/// `before`. The error: (stale, reason), stale when the live set is not what was planned.
fn step<'a>(here: &mut Option<Cow<'a, RecordSet>>, c: &'a Change) -> Result<(), (bool, String)> {
    match c {
        Change::Create { after } => {
            if here.is_some() {
                return Err((true, "the record set already exists".into()));
            }
            *here = Some(norm(after));
        }
        Change::Update { before, after } => {
            if key_cmp(before, after) != Ordering::Equal {
                return Err((
                    false,
                    format!(
                        "before and after are different record sets ({} vs {})",
                        before.key(),
                        after.key()
                    ),
                ));
            }
            check_before(here.as_deref(), before).map_err(|r| (true, r))?;
            *here = Some(norm(after));
        }
        Change::Delete { before } => {
            check_before(here.as_deref(), before).map_err(|r| (true, r))?;
            *here = None;
        }
    }
    Ok(())
}

pub(super) fn check_before(live: Option<&RecordSet>, before: &RecordSet) -> Result<(), String> {
    match live {
        None => Err("the record set does not exist".into()),
        Some(live) if *live != *norm(before) => Err(format!(
            "the live record set differs from the plan's `before` (live: {})",
            serde_json::to_string(live).unwrap_or_default()
        )),
        Some(_) => Ok(()),
    }
}

/// The first position from `from` whose set is not before `key` in a canonical list: a
/// galloping search, as many steps as the log of the distance (changes are dense in a zone
/// that changes much, and each key's search starts where the last one ended).
fn seek(sets: &[RecordSet], from: usize, key: &RecordSet) -> usize {
    let before = |i: usize| key_cmp(&sets[i], key) == Ordering::Less;
    let mut bound = 1;
    while from + bound <= sets.len() && before(from + bound - 1) {
        bound *= 2;
    }
    let (lo, hi) = (from + bound / 2, (from + bound).min(sets.len()));
    lo + sets[lo..hi].partition_point(|rs| key_cmp(rs, key) == Ordering::Less)
}

/// [`apply_changes`] on a canonical zone ([`is_canonical`]): the changes sorted by key (each
/// key's in their own order), each key's applied to its one live set (found by [`seek`]),
/// then one merge into the new list. Only the changed sets are copied. `None`: the zone is not
/// canonical.
pub(super) fn apply_sorted(zone: &mut Zone, changes: &[Change]) -> Option<Result<(), ApplyError>> {
    let all: Vec<&RecordSet> = zone.record_sets.iter().collect();
    if !is_canonical(&all) {
        return None;
    }
    let mut order: Vec<usize> = (0..changes.len()).collect();
    order.sort_by(|&a, &b| key_cmp(changes[a].record_set(), changes[b].record_set()));
    let sets = &zone.record_sets;
    // (position in `sets`, whether a set is there, what is there after the key's changes)
    let mut outcome: Vec<(usize, bool, Option<RecordSet>)> = Vec::with_capacity(changes.len());
    let mut failed: Option<ApplyError> = None;
    let mut at = 0;
    for group in order.chunk_by(|&a, &b| {
        key_cmp(changes[a].record_set(), changes[b].record_set()) == Ordering::Equal
    }) {
        let key = changes[group[0]].record_set();
        at = seek(sets, at, key);
        let found = sets
            .get(at)
            .is_some_and(|rs| key_cmp(rs, key) == Ordering::Equal);
        let mut here = found.then(|| Cow::Borrowed(&sets[at]));
        for &i in group {
            let c = &changes[i];
            if let Err((stale, reason)) = step(&mut here, c) {
                // The first refused change in the caller's order is the one reported: a
                // change's outcome depends only on the changes before it at its own key.
                if failed.as_ref().is_none_or(|f| i < f.index) {
                    failed = Some(ApplyError {
                        index: i,
                        op: c.op(),
                        key: c.key(),
                        reason,
                        stale,
                    });
                }
                break;
            }
        }
        if failed.is_none() {
            outcome.push((at, found, here.map(Cow::into_owned)));
        }
    }
    if let Some(e) = failed {
        return Some(Err(e));
    }
    if outcome
        .iter()
        .all(|(_, found, after)| *found == after.is_some())
    {
        // Updates only: each new set takes its old one's place (no second list).
        for (at, _, after) in outcome {
            if let Some(after) = after {
                zone.record_sets[at] = after;
            }
        }
        return Some(Ok(()));
    }
    let old = std::mem::take(&mut zone.record_sets);
    let created = outcome.iter().filter(|(_, f, a)| !f && a.is_some()).count();
    let deleted = outcome.iter().filter(|(_, f, a)| *f && a.is_none()).count();
    let mut out = Vec::with_capacity(old.len() + created - deleted);
    let mut old = old.into_iter().enumerate().peekable();
    for (at, found, after) in outcome {
        while let Some((_, rs)) = old.next_if(|(k, _)| *k < at) {
            out.push(rs);
        }
        if found {
            old.next();
        }
        out.extend(after);
    }
    out.extend(old.map(|(_, rs)| rs));
    zone.record_sets = out;
    Some(Ok(()))
}

/// Names where a CNAME shares its name with other data (RFC 1034 §3.6.2; RRSIG and NSEC may
/// accompany a CNAME, RFC 4035 §2.5). Several CNAME sets with different set identifiers
/// (a weighted pair) are not a conflict.
pub fn cname_conflicts(zone: &Zone) -> Vec<Name> {
    let mut by_name: BTreeMap<&Name, (bool, bool)> = BTreeMap::new();
    for rs in &zone.record_sets {
        let e = by_name.entry(&rs.name).or_default();
        if rs.rtype == RType::CNAME {
            e.0 = true;
        } else if !matches!(rs.rtype, RType::RRSIG | RType::NSEC) {
            e.1 = true;
        }
    }
    by_name
        .into_iter()
        .filter(|(_, (cname, other))| *cname && *other)
        .map(|(n, _)| n.clone())
        .collect()
}

/// Whether these record sets (all at one name) hold a CNAME beside other data (see
/// [`cname_conflicts`]).
pub fn cname_conflict(sets_at_one_name: &[RecordSet]) -> bool {
    let cname = sets_at_one_name.iter().any(|rs| rs.rtype == RType::CNAME);
    cname
        && sets_at_one_name
            .iter()
            .any(|rs| !matches!(rs.rtype, RType::CNAME | RType::RRSIG | RType::NSEC))
}

/// Two zones equal except for SOA serials (a provider that owns the serial bumps it).
pub fn equal_ignoring_soa_serial(a: &Zone, b: &Zone) -> bool {
    let opts = DiffOptions {
        only: Vec::new(),
        provider_manages_soa_serial: true,
    };
    a.origin == b.origin && diff(a, b, &opts).is_empty()
}
