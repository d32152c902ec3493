//! A hosted zone of 3,000 record sets holding every routing policy ministack keeps (simple,
//! weighted with health checks, latency, geo, failover, multivalue, alias, CIDR): snapshot,
//! failover-style edits, rollback; the zone ends equal to the snapshot, and every phase makes
//! the fewest API calls Route 53's limits allow. Runs at the default rate (5 requests/s).
//!
//! (Geoproximity is left out: ministack 1.5.33 drops GeoProximityLocation. Its conversion is
//! covered by the unit tests of convert.rs.)

mod common;

use std::time::Instant;

use common::Kind;
use serde_json::json;
use switchback_api::plan::{self, DiffOptions};
use switchback_api::{Change, Name, Provider, RType, RecordSet, RecordValue, Zone};
use switchback_route53::{CallStats, Route53, Route53Config};

const HC: &str = "5e0f3c8a-1b2c-4d5e-8f90-0a1b2c3d4e5f";

fn ip(i: usize) -> String {
    format!("10.{}.{}.{}", i / 65536 % 256, i / 256 % 256, i % 256)
}

fn routed(zone: &Name, label: &str, id: &str, values: Vec<String>) -> RecordSet {
    let mut rs = RecordSet::new(
        Name::parse(label, Some(zone)).unwrap(),
        RType::A,
        60,
        values,
    );
    rs.set_identifier = Some(id.to_string());
    rs
}

/// 3,000 record sets.
fn big_zone(zone: &Name) -> Vec<RecordSet> {
    let mut v = Vec::new();
    for i in 0..2000 {
        v.push(RecordSet::new(
            Name::parse(&format!("h{i:04}"), Some(zone)).unwrap(),
            RType::A,
            300,
            [ip(i)],
        ));
    }
    for i in 0..200 {
        v.push(RecordSet::new(
            Name::parse(&format!("t{i:03}"), Some(zone)).unwrap(),
            RType::TXT,
            300,
            [format!("\"site-verification={i:08}\"")],
        ));
    }
    for i in 0..100 {
        for (id, w, k) in [("primary", 100, 0), ("recovery", 0, 1)] {
            let mut rs = routed(zone, &format!("w{i:03}"), id, vec![ip(10_000 + i * 2 + k)]);
            rs.weight = Some(w);
            if k == 0 {
                rs.fields.insert("health_check_id".into(), json!(HC));
            }
            v.push(rs);
        }
    }
    for i in 0..50 {
        for (k, region) in ["us-east-1", "eu-west-1"].iter().enumerate() {
            let mut rs = routed(
                zone,
                &format!("lat{i:02}"),
                region,
                vec![ip(20_000 + i * 2 + k)],
            );
            rs.fields.insert("region".into(), json!(region));
            v.push(rs);
        }
        let mut eu = routed(zone, &format!("geo{i:02}"), "eu", vec![ip(21_000 + i)]);
        eu.fields
            .insert("geo".into(), json!({"continent_code": "EU"}));
        let mut wa = routed(zone, &format!("geo{i:02}"), "us-wa", vec![ip(22_000 + i)]);
        wa.fields.insert(
            "geo".into(),
            json!({"country_code": "US", "subdivision_code": "WA"}),
        );
        v.extend([eu, wa]);
        let mut p = routed(zone, &format!("fo{i:02}"), "primary", vec![ip(23_000 + i)]);
        p.fields.insert("failover".into(), json!("PRIMARY"));
        p.fields.insert("health_check_id".into(), json!(HC));
        let mut s = routed(zone, &format!("fo{i:02}"), "secondary", vec![]);
        s.ttl = 0;
        s.fields.insert("failover".into(), json!("SECONDARY"));
        s.fields.insert(
            "alias".into(),
            json!({"hosted_zone_id": "Z2FDTNDATAQYW2", "dns_name": format!("dr{i:02}.cloudfront.net."), "evaluate_target_health": false}),
        );
        v.extend([p, s]);
        for k in 0..2 {
            let mut m = routed(
                zone,
                &format!("mv{i:02}"),
                &format!("m{k}"),
                vec![ip(24_000 + i * 4 + k * 2), ip(24_001 + i * 4 + k * 2)],
            );
            m.fields.insert("multivalue".into(), json!(true));
            v.push(m);
            let mut c = routed(
                zone,
                &format!("cidr{i:02}"),
                &format!("c{k}"),
                vec![ip(25_000 + i * 2 + k)],
            );
            c.fields.insert(
                "cidr_routing".into(),
                json!({"collection_id": "c-8d8e1e9a", "location_name": format!("office{k}")}),
            );
            v.push(c);
        }
    }
    for i in 0..100 {
        let mut a = RecordSet::new(
            Name::parse(&format!("al{i:03}"), Some(zone)).unwrap(),
            RType::A,
            0,
            Vec::<String>::new(),
        );
        a.fields.insert(
            "alias".into(),
            json!({"hosted_zone_id": "Z35SXDOTRQ7X7K", "dns_name": format!("lb-{i}.us-east-1.elb.amazonaws.com."), "evaluate_target_health": true}),
        );
        v.push(a);
    }
    assert_eq!(v.len(), 3000);
    v
}

