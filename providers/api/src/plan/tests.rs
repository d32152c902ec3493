use std::collections::{BTreeMap, BTreeSet};

use super::*;

mod capabilities;
mod props;
use crate::{Fields, Granularity, Support};

fn n(s: &str) -> Name {
    s.parse().unwrap()
}

fn origin() -> Name {
    n("example.com.")
}

fn rs(name: &str, t: RType, ttl: u32, values: &[&str]) -> RecordSet {
    RecordSet::new(
        n(name),
        t,
        ttl,
        values.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
    )
}

fn soa(serial: u32, minimum: u32) -> RecordSet {
    rs(
        "example.com.",
        RType::SOA,
        3600,
        &[&format!(
            "ns1.example.com. hostmaster.example.com. {serial} 7200 3600 1209600 {minimum}"
        )],
    )
}

fn ns() -> RecordSet {
    rs("example.com.", RType::NS, 3600, &["ns1.example.com."])
}

fn zone(sets: Vec<RecordSet>) -> Zone {
    Zone::new(origin(), sets)
}

fn weighted(name: &str, id: &str, weight: u32, values: &[&str]) -> RecordSet {
    let mut r = rs(name, RType::A, 60, values);
    r.set_identifier = Some(id.into());
    r.weight = Some(weight);
    r
}

/// A provider that holds what the generated zones use (weights, comments, proxied values).
fn caps() -> Capabilities {
    Capabilities {
        weighted: Support::Yes,
        comments: Support::Yes,
        tags: Support::Yes,
        proxied: Support::Yes,
        atomic_batches: Support::Yes,
        record_types: vec![
            RType::SOA,
            RType::NS,
            RType::A,
            RType::AAAA,
            RType::CNAME,
            RType::MX,
            RType::TXT,
        ],
        ..Capabilities::default()
    }
}

fn kinds(changes: &[Change]) -> Vec<String> {
    changes
        .iter()
        .map(|c| format!("{} {}", c.op(), c.key()))
        .collect()
}

#[test]
fn create_update_delete() {
    let a = zone(vec![
        soa(1, 300),
        ns(),
        rs("www.example.com.", RType::A, 300, &["192.0.2.1"]),
        rs("old.example.com.", RType::A, 300, &["192.0.2.9"]),
        rs("same.example.com.", RType::TXT, 300, &["\"x\""]),
    ]);
    let b = zone(vec![
        soa(1, 300),
        ns(),
        rs("www.example.com.", RType::A, 60, &["192.0.2.1"]),
        rs("new.example.com.", RType::AAAA, 300, &["2001:db8::1"]),
        rs("same.example.com.", RType::TXT, 300, &["\"x\""]),
    ]);
    let changes = diff(&a, &b, &DiffOptions::default());
    assert_eq!(
        kinds(&changes),
        [
            "delete old.example.com./A",
            "update www.example.com./A",
            "create new.example.com./AAAA"
        ]
    );
    let mut z = a.clone();
    apply_changes(&mut z, &changes).unwrap();
    assert_eq!(z, b);
    assert!(diff(&b, &b, &DiffOptions::default()).is_empty());
}

#[test]
fn values_compare_as_sets_and_fields_count() {
    let mut a = rs("a.example.com.", RType::A, 300, &["192.0.2.1", "192.0.2.2"]);
    let mut b = a.clone();
    b.values.reverse();
    let za = zone(vec![a.clone()]);
    // Unnormalized on purpose: the diff normalizes.
    let zb = Zone {
        origin: origin(),
        record_sets: vec![b.clone()],
    };
    assert!(diff(&za, &zb, &DiffOptions::default()).is_empty());

    // A per-value field is a difference.
    b.values[0]
        .fields
        .insert("comment".into(), serde_json::json!("hi"));
    let zb = zone(vec![b.clone()]);
    assert_eq!(
        kinds(&diff(&za, &zb, &DiffOptions::default())),
        ["update a.example.com./A"]
    );
    // So is a set-level field and a weight.
    a.fields.insert("proxied".into(), serde_json::json!(true));
    let zc = zone(vec![a.clone()]);
    assert_eq!(diff(&za, &zc, &DiffOptions::default()).len(), 1);
    let mut w = a.clone();
    w.weight = Some(5);
    assert_eq!(diff(&zc, &zone(vec![w]), &DiffOptions::default()).len(), 1);
}

