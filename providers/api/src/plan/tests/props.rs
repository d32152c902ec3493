//! Property tests of the diff engine, the record-level view, the checksum and the order.

use proptest::prelude::*;

use super::*;

const NAMES: &[&str] = &["@", "www", "a", "b", "mail", "x.y", "*.w"];
const TYPES: &[RType] = &[RType::A, RType::AAAA, RType::TXT, RType::MX, RType::CNAME];
const TTLS: &[u32] = &[1, 60, 300, 3600];

fn value_pool(t: RType) -> &'static [&'static str] {
    match t {
        RType::A => &["192.0.2.1", "192.0.2.2", "198.51.100.7", "203.0.113.255"],
        RType::AAAA => &["2001:db8::1", "2001:db8::2", "::ffff:192.0.2.1"],
        RType::TXT => &[
            "\"hello\"",
            "\"a\" \"b\"",
            "\"\"",
            "\"q\\\"q\\\\\"",
            "\"\\195\\169\"",
        ],
        RType::MX => &["10 mail.example.com.", "20 mx.example.net.", "0 ."],
        _ => &["target.example.net.", "www.example.com.", "lb.example.org."],
    }
}

/// One generated record set: name, type, set identifier/weight, TTL, values, fields.
type Spec = (
    usize,
    usize,
    Option<(u8, u32)>,
    usize,
    Vec<(usize, bool)>,
    bool,
);

fn spec() -> impl Strategy<Value = Spec> {
    (
        0..NAMES.len(),
        0..TYPES.len(),
        proptest::option::weighted(0.25, (0u8..3, 0u32..=100)),
        0..TTLS.len(),
        proptest::collection::vec((0usize..5, proptest::bool::weighted(0.15)), 1..4),
        proptest::bool::weighted(0.15),
    )
}

fn build(specs: Vec<Spec>) -> Zone {
    let o = origin();
    let mut by_key: BTreeMap<RecordSetKey, RecordSet> = BTreeMap::new();
    for (ni, ti, w, ttl, vals, set_field) in specs {
        let name = Name::parse(NAMES[ni], Some(&o)).unwrap();
        let rtype = TYPES[ti];
        let pool = value_pool(rtype);
        let mut values: Vec<RecordValue> = vals
            .into_iter()
            .map(|(vi, field)| {
                let mut v = RecordValue::new(pool[vi % pool.len()]);
                if field {
                    v.fields.insert("comment".into(), serde_json::json!("c"));
                }
                v
            })
            .collect();
        if rtype == RType::CNAME {
            values.truncate(1);
        }
        let mut set = RecordSet {
            name,
            rtype,
            set_identifier: w.map(|(id, _)| format!("id{id}")),
            ttl: TTLS[ttl],
            weight: w.map(|(_, w)| w),
            values,
            fields: Fields::new(),
        };
        if set_field {
            set.fields.insert("proxied".into(), serde_json::json!(true));
        }
        set.normalize();
        by_key.insert(set.key(), set);
    }
    Zone::new(o, by_key.into_values().collect())
}

fn zone_strategy() -> impl Strategy<Value = Zone> {
    proptest::collection::vec(spec(), 0..14).prop_map(build)
}

/// Record-level apply: records are single-value sets; the zone is regrouped afterwards.
fn apply_record_changes(zone: &Zone, changes: &[RecordChange]) -> Result<Zone, String> {
    let mut recs: Vec<RecordSet> = zone
        .record_sets
        .iter()
        .flat_map(|s| s.values.iter().map(move |v| one(s, v)))
        .collect();
    for c in changes {
        match c {
            RecordChange::Add { after } => recs.push(after.clone()),
            RecordChange::Remove { before } => {
                let i = recs
                    .iter()
                    .position(|r| r == before)
                    .ok_or(format!("remove of a missing record {before:?}"))?;
                recs.remove(i);
            }
            RecordChange::Update { before, after } => {
                let i = recs
                    .iter()
                    .position(|r| r == before)
                    .ok_or(format!("update of a missing record {before:?}"))?;
                recs[i] = after.clone();
            }
            RecordChange::Keep { record } => {
                if !recs.contains(record) {
                    return Err(format!("keep of a missing record {record:?}"));
                }
            }
        }
    }
    let mut sets: BTreeMap<RecordSetKey, RecordSet> = BTreeMap::new();
    for r in recs {
        match sets.get_mut(&r.key()) {
            Some(s) => {
                if (s.ttl, s.weight, &s.fields) != (r.ttl, r.weight, &r.fields) {
                    return Err(format!("records of {} disagree on set fields", r.key()));
                }
                s.values.extend(r.values);
            }
            None => {
                sets.insert(r.key(), r);
            }
        }
    }
    Ok(Zone::new(zone.origin.clone(), sets.into_values().collect()))
}