/// ResourceRecord elements of a set (an alias counts as one).
fn elements(rs: &RecordSet) -> usize {
    rs.values.len().max(1)
}

/// The fewest change batches for a plan: change sets packed in order into batches of at most
/// 1,000 elements without splitting a record set's changes (an update is DELETE + CREATE,
/// both counted; an UPSERT counts twice).
fn min_batches(changes: &[Change]) -> (usize, usize) {
    let sizes: Vec<usize> = changes
        .iter()
        .map(|c| c.before().map_or(0, elements) + c.after().map_or(0, elements))
        .collect();
    let total: usize = sizes.iter().sum();
    let mut batches = 0;
    let mut cur = 0;
    for s in sizes {
        if cur == 0 || cur + s > 1000 {
            batches += 1;
            cur = 0;
        }
        cur += s;
    }
    (batches, total)
}

fn delta(a: CallStats, b: CallStats) -> CallStats {
    CallStats {
        zone_lookups: b.zone_lookups - a.zone_lookups,
        list_pages: b.list_pages - a.list_pages,
        change_batches: b.change_batches - a.change_batches,
        get_change_polls: b.get_change_polls - a.get_change_polls,
        retries: b.retries - a.retries,
    }
}

fn pages(sets: usize) -> usize {
    sets.div_ceil(300)
}