#[test]
fn set_identifiers_are_part_of_the_key() {
    let a = zone(vec![
        weighted("w.example.com.", "blue", 100, &["192.0.2.1"]),
        weighted("w.example.com.", "green", 0, &["192.0.2.2"]),
    ]);
    let b = zone(vec![
        weighted("w.example.com.", "blue", 50, &["192.0.2.1"]),
        weighted("w.example.com.", "red", 50, &["192.0.2.3"]),
    ]);
    let changes = diff(&a, &b, &DiffOptions::default());
    assert_eq!(
        kinds(&changes),
        [
            "delete w.example.com./A/green",
            "update w.example.com./A/blue",
            "create w.example.com./A/red"
        ]
    );
}

#[test]
fn soa_serial_owned_by_the_provider() {
    let a = zone(vec![soa(10, 300), ns()]);
    let b = zone(vec![soa(99, 300), ns()]);
    let managed = DiffOptions {
        provider_manages_soa_serial: true,
        ..DiffOptions::default()
    };
    assert!(diff(&a, &b, &managed).is_empty());
    assert_eq!(diff(&a, &b, &DiffOptions::default()).len(), 1);

    // Another field differs: an update that keeps the live serial.
    let c = zone(vec![soa(99, 60), ns()]);
    let changes = diff(&a, &c, &managed);
    assert_eq!(changes.len(), 1);
    let Change::Update { before, after } = &changes[0] else {
        panic!("expected an update: {changes:?}");
    };
    assert_eq!(before, &soa(10, 300));
    assert_eq!(after, &soa(10, 60));
    // Unmanaged: the desired serial goes through.
    let Change::Update { after, .. } = &diff(&a, &c, &DiffOptions::default())[0] else {
        panic!()
    };
    assert_eq!(after, &soa(99, 60));
}

#[test]
fn only_selectors_restrict_both_sides() {
    let a = zone(vec![
        rs("www.example.com.", RType::A, 300, &["192.0.2.1"]),
        rs("www.example.com.", RType::AAAA, 300, &["2001:db8::1"]),
        rs("mail.example.com.", RType::A, 300, &["192.0.2.5"]),
    ]);
    let b = zone(vec![
        rs("www.example.com.", RType::A, 300, &["192.0.2.2"]),
        rs("www.example.com.", RType::TXT, 300, &["\"t\""]),
        rs("api.example.com.", RType::A, 300, &["192.0.2.7"]),
    ]);
    let by_name = DiffOptions {
        only: vec!["www.example.com".parse().unwrap()],
        ..DiffOptions::default()
    };
    assert_eq!(
        kinds(&diff(&a, &b, &by_name)),
        [
            "delete www.example.com./AAAA",
            "update www.example.com./A",
            "create www.example.com./TXT"
        ]
    );
    let by_type = DiffOptions {
        only: vec![
            "www.example.com./a".parse().unwrap(),
            "api.example.com./A".parse().unwrap(),
        ],
        ..DiffOptions::default()
    };
    assert_eq!(
        kinds(&diff(&a, &b, &by_type)),
        ["update www.example.com./A", "create api.example.com./A"]
    );
    // A NAME/TYPE selector matches every set identifier.
    let wa = zone(vec![weighted("w.example.com.", "x", 1, &["192.0.2.1"])]);
    let wb = zone(vec![weighted("w.example.com.", "y", 1, &["192.0.2.1"])]);
    let sel = DiffOptions {
        only: vec!["w.example.com/A".parse().unwrap()],
        ..DiffOptions::default()
    };
    assert_eq!(diff(&wa, &wb, &sel).len(), 2);
}

