//! The built-in provider on its state store: round trip and restart, refusal of files it
//! must not touch, the seeding rules (clean and dirty zones on reload), the history.

mod common;

use common::*;
use switchback_api::{Change, Provider};
use switchback_builtin::store::{HISTORY_KEEP, SCHEMA_VERSION, ZoneStore, ZoneStoreError};
use switchback_builtin::{Builtin, LoadError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_survives_a_restart() {
    let d = Dirs::new();
    let b = d.open();
    assert!(d.state.exists(), "state file created with its folder");
    assert_eq!(soa_serial_of(&b), 1);
    move_www(&b, "192.0.2.77").await;
    let zone = b.read_zone(&name("example.test.")).await.unwrap();
    assert_eq!(soa_serial_of(&b), 2);
    drop(b);

    let b = d.open();
    assert_eq!(b.read_zone(&name("example.test.")).await.unwrap(), zone);
    assert_eq!(soa_serial_of(&b), 2);
    let meta = b.zone_meta(&name("example.test.")).unwrap().unwrap();
    assert!(meta.dirty, "runtime change differs from the file");
    assert_eq!(meta.serial, 2);
    // The history reaches back to the seed.
    let rows = b
        .store()
        .read(|tx| tx.history(&name("example.test.")))
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].from_serial, rows[0].to_serial), (1, 2));
    let text = |v: &[switchback_builtin::store::JournalRecord]| {
        v.iter()
            .map(|r| format!("{} {} {} {}", r.name, r.rtype, r.ttl, r.data))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        text(&rows[0].removed),
        [
            "example.test. SOA 300 ns.example.test. hostmaster.example.test. 1 3600 600 86400 60",
            "www.example.test. A 300 192.0.2.1"
        ]
    );
    assert_eq!(
        text(&rows[0].added),
        [
            "example.test. SOA 300 ns.example.test. hostmaster.example.test. 2 3600 600 86400 60",
            "www.example.test. A 300 192.0.2.77"
        ]
    );
    // And the served zone carries it (for IXFR) after the restart too.
    let cat = b.catalog().load_full();
    let served = cat.zones.values().next().unwrap();
    assert_eq!(served.history.len(), 1);
    assert_eq!((served.history[0].from, served.history[0].to), (1, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_before_changes_nothing() {
    let d = Dirs::new();
    let b = d.open();
    let other = d.open();
    let before = live_a(&b, "www.example.test.").await.unwrap();
    // Someone else changes www first.
    move_www(&other, "192.0.2.5").await;
    let err = b
        .apply(
            &name("example.test."),
            &[
                Change::Create {
                    after: a_set("new.example.test.", &["192.0.2.9"]),
                },
                Change::Update {
                    before,
                    after: a_set("www.example.test.", &["192.0.2.6"]),
                },
            ],
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("www.example.test./A"), "{err}");
    let meta = b.zone_meta(&name("example.test.")).unwrap().unwrap();
    assert_eq!(meta.serial, 2, "only the other change landed");
    assert!(live_a(&b, "new.example.test.").await.is_none());
    assert_eq!(
        live_a(&b, "www.example.test.").await.unwrap(),
        a_set("www.example.test.", &["192.0.2.5"])
    );
    // An unknown zone.
    let err = b.apply(&name("nope.test."), &[]).await.unwrap_err();
    assert!(err.to_string().contains("nope.test."), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_soa_update_keeps_its_fields_but_the_serial_is_ours() {
    let d = Dirs::new();
    let b = d.open();
    assert!(b.capabilities().manages_soa_serial);
    let z = b.read_zone(&name("example.test.")).await.unwrap();
    let before = z.soa().unwrap().clone();
    let mut after = before.clone();
    after.values[0].data = "ns.example.test. hostmaster.example.test. 999 7200 600 86400 30".into();
    b.apply(&name("example.test."), &[Change::Update { before, after }])
        .await
        .unwrap();
    let z = b.read_zone(&name("example.test.")).await.unwrap();
    assert_eq!(
        z.soa().unwrap().values[0].data,
        "ns.example.test. hostmaster.example.test. 2 7200 600 86400 30"
    );
    // An empty change set changes nothing.
    b.apply(&name("example.test."), &[]).await.unwrap();
    assert_eq!(soa_serial_of(&b), 2);
}

fn file_bytes(p: &std::path::Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

#[test]
fn a_newer_schema_is_refused_and_left_alone() {
    let d = Dirs::new();
    drop(d.open());
    {
        let c = rusqlite::Connection::open(&d.state).unwrap();
        c.execute(
            "UPDATE builtin_meta SET value = ?1 WHERE key = 'schema_version'",
            [SCHEMA_VERSION + 1],
        )
        .unwrap();
        // Fold the WAL into the main file so the bytes compared below are the whole state.
        c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
    }
    let before = file_bytes(&d.state);
    let err = match Builtin::open("builtin", &d.zones, &d.state) {
        Err(e) => e,
        Ok(_) => panic!("a newer schema was accepted"),
    };
    let msg = err.to_string();
    assert!(
        matches!(err, LoadError::ZoneStore(ZoneStoreError::Newer { found, .. }) if found == SCHEMA_VERSION + 1),
        "{msg}"
    );
    assert!(msg.contains("newer") && msg.contains("state.db"), "{msg}");
    assert_eq!(file_bytes(&d.state), before, "the file was changed");
}

#[test]
fn a_garbage_file_is_refused_and_left_alone() {
    let d = Dirs::new();
    std::fs::create_dir_all(d.state.parent().unwrap()).unwrap();
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(&d.state, &garbage).unwrap();
    let err = match Builtin::open("builtin", &d.zones, &d.state) {
        Err(e) => e,
        Ok(_) => panic!("a garbage file was accepted"),
    };
    let msg = err.to_string();
    assert!(
        matches!(err, LoadError::ZoneStore(ZoneStoreError::Corrupt { .. })),
        "{msg}"
    );
    assert!(
        msg.contains("not a SQLite database") && msg.contains("state.db"),
        "{msg}"
    );
    assert_eq!(file_bytes(&d.state), garbage, "the file was changed");
    // A damaged database (valid header, broken pages) too.
    let d = Dirs::new();
    drop(d.open());
    let mut bytes = file_bytes(&d.state);
    for b in bytes.iter_mut().skip(100).take(4000) {
        *b = 0xA5;
    }
    std::fs::write(&d.state, &bytes).unwrap();
    let _ = std::fs::remove_file(d.state.with_extension("db-wal"));
    let _ = std::fs::remove_file(d.state.with_extension("db-shm"));
    assert!(ZoneStore::open(&d.state).is_err());
    assert_eq!(file_bytes(&d.state), bytes, "the damaged file was changed");
}

#[test]
fn tables_live_next_to_the_applications() {
    let d = Dirs::new();
    std::fs::create_dir_all(d.state.parent().unwrap()).unwrap();
    {
        let c = rusqlite::Connection::open(&d.state).unwrap();
        c.execute_batch(
            "CREATE TABLE snapshots (id TEXT PRIMARY KEY); INSERT INTO snapshots VALUES ('s1');",
        )
        .unwrap();
    }
    drop(d.open());
    let c = rusqlite::Connection::open(&d.state).unwrap();
    let n: i64 = c
        .query_row("SELECT count(*) FROM snapshots", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let v: i64 = c
        .query_row(
            "SELECT value FROM builtin_meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
}

const EDITED: &str = "$ORIGIN example.test.\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\nns A 192.0.2.53\nwww A 192.0.2.1\nmail A 192.0.2.25\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_zone_takes_the_edited_file_as_a_change() {
    let d = Dirs::new();
    let b = d.open();
    // The file is edited without a serial bump: the provider bumps it.
    std::fs::write(d.file(), EDITED).unwrap();
    let r = b.reload();
    assert!(r.failed.is_empty() && r.kept_live.is_empty(), "{r:?}");
    assert_eq!(soa_serial_of(&b), 2);
    assert!(live_a(&b, "mail.example.test.").await.is_some());
    let meta = b.zone_meta(&name("example.test.")).unwrap().unwrap();
    assert!(!meta.dirty);
    // With a serial bump in the file: the file's serial is taken.
    std::fs::write(
        d.file(),
        EDITED
            .replace(" 1 3600", " 50 3600")
            .replace("192.0.2.25", "192.0.2.26"),
    )
    .unwrap();
    b.reload();
    assert_eq!(soa_serial_of(&b), 50);
    let rows = b
        .store()
        .read(|tx| tx.history(&name("example.test.")))
        .unwrap();
    let serials: Vec<(u32, u32)> = rows.iter().map(|r| (r.from_serial, r.to_serial)).collect();
    assert_eq!(serials, [(1, 2), (2, 50)]);
    // Unchanged file (or a comment/serial-only edit): nothing happens.
    std::fs::write(
        d.file(),
        format!(
            "; a comment\n{}",
            EDITED
                .replace(" 1 3600", " 51 3600")
                .replace("192.0.2.25", "192.0.2.26")
        ),
    )
    .unwrap();
    b.reload();
    assert_eq!(soa_serial_of(&b), 50);
    // A restart serves the same.
    drop(b);
    let b = d.open();
    assert_eq!(soa_serial_of(&b), 50);
    assert_eq!(
        live_a(&b, "mail.example.test.").await.unwrap(),
        a_set("mail.example.test.", &["192.0.2.26"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dirty_zone_keeps_its_runtime_changes_until_rolled_back() {
    let d = Dirs::new();
    let b = d.open();
    move_www(&b, "192.0.2.77").await;
    assert!(b.zone_meta(&name("example.test.")).unwrap().unwrap().dirty);
    // The file is edited: the live zone wins, and the report says which file was left aside.
    std::fs::write(d.file(), EDITED).unwrap();
    let r = b.reload();
    assert_eq!(r.kept_live.len(), 1, "{r:?}");
    assert_eq!(r.kept_live[0].0, name("example.test."));
    assert_eq!(soa_serial_of(&b), 2);
    assert!(live_a(&b, "mail.example.test.").await.is_none());
    assert_eq!(
        live_a(&b, "www.example.test.").await.unwrap(),
        a_set("www.example.test.", &["192.0.2.77"])
    );
    // A restart keeps it too.
    drop(b);
    let b = d.open();
    assert_eq!(soa_serial_of(&b), 2);
    assert!(live_a(&b, "mail.example.test.").await.is_none());
    // Making the live zone equal to the file (what `switchback apply builtin ZONE FILE`
    // does) makes it clean again...
    b.apply(
        &name("example.test."),
        &[
            Change::Update {
                before: a_set("www.example.test.", &["192.0.2.77"]),
                after: a_set("www.example.test.", &["192.0.2.1"]),
            },
            Change::Create {
                after: a_set("mail.example.test.", &["192.0.2.25"]),
            },
        ],
    )
    .await
    .unwrap();
    let meta = b.zone_meta(&name("example.test.")).unwrap().unwrap();
    assert!(!meta.dirty);
    assert_eq!(meta.serial, 3);
    // ...so later file edits flow in again.
    std::fs::write(d.file(), EDITED.replace("192.0.2.25", "192.0.2.99")).unwrap();
    let r = b.reload();
    assert!(r.kept_live.is_empty());
    assert_eq!(soa_serial_of(&b), 4);
    assert_eq!(
        live_a(&b, "mail.example.test.").await.unwrap(),
        a_set("mail.example.test.", &["192.0.2.99"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zone_whose_file_is_gone() {
    let d = Dirs::new();
    std::fs::write(
        d.zones.join("other.test.zone"),
        ZONE.replace("example.test.", "other.test."),
    )
    .unwrap();
    let b = d.open();
    assert_eq!(b.list_zones().await.unwrap().len(), 2);
    // Clean: dropped with its file.
    std::fs::remove_file(d.zones.join("other.test.zone")).unwrap();
    b.reload();
    assert_eq!(b.list_zones().await.unwrap().len(), 1);
    // Dirty: kept.
    move_www(&b, "192.0.2.8").await;
    std::fs::remove_file(d.file()).unwrap();
    b.reload();
    assert_eq!(b.list_zones().await.unwrap().len(), 1);
    assert_eq!(soa_serial_of(&b), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_keeps_the_last_changes() {
    let d = Dirs::new();
    let b = d.open();
    let n = HISTORY_KEEP + 5;
    for i in 0..n {
        move_www(&b, &format!("10.0.{}.{}", i / 250, i % 250 + 1)).await;
    }
    let rows = b
        .store()
        .read(|tx| tx.history(&name("example.test.")))
        .unwrap();
    assert_eq!(rows.len(), HISTORY_KEEP);
    assert_eq!(rows.last().unwrap().to_serial, 1 + n as u32);
    assert_eq!(rows[0].from_serial, 1 + (n - HISTORY_KEEP) as u32);
    let cat = b.catalog().load_full();
    assert_eq!(
        cat.zones.values().next().unwrap().history.len(),
        HISTORY_KEEP
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_only_provider_still_works() {
    let d = Dirs::new();
    let b = Builtin::new("builtin", &d.zones);
    assert!(b.reload().failed.is_empty());
    move_www(&b, "192.0.2.44").await;
    assert_eq!(soa_serial_of(&b), 2);
    assert!(!d.state.exists());
}

/// A restart does not parse a zone file the store already holds byte for byte; an edited
/// file (even one byte of it) is parsed and taken; a zone with `$INCLUDE` is parsed every time
/// (the included file can change alone).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_does_not_parse_a_file_it_already_holds() {
    let d = Dirs::new();
    let (b, r) = Builtin::open_with_report("builtin", &d.zones, &d.location, true).unwrap();
    assert!(r.unchanged.is_empty(), "seeded: {r:?}");
    drop(b);
    let (b, r) = Builtin::open_with_report("builtin", &d.zones, &d.location, true).unwrap();
    assert_eq!(r.unchanged, [name("example.test.")], "{r:?}");
    assert_eq!(soa_serial_of(&b), 1);
    drop(b);
    // One octet changed: parsed, and taken (the zone is clean).
    std::fs::write(d.file(), ZONE.replace("192.0.2.1", "192.0.2.9")).unwrap();
    let (b, r) = Builtin::open_with_report("builtin", &d.zones, &d.location, true).unwrap();
    assert!(r.unchanged.is_empty(), "{r:?}");
    assert_eq!(soa_serial_of(&b), 2);
    assert_eq!(
        live_a(&b, "www.example.test.").await.unwrap(),
        a_set("www.example.test.", &["192.0.2.9"])
    );
    drop(b);
    // With an $INCLUDE: parsed every time, and an edit of the included file alone is taken.
    std::fs::write(d.zones.join("extra.inc"), "extra A 192.0.2.77\n").unwrap();
    std::fs::write(
        d.file(),
        format!(
            "{}$INCLUDE extra.inc\n",
            ZONE.replace("192.0.2.1", "192.0.2.9")
        ),
    )
    .unwrap();
    let (b, r) = Builtin::open_with_report("builtin", &d.zones, &d.location, true).unwrap();
    assert!(r.unchanged.is_empty() && r.failed.is_empty(), "{r:?}");
    drop(b);
    std::fs::write(d.zones.join("extra.inc"), "extra A 192.0.2.78\n").unwrap();
    let (b, r) = Builtin::open_with_report("builtin", &d.zones, &d.location, true).unwrap();
    assert!(r.unchanged.is_empty(), "{r:?}");
    assert_eq!(
        live_a(&b, "extra.example.test.").await.unwrap(),
        a_set("extra.example.test.", &["192.0.2.78"])
    );
}