fn shuffled(z: &Zone, k: usize) -> Zone {
    let mut sets = z.record_sets.clone();
    sets.reverse();
    if !sets.is_empty() {
        let k = k % sets.len();
        sets.rotate_left(k);
    }
    for s in &mut sets {
        s.values.reverse();
    }
    Zone {
        origin: z.origin.clone(),
        record_sets: sets,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn diff_then_apply_gives_the_desired_zone(a in zone_strategy(), b in zone_strategy()) {
        let changes = diff(&a, &b, &DiffOptions::default());
        let mut z = a.clone();
        apply_changes(&mut z, &changes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&z, &b);
        prop_assert!(diff(&b, &b, &DiffOptions::default()).is_empty());
        prop_assert!(diff(&z, &b, &DiffOptions::default()).is_empty());
        // Groups in order: deletes, updates, creates.
        let ops: Vec<u8> = changes.iter().map(|c| match c {
            Change::Delete { .. } => 0, Change::Update { .. } => 1, Change::Create { .. } => 2,
        }).collect();
        prop_assert!(ops.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn record_level_view_reaches_the_same_zone(a in zone_strategy(), b in zone_strategy()) {
        let p = plan("p", &caps(), &a, &b, &DiffOptions::default())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let z = apply_record_changes(&a, &p.record_changes()).map_err(TestCaseError::fail)?;
        prop_assert_eq!(z, b);
    }

    #[test]
    fn checksum_ignores_input_order(a in zone_strategy(), b in zone_strategy(), k in 0usize..20) {
        let p1 = plan("p", &caps(), &a, &b, &DiffOptions::default()).unwrap();
        let p2 = plan("p", &caps(), &shuffled(&a, k), &shuffled(&b, k + 3), &DiffOptions::default()).unwrap();
        prop_assert_eq!(&p1.changes, &p2.changes);
        prop_assert_eq!(p1.checksum(), p2.checksum());
    }

    #[test]
    fn no_step_leaves_a_new_cname_conflict(a in zone_strategy(), b in zone_strategy()) {
        let before: BTreeSet<Name> = cname_conflicts(&a).into_iter().collect();
        let after: BTreeSet<Name> = cname_conflicts(&b).into_iter().collect();
        let changes = diff(&a, &b, &DiffOptions::default());
        let mut z = a.clone();
        // Only the changed name changes at each step, so checking it is enough; check the
        // whole zone too, independently.
        let mut shadow = a.clone();
        apply_changes_stepwise(&mut z, &changes, |i, c, here| {
            let name = &c.key().name;
            if cname_conflict(here) && !before.contains(name) && !after.contains(name) {
                return Err(format!("step {i} ({} {}) leaves a CNAME beside other data at {name}", c.op(), c.key()));
            }
            apply_changes(&mut shadow, std::slice::from_ref(c)).map_err(|e| e.to_string())?;
            for name in cname_conflicts(&shadow) {
                if !before.contains(&name) && !after.contains(&name) {
                    return Err(format!("step {i}: new CNAME conflict at {name}"));
                }
            }
            Ok(())
        }).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(z, b);
    }

    #[test]
    fn only_touches_the_selected_sets(
        a in zone_strategy(),
        b in zone_strategy(),
        picks in proptest::collection::vec((0..NAMES.len(), proptest::option::of(0..TYPES.len())), 1..3),
    ) {
        let o = origin();
        let only: Vec<Selector> = picks.iter().map(|(ni, ti)| Selector {
            name: Name::parse(NAMES[*ni], Some(&o)).unwrap(),
            rtype: ti.map(|t| TYPES[t]),
        }).collect();
        let opts = DiffOptions { only: only.clone(), ..DiffOptions::default() };
        let changes = diff(&a, &b, &opts);
        let selected = |k: &RecordSetKey| only.iter().any(|s| s.matches(k));
        prop_assert!(changes.iter().all(|c| selected(&c.key())));
        let mut z = a.clone();
        apply_changes(&mut z, &changes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let part = |z: &Zone, sel: bool| -> Vec<RecordSet> {
            z.record_sets.iter().filter(|r| selected(&r.key()) == sel).cloned().collect()
        };
        prop_assert_eq!(part(&z, true), part(&b, true));
        prop_assert_eq!(part(&z, false), part(&a, false));
        prop_assert!(diff(&z, &b, &opts).is_empty());
    }
}

/// A change list against `a` toward `b`, made unreliable: some changes planned against `b`
/// instead (stale), some repeated, the list rotated.
fn mangled(a: &Zone, b: &Zone, k: usize) -> Vec<Change> {
    let mut changes = diff(a, b, &DiffOptions::default());
    let back = diff(b, a, &DiffOptions::default());
    if k % 3 == 1 {
        changes.extend(back.into_iter().take(k % 4));
    }
    if k % 5 == 2 && !changes.is_empty() {
        let c = changes[k % changes.len()].clone();
        changes.push(c);
    }
    if !changes.is_empty() {
        let r = k % changes.len();
        changes.rotate_left(r);
    }
    changes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// The one-merge apply of a canonical zone and the map apply agree on every change list:
    /// the same zone after, or the same refusal (same change, same reason) and the zone untouched.
    #[test]
    fn merged_apply_matches_the_map_apply(a in zone_strategy(), b in zone_strategy(), k in 0usize..60) {
        let changes = mangled(&a, &b, k);
        let (mut x, mut y) = (a.clone(), a.clone());
        let rx = apply_sorted(&mut x, &changes).expect("a zone from Zone::new is canonical");
        let ry = apply_indexed(&mut y, &changes);
        prop_assert_eq!(&rx, &ry);
        prop_assert_eq!(&x, &y);
        if rx.is_err() {
            prop_assert_eq!(&x, &a);
        }
    }

    /// The merge diff of canonical zones equals the map diff (of the same zones shuffled).
    #[test]
    fn merged_diff_matches_the_map_diff(a in zone_strategy(), b in zone_strategy(), k in 0usize..20) {
        let opts = DiffOptions { provider_manages_soa_serial: k % 2 == 0, ..DiffOptions::default() };
        prop_assert_eq!(diff(&a, &b, &opts), diff(&shuffled(&a, k), &shuffled(&b, k + 1), &opts));
    }
}

proptest! {
    #[test]
    fn canonical_name_key_orders_like_name(
        x in proptest::collection::vec(0usize..7, 0..4),
        y in proptest::collection::vec(0usize..7, 0..4),
    ) {
        const LABELS: &[&str] = &["a", "ab", "b", "*", "a-b", "\\000", "\\255z"];
        let make = |v: &[usize]| -> Name {
            let mut text: String = v.iter().map(|&i| format!("{}.", LABELS[i])).collect();
            if text.is_empty() {
                text.push('.');
            }
            text.parse().unwrap()
        };
        let (a, b) = (make(&x), make(&y));
        prop_assert_eq!(CanonName::of(&a).cmp(&CanonName::of(&b)), a.cmp(&b));
    }

    #[test]
    fn creates_come_in_zone_order(b in zone_strategy()) {
        let empty = Zone::new(origin(), Vec::new());
        let created: Vec<RecordSet> = diff(&empty, &b, &DiffOptions::default())
            .into_iter()
            .map(|c| c.record_set().clone())
            .collect();
        prop_assert_eq!(created, b.record_sets);
    }
}
