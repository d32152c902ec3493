//! The UPDATE message's sections, and names expanded in RDATA read from a compressed message.

use super::*;

fn n(s: &str) -> Name {
    s.parse().unwrap()
}

fn a(name: &str, ttl: u32, v: &[&str]) -> RecordSet {
    RecordSet::new(n(name), RType::A, ttl, v.iter().map(|s| s.to_string()))
}

#[test]
fn update_sections_prerequisites_deletes_then_adds() {
    let zone = n("example.test.");
    let changes = vec![
        Change::Update {
            before: a("www.example.test.", 300, &["192.0.2.1", "192.0.2.2"]),
            after: a("www.example.test.", 60, &["198.51.100.1"]),
        },
        Change::Create {
            after: a("new.example.test.", 300, &["198.51.100.2"]),
        },
        Change::Delete {
            before: a("old.example.test.", 300, &["192.0.2.9"]),
        },
    ];
    let m = update(0x4242, &zone, &changes).unwrap();
    assert_eq!(&m[0..2], &[0x42, 0x42]);
    assert_eq!(m[2] >> 3, 5, "opcode UPDATE");
    let count = |i: usize| u16::from_be_bytes([m[i], m[i + 1]]);
    assert_eq!(count(4), 1, "one zone");
    // Prerequisites: www's two values (class IN, TTL 0), new does not exist (NONE), old's value.
    assert_eq!(count(6), 4);
    // Updates: delete www's set (ANY), delete old's set (ANY), add www's value and new's.
    assert_eq!(count(8), 4);
    assert_eq!(count(10), 0);
    // Parse the records back (the sections are laid out like an answer section).
    let mut as_answer = m.clone();
    as_answer[4..6].copy_from_slice(&1u16.to_be_bytes());
    as_answer[6..8].copy_from_slice(&8u16.to_be_bytes());
    as_answer[8..10].copy_from_slice(&0u16.to_be_bytes());
    let p = parse(&as_answer).unwrap();
    let classes: Vec<(String, u16, u32)> = p
        .answers
        .iter()
        .map(|r| (r.owner.to_string(), r.class, r.ttl))
        .collect();
    assert_eq!(
        classes,
        [
            ("www.example.test.".into(), CLASS_IN, 0),
            ("www.example.test.".into(), CLASS_IN, 0),
            ("new.example.test.".into(), CLASS_NONE, 0),
            ("old.example.test.".into(), CLASS_IN, 0),
            ("www.example.test.".into(), CLASS_ANY, 0),
            ("old.example.test.".into(), CLASS_ANY, 0),
            ("www.example.test.".into(), CLASS_IN, 60),
            ("new.example.test.".into(), CLASS_IN, 300),
        ]
    );
}

#[test]
fn apex_ns_records_are_removed_one_by_one_and_the_soa_replaced() {
    let zone = n("example.test.");
    let ns = |v: &[&str]| {
        RecordSet::new(
            zone.clone(),
            RType::NS,
            300,
            v.iter().map(|s| s.to_string()),
        )
    };
    let soa = |serial: u32| {
        RecordSet::new(
            zone.clone(),
            RType::SOA,
            300,
            [format!(
                "ns.example.test. h.example.test. {serial} 3600 600 86400 60"
            )],
        )
    };
    let m = update(
        1,
        &zone,
        &[
            Change::Update {
                before: ns(&["a.example.test.", "b.example.test."]),
                after: ns(&["a.example.test.", "c.example.test."]),
            },
            Change::Update {
                before: soa(1),
                after: soa(2),
            },
        ],
    )
    .unwrap();
    let count = |i: usize| u16::from_be_bytes([m[i], m[i + 1]]);
    // Updates: remove b (NONE), add a and c, add the new SOA; no RRset delete at the apex.
    assert_eq!(count(8), 4);
}
