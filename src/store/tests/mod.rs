use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use serde_json::json;
use switchback_api::{Fields, RType, RecordSet, RecordValue, Zone};

use super::*;

fn n(s: &str) -> Name {
    s.parse().unwrap()
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Where a test's store lives: a fresh SQLite file, or a fresh PostgreSQL database. The
/// tests that are not about files run on both ([`on_both!`]).
struct At {
    dir: tempfile::TempDir,
    location: Location,
    pg: Option<switchback_testsupport::postgres::TestDatabase>,
}

impl At {
    fn sqlite() -> At {
        let dir = tmp();
        let location = Location::Sqlite(dir.path().join("state.db"));
        At {
            dir,
            location,
            pg: None,
        }
    }

    fn postgres() -> Option<At> {
        let pg = switchback_testsupport::postgres::TestDatabase::create()?;
        Some(At {
            dir: tmp(),
            location: pg.location(),
            pg: Some(pg),
        })
    }

    fn open(&self) -> Store {
        Store::open(&self.location).unwrap()
    }

    /// Run `sql` on the store's database behind Switchback's back.
    fn raw(&self, sql: &str) {
        let db = match &self.location {
            Location::Sqlite(p) => Db::sqlite(rusqlite::Connection::open(p).unwrap()),
            Location::Postgres(t) => Db::postgres(t).unwrap(),
        };
        db.write(|tx| tx.batch(sql)).unwrap();
    }

    /// A query's rows behind Switchback's back.
    fn rows(&self, sql: &str) -> Vec<Vec<switchback_sql::Value>> {
        let db = match &self.location {
            Location::Sqlite(p) => Db::sqlite(rusqlite::Connection::open(p).unwrap()),
            Location::Postgres(t) => Db::postgres(t).unwrap(),
        };
        db.read(|tx| tx.query(sql, params![]))
            .unwrap()
            .iter()
            .map(|r| r.values().to_vec())
            .collect()
    }

    /// Everything in the store, to compare before and after a refusal: the file's bytes, or
    /// every table's name and rows.
    fn contents(&self) -> Vec<u8> {
        match &self.location {
            Location::Sqlite(p) => fs::read(p).unwrap(),
            Location::Postgres(_) => {
                let mut out = Vec::new();
                let tables = self.rows(
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = current_schema() ORDER BY 1",
                );
                for t in tables {
                    let switchback_sql::Value::Text(t) = &t[0] else {
                        panic!("a table name")
                    };
                    out.extend(
                        format!("{t}: {:?}\n", self.rows(&format!("SELECT * FROM {t}"))).bytes(),
                    );
                }
                out
            }
        }
    }
}

/// Each named test (a `fn(&At)`) as two tests: `on_sqlite::NAME` and `on_postgres::NAME`.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[test] fn $name() { super::$name(&super::At::sqlite()) })*
        }
        mod on_postgres {
            $(#[test] fn $name() {
                if let Some(at) = super::At::postgres() { super::$name(&at) }
            })*
        }
    };
}

on_both!(
    opening_twice_is_idempotent_and_concurrent_opens_share,
    concurrent_first_opens_migrate_once,
    builtin_tables_created_first_are_left_alone,
    snapshot_round_trip_is_lossless,
    list_snapshots_filters_and_orders_newest_first,
    missing_things_are_not_found_by_id,
    plans_are_saved_with_their_checksum,
    runs_journal_and_audit,
    newer_schema_is_refused_untouched,
    someone_elses_database_is_refused_untouched,
    snapshot_of_a_large_zone,
    journal_survives_kill_9,
    leases_are_compare_and_set,
);

fn fields(v: serde_json::Value) -> Fields {
    match v {
        serde_json::Value::Object(m) => m.into_iter().collect(),
        _ => panic!("not an object"),
    }
}