async fn converge(
    p: &Route53,
    zone: &Name,
    live: &Zone,
    desired: &Zone,
    what: &str,
) -> (usize, usize) {
    let plan = plan::plan(
        p.name(),
        p.capabilities(),
        live,
        desired,
        &DiffOptions::default(),
    )
    .unwrap();
    let (min, total) = min_batches(&plan.changes);
    assert_eq!(
        min,
        total.div_ceil(1000),
        "{what}: the data packs without slack"
    );
    let s0 = p.stats();
    let t = Instant::now();
    let report = p.apply(zone, &plan.changes).await.unwrap();
    let s = delta(s0, p.stats());
    eprintln!(
        "{what}: {} changes, {total} ResourceRecord elements -> {} batches, {} GetChange polls, {} calls in {:?}",
        plan.changes.len(),
        s.change_batches,
        s.get_change_polls,
        s.total(),
        t.elapsed()
    );
    assert_eq!(report.batches, min, "{what}: batches");
    assert_eq!(
        s.change_batches, min,
        "{what}: ChangeResourceRecordSets calls"
    );
    // ministack answers PENDING to the first GetChange of a change, INSYNC after (as Route 53
    // does once the change has propagated): two polls a batch is the least.
    assert_eq!(s.get_change_polls, 2 * min, "{what}: GetChange polls");
    assert_eq!(
        (s.list_pages, s.zone_lookups, s.retries),
        (0, 0, 0),
        "{what}: {s:?}"
    );
    (min, total)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_thousand_sets_snapshot_failover_rollback() {
    let Some(emu) = common::Emulator::start(Kind::Ministack) else {
        return;
    };
    let zone = common::unique_zone("big");
    common::create_zone(&common::sdk(&emu.endpoint()), &zone, None).await;
    // The default rate: 5 requests per second.
    let cfg = Route53Config {
        rate: 5,
        ..common::config(&emu.endpoint(), 5)
    };
    let p = Route53::with_credentials("r53", cfg, common::credentials())
        .unwrap()
        .with_tuning(common::fast_tuning());
    assert_eq!(p.config().rate, Route53Config::default().rate);

    // Seed.
    let empty = p.read_zone(&zone).await.unwrap();
    let seeded = Zone::new(
        zone.clone(),
        empty
            .record_sets
            .iter()
            .cloned()
            .chain(big_zone(&zone))
            .collect(),
    );
    converge(&p, &zone, &empty, &seeded, "seed").await;

    // Snapshot.
    let s0 = p.stats();
    let t = Instant::now();
    let snapshot = p.read_zone(&zone).await.unwrap();
    let snap_time = t.elapsed();
    let s = delta(s0, p.stats());
    eprintln!(
        "snapshot: {} record sets, {} list pages in {snap_time:?}",
        snapshot.record_sets.len(),
        s.list_pages
    );
    assert_eq!(snapshot.record_sets.len(), 3002, "3,000 sets + SOA + NS");
    assert_eq!(s.list_pages, pages(3002));
    assert_eq!(s.total(), s.list_pages);
    assert_eq!(
        snapshot, seeded,
        "the snapshot reads back exactly what was written"
    );

    // Failover-style edits: weights flipped, failover primaries and 300 plain sets repointed,
    // 50 TXT sets dropped, 50 recovery sets added.
    let mut desired = snapshot.clone();
    for rs in &mut desired.record_sets {
        let label = rs.name.to_string();
        if rs.weight.is_some() {
            rs.weight = Some(100 - rs.weight.unwrap());
        } else if rs.fields.get("failover").is_some_and(|f| f == "PRIMARY") {
            rs.values = vec![RecordValue::new("198.51.100.1")];
        } else if label.starts_with('h') && label[1..5].parse::<usize>().is_ok_and(|i| i < 300) {
            rs.values = vec![RecordValue::new("198.51.100.2")];
            rs.ttl = 60;
        }
    }
    desired
        .record_sets
        .retain(|rs| !(rs.rtype == RType::TXT && rs.name.to_string() < format!("t050.{zone}")));
    for i in 0..50 {
        desired.record_sets.push(RecordSet::new(
            Name::parse(&format!("recovery{i:02}"), Some(&zone)).unwrap(),
            RType::A,
            60,
            ["198.51.100.3".to_string()],
        ));
    }
    let desired = Zone::new(zone.clone(), desired.record_sets);
    let live = p.read_zone(&zone).await.unwrap();
    converge(&p, &zone, &live, &desired, "failover").await;
    let after = p.read_zone(&zone).await.unwrap();
    assert_eq!(after, desired);

    // Rollback: read, plan back to the snapshot, apply, read back.
    let s0 = p.stats();
    let t = Instant::now();
    let live = p.read_zone(&zone).await.unwrap();
    let read_time = t.elapsed();
    let (batches, _) = converge(&p, &zone, &live, &snapshot, "rollback").await;
    let t2 = Instant::now();
    let back = p.read_zone(&zone).await.unwrap();
    let verify_time = t2.elapsed();
    let s = delta(s0, p.stats());
    eprintln!(
        "rollback total: {} list pages, {} batches, {} polls, {} calls in {:?} (read {read_time:?}, verify {verify_time:?})",
        s.list_pages,
        s.change_batches,
        s.get_change_polls,
        s.total(),
        t.elapsed()
    );
    assert_eq!(
        back, snapshot,
        "the zone after rollback equals the snapshot"
    );
    let again = plan::diff(&back, &snapshot, &DiffOptions::default());
    assert!(again.is_empty(), "a re-plan after rollback is empty");
    assert_eq!(s.list_pages, 2 * pages(3002));
    assert_eq!(s.change_batches, batches);
    assert_eq!(s.total(), 2 * pages(3002) + 3 * batches);
    // Paced at 5 requests per second (no burst): n calls take at least (n - 1) / 5 s.
    let min_time = std::time::Duration::from_millis(200 * (s.total() as u64 - 1));
    assert!(
        t.elapsed() >= min_time,
        "{:?} < {min_time:?}: the rate was not respected",
        t.elapsed()
    );
}
