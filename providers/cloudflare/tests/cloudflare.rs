//! The Cloudflare provider against the project's own fake (tests/common/fake.rs): state,
//! paging, batches and their fallback, throttling, errors, secrets. Every request the provider
//! sends here is also replayed through Prism serving Cloudflare's schema when each test's
//! environment is dropped (tests/common/contract.rs).

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchback_api::plan::{self, DiffOptions, PlanError};
use switchback_api::testkit::sample;
use switchback_api::{Change, Name, Provider, RType, RecordSet, RecordValue, Zone};
use switchback_cloudflare::{Cloudflare, CloudflareConfig, Secret, id_changes};

use common::{Options, contract, env, fake, obj};

fn n(s: &str) -> Name {
    s.parse().unwrap()
}

fn opts() -> DiffOptions {
    DiffOptions {
        only: Vec::new(),
        provider_manages_soa_serial: true,
    }
}

fn with_sets(z: &Zone, add: Vec<RecordSet>) -> Zone {
    let mut sets: Vec<RecordSet> = z
        .record_sets
        .iter()
        .filter(|rs| !add.iter().any(|a| a.key() == rs.key()))
        .cloned()
        .collect();
    sets.extend(add);
    Zone::new(z.origin.clone(), sets)
}

async fn converge(p: &Cloudflare, zone: &Name, desired: &Zone) -> switchback_api::ApplyReport {
    let live = p.read_zone(zone).await.unwrap();
    let plan = plan::plan(p.name(), p.capabilities(), &live, desired, &opts()).unwrap();
    let report = p.apply(zone, &plan.changes).await.unwrap();
    let after = p.read_zone(zone).await.unwrap();
    let again = plan::plan(p.name(), p.capabilities(), &after, desired, &opts()).unwrap();
    assert!(again.is_empty(), "re-plan not empty: {:#?}", again.changes);
    assert_eq!(&after, desired);
    report
}

fn value(data: &str, fields: Value) -> RecordValue {
    RecordValue {
        data: data.into(),
        fields: serde_json::from_value(fields).unwrap(),
    }
}

fn set(name: &str, t: RType, ttl: u32, values: Vec<RecordValue>) -> RecordSet {
    let mut rs = RecordSet::new(n(name), t, ttl, Vec::<String>::new());
    rs.values = values;
    rs.normalize();
    rs
}

// ---------------------------------------------------------------------------------------------
// The contract check itself
// ---------------------------------------------------------------------------------------------

/// Prism really validates: a good body passes, a TTL of 5 and a bad IPv4 address get 422. A
/// partial PATCH gets 422 too: the schema's known false positive (PEERS.md), which is why the
/// adapter sends full PATCH bodies.
#[tokio::test]
async fn contract_prism_rejects_bad_requests() {
    let schema = contract::schema();
    let Some(prism) = tokio::task::spawn_blocking(move || contract::prism(&schema))
        .await
        .unwrap()
    else {
        return;
    };
    let http = reqwest::Client::new();
    let base = prism.url();
    let zone = "023e105f4ecef8ad9ca31a8372d0c353";
    let probe = |method: &str, path: String, body: Value| contract::Probe {
        method: method.into(),
        path,
        body: Some(body),
        origin: "deliberate".into(),
    };
    let records = format!("/zones/{zone}/dns_records");
    let good = json!({"type": "A", "name": "www.example.com", "content": "192.0.2.1", "ttl": 1,
                      "proxied": false});
    let cases = [
        (
            probe("POST", records.clone(), good.clone()),
            true,
            "a good A record",
        ),
        (
            probe(
                "POST",
                records.clone(),
                json!({"type": "A", "name": "www.example.com", "content": "192.0.2.1", "ttl": 5}),
            ),
            false,
            "a TTL of 5",
        ),
        (
            probe(
                "POST",
                records.clone(),
                json!({"type": "A", "name": "www.example.com", "content": "192.0.2.300", "ttl": 300}),
            ),
            false,
            "a bad IPv4 address",
        ),
        (
            probe(
                "PATCH",
                format!("{records}/372e67954025e0ba6aaa6d586b9e0b59"),
                json!({"content": "192.0.2.9"}),
            ),
            false,
            "a partial PATCH (the schema's known false positive)",
        ),
        (
            probe(
                "PATCH",
                format!("{records}/372e67954025e0ba6aaa6d586b9e0b59"),
                good,
            ),
            true,
            "a full PATCH",
        ),
    ];
    for (p, want_ok, what) in cases {
        let (status, body) = contract::send(&http, &base, &p).await;
        if want_ok {
            assert!((200..300).contains(&status), "{what}: {status} {body}");
        } else {
            assert_eq!(status, 422, "{what}: Prism must refuse it: {body}");
        }
    }
    // And the replay path refuses what Prism refuses.
    let bad = vec![switchback_cloudflare::RecordedRequest {
        method: "POST".into(),
        path: records,
        body: Some(
            json!({"type": "AAAA", "name": "x.example.com", "content": "not-an-address", "ttl": 5}),
        ),
    }];
    let out = contract::replay(&prism, &bad).await;
    assert_eq!((out.validated, out.failures.len()), (0, 1), "{out:?}");
}

