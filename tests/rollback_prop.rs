//! Property: for random zones and random edit sequences on the built-in provider (state store
//! on disk), snapshot -> edits -> rollback gives back the snapshot exactly (the SOA serial
//! aside, which the provider owns), and a re-plan afterwards is empty.

use std::sync::Arc;

use proptest::prelude::*;
use switchback::planner::{self, RunInfo};
use switchback::store::Store;
use switchback_api::plan::equal_ignoring_soa_serial;
use switchback_api::{Name, Provider, RType, RecordSet, Zone, zonefile};
use switchback_builtin::Builtin;

const ORIGIN: &str = "example.test.";

/// A record set from a small random space: names, types and values that are valid together.
fn record_set() -> impl Strategy<Value = RecordSet> {
    let name = prop::sample::select(vec![
        "www",
        "api",
        "mail",
        "a.b",
        "x",
        "_sip._tcp",
        "deep.er.c",
    ]);
    let ttl = prop::sample::select(vec![60u32, 300, 3600]);
    (name, 0..5usize, ttl, 1..4usize, any::<u8>()).prop_map(|(n, kind, ttl, count, seed)| {
        let owner: Name = format!("{n}.{ORIGIN}").parse().unwrap();
        let (rtype, values): (RType, Vec<String>) = match kind {
            0 => (
                RType::A,
                (0..count)
                    .map(|i| format!("192.0.2.{}", seed as usize % 200 + i))
                    .collect(),
            ),
            1 => (
                RType::AAAA,
                (0..count)
                    // Never `2001:db8::0`: not the canonical form (`2001:db8::`) the zone
                    // file gives back.
                    .map(|i| format!("2001:db8::{:x}", seed as usize + i + 1))
                    .collect(),
            ),
            2 => (
                RType::TXT,
                (0..count)
                    .map(|i| format!("\"v{seed} \\\"q\\\" {i}\""))
                    .collect(),
            ),
            3 => (
                RType::MX,
                (0..count)
                    .map(|i| format!("{} mail{i}.{ORIGIN}", 10 * (i + 1)))
                    .collect(),
            ),
            _ => (
                RType::SRV,
                (0..count)
                    .map(|i| format!("0 {i} {} x.{ORIGIN}", 5000 + seed as u16))
                    .collect(),
            ),
        };
        RecordSet::new(owner, rtype, ttl, values)
    })
}

fn zone_from(sets: Vec<RecordSet>) -> Zone {
    let origin: Name = ORIGIN.parse().unwrap();
    let mut all = vec![
        RecordSet::new(
            origin.clone(),
            RType::SOA,
            300,
            ["ns.example.test. host.example.test. 1 7200 900 1209600 300".to_string()],
        ),
        RecordSet::new(
            origin.clone(),
            RType::NS,
            300,
            ["ns.example.test.".to_string()],
        ),
        RecordSet::new(
            format!("ns.{ORIGIN}").parse().unwrap(),
            RType::A,
            300,
            ["192.0.2.53".to_string()],
        ),
    ];
    for s in sets {
        // One set per (name, type): the later one wins.
        all.retain(|x| x.key() != s.key());
        all.push(s);
    }
    Zone::new(origin, all)
}

/// An edit: drop some sets, change some, add some.
fn edit() -> impl Strategy<Value = (Vec<usize>, Vec<RecordSet>)> {
    (
        prop::collection::vec(0..40usize, 0..4),
        prop::collection::vec(record_set(), 0..5),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn snapshot_edits_rollback_is_exact(
        start in prop::collection::vec(record_set(), 0..15),
        edits in prop::collection::vec(edit(), 1..5),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let zones = dir.path().join("zones");
        std::fs::create_dir(&zones).unwrap();
        let first = zone_from(start);
        std::fs::write(zones.join("example.test.zone"), zonefile::write_zone(&first)).unwrap();
        let state = dir.path().join("state.db");
        let builtin: Arc<dyn Provider> = Arc::new(Builtin::open("builtin", &zones, &state).unwrap());
        let store = Store::open(&state).unwrap();
        let origin: Name = ORIGIN.parse().unwrap();

        let live = rt.block_on(builtin.read_zone(&origin)).unwrap();
        prop_assert!(equal_ignoring_soa_serial(&live, &first), "the zone file seeds the store");
        let snap = store.create_snapshot("builtin", &live, Some("prop")).unwrap();

        let mut current = live;
        for (drops, adds) in edits {
            let mut sets = current.record_sets.clone();
            for d in drops {
                // Never the apex SOA/NS.
                if sets.len() > 3 {
                    let i = 3 + d % (sets.len() - 3);
                    sets.remove(i);
                }
            }
            let desired = zone_from(sets.into_iter().filter(|s| s.rtype != RType::SOA && s.rtype != RType::NS).chain(adds).collect());
            let (_, plan) = rt.block_on(planner::plan_to(builtin.as_ref(), &desired, Vec::new())).unwrap();
            if !plan.is_empty() {
                rt.block_on(planner::apply(&store, builtin.as_ref(), &plan, &desired, Vec::new(), RunInfo { kind: "apply", subject: "prop", actor: "test" })).unwrap();
            }
            current = rt.block_on(builtin.read_zone(&origin)).unwrap();
            prop_assert!(equal_ignoring_soa_serial(&current, &desired));
        }

        let snapshot = store.snapshot(&snap.id).unwrap();
        let (_, plan) = rt.block_on(planner::plan_to(builtin.as_ref(), &snapshot.zone, Vec::new())).unwrap();
        if !plan.is_empty() {
            rt.block_on(planner::apply(&store, builtin.as_ref(), &plan, &snapshot.zone, Vec::new(), RunInfo { kind: "rollback", subject: &snap.id, actor: "test" })).unwrap();
        }
        let back = rt.block_on(builtin.read_zone(&origin)).unwrap();
        prop_assert!(equal_ignoring_soa_serial(&back, &snapshot.zone), "rollback restores the snapshot exactly");
        let (_, replan) = rt.block_on(planner::plan_to(builtin.as_ref(), &snapshot.zone, Vec::new())).unwrap();
        prop_assert!(replan.is_empty(), "re-plan after rollback: {:?}", replan.changes);
        // A restart serves the same data.
        drop(builtin);
        let again = Builtin::open("builtin", &zones, &state).unwrap();
        let reopened = rt.block_on(again.read_zone(&origin)).unwrap();
        prop_assert_eq!(reopened, back);
    }
}