/// A zone using every part of the record model: weights, set identifiers, per-value and
/// set-level provider fields, TTL 1 (auto), awkward TXT.
fn rich_zone() -> Zone {
    let o = n("example.com.");
    let mut www_a = RecordSet::new(n("www.example.com."), RType::A, 60, ["192.0.2.1".into()]);
    www_a.set_identifier = Some("primary".into());
    www_a.weight = Some(100);
    www_a.fields = fields(json!({
        "health_check_id": "hc-1234",
        "failover": "PRIMARY",
        "geo": {"continent": "EU", "subdivision": null},
        "bias": -12,
        "big": 18446744073709551615u64,
        "ratio": 0.5,
        "tags": ["a", "b"],
    }));
    let mut www_b = RecordSet::new(
        n("www.example.com."),
        RType::A,
        60,
        ["198.51.100.10".into(), "198.51.100.11".into()],
    );
    www_b.set_identifier = Some("recovery".into());
    www_b.weight = Some(0);
    let mut cf = RecordSet::new(n("api.example.com."), RType::A, 1, Vec::<String>::new());
    cf.values = vec![
        RecordValue {
            data: "203.0.113.5".into(),
            fields: fields(json!({"proxied": true, "comment": "edge \"one\"", "tags": ["x:1"]})),
        },
        RecordValue {
            data: "203.0.113.6".into(),
            fields: fields(json!({"proxied": false, "settings": {"ipv4_only": true}})),
        },
    ];
    cf.normalize();
    let mut alias = RecordSet::new(o.clone(), RType::A, 300, Vec::<String>::new());
    alias.fields = fields(json!({"alias": {"dns_name": "lb-1.elb.amazonaws.com.",
        "hosted_zone_id": "Z35SXDOTRQ7X7K", "evaluate_target_health": true}}));
    Zone::new(
        o.clone(),
        vec![
            RecordSet::new(
                o.clone(),
                RType::SOA,
                3600,
                [
                    "ns1.example.com. hostmaster.example.com. 2026112501 7200 3600 1209600 300"
                        .into(),
                ],
            ),
            RecordSet::new(
                o.clone(),
                RType::NS,
                3600,
                ["ns1.example.com.".into(), "ns2.example.com.".into()],
            ),
            RecordSet::new(
                o.clone(),
                RType::TXT,
                300,
                [
                    r#""v=spf1 -all""#.into(),
                    r#""quoted \"inner\" ; semi" "second string""#.into(),
                    "\"ünï\\195\\169code \\\\ backslash\"".into(),
                ],
            ),
            www_a,
            www_b,
            cf,
            alias,
        ],
    )
}

fn big_zone(sets: usize) -> Zone {
    let o = n("big.example.");
    let mut v = Vec::with_capacity(sets);
    for i in 0..sets {
        let name = n(&format!("host-{i}.big.example."));
        let mut rs = match i % 4 {
            0 => RecordSet::new(
                name,
                RType::A,
                300,
                [format!("10.{}.{}.{}", i >> 16 & 255, i >> 8 & 255, i & 255)],
            ),
            1 => RecordSet::new(
                name,
                RType::AAAA,
                300,
                [format!("2001:db8::{:x}", i), format!("2001:db8::1:{:x}", i)],
            ),
            2 => RecordSet::new(name, RType::TXT, 3600, [format!("\"record number {i}\"")]),
            _ => RecordSet::new(name, RType::CNAME, 60, ["target.big.example.".to_string()]),
        };
        if i % 10 == 0 {
            rs.set_identifier = Some(format!("id-{i}"));
            rs.weight = Some((i % 101) as u32);
            rs.fields = fields(json!({"health_check_id": format!("hc-{i}")}));
        }
        v.push(rs);
    }
    Zone::new(o, v)
}

fn opening_twice_is_idempotent_and_concurrent_opens_share(at: &At) {
    let first = at.open();
    let meta = first.create_snapshot("site", &rich_zone(), None).unwrap();
    // A second handle while the first is open, and again after both are gone.
    let second = at.open();
    assert_eq!(second.schema_version().unwrap(), schema::SCHEMA_VERSION);
    assert_eq!(second.snapshot(&meta.id).unwrap().meta, meta);
    drop((first, second));
    let third = at.open();
    assert_eq!(third.schema_version().unwrap(), schema::SCHEMA_VERSION);
    assert_eq!(third.list_snapshots(None, None).unwrap(), vec![meta]);
    assert_eq!(
        at.rows("SELECT COUNT(*) FROM switchback_meta"),
        [[switchback_sql::Value::Int(1)]]
    );
}

fn concurrent_first_opens_migrate_once(at: &At) {
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let p = at.location.clone();
            std::thread::spawn(move || Store::open(&p).map(|s| s.schema_version().unwrap()))
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().unwrap(), schema::SCHEMA_VERSION);
    }
}

fn builtin_tables_created_first_are_left_alone(at: &At) {
    at.raw(
        "CREATE TABLE builtin_zones (name TEXT PRIMARY KEY, body TEXT NOT NULL);
         INSERT INTO builtin_zones VALUES ('example.', 'x');",
    );
    let store = at.open();
    assert_eq!(store.schema_version().unwrap(), schema::SCHEMA_VERSION);
    drop(store);
    assert_eq!(
        at.rows("SELECT body FROM builtin_zones"),
        [[switchback_sql::Value::Text("x".into())]]
    );
}