// ---------------------------------------------------------------------------------------------
// Lossless read and write
// ---------------------------------------------------------------------------------------------

/// Every type Cloudflare serves, with every per-object field, written and read back exactly;
/// the adapter's PATCH bodies are full objects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_type_and_field_round_trips() {
    let e = env("every type", Options::default(), |p| p).await;
    let p = &*e.provider;
    let start = p.read_zone(&e.zone).await.unwrap();
    let mut add = Vec::new();
    for t in switchback_cloudflare::convert::TYPES {
        let (label, values) = match *t {
            RType::LOC => (
                "sb-loc",
                vec!["52 22 23.000 N 4 53 32.000 E -2.00m 1.00m 10000.00m 10.00m"],
            ),
            RType::CERT => ("sb-cert", vec!["\\# 9 000100020363657274"]),
            t => sample(t).unwrap(),
        };
        let name = if label == "@" {
            ZONE_STR.to_string()
        } else {
            format!("{label}.{ZONE_STR}")
        };
        let vals = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if i == 0 {
                    value(
                        v,
                        json!({"comment": format!("{t} one"), "tags": ["owner:dns", "env:test"]}),
                    )
                } else {
                    value(v, json!({}))
                }
            })
            .collect();
        add.push(set(&name, *t, 300, vals));
    }
    // proxied (TTL automatic) with settings; CNAME flattening; a per-object TTL.
    add.push(set(
        "px.example.com.",
        RType::A,
        1,
        vec![value(
            "192.0.2.10",
            json!({"proxied": true, "settings": {"ipv4_only": true}}),
        )],
    ));
    add.push(set(
        "flat.example.com.",
        RType::CNAME,
        1,
        vec![value(
            "target.example.net.",
            json!({"settings": {"flatten_cname": true}}),
        )],
    ));
    add.push(set(
        "mixed-ttl.example.com.",
        RType::A,
        300,
        vec![
            value("192.0.2.1", json!({})),
            value("192.0.2.2", json!({})),
            value("192.0.2.3", json!({"ttl": 60})),
        ],
    ));
    let desired = with_sets(&start, add.clone());
    converge(p, &e.zone, &desired).await;
    // Update fields only: comment changed, tags dropped, proxied off (TTL set), settings cleared.
    let mut upd = add.clone();
    for rs in &mut upd {
        for v in &mut rs.values {
            if v.fields.contains_key("comment") {
                v.fields.insert("comment".into(), json!("changed"));
                v.fields.remove("tags");
            }
            v.fields.remove("settings");
            if v.fields.remove("proxied").is_some() {
                rs.ttl = 120;
            }
        }
    }
    let desired2 = with_sets(&start, upd);
    converge(p, &e.zone, &desired2).await;
    converge(p, &e.zone, &desired).await;
    converge(p, &e.zone, &start).await;
    for r in e.recorded() {
        if r.method == "PATCH" || r.path.ends_with("/batch") {
            let bodies: Vec<Value> = if r.method == "PATCH" {
                vec![r.body.clone().unwrap()]
            } else {
                r.body
                    .as_ref()
                    .unwrap()
                    .get("patches")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            };
            for b in bodies {
                for k in ["type", "name", "ttl", "comment", "tags"] {
                    assert!(b.get(k).is_some(), "PATCH body without {k}: {b}");
                }
                assert!(b.get("content").is_some() || b.get("data").is_some(), "{b}");
            }
        }
    }
}

