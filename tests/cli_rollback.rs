//! Snapshots, apply and rollback through the CLI on the built-in provider, as a user runs them:
//! exit codes, refusals that change nothing, and a rollback killed with SIGKILL mid-apply.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::cli::CliEnv;

const ZONE: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.80\napi A 192.0.2.90\nmail A 192.0.2.25\n@ MX 10 mail\n@ TXT \"v=spf1 mx -all\"\n";

/// The support crate's CLI runner on `zones/example.com.zone`, with the checks these tests
/// share.
struct Env {
    cli: CliEnv,
}

impl std::ops::Deref for Env {
    type Target = CliEnv;
    fn deref(&self) -> &CliEnv {
        &self.cli
    }
}

impl Env {
    fn new(zone: &str) -> Env {
        Env {
            cli: common::cli::env(&[("example.com", zone)], ""),
        }
    }

    fn snapshot(&self) -> String {
        let v = self.json(&[
            "snapshot",
            "create",
            "builtin",
            "example.com",
            "--label",
            "before",
        ]);
        for k in [
            "id",
            "provider",
            "zone",
            "record_sets",
            "created_at",
            "label",
        ] {
            assert!(v.get(k).is_some(), "snapshot create --json lacks {k}: {v}");
        }
        v["id"].as_str().unwrap().to_string()
    }