fn snapshot_round_trip_is_lossless(at: &At) {
    let store = at.open();
    let zone = rich_zone();
    let meta = store
        .create_snapshot("aws", &zone, Some("before failover"))
        .unwrap();
    assert!(meta.id.starts_with("s-"), "{}", meta.id);
    assert_eq!(meta.id.len(), "s-20261125T174502-3f9a".len(), "{}", meta.id);
    assert_eq!(meta.provider, "aws");
    assert_eq!(meta.zone, n("example.com."));
    assert_eq!(meta.label.as_deref(), Some("before failover"));
    assert_eq!(meta.record_sets, zone.record_sets.len());
    assert!(humantime::parse_rfc3339(&meta.created_at).is_ok());
    assert!(meta.created_at.ends_with('Z'));

    // What `snapshot create --json` prints.
    let j = serde_json::to_value(&meta).unwrap();
    for k in [
        "id",
        "provider",
        "zone",
        "record_sets",
        "created_at",
        "label",
    ] {
        assert!(j.get(k).is_some(), "{k} missing from {j}");
    }
    assert_eq!(j["zone"], "example.com.");

    drop(store);
    let store = at.open();
    let back = store.snapshot(&meta.id).unwrap();
    assert_eq!(back.meta, meta);
    assert_eq!(back.zone, zone);
    assert_eq!(
        serde_json::to_string(&back.zone).unwrap(),
        serde_json::to_string(&zone).unwrap()
    );
    let www = back
        .zone
        .record_sets
        .iter()
        .find(|r| r.set_identifier.as_deref() == Some("primary"))
        .unwrap();
    assert_eq!(www.weight, Some(100));
    assert_eq!(www.fields["big"], json!(18446744073709551615u64));
    assert_eq!(www.fields["ratio"], json!(0.5));
}

fn list_snapshots_filters_and_orders_newest_first(at: &At) {
    let store = at.open();
    let a = Zone::new(n("a.example."), vec![]);
    let b = Zone::new(n("b.example."), vec![]);
    let mut made = Vec::new();
    for (p, z) in [("aws", &a), ("cf", &a), ("aws", &b), ("aws", &a)] {
        made.push(store.create_snapshot(p, z, None).unwrap());
    }
    let ids = |v: Vec<SnapshotMeta>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();
    let all = ids(store.list_snapshots(None, None).unwrap());
    let expect: Vec<String> = made.iter().rev().map(|m| m.id.clone()).collect();
    assert_eq!(all, expect);
    assert_eq!(
        ids(store.list_snapshots(Some("aws"), None).unwrap()),
        vec![made[3].id.clone(), made[2].id.clone(), made[0].id.clone()]
    );
    assert_eq!(
        ids(store
            .list_snapshots(Some("aws"), Some(&n("a.example.")))
            .unwrap()),
        vec![made[3].id.clone(), made[0].id.clone()]
    );
    assert_eq!(
        ids(store.list_snapshots(None, Some(&n("a.example."))).unwrap()),
        vec![made[3].id.clone(), made[1].id.clone(), made[0].id.clone()]
    );
    assert!(
        store
            .list_snapshots(Some("nobody"), None)
            .unwrap()
            .is_empty()
    );
    // Ids are unique even within one second.
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), all.len());
}

fn missing_things_are_not_found_by_id(at: &At) {
    let store = at.open();
    let e = store.snapshot("s-20000101T000000-dead").unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::NotFound {
                what: "snapshot",
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "snapshot s-20000101T000000-dead not found");
    assert!(matches!(
        store.run(RunId(42)).unwrap_err(),
        StoreError::NotFound { what: "run", .. }
    ));
    assert!(matches!(
        store
            .journal(RunId(42), "x", Phase::Started, &json!({}))
            .unwrap_err(),
        StoreError::NotFound { what: "run", .. }
    ));
    assert!(matches!(
        store.journal_entries(RunId(42)).unwrap_err(),
        StoreError::NotFound { what: "run", .. }
    ));
    assert!(matches!(
        store.plan("p-x").unwrap_err(),
        StoreError::NotFound { what: "plan", .. }
    ));
}

fn plans_are_saved_with_their_checksum(at: &At) {
    let store = at.open();
    let origin = n("example.com.");
    let existing = Zone::new(origin.clone(), vec![]);
    let desired = Zone::new(
        origin.clone(),
        vec![RecordSet::new(
            n("www.example.com."),
            RType::A,
            300,
            ["192.0.2.1".into()],
        )],
    );
    let caps = switchback_api::Capabilities {
        record_types: vec![RType::A],
        ..Default::default()
    };
    let plan = switchback_api::plan::plan(
        "site",
        &caps,
        &existing,
        &desired,
        &switchback_api::plan::DiffOptions::default(),
    )
    .unwrap();
    let id = store.save_plan(&plan).unwrap();
    assert!(id.starts_with("p-"));
    let back = store.plan(&id).unwrap();
    assert_eq!(back.checksum, plan.checksum());
    assert_eq!(back.changes, 1);
    assert_eq!(back.zone, origin);
    assert_eq!(back.plan, serde_json::to_value(&plan).unwrap());
}

