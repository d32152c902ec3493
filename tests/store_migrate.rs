//! `switchback store migrate --to postgres://...`: a SQLite store with snapshots, a failed-over
//! cutover (runs, journal, audit log, cutover state) and a changed built-in zone (its IXFR
//! history) is copied into PostgreSQL, verified by counts and checksums; a config pointed at
//! the database then carries on from there (status, snapshots, the live zone, a failback).
//! A second copy into the same database is refused, and so is a copy the wrong way round.

mod common;

use switchback_testsupport::postgres::TestDatabase;

const ZONE: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.80\napi A 192.0.2.90\n";

const CUTOVER: &str = "[[cutover]]\nname = \"web\"\nprovider = \"builtin\"\nzone = \"example.com\"\n\
     steering = \"failover\"\nsoak = \"0s\"\nfailback_stages = [100]\n\
     [[cutover.record]]\nname = \"www.example.com.\"\ntype = \"A\"\nrecovery = [\"198.51.100.80\"]\n";

#[test]
fn a_sqlite_store_moves_into_postgres_and_carries_on_there() {
    let Some(pg) = TestDatabase::create() else {
        return;
    };
    let sqlite = common::cli::env(&[("example.com", ZONE)], CUTOVER);
    let snap = sqlite.snapshot("builtin", "example.com");
    sqlite.ok(&["failover", "web", "--yes"]);
    let before = sqlite.status("web");
    assert_eq!(before["state"], "failed-over");
    let snapshots_before = sqlite.json(&["snapshot", "list"]);

    // Copy, verified.
    let sqlite = sqlite.with_env("PGPASSWORD", &pg.password);
    let doc = sqlite.json(&["store", "migrate", "--to", &pg.url]);
    let rows = |t: &str| {
        doc["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["table"] == t)
            .map(|c| c["rows"].as_u64().unwrap())
            .unwrap_or_else(|| panic!("no table {t} in {doc}"))
    };
    for t in [
        "snapshots",
        "runs",
        "journal",
        "audit_log",
        "cutover_state",
        "builtin_zones",
    ] {
        assert!(rows(t) > 0, "{t}: {doc}");
    }
    assert!(
        rows("builtin_journal") > 0,
        "the failover's change is in the history: {doc}"
    );
    assert_eq!(rows("cutover_state"), 1);
    assert!(
        !doc.to_string().contains(&pg.password),
        "no password in the output"
    );

    // The same config, pointed at PostgreSQL.
    let on_pg = common::cli::env(&[("example.com", ZONE)], "").with_env("PGPASSWORD", &pg.password);
    std::fs::write(
        &on_pg.config,
        format!(
            "[server]\nzones = \"zones\"\nstate = \"{}\"\n\n{CUTOVER}",
            pg.url
        ),
    )
    .unwrap();
    let after = on_pg.status("web");
    for k in ["state", "stage", "snapshots", "targets"] {
        assert_eq!(after[k], before[k], "{k}");
    }
    assert_eq!(on_pg.json(&["snapshot", "list"]), snapshots_before);
    assert_eq!(
        on_pg.values("builtin", "example.com", "www.example.com.", "A"),
        ["198.51.100.80"]
    );
    // It carries on: the failback restores the snapshot taken in SQLite, exactly.
    on_pg.ok(&["failback", "web", "--yes"]);
    assert_eq!(on_pg.status("web")["state"], "restored");
    assert!(on_pg.identical_to(&snap));

    // Never over a store in use; never the wrong way round.
    let again = sqlite.run(&["store", "migrate", "--to", &pg.url]);
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("already holds data"), "{err}");
    let wrong = on_pg.run(&["store", "migrate", "--to", &pg.url]);
    assert!(!wrong.status.success(), "{}", common::cli::text(&wrong));
    let bad = sqlite.run(&["store", "migrate", "--to", "/tmp/x.db"]);
    assert_eq!(bad.status.code(), Some(2), "{}", common::cli::text(&bad));
}