    /// The live zone without the SOA serial (which the built-in provider manages).
    fn live(&self) -> serde_json::Value {
        let mut v = self.json(&[
            "zone",
            "export",
            "builtin",
            "example.com",
            "--format",
            "json",
        ]);
        for rs in v["record_sets"].as_array_mut().unwrap() {
            if rs["type"] == "SOA" {
                let data = rs["values"][0]["data"].as_str().unwrap().to_string();
                let mut f: Vec<&str> = data.split(' ').collect();
                f[2] = "SERIAL";
                rs["values"][0]["data"] = f.join(" ").into();
            }
        }
        v
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn snapshot_apply_rollback_round_trip() {
    let env = Env::new(ZONE);
    let before = env.live();
    let id = env.snapshot();
    let list = env.json(&["snapshot", "list"]);
    assert_eq!(list[0]["id"], id.as_str());

    // A failover-style edit through `apply`: www moves, a record is added.
    let edited = ZONE
        .replace("www A 192.0.2.80", "www A 198.51.100.80")
        .replace("api A", "api AAAA 2001:db8::90\napi A");
    write(&env.path("edited.zone"), &edited);
    let dry = env.json(&[
        "apply",
        "builtin",
        "example.com",
        "edited.zone",
        "--dry-run",
    ]);
    assert_eq!(dry["applied"], false);
    assert_eq!(dry["plan"]["changes"].as_array().unwrap().len(), 2, "{dry}");
    assert_eq!(env.live(), before, "--dry-run changed nothing");
    // No terminal and no --yes: refused, exit 2, nothing changed.
    let o = env.run(&["apply", "builtin", "example.com", "edited.zone"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(env.live(), before);
    let applied = env.json(&["apply", "builtin", "example.com", "edited.zone", "--yes"]);
    assert_eq!(applied["applied"], true);
    assert_ne!(env.live(), before);
    let d = env.json(&["diff", &id]);
    assert_eq!(d["identical"], false);
    assert_eq!(d["changes"].as_array().unwrap().len(), 2);

    // Roll back only www first, then the rest.
    let partial = env.json(&["rollback", &id, "--only", "www.example.com/A", "--yes"]);
    assert_eq!(
        partial["plan"]["changes"].as_array().unwrap().len(),
        1,
        "{partial}"
    );
    let full = env.json(&["rollback", &id, "--yes"]);
    assert_eq!(full["applied"], true);
    assert_eq!(env.live(), before, "the zone is back to the snapshot");
    // The audit entry names the run whose journaled plan holds the sets before and after.
    let store = switchback::store::Store::open(env.path("state/state.db")).unwrap();
    let last = store.audit_log(1).unwrap().remove(0).entry;
    let run = full["run"].as_i64().unwrap();
    assert_eq!(
        (last.action.as_str(), last.run.map(|r| r.0)),
        ("rollback", Some(run))
    );
    let changes = full["plan"]["changes"].as_array().unwrap();
    let sides = |side: &str| changes.iter().filter(|c| c.get(side).is_some()).count();
    assert_eq!(
        last.before,
        serde_json::json!({"plan_of_run": run, "record_sets": sides("before")})
    );
    assert_eq!(
        last.after,
        serde_json::json!({"plan_of_run": run, "record_sets": sides("after")})
    );
    let journaled = store.run(last.run.unwrap()).unwrap().detail;
    assert_eq!(&journaled["plan"]["changes"], &full["plan"]["changes"]);
    assert_eq!(env.json(&["diff", &id])["identical"], true);
    // A second rollback has nothing to do.
    let again = env.json(&["rollback", &id, "--yes"]);
    assert_eq!(again["plan"]["changes"].as_array().unwrap().len(), 0);
    // The checksum pins the reviewed plan.
    let o = env.run(&["rollback", &id, "--yes", "--plan-checksum", "0000"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "an empty plan needs no checksum check"
    );
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let env = Env::new(ZONE);
    let id = env.snapshot();
    let before = env.live();
    let code = |args: &[&str]| {
        let o = env.run(args);
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (c, err) = code(&["rollback", "s-does-not-exist", "--yes"]);
    assert_eq!(c, Some(2), "{err}");
    assert!(err.contains("s-does-not-exist"), "{err}");
    let (c, err) = code(&["rollback", &id, "--only", "nope.example.com/A", "--yes"]);
    assert_eq!(c, Some(2), "{err}");
    assert!(err.contains("nope.example.com"), "{err}");
    let (c, err) = code(&["snapshot", "create", "builtin", "not-served.test"]);
    assert_ne!(c, Some(0), "{err}");
    assert!(err.contains("not-served.test"), "{err}");
    let (c, err) = code(&["snapshot", "create", "nosuchprovider", "example.com"]);
    assert_eq!(c, Some(2), "{err}");
    // A plan over the safety threshold (every www/api/mail/TXT/MX set replaced): exit 4.
    let wiped = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\n";
    write(&env.path("wiped.zone"), wiped);
    let (c, err) = code(&["apply", "builtin", "example.com", "wiped.zone", "--yes"]);
    assert_eq!(c, Some(4), "{err}");
    assert!(err.contains("hint: --force applies it anyway"), "{err}");
    // A wrong checksum: refused.
    write(
        &env.path("one.zone"),
        &ZONE.replace("192.0.2.80", "192.0.2.81"),
    );
    let (c, err) = code(&[
        "apply",
        "builtin",
        "example.com",
        "one.zone",
        "--yes",
        "--plan-checksum",
        "deadbeef",
    ]);
    assert_eq!(c, Some(2), "{err}");
    assert_eq!(env.live(), before, "nothing changed");
    // --force passes the threshold.
    env.ok(&[
        "apply",
        "builtin",
        "example.com",
        "wiped.zone",
        "--yes",
        "--force",
    ]);
    assert_ne!(env.live(), before);

    // A damaged state file: a clear error naming it, and the file is left as it was.
    let env2 = Env::new(ZONE);
    std::fs::create_dir_all(env2.path("state")).unwrap();
    let garbage = b"this is not a database, it is a shopping list\n".repeat(200);
    std::fs::write(env2.path("state/state.db"), &garbage).unwrap();
    let o = env2.run(&["snapshot", "list"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("state.db"), "{err}");
    assert_eq!(std::fs::read(env2.path("state/state.db")).unwrap(), garbage);
}

/// `kill -9` of a rollback while it applies a large change set; then the store opens, the
/// journal shows the step, the zone is the old or the new version (never a mix), and running
/// the rollback again finishes it.
#[test]
fn rollback_killed_mid_apply_then_rerun() {
    let mut big = String::from(ZONE);
    for i in 0..20_000 {
        big.push_str(&format!("h{i} A 192.0.{}.{}\n", i / 250, i % 250));
    }
    let env = Env::new(&big);
    let id = env.snapshot();
    let snapshot_sets =
        env.json(&["snapshot", "show", &id, "--format", "json"])["zone"]["record_sets"]
            .as_array()
            .unwrap()
            .len();
    // Move every host elsewhere (a big, forced change), then roll back and kill it.
    let moved = big.replace(" A 192.0.", " A 198.18.");
    write(&env.path("moved.zone"), &moved);
    env.ok(&[
        "apply",
        "builtin",
        "example.com",
        "moved.zone",
        "--yes",
        "--force",
    ]);
    let moved_live = env.live();

    let mut child = env
        .cmd(&["rollback", &id, "--yes", "--force"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it as soon as the journal says its apply step started.
    let started = Instant::now();
    let db = env.path("state/state.db");
    while started.elapsed() < Duration::from_secs(20) {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        let conn =
            rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY);
        let n: i64 = conn
            .and_then(|c| {
                c.query_row(
                    "SELECT COUNT(*) FROM journal j JOIN runs r ON r.id = j.run_id \
                     WHERE r.kind = 'rollback' AND j.step = 'apply'",
                    [],
                    |r| r.get(0),
                )
            })
            .unwrap_or(0);
        if n > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let finished_alone = child.try_wait().unwrap().is_some();
    let _ = child.kill();
    let _ = child.wait();

    // The store opens and the run is there.
    let runs_before: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT COUNT(*) FROM runs WHERE kind = 'rollback'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(runs_before >= 1, "the journal shows the rollback run");
    // Old or new, never a mix.
    let live = env.live();
    let restored = env.json(&["diff", &id])["identical"] == true;
    let steps: Vec<String> = rusqlite::Connection::open(&db)
        .unwrap()
        .prepare("SELECT run_id || ':' || step || ':' || phase FROM journal ORDER BY run_id, seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    eprintln!(
        "killed {} after {:?}; zone {}; journal {steps:?}",
        if finished_alone {
            "too late (it had finished)"
        } else {
            "mid-run"
        },
        started.elapsed(),
        if restored { "restored" } else { "still moved" }
    );
    assert!(
        steps
            .iter()
            .filter(|s| s.ends_with(":apply:started"))
            .count()
            == 2,
        "the journal shows the rollback's apply step: {steps:?}"
    );
    assert!(
        live == moved_live || restored,
        "the zone is a mix of old and new"
    );
    assert_eq!(live["record_sets"].as_array().unwrap().len(), snapshot_sets);
    // Running it again finishes it.
    env.ok(&["rollback", &id, "--yes", "--force"]);
    assert_eq!(env.json(&["diff", &id])["identical"], true);
}
