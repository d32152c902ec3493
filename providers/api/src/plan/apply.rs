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
    match c {
        Change::Create { after } => {
            let k = order_key(after);
            if sets.contains_key(&k) {
                return Err((true, "the record set already exists".into()));
            }
            sets.insert(k, norm(after).into_owned());
        }
        Change::Update { before, after } => {
            if order_key(before) != order_key(after) {
                return Err((
                    false,
                    format!(
                        "before and after are different record sets ({} vs {})",
                        before.key(),
                        after.key()
                    ),
                ));
            }
            check_before(sets, before).map_err(|r| (true, r))?;
            sets.insert(order_key(after), norm(after).into_owned());
        }
        Change::Delete { before } => {
            check_before(sets, before).map_err(|r| (true, r))?;
            sets.remove(&order_key(before));
        }
    }
    Ok(())
}

pub(super) fn check_before(
    sets: &BTreeMap<OrderKey, RecordSet>,
    before: &RecordSet,
) -> Result<(), String> {
    match sets.get(&order_key(before)) {
        None => Err("the record set does not exist".into()),
        Some(live) if *live != *norm(before) => Err(format!(
            "the live record set differs from the plan's `before` (live: {})",
            serde_json::to_string(live).unwrap_or_default()
        )),
        Some(_) => Ok(()),
    }
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