#[test]
fn selector_parsing() {
    let s: Selector = "WWW.Example.com".parse().unwrap();
    assert_eq!(s, Selector::name(n("www.example.com.")));
    assert_eq!(s.to_string(), "www.example.com.");
    let s: Selector = "www.example.com./aaaa".parse().unwrap();
    assert_eq!(s, Selector::name_type(n("www.example.com."), RType::AAAA));
    assert_eq!(s.to_string(), "www.example.com./AAAA");
    assert_eq!(
        "x.example./TYPE65534".parse::<Selector>().unwrap().rtype,
        Some(RType(65534))
    );
    for bad in [
        "",
        "/A",
        "www.example.com/",
        "www.example.com/BOGUS",
        "www.example.com/ANY",
        "a..b/A",
        "@",
    ] {
        let e = bad.parse::<Selector>().unwrap_err().to_string();
        assert!(e.contains("bad selector") && e.contains("NAME/TYPE"), "{e}");
    }
    assert!(
        "www.example.com/BOGUS"
            .parse::<Selector>()
            .unwrap_err()
            .to_string()
            .contains("unknown record type \"BOGUS\"")
    );
    // Round trip through Display.
    for text in ["a.example.", "a.example./MX", "\\047x.example./TXT"] {
        let s: Selector = text.parse().unwrap();
        assert_eq!(s.to_string().parse::<Selector>().unwrap(), s);
    }
}

#[test]
fn cname_replacements_are_ordered() {
    // A at www replaced by a CNAME, and the reverse, and weighted pairs.
    let with_a = zone(vec![
        soa(1, 300),
        ns(),
        rs("www.example.com.", RType::A, 300, &["192.0.2.1"]),
        rs("www.example.com.", RType::AAAA, 300, &["2001:db8::1"]),
        rs("a.example.com.", RType::CNAME, 300, &["x.example.net."]),
    ]);
    let with_cname = zone(vec![
        soa(1, 300),
        ns(),
        rs("www.example.com.", RType::CNAME, 300, &["lb.example.net."]),
        rs("a.example.com.", RType::A, 300, &["192.0.2.3"]),
    ]);
    for (x, y) in [(&with_a, &with_cname), (&with_cname, &with_a)] {
        let changes = diff(x, y, &DiffOptions::default());
        let mut z = x.clone();
        apply_changes_stepwise(&mut z, &changes, |_, c, here| {
            if cname_conflict(here) {
                Err(format!("CNAME conflict at {}", c.key().name))
            } else {
                Ok(())
            }
        })
        .unwrap();
        assert_eq!(&z, y);
    }
    let mut cn1 = weighted("w.example.com.", "a", 1, &[]);
    cn1.rtype = RType::CNAME;
    cn1.values = vec![RecordValue::new("a.example.net.")];
    let mut cn2 = cn1.clone();
    cn2.set_identifier = Some("b".into());
    let pair_cname = zone(vec![cn1, cn2]);
    let pair_a = zone(vec![
        weighted("w.example.com.", "a", 1, &["192.0.2.1"]),
        weighted("w.example.com.", "b", 1, &["192.0.2.2"]),
    ]);
    assert!(cname_conflicts(&pair_cname).is_empty());
    for (x, y) in [(&pair_a, &pair_cname), (&pair_cname, &pair_a)] {
        let changes = diff(x, y, &DiffOptions::default());
        let mut z = x.clone();
        apply_changes_stepwise(&mut z, &changes, |_, _, here| {
            if cname_conflict(here) {
                Err("conflict".into())
            } else {
                Ok(())
            }
        })
        .unwrap();
        assert_eq!(&z, y);
    }
}