fn runs_journal_and_audit(at: &At) {
    let store = at.open();
    let zone = n("example.com.");
    let r1 = store
        .start_run("rollback", "s-1", "site", &zone, &json!({"only": ["www"]}))
        .unwrap();
    let r2 = store
        .start_run("failover", "web", "aws", &zone, &json!(null))
        .unwrap();
    assert!(r2 > r1);
    store
        .journal(r1, "batch 1", Phase::Started, &json!({"changes": 3}))
        .unwrap();
    store
        .journal(r1, "batch 1", Phase::Done, &json!({"api_calls": 1}))
        .unwrap();
    store
        .journal(r2, "steer", Phase::Started, &json!({}))
        .unwrap();
    store
        .journal(r1, "verify", Phase::Failed, &json!({"error": "mismatch"}))
        .unwrap();

    let j = store.journal_entries(r1).unwrap();
    let steps: Vec<(i64, &str, Phase)> = j
        .iter()
        .map(|e| (e.seq, e.step.as_str(), e.phase))
        .collect();
    assert_eq!(
        steps,
        [
            (1, "batch 1", Phase::Started),
            (2, "batch 1", Phase::Done),
            (3, "verify", Phase::Failed)
        ]
    );
    assert_eq!(j[0].detail, json!({"changes": 3}));
    assert!(j.iter().all(|e| e.run == r1));
    assert_eq!(store.journal_entries(r2).unwrap().len(), 1);

    let unfinished: Vec<RunId> = store
        .unfinished_runs()
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(unfinished, [r1, r2]);

    store
        .finish_run(r1, RunState::Failed, &json!({"applied": 3}))
        .unwrap();
    let run = store.run(r1).unwrap();
    assert_eq!(run.state, RunState::Failed);
    assert_eq!(run.kind, "rollback");
    assert_eq!(run.subject, "s-1");
    assert_eq!(run.provider, "site");
    assert_eq!(run.zone, zone);
    assert_eq!(run.detail, json!({"only": ["www"]}));
    assert_eq!(run.result, Some(json!({"applied": 3})));
    assert!(run.finished_at.is_some());
    assert!(run.started_at <= *run.finished_at.as_ref().unwrap());
    let running = store.run(r2).unwrap();
    assert_eq!(running.state, RunState::Running);
    assert_eq!(running.finished_at, None);
    assert_eq!(running.result, None);

    // A finished run takes no more steps and is not finished twice.
    assert!(matches!(
        store.journal(r1, "late", Phase::Started, &json!({})),
        Err(StoreError::RunFinished {
            state: RunState::Failed,
            ..
        })
    ));
    assert!(matches!(
        store.finish_run(r1, RunState::Done, &json!({})),
        Err(StoreError::RunFinished { .. })
    ));
    assert!(matches!(
        store.finish_run(r2, RunState::Running, &json!({})),
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        store
            .unfinished_runs()
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect::<Vec<_>>(),
        [r2]
    );
    store.finish_run(r2, RunState::Aborted, &json!({})).unwrap();
    assert!(store.unfinished_runs().unwrap().is_empty());
    let runs: Vec<RunId> = store.runs(10).unwrap().iter().map(|r| r.id).collect();
    assert_eq!(runs, [r2, r1]);
    assert_eq!(store.runs(1).unwrap().len(), 1);

    // Audit log.
    let actor = crate::host::actor();
    assert!(actor.contains('@') && !actor.starts_with('@') && !actor.ends_with('@'));
    let e1 = AuditEntry {
        actor: actor.clone(),
        action: "rollback".into(),
        provider: "site".into(),
        zone: zone.clone(),
        run: Some(r1),
        before: json!({"www.example.com./A": ["192.0.2.1"]}),
        after: json!({"www.example.com./A": ["198.51.100.10"]}),
    };
    let e2 = AuditEntry {
        actor: "webhook:pre-recovery".into(),
        run: None,
        before: json!(null),
        after: json!([]),
        ..e1.clone()
    };
    store.audit(&e1).unwrap();
    store.audit(&e2).unwrap();
    let log = store.audit_log(10).unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].entry, e2);
    assert_eq!(log[1].entry, e1);
    assert!(log[0].id > log[1].id);
    assert!(humantime::parse_rfc3339(&log[0].at).is_ok());
    assert_eq!(store.audit_log(1).unwrap().len(), 1);
    let j = serde_json::to_value(&log[1]).unwrap();
    assert_eq!(j["actor"], json!(actor));
    assert_eq!(j["run"], json!(r1.0));

    // Foreign keys are enforced: an audit entry cannot name a run that does not exist.
    let bad = AuditEntry {
        run: Some(RunId(999)),
        ..e1
    };
    assert!(matches!(store.audit(&bad), Err(StoreError::Sql(_))));
}