const ZONE_STR: &str = "example.com.";

/// Snapshot -> edits -> rollback of a 3,000-record zone with mixed proxied/comment/tags/
/// settings/TTL-auto: equal afterwards, old ids mapped to new ones, and the rollback costs the
/// minimum: the list pages of its read of the live zone + ceil(record changes / batch_size)
/// batches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_edit_rollback_3000_records() {
    let o = Options {
        per_page_max: 1000,
        ..Options::default()
    };
    let e = env("3000 records", o, |p| p).await;
    let mut seed = Vec::new();
    for i in 0..3000u32 {
        let name = format!("h{i:04}.example.com");
        let mut r = match i % 6 {
            0 => obj(
                "A",
                &name,
                json!(format!("10.0.{}.{}", i / 256, i % 256)),
                1,
            ),
            1 => obj("AAAA", &name, json!(format!("2001:db8::{i:x}")), 300),
            2 => obj("CNAME", &name, json!(format!("t{i}.example.net")), 1),
            3 => obj("TXT", &name, json!(format!("\"v=sb{i}\"")), 3600),
            4 => {
                let mut r = obj("MX", &name, json!(format!("mx{i}.example.net")), 600);
                r["priority"] = json!(i % 50);
                r
            }
            _ => obj(
                "CAA",
                &name,
                json!({"flags": 0, "tag": "issue", "value": format!("ca{i}.example.net")}),
                1,
            ),
        };
        if i % 6 == 0 && i % 4 == 0 {
            r["proxied"] = json!(true);
        }
        if i % 3 == 0 {
            r["comment"] = json!(format!("record {i}"));
        }
        if i % 5 == 0 {
            r["tags"] = json!(["team:web", format!("n:{i}")]);
        }
        if i % 6 == 2 && i % 4 == 0 {
            r["settings"] = json!({"flatten_cname": true});
        }
        seed.push(r);
    }
    e.fake.seed(&e.zone_id, seed);
    let p = &*e.provider;
    let (snapshot, old_ids) = p.read_zone_with_ids(&e.zone).await.unwrap();
    assert_eq!(old_ids.len(), 3003);

    // Edits: 120 sets get new values (their objects are deleted and re-created), 90 get other
    // fields, 30 are deleted, 40 are added.
    let mut edited = Vec::new();
    let mut removed = Vec::new();
    let mut value_changed = 0;
    for (k, rs) in snapshot
        .record_sets
        .iter()
        .filter(|rs| rs.name.to_string().starts_with('h'))
        .enumerate()
    {
        let mut rs = rs.clone();
        match k {
            0..120 if rs.rtype == RType::A || rs.rtype == RType::AAAA || rs.rtype == RType::TXT => {
                rs.values[0].data = match rs.rtype {
                    RType::A => format!("198.51.100.{}", k % 250),
                    RType::AAAA => format!("2001:db8:ffff::{k:x}"),
                    _ => format!("\"failover {k}\""),
                };
                edited.push(rs);
                value_changed += 1;
            }
            120..210 => {
                let f = &mut rs.values[0].fields;
                f.insert("comment".into(), json!("during failover"));
                f.remove("tags");
                edited.push(rs);
            }
            210..240 => removed.push(rs.key()),
            _ => {}
        }
    }
    for i in 0..40 {
        edited.push(set(
            &format!("new{i}.example.com."),
            RType::A,
            60,
            vec![value("203.0.113.7", json!({}))],
        ));
    }
    let mut mutated = with_sets(&snapshot, edited);
    mutated
        .record_sets
        .retain(|rs| !removed.contains(&rs.key()));
    converge(p, &e.zone, &mutated).await;

    // Roll back, counting requests.
    let live = p.read_zone(&e.zone).await.unwrap();
    let plan = plan::plan(p.name(), p.capabilities(), &live, &snapshot, &opts()).unwrap();
    let record_ops = plan
        .record_changes()
        .iter()
        .filter(|c| !matches!(c, switchback_api::RecordChange::Keep { .. }))
        .count();
    let live_objects = e.fake.records(&e.zone_id).len();
    let pages = live_objects.div_ceil(1000);
    let batches = record_ops.div_ceil(200);
    let before = e.fake.requests();
    let report = p.apply(&e.zone, &plan.changes).await.unwrap();
    assert_eq!(report.batches, batches);
    assert_eq!(
        report.api_calls,
        pages + batches,
        "{report:?}: {pages} pages + {batches} batches"
    );
    assert_eq!(e.fake.requests() - before, pages + batches);

    let (restored, new_ids) = p.read_zone_with_ids(&e.zone).await.unwrap();
    assert_eq!(restored, snapshot, "the rollback is not exact");
    // Re-created objects: the sets whose values changed and the 30 deleted ones; every one maps
    // old -> new.
    let map = id_changes(&old_ids, &new_ids);
    let recreated = old_ids
        .iter()
        .filter(|r| !new_ids.iter().any(|n| n.id == r.id))
        .count();
    assert_eq!(recreated, value_changed + removed.len());
    assert!(recreated > 60, "{recreated}");
    assert_eq!(map.len(), recreated);
    for (old, new) in &map {
        let a = old_ids.iter().find(|r| &r.id == old).unwrap();
        let b = new_ids.iter().find(|r| &r.id == new).unwrap();
        assert_eq!(
            (&a.name, a.rtype, &a.data, &a.fields),
            (&b.name, b.rtype, &b.data, &b.fields)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Paging, batches, fallback
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn paging_over_result_info() {
    let o = Options {
        per_page_max: 7,
        ..Options::default()
    };
    let e = env("paging", o, |p| p).await;
    let seed = (0..50)
        .map(|i| {
            obj(
                "A",
                &format!("p{i}.example.com"),
                json!(format!("192.0.2.{i}")),
                300,
            )
        })
        .collect();
    e.fake.seed(&e.zone_id, seed);
    let before = e.fake.requests();
    let z = e.provider.read_zone(&e.zone).await.unwrap();
    assert_eq!(
        z.record_sets
            .iter()
            .filter(|rs| rs.name.to_string().starts_with('p'))
            .count(),
        50
    );
    // 53 objects, 7 a page (the fake caps the 5,000 asked for): 8 pages, plus the zone lookup.
    let lists = e.fake.log()[before..]
        .iter()
        .filter(|(m, p, _)| m == "GET" && p.ends_with("/dns_records"))
        .count();
    assert_eq!(lists, 8);
    assert!(
        e.recorded()
            .iter()
            .any(|r| r.path.contains("per_page=5000&page=8"))
    );
}

#[tokio::test]
async fn batch_is_one_transaction_and_chunked() {
    let e = env("batches", Options::default(), |p| p).await;
    let p = &*e.provider;
    let start = p.read_zone(&e.zone).await.unwrap();
    // 450 records -> ceil(450 / 200) = 3 batches.
    let add: Vec<RecordSet> = (0..450)
        .map(|i| {
            set(
                &format!("b{i}.example.com."),
                RType::A,
                300,
                vec![value(&format!("10.1.{}.{}", i / 256, i % 256), json!({}))],
            )
        })
        .collect();
    let report = converge(p, &e.zone, &with_sets(&start, add)).await;
    assert_eq!(report.batches, 3);
    // A failing operation late in a batch leaves the whole batch unapplied.
    let live = p.read_zone(&e.zone).await.unwrap();
    let mut desired = live.clone();
    desired
        .record_sets
        .retain(|rs| !rs.name.to_string().starts_with("b1"));
    desired = with_sets(
        &desired,
        vec![set(
            "bad.example.com.",
            RType::A,
            300,
            vec![value("192.0.2.1", json!({"tags": ["no-colon"]}))],
        )],
    );
    let plan = plan::plan(p.name(), p.capabilities(), &live, &desired, &opts()).unwrap();
    assert!(plan.changes.len() > 100);
    let err = p
        .apply(&e.zone, &plan.changes)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("9300") && err.contains("bad.example.com"),
        "{err}"
    );
    assert_eq!(
        p.read_zone(&e.zone).await.unwrap(),
        live,
        "a failed batch changed the zone"
    );
}

#[tokio::test]
async fn falls_back_to_single_calls_when_batch_is_refused() {
    let o = Options {
        refuse_batch: true,
        ..Options::default()
    };
    let e = env("fallback", o, |p| p).await;
    let p = &*e.provider;
    let start = p.read_zone(&e.zone).await.unwrap();
    let one = set(
        "f.example.com.",
        RType::A,
        300,
        vec![
            value("192.0.2.1", json!({"comment": "a"})),
            value("192.0.2.2", json!({})),
        ],
    );
    let report = converge(p, &e.zone, &with_sets(&start, vec![one.clone()])).await;
    assert_eq!(report.batches, 0);
    assert!(p.batch_refused());
    let mut two = one.clone();
    two.values = vec![
        value("192.0.2.1", json!({"comment": "b"})),
        value("192.0.2.3", json!({})),
    ];
    converge(p, &e.zone, &with_sets(&start, vec![two])).await;
    converge(p, &e.zone, &start).await;
    let log = e.fake.log();
    let batch_tries = log.iter().filter(|(_, p, _)| p.ends_with("/batch")).count();
    assert_eq!(batch_tries, 1, "the refusal is remembered: {log:?}");
    for m in ["POST", "PATCH", "DELETE"] {
        assert!(
            log.iter().any(|(mm, p, s)| mm == m
                && p.contains("/dns_records")
                && !p.ends_with("/batch")
                && *s == 200),
            "no single {m}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn waits_retry_after_on_429() {
    let o = Options {
        throttle_after: Some(1),
        throttle_count: 1,
        retry_after_secs: 1,
        ..Options::default()
    };
    let e = env("429", o, |p| p).await;
    let t = Instant::now();
    e.provider.read_zone(&e.zone).await.unwrap();
    assert!(
        t.elapsed() >= Duration::from_secs(1),
        "did not wait retry-after"
    );
    assert_eq!(e.fake.throttled(), 1);
    // Throttled for longer than the throttle budget (10 s in tests): an error, not a hang.
    e.fake.set_options(|o| {
        o.throttle_after = Some(0);
        o.throttle_count = usize::MAX;
        o.retry_after_secs = 6;
    });
    let t = Instant::now();
    let err = e.provider.read_zone(&e.zone).await.unwrap_err();
    assert!(
        matches!(
            err,
            switchback_api::ProviderError::RateLimited {
                retry_after: Some(d),
                ..
            } if d == Duration::from_secs(6)
        ) && err.is_transient(),
        "the provider's Retry-After is carried: {err:?}"
    );
    let err = err.to_string();
    assert!(err.contains("429"), "{err}");
    assert!(t.elapsed() < Duration::from_secs(15));
}

#[tokio::test]
async fn server_errors_are_retried_within_a_bound() {
    let e = env("5xx", Options::default(), |p| p).await;
    e.provider.read_zone(&e.zone).await.unwrap();
    e.fake.fail_next(2);
    let before = e.fake.requests();
    e.provider.read_zone(&e.zone).await.unwrap();
    assert_eq!(e.fake.requests() - before, 3, "two 503s, then the answer");
    e.fake.fail_next(usize::MAX);
    let t = Instant::now();
    let err = e.provider.read_zone(&e.zone).await.unwrap_err().to_string();
    assert!(err.contains("503") && err.contains("10013"), "{err}");
    // Budget 2 s in tests (60 s by default).
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    e.fake.fail_next(0);
}

/// A POST is never sent again blindly: applied but answered 502, it is found applied by
/// reading the zone (no duplicate, no error); answered 503 without being applied, it is found
/// not applied and sent once more. Both with the batch endpoint and record by record.
#[tokio::test]
async fn a_post_answered_5xx_is_settled_by_reading_the_zone() {
    for refuse_batch in [false, true] {
        let o = Options {
            refuse_batch,
            ..Options::default()
        };
        let e = env("post-5xx", o, |p| p).await;
        let p = &*e.provider;
        let live = p.read_zone(&e.zone).await.unwrap();
        // Applied, then 502.
        let desired = with_sets(
            &live,
            vec![set(
                "a.example.com.",
                RType::A,
                300,
                vec![value("192.0.2.1", json!({}))],
            )],
        );
        let posts = |e: &common::Env| {
            e.fake
                .log()
                .iter()
                // (A refused /batch, 404, is the fall-back to single records, not a resend.)
                .filter(|(m, path, st)| m == "POST" && path.contains("/dns_records") && *st != 404)
                .count()
        };
        let before = posts(&e);
        e.fake.apply_then_fail_next(1);
        converge(p, &e.zone, &desired).await;
        assert_eq!(
            posts(&e) - before,
            1,
            "refuse_batch {refuse_batch}: sent once"
        );
        let objects = e.fake.records(&e.zone_id);
        let a: Vec<&Value> = objects
            .iter()
            .filter(|o| o["name"] == "a.example.com")
            .collect();
        assert_eq!(a.len(), 1, "no duplicate: {objects:?}");
        // Not applied, 503 (to the POST itself): the zone shows none of it, sent once more.
        let desired2 = with_sets(
            &desired,
            vec![set(
                "b.example.com.",
                RType::A,
                300,
                vec![value("192.0.2.2", json!({}))],
            )],
        );
        let live = p.read_zone(&e.zone).await.unwrap();
        let plan = plan::plan(p.name(), p.capabilities(), &live, &desired2, &opts()).unwrap();
        let before = posts(&e);
        e.fake.fail_next_post(1);
        p.apply(&e.zone, &plan.changes).await.unwrap();
        assert_eq!(p.read_zone(&e.zone).await.unwrap(), desired2);
        let log = e.fake.log();
        let sent: Vec<u16> = log
            .iter()
            .filter(|(m, path, st)| m == "POST" && path.contains("/dns_records") && *st != 404)
            .map(|(_, _, st)| *st)
            .skip(before)
            .collect();
        assert_eq!(sent, [503, 200], "refuse_batch {refuse_batch}: {log:?}");
    }
}

/// A 4xx is not retried, and Cloudflare's code and message reach the user with the record.
#[tokio::test]
async fn cloudflare_errors_name_the_record() {
    for refuse_batch in [false, true] {
        let o = Options {
            refuse_batch,
            ..Options::default()
        };
        let e = env("4xx", o, |p| p).await;
        let p = &*e.provider;
        let live = p.read_zone(&e.zone).await.unwrap();
        let desired = with_sets(
            &live,
            vec![set(
                "www.example.com.",
                RType::A,
                300,
                vec![value("192.0.2.1", json!({"tags": ["not a tag"]}))],
            )],
        );
        let plan = plan::plan(p.name(), p.capabilities(), &live, &desired, &opts()).unwrap();
        let before = e.fake.requests();
        let err = p.apply(&e.zone, &plan.changes).await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains("www.example.com"), "{text}");
        assert!(
            text.contains("[9300]") && text.contains("invalid tags"),
            "{text}"
        );
        // zone list + one write (+ the refused batch), no retries.
        let writes = e.fake.log()[before..]
            .iter()
            .filter(|(m, _, _)| m != "GET")
            .count();
        assert_eq!(
            writes,
            if refuse_batch { 2 } else { 1 },
            "{:?}",
            e.fake.log()
        );
    }
}

/// Capabilities: a weighted set is refused by the planner before any request.
#[tokio::test]
async fn weighted_cutover_refused_before_any_call() {
    let e = env("weighted", Options::default(), |p| p).await;
    let p = &*e.provider;
    assert!(!p.capabilities().weighted.is_yes());
    let existing = Zone::new(
        n(ZONE_STR),
        vec![set(
            "www.example.com.",
            RType::A,
            300,
            vec![value("192.0.2.1", json!({}))],
        )],
    );
    let mut a = set(
        "www.example.com.",
        RType::A,
        60,
        vec![value("192.0.2.1", json!({}))],
    );
    a.set_identifier = Some("primary".into());
    a.weight = Some(0);
    let mut b = a.clone();
    b.set_identifier = Some("recovery".into());
    b.weight = Some(100);
    b.values = vec![value("198.51.100.1", json!({}))];
    let desired = Zone::new(n(ZONE_STR), vec![a.clone(), b]);
    let err = plan::plan(p.name(), p.capabilities(), &existing, &desired, &opts()).unwrap_err();
    match &err {
        PlanError::Unsupported { reason, .. } => {
            assert!(reason.contains("no weighted records"), "{reason}")
        }
        other => panic!("{other}"),
    }
    // Even handed straight to apply, it is refused before the first request.
    let r = p.apply(&e.zone, &[Change::Create { after: a }]).await;
    assert!(r.unwrap_err().to_string().contains("weighted"));
    assert_eq!(p.api_calls(), 0);
    assert_eq!(e.fake.requests(), 0);
}

#[tokio::test]
async fn zones_by_name_and_by_id() {
    let e = env("zones", Options::default(), |p| p).await;
    let zones = e.provider.list_zones().await.unwrap();
    assert_eq!(zones.len(), 1, "account_id filters: {zones:?}");
    assert_eq!(
        (zones[0].name.to_string(), zones[0].id.clone()),
        (ZONE_STR.to_string(), e.zone_id.clone())
    );
    let by_id = e
        .provider
        .read_zone(&n(&format!("{}.", e.zone_id)))
        .await
        .unwrap();
    assert_eq!(by_id.origin, n(ZONE_STR));
    assert_eq!(by_id, e.provider.read_zone(&e.zone).await.unwrap());
    let err = e.provider.read_zone(&n("nope.example.")).await.unwrap_err();
    assert!(
        matches!(err, switchback_api::ProviderError::ZoneNotFound(_)),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The token appears in no log line (TRACE, every target), no error and no Debug output, across
/// successes, 429s, 5xx, 4xx, a refused batch and a wrong token.
#[tokio::test]
async fn token_never_in_logs_or_errors() {
    let buf = Buf::default();
    let w = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || w.clone())
        .finish();
    let _g = tracing::subscriber::set_default(subscriber);
    let o = Options {
        throttle_after: Some(2),
        throttle_count: 1,
        retry_after_secs: 1,
        refuse_batch: true,
        ..Options::default()
    };
    let e = env("secrets", o, |p| p).await;
    let p = &*e.provider;
    let mut texts = vec![format!("{p:?}")];
    let live = p.read_zone(&e.zone).await.unwrap();
    e.fake.fail_next(1);
    let desired = with_sets(
        &live,
        vec![set(
            "s.example.com.",
            RType::A,
            300,
            vec![value("192.0.2.1", json!({}))],
        )],
    );
    converge(p, &e.zone, &desired).await;
    let bad = with_sets(
        &desired,
        vec![set(
            "t.example.com.",
            RType::A,
            300,
            vec![value("192.0.2.1", json!({"tags": ["x"]}))],
        )],
    );
    let plan = plan::plan(p.name(), p.capabilities(), &desired, &bad, &opts()).unwrap();
    let err = p.apply(&e.zone, &plan.changes).await.unwrap_err();
    texts.push(err.to_string());
    texts.push(format!("{err:?}"));
    // A wrong token: Cloudflare's 403, and nothing of the token we sent.
    let wrong = Cloudflare::with_token(
        "cf2",
        common::config(&e.fake),
        Secret::new("wrong-token-777"),
    )
    .unwrap()
    .with_retry(common::fast_retry())
    .with_recorder(e.recorder.clone());
    let err = wrong.read_zone(&e.zone).await.unwrap_err();
    assert!(
        matches!(err, switchback_api::ProviderError::Auth(_)) && !err.is_transient(),
        "{err:?}"
    );
    texts.push(err.to_string());
    assert!(err.to_string().contains("10000"), "{err}");
    // From the environment: the variable's name in the error, never a value.
    let cfg = CloudflareConfig {
        token_env: "SB_TEST_CF_TOKEN".into(),
        ..common::config(&e.fake)
    };
    let err = Cloudflare::new_with_env("cf3", cfg.clone(), |_| None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("SB_TEST_CF_TOKEN"), "{err}");
    let err = Cloudflare::new_with_env("cf3", cfg.clone(), |_| Some("  ".into()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("SB_TEST_CF_TOKEN"), "{err}");
    let from_env = Cloudflare::new_with_env("cf3", cfg, |k| {
        (k == "SB_TEST_CF_TOKEN").then(|| fake::TOKEN.to_string())
    })
    .unwrap()
    .with_recorder(e.recorder.clone());
    texts.push(format!("{from_env:?}"));
    from_env.read_zone(&e.zone).await.unwrap();

    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("Cloudflare request"),
        "nothing was logged: the check would be vacuous"
    );
    assert!(
        logs.contains("429") && logs.contains("falling back"),
        "{logs}"
    );
    for (what, text) in
        std::iter::once(("logs", &logs)).chain(texts.iter().map(|t| ("error/debug", t)))
    {
        for secret in [fake::TOKEN, "wrong-token-777"] {
            assert!(
                !text.contains(secret),
                "the token appears in {what}: {text}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Live
// ---------------------------------------------------------------------------------------------

/// Against the real Cloudflare API, when `SWITCHBACK_LIVE_CLOUDFLARE_ZONE` and the token
/// (`CLOUDFLARE_API_TOKEN`) are set: create, update and delete one TXT set under
/// `sb-smoke-<pid>`, reading back after each step.
#[tokio::test]
async fn live_smoke() {
    let Some(zone) = std::env::var("SWITCHBACK_LIVE_CLOUDFLARE_ZONE")
        .ok()
        .filter(|z| !z.is_empty())
    else {
        eprintln!("live_smoke: SKIPPED: SWITCHBACK_LIVE_CLOUDFLARE_ZONE is not set");
        return;
    };
    let recorder: switchback_cloudflare::Recorder = Arc::default();
    let p = match Cloudflare::new("live", CloudflareConfig::default()) {
        Ok(p) => p.with_recorder(recorder.clone()),
        Err(e) => {
            eprintln!("live_smoke: SKIPPED: {e}");
            return;
        }
    };
    let zone: Name = zone
        .parse()
        .expect("SWITCHBACK_LIVE_CLOUDFLARE_ZONE is a zone name");
    let start = p.read_zone(&zone).await.unwrap();
    let name = format!("sb-smoke-{}.{}", std::process::id(), start.origin);
    let one = set(
        &name,
        RType::TXT,
        120,
        vec![value(
            "\"switchback smoke\" \"two strings\"",
            json!({"comment": "switchback live smoke test", "tags": ["owner:switchback"]}),
        )],
    );
    converge(&p, &zone, &with_sets(&start, vec![one.clone()])).await;
    let mut two = one.clone();
    two.values[0].fields.remove("tags");
    two.values.push(value("\"second\"", json!({})));
    converge(&p, &zone, &with_sets(&start, vec![two])).await;
    converge(&p, &zone, &start).await;
    let recorded = std::mem::take(&mut *recorder.lock().unwrap());
    tokio::task::spawn_blocking(move || contract::check_blocking("live smoke", recorded))
        .await
        .unwrap();
}