#[test]
fn plan_checks_capabilities_before_anything() {
    let a = zone(vec![soa(1, 300), ns()]);
    let b = zone(vec![
        soa(1, 300),
        ns(),
        rs(
            "_x._tcp.example.com.",
            RType::SRV,
            300,
            &["0 0 1 x.example.com."],
        ),
    ]);
    let e = plan("site", &caps(), &a, &b, &DiffOptions::default()).unwrap_err();
    let PlanError::Unsupported { provider, what, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(provider, "site");
    assert!(what.contains("SRV"), "{what}");
    assert!(e.to_string().contains("provider site cannot"), "{e}");

    let no_weights = Capabilities {
        weighted: Support::cannot("no weights here"),
        ..caps()
    };
    let w = zone(vec![weighted("w.example.com.", "a", 1, &["192.0.2.1"])]);
    let e = plan("p", &no_weights, &a, &w, &DiffOptions::default()).unwrap_err();
    assert!(e.to_string().contains("no weights here"), "{e}");
    // Deleting an unsupported set is fine.
    assert!(plan("p", &no_weights, &w, &a, &DiffOptions::default()).is_ok());

    let low = Capabilities {
        min_ttl: 60,
        ..caps()
    };
    let t = zone(vec![rs("t.example.com.", RType::A, 30, &["192.0.2.1"])]);
    let e = plan("p", &low, &a, &t, &DiffOptions::default()).unwrap_err();
    assert!(e.to_string().contains("minimum TTL is 60"), "{e}");

    let outside = zone(vec![rs("www.example.org.", RType::A, 300, &["192.0.2.1"])]);
    let e = plan("p", &caps(), &a, &outside, &DiffOptions::default()).unwrap_err();
    assert!(
        e.to_string().contains("outside the zone example.com."),
        "{e}"
    );
}

fn big_zone(n_sets: usize) -> Zone {
    let mut sets = vec![soa(1, 300), ns()];
    for i in 0..n_sets - 2 {
        sets.push(rs(
            &format!("h{i}.example.com."),
            RType::A,
            300,
            &["192.0.2.1"],
        ));
    }
    zone(sets)
}

#[test]
fn safety_thresholds() {
    let a = big_zone(120);
    let mut b = a.clone();
    // Change 45 of 120.
    for rs in b.record_sets.iter_mut().skip(2).take(45) {
        rs.ttl = 60;
    }
    let p = plan("p", &caps(), &a, &b, &DiffOptions::default()).unwrap();
    assert_eq!(p.counts(), (0, 45, 0));
    let e = p.check_safety(&Safety::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "safety threshold: would change 45 of 120 record sets (37%), more than \
         max_change_percent = 30"
    );
    assert!(
        p.check_safety(&Safety {
            max_change_percent: 40
        })
        .is_ok()
    );
    // Exactly at the limit is allowed: 36 of 120 = 30%.
    let mut c = a.clone();
    for rs in c.record_sets.iter_mut().skip(2).take(36) {
        rs.ttl = 60;
    }
    let p = plan("p", &caps(), &a, &c, &DiffOptions::default()).unwrap();
    assert!(p.check_safety(&Safety::default()).is_ok());
    // 37 of 120 = 30.8%: shown with a decimal.
    c.record_sets[40].ttl = 60;
    let p = plan("p", &caps(), &a, &c, &DiffOptions::default()).unwrap();
    let e = p.check_safety(&Safety::default()).unwrap_err().to_string();
    assert!(e.contains("37 of 120 record sets (30.8%)"), "{e}");

    // A first import into an empty zone, or one with only its apex SOA and NS, is not refused.
    let empty = Zone::new(origin(), vec![]);
    let p = plan("p", &caps(), &empty, &a, &DiffOptions::default()).unwrap();
    assert!(p.first_import);
    assert!(p.check_safety(&Safety::default()).is_ok());
    let apex_only = zone(vec![soa(1, 300), ns()]);
    let p = plan("p", &caps(), &apex_only, &a, &DiffOptions::default()).unwrap();
    assert!(p.check_safety(&Safety::default()).is_ok());

    // Deleting the apex NS or SOA is refused; updating them is fine.
    let mut no_ns = a.clone();
    no_ns.record_sets.retain(|r| r.rtype != RType::NS);
    let p = plan("p", &caps(), &a, &no_ns, &DiffOptions::default()).unwrap();
    let e = p
        .check_safety(&Safety {
            max_change_percent: 100,
        })
        .unwrap_err()
        .to_string();
    assert!(e.contains("delete the apex NS set of example.com."), "{e}");
    let mut no_soa = a.clone();
    no_soa.record_sets.retain(|r| r.rtype != RType::SOA);
    let p = plan("p", &caps(), &a, &no_soa, &DiffOptions::default()).unwrap();
    assert!(p.check_safety(&Safety::default()).is_err());
    let mut new_ns = a.clone();
    new_ns.record_sets[1] = rs("example.com.", RType::NS, 60, &["ns2.example.com."]);
    let p = plan("p", &caps(), &a, &new_ns, &DiffOptions::default()).unwrap();
    assert!(p.check_safety(&Safety::default()).is_ok());
    // A delegation (NS below the apex) may be deleted.
    let mut deleg = a.clone();
    deleg
        .record_sets
        .push(rs("sub.example.com.", RType::NS, 60, &["ns.example.net."]));
    let p = plan("p", &caps(), &deleg, &a, &DiffOptions::default()).unwrap();
    assert!(p.check_safety(&Safety::default()).is_ok());
}

#[test]
fn checksum_is_stable_and_verifiable() {
    let a = zone(vec![
        soa(1, 300),
        ns(),
        rs(
            "www.example.com.",
            RType::A,
            300,
            &["192.0.2.1", "192.0.2.2"],
        ),
    ]);
    let b = zone(vec![
        soa(1, 300),
        ns(),
        rs(
            "www.example.com.",
            RType::A,
            300,
            &["192.0.2.3", "192.0.2.2"],
        ),
        rs("x.example.com.", RType::TXT, 300, &["\"x\""]),
    ]);
    let p = plan("p", &caps(), &a, &b, &DiffOptions::default()).unwrap();
    let sum = p.checksum();
    assert_eq!(sum.len(), 16);
    assert!(
        sum.bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    p.verify_checksum(&sum).unwrap();
    p.verify_checksum(&format!(" {} ", sum.to_uppercase()))
        .unwrap();
    let e = p.verify_checksum("0000000000000000").unwrap_err();
    assert!(matches!(e, PlanError::ChecksumMismatch { .. }));
    assert!(e.to_string().contains(&sum));

    // Through JSON and back: the same plan, the same checksum.
    let json = serde_json::to_string(&p).unwrap();
    let back: Plan = serde_json::from_str(&json).unwrap();
    assert_eq!(back, p);
    assert_eq!(back.checksum(), sum);
    // Values in another order inside a change: the same checksum.
    let mut shuffled = p.clone();
    for c in &mut shuffled.changes {
        if let Change::Update { before, after } = c {
            before.values.reverse();
            after.values.reverse();
        }
    }
    assert_eq!(shuffled.checksum(), sum);
    // Another provider, zone or change: another checksum.
    let mut other = p.clone();
    other.provider = "q".into();
    assert_ne!(other.checksum(), sum);
    let p2 = plan("p", &caps(), &a, &a, &DiffOptions::default()).unwrap();
    assert_ne!(p2.checksum(), sum);
    // Field objects hash by content, not by insertion order.
    let mut f1 = Fields::new();
    f1.insert(
        "settings".into(),
        serde_json::json!({"b": 1, "a": [1, {"y": 2, "x": 1}]}),
    );
    let mut f2 = Fields::new();
    f2.insert(
        "settings".into(),
        serde_json::from_str(r#"{"a": [1, {"x": 1, "y": 2}], "b": 1}"#).unwrap(),
    );
    let mut r1 = rs("f.example.com.", RType::A, 1, &["192.0.2.1"]);
    let mut r2 = r1.clone();
    r1.fields = f1;
    r2.fields = f2;
    let z0 = zone(vec![]);
    let s1 = plan("p", &caps(), &z0, &zone(vec![r1]), &DiffOptions::default())
        .unwrap()
        .checksum();
    let s2 = plan("p", &caps(), &z0, &zone(vec![r2]), &DiffOptions::default())
        .unwrap()
        .checksum();
    assert_eq!(s1, s2);
}

#[test]
fn plan_json_shape() {
    let a = zone(vec![rs("www.example.com.", RType::A, 300, &["192.0.2.1"])]);
    let b = zone(vec![rs("www.example.com.", RType::A, 60, &["192.0.2.1"])]);
    let p = plan("site", &caps(), &a, &b, &DiffOptions::default()).unwrap();
    let v = serde_json::to_value(&p).unwrap();
    assert_eq!(v["provider"], "site");
    assert_eq!(v["zone"], "example.com.");
    assert_eq!(v["existing_record_sets"], 1);
    assert_eq!(v["changes"][0]["op"], "update");
    assert_eq!(v["changes"][0]["before"]["ttl"], 300);
    assert_eq!(v["changes"][0]["after"]["ttl"], 60);
    assert_eq!(v["changes"][0]["after"]["type"], "A");
    // Older JSON without `first_import` still reads.
    let mut obj = v.clone();
    obj.as_object_mut().unwrap().remove("first_import");
    let back: Plan = serde_json::from_value(obj).unwrap();
    assert_eq!(back.changes, p.changes);
}

#[test]
fn record_level_view() {
    let mut before = rs(
        "www.example.com.",
        RType::A,
        300,
        &["192.0.2.1", "192.0.2.2", "192.0.2.3"],
    );
    before.values[2]
        .fields
        .insert("comment".into(), serde_json::json!("old"));
    let mut after = rs(
        "www.example.com.",
        RType::A,
        300,
        &["192.0.2.1", "192.0.2.3", "192.0.2.4"],
    );
    after.values[1]
        .fields
        .insert("comment".into(), serde_json::json!("new"));
    let p = Plan {
        provider: "cf".into(),
        zone: origin(),
        changes: vec![
            Change::Delete {
                before: rs("d.example.com.", RType::TXT, 1, &["\"a\"", "\"b\""]),
            },
            Change::Update {
                before: before.clone(),
                after: after.clone(),
            },
            Change::Create {
                after: rs("c.example.com.", RType::A, 1, &["192.0.2.9"]),
            },
        ],
        existing_record_sets: 3,
        first_import: false,
        writes: Default::default(),
    };
    let shown: Vec<String> = p
        .record_changes()
        .iter()
        .map(|c| {
            let r = c.record();
            assert_eq!(r.values.len(), 1);
            let op = match c {
                RecordChange::Add { .. } => "add",
                RecordChange::Remove { .. } => "remove",
                RecordChange::Update { .. } => "update",
                RecordChange::Keep { .. } => "keep",
            };
            format!("{op} {} {}", r.key(), r.values[0].data)
        })
        .collect();
    assert_eq!(
        shown,
        [
            "remove d.example.com./TXT \"a\"",
            "remove d.example.com./TXT \"b\"",
            "remove www.example.com./A 192.0.2.2",
            "update www.example.com./A 192.0.2.3",
            "keep www.example.com./A 192.0.2.1",
            "add www.example.com./A 192.0.2.4",
            "add c.example.com./A 192.0.2.9",
        ]
    );
    // A TTL change updates every record of the set.
    let mut ttl = before.clone();
    ttl.ttl = 60;
    let p = Plan {
        changes: vec![Change::Update {
            before: before.clone(),
            after: ttl,
        }],
        ..p
    };
    let rc = p.record_changes();
    assert_eq!(rc.len(), 3);
    assert!(rc.iter().all(|c| matches!(c, RecordChange::Update { .. })));
    assert_eq!(Capabilities::default().granularity, Granularity::RecordSet);
    let json = serde_json::to_value(&rc[0]).unwrap();
    assert_eq!(json["op"], "update");
}

#[test]
fn apply_changes_is_strict_and_all_or_nothing() {
    let a = zone(vec![
        rs("a.example.com.", RType::A, 300, &["192.0.2.1"]),
        rs("b.example.com.", RType::A, 300, &["192.0.2.2"]),
    ]);
    let stale = vec![
        Change::Delete {
            before: rs("a.example.com.", RType::A, 300, &["192.0.2.1"]),
        },
        Change::Update {
            before: rs("b.example.com.", RType::A, 300, &["192.0.2.99"]),
            after: rs("b.example.com.", RType::A, 300, &["192.0.2.3"]),
        },
    ];
    let mut z = a.clone();
    let e = apply_changes(&mut z, &stale).unwrap_err();
    assert_eq!(e.index, 1);
    assert!(e.to_string().contains("update b.example.com./A"), "{e}");
    assert_eq!(z, a);
    let dup = vec![Change::Create {
        after: rs("a.example.com.", RType::A, 1, &["192.0.2.1"]),
    }];
    assert!(apply_changes(&mut z, &dup).is_err());
    let missing = vec![Change::Delete {
        before: rs("zz.example.com.", RType::A, 1, &["192.0.2.1"]),
    }];
    assert!(apply_changes(&mut z, &missing).is_err());
    assert_eq!(z, a);
}
