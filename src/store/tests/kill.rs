//! The journal survives `kill -9` (invariant 4), on both backends: a child process writes
//! journal entries and snapshots as fast as it can and is killed at different points; every
//! write whose call returned is there, whole.

use super::*;

const CRASH_ENV: &str = "SWITCHBACK_STORE_CRASH_CHILD";

/// Not a test on its own: the body of the child process of `journal_survives_kill_9`.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var(CRASH_ENV) else {
        return;
    };
    let location = Location::parse(&path, |k| std::env::var(k).ok()).unwrap();
    let store = Store::open(location).unwrap();
    let zone = rich_zone();
    let run = store
        .start_run("rollback", "crash-test", "site", &zone.origin, &json!({}))
        .unwrap();
    let mut out = std::io::stdout().lock();
    writeln!(out, "RUN {run}").unwrap();
    out.flush().unwrap();
    for i in 0..1_000_000u64 {
        let detail = json!({"i": i, "pad": "x".repeat((i as usize * 37) % 3000)});
        store
            .journal(run, &format!("step-{i}"), Phase::Started, &detail)
            .unwrap();
        writeln!(out, "J {i}").unwrap();
        out.flush().unwrap();
        if i % 20 == 7 {
            let meta = store
                .create_snapshot("site", &zone, Some(&format!("crash {i}")))
                .unwrap();
            writeln!(out, "S {}", meta.id).unwrap();
            out.flush().unwrap();
        }
    }
}

pub(super) fn journal_survives_kill_9(at: &At) {
    let (path, password) = match &at.pg {
        Some(pg) => (pg.url.clone(), pg.password.clone()),
        None => (at.location.display(), String::new()),
    };
    let _ = &at.dir;
    let exe = std::env::current_exe().unwrap();
    let zone = rich_zone();
    let mut seen_snapshots: Vec<String> = Vec::new();
    let mut seen_runs: Vec<(RunId, u64)> = Vec::new();
    // Kill at different points: early, mid-way, later.
    for kill_after in [3usize, 120, 317] {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "store::tests::kill::crash_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CRASH_ENV, &path)
            .env("PGPASSWORD", &password)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut run = None;
        let mut journalled = 0u64;
        let mut lines = 0;
        for line in stdout.lines() {
            let line = line.unwrap();
            // libtest's "test ... " may precede the first line on the same line.
            if let Some((_, id)) = line.split_once("RUN ") {
                run = Some(id.parse::<RunId>().unwrap());
            } else if let Some(i) = line.strip_prefix("J ") {
                assert_eq!(i.parse::<u64>().unwrap(), journalled);
                journalled += 1;
                lines += 1;
            } else if let Some(id) = line.strip_prefix("S ") {
                seen_snapshots.push(id.to_string());
                lines += 1;
            }
            if lines >= kill_after {
                // SIGKILL while the child keeps writing.
                child.kill().unwrap();
                break;
            }
        }
        child.wait().unwrap();
        let run = run.expect("the child started a run");
        eprintln!(
            "killed child after {journalled} journal entries, {} snapshots acknowledged",
            seen_snapshots.len()
        );
        seen_runs.push((run, journalled));

        // Reopen: everything whose call returned is there, every row whole.
        let store = at.open();
        for &(run, journalled) in &seen_runs {
            let entries = store.journal_entries(run).unwrap();
            assert!(
                entries.len() as u64 >= journalled,
                "run {run}: {} entries, {journalled} acknowledged",
                entries.len()
            );
            for (i, e) in entries.iter().enumerate() {
                let i = i as u64;
                assert_eq!(e.seq as u64, i + 1);
                assert_eq!(e.step, format!("step-{i}"));
                assert_eq!(e.phase, Phase::Started);
                assert_eq!(
                    e.detail,
                    json!({"i": i, "pad": "x".repeat((i as usize * 37) % 3000)})
                );
            }
        }
        let unfinished: Vec<RunId> = store
            .unfinished_runs()
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(
            unfinished,
            seen_runs.iter().map(|r| r.0).collect::<Vec<_>>()
        );
        for id in &seen_snapshots {
            assert_eq!(store.snapshot(id).unwrap().zone, zone);
        }
        // Every snapshot row that made it (acknowledged or not) reads back whole.
        for meta in store.list_snapshots(None, None).unwrap() {
            assert_eq!(store.snapshot(&meta.id).unwrap().zone, zone);
        }
        store.check().unwrap();
    }
    assert!(seen_runs.iter().map(|r| r.1).sum::<u64>() > 300);
}