fn newer_schema_is_refused_untouched(at: &At) {
    drop(at.open());
    at.raw("UPDATE switchback_meta SET value = '99' WHERE key = 'schema_version'");
    let before = at.contents();
    let e = Store::open(&at.location).unwrap_err();
    assert!(
        matches!(e, StoreError::NewerSchema { found: 99, supported, .. } if supported == schema::SCHEMA_VERSION),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(msg.contains(&at.location.display()), "{msg}");
    assert!(
        msg.contains(&format!(
            "was written by a newer Switchback (schema 99, this one knows {}); refusing to touch it",
            schema::SCHEMA_VERSION
        )),
        "{msg}"
    );
    assert!(at.contents() == before, "the store was modified");
}

#[test]
fn store_is_shareable_between_threads() {
    fn is_send_sync<T: Send + Sync>() {}
    is_send_sync::<Store>();
}

fn someone_elses_database_is_refused_untouched(at: &At) {
    at.raw("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);");
    let before = at.contents();
    let e = Store::open(&at.location).unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}");
    assert!(e.to_string().contains("\"users\""), "{e}");
    assert!(at.contents() == before, "the store was modified");
}

fn snapshot_of_a_large_zone(at: &At) {
    // The suite runs a modest size; tests/bench/state.sh measures 100,000 record sets.
    let store = at.open();
    let zone = big_zone(5_000);
    let meta = store.create_snapshot("site", &zone, None).unwrap();
    assert_eq!(meta.record_sets, 5_000);
    assert_eq!(store.snapshot(&meta.id).unwrap().zone, zone);
}

/// Four handles (four connections, as four processes or nodes would have) race for one lease,
/// round after round: each round exactly one wins, and only the winner's token beats.
fn leases_are_compare_and_set(at: &At) {
    use std::sync::{Arc, Barrier};
    let stores: Vec<Arc<Store>> = (0..4).map(|_| Arc::new(at.open())).collect();
    for round in 0..25 {
        let name = format!("web{round}");
        let barrier = Arc::new(Barrier::new(stores.len()));
        let racers: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let (s, b, name) = (s.clone(), barrier.clone(), name.clone());
                std::thread::spawn(move || {
                    let me = LeaseRow {
                        name,
                        token: format!("t{i}"),
                        node: format!("n{i}"),
                        host: "h".into(),
                        pid: i as i64,
                        pid_start: String::new(),
                        actor: "cli".into(),
                        who: format!("w{i}"),
                        acquired_at: String::new(),
                        heartbeat_at: String::new(),
                    };
                    b.wait();
                    s.take_lease(&me, |_| false).unwrap().is_ok()
                })
            })
            .collect();
        let winners = racers
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|won| *won)
            .count();
        assert_eq!(winners, 1, "round {round}");
        let holder = stores[0].lease(&name).unwrap().unwrap();
        for (i, s) in stores.iter().enumerate() {
            let token = format!("t{i}");
            assert_eq!(
                s.heartbeat_lease(&name, &token).unwrap(),
                holder.token == token,
                "round {round}, handle {i}"
            );
        }
    }
}

mod kill;
use kill::journal_survives_kill_9;
mod sqlite_file;

/// Processes and threads that open a new SQLite file at the same moment all get the store
/// (SQLite answers some of the steps that make a file a WAL database with "database is
/// locked" at once, without its busy handler; 8 of 180 CLI processes failed so).
#[test]
fn racing_first_opens_of_a_new_file_all_succeed() {
    for round in 0..20 {
        let dir = tmp();
        let path = dir.path().join("state.db");
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let p = path.clone();
                std::thread::spawn(move || Store::open(p.as_path()).map(|s| s.schema_version()))
            })
            .collect();
        for h in handles {
            match h.join().unwrap() {
                Ok(v) => assert_eq!(v.unwrap(), schema::SCHEMA_VERSION, "round {round}"),
                Err(e) => panic!("round {round}: {e}"),
            }
        }
    }
}
