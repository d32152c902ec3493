//! One actor at a time (DESIGN.md invariant 6), proved by racing real actors on the built-in
//! provider: two CLI processes started together, an operator at a pseudo-terminal racing a
//! `--yes`, and `serve`'s automation racing a CLI failover and a webhook. In every round
//! exactly one step applies, the others get exit 5 / HTTP 409 `busy` or a clean refusal, the
//! snapshot holds the original records, and `abort` restores the zone exactly.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::api::ApiServe;
use common::cli::{CliEnv, Endpoint, text};
use serde_json::Value;

const ZONE: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.80\napi A 192.0.2.90\n";
const ORIGINAL: &str = "192.0.2.80";
const RECOVERY: &str = "198.51.100.80";
const TOKEN: &str = "race-test-token-7c1e";

fn cutover(extra: &str) -> String {
    format!(
        "[[cutover]]\nname = \"web\"\nprovider = \"builtin\"\nzone = \"example.com\"\n\
         steering = \"weighted\"\nsoak = \"0s\"\nhold_down = \"0s\"\nfailback_stages = [50, 100]\n{extra}\n\
         [[cutover.record]]\nname = \"www.example.com.\"\ntype = \"A\"\nrecovery = [\"{RECOVERY}\"]\n"
    )
}

fn env(cutovers: &str) -> CliEnv {
    CliEnv::new(common::BIN, &[("example.com", ZONE)], cutovers)
}

fn snapshots(env: &CliEnv) -> Vec<Value> {
    env.json(&["snapshot", "list"]).as_array().unwrap().clone()
}

fn live_www(env: &CliEnv) -> Vec<String> {
    env.values("builtin", "example.com", "www.example.com.", "A")
}

/// The www/A values in the cutover's snapshot.
fn snapshot_www(env: &CliEnv) -> Vec<String> {
    let id = env.status("web")["snapshots"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.snapshot_values(&id, "www.example.com.", "A")
}

/// Failover runs that finished applying.
fn applied_failovers(env: &CliEnv) -> usize {
    env.status("web")["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "failover" && r["state"] == "done")
        .count()
}

/// Abort, and check that the zone is exactly the first snapshot's again.
fn abort_restores(env: &CliEnv, first: &str) {
    let o = env.run(&["abort", "web", "--yes", "--wait", "20s"]);
    assert!(o.status.success(), "abort: {}", text(&o));
    assert!(env.identical_to(first), "abort did not restore exactly");
    assert_eq!(live_www(env), [ORIGINAL]);
}

/// A loser of a race: busy (exit 5, naming the holder) or refused because the winner already
/// failed the cutover over (exit 2).
fn assert_lost(o: &Output) {
    let err = String::from_utf8_lossy(&o.stderr);
    match o.status.code() {
        Some(5) => assert!(err.contains("busy: held by"), "{}", text(o)),
        Some(2) => assert!(
            err.contains("is failed-over") || err.contains("changed since the plan was shown"),
            "{}",
            text(o)
        ),
        _ => panic!(
            "the losing actor neither waited nor was refused: {}",
            text(o)
        ),
    }
}

#[test]
fn two_cli_failovers_started_together_apply_once() {
    let env = env(&cutover(""));
    let first = env.snapshot("builtin", "example.com");
    let (mut busy, mut refused) = (0, 0);
    for round in 0..20 {
        let before = snapshots(&env).len();
        let a = env.cmd(&["failover", "web", "--yes"]).spawn().unwrap();
        let b = env.cmd(&["failover", "web", "--yes"]).spawn().unwrap();
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        let (won, lost) = match (a.status.success(), b.status.success()) {
            (true, false) => (a, b),
            (false, true) => (b, a),
            _ => panic!(
                "round {round}: exactly one failover must apply\nA: {}\nB: {}",
                text(&a),
                text(&b)
            ),
        };
        assert_lost(&lost);
        if lost.status.code() == Some(5) {
            busy += 1;
        } else {
            refused += 1;
        }
        assert!(!String::from_utf8_lossy(&won.stdout).is_empty());
        // One snapshot more, and it holds the original records.
        let snaps = snapshots(&env);
        assert_eq!(snaps.len(), before + 1, "round {round}: {snaps:?}");
        assert_eq!(snapshot_www(&env), [ORIGINAL], "round {round}");
        assert_eq!(live_www(&env), [ORIGINAL, RECOVERY]);
        abort_restores(&env, &first);
    }
    eprintln!(
        "20 rounds: the loser was busy (exit 5) {busy} times, refused (exit 2) {refused} times"
    );
}

#[test]
fn a_waiting_actor_gets_the_lease_when_the_holder_is_done() {
    let env = env(&cutover(""));
    env.ok(&["failover", "web", "--yes"]);
    // Two failbacks at once, both waiting: both apply, one after the other (stage 1, then 2).
    let a = env
        .cmd(&["failback", "web", "--yes", "--wait", "20s"])
        .spawn()
        .unwrap();
    let b = env
        .cmd(&["failback", "web", "--yes", "--wait", "20s"])
        .spawn()
        .unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success(), "{}", text(&a));
    assert!(b.status.success(), "{}", text(&b));
    let st = env.status("web");
    assert_eq!(st["state"], "restored", "{st}");
    assert_eq!(live_www(&env), [ORIGINAL]);
}

/// `switchback failover web` at a pseudo-terminal (util-linux `script`): it prints the plan
/// and asks; the test answers through the terminal.
struct Operator {
    child: Child,
    out: std::sync::mpsc::Receiver<Vec<u8>>,
    seen: String,
}

impl Operator {
    fn start(env: &CliEnv) -> Operator {
        let cmd = format!(
            "{} -c {} failover web",
            env!("CARGO_BIN_EXE_switchback"),
            env.config.display()
        );
        let mut child = Command::new("script")
            .args(["-qfec", &cmd, "/dev/null"])
            .current_dir(env.dir.path())
            .env_remove("SWITCHBACK_FAULT")
            .env("TERM", "dumb")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("script (util-linux) runs the operator at a pseudo-terminal");
        let mut stdout = child.stdout.take().unwrap();
        let (tx, out) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Operator {
            child,
            out,
            seen: String::new(),
        }
    }

    /// Wait until the terminal shows `what`.
    fn expect(&mut self, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.seen.contains(what) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no {what:?} on the terminal: {}",
                self.seen
            );
            if let Ok(b) = self.out.recv_timeout(left) {
                self.seen.push_str(&String::from_utf8_lossy(&b));
            }
        }
    }

    /// Type `line` and wait for the process to end: its exit code and everything it showed.
    fn answer(mut self, line: &str) -> (Option<i32>, String) {
        let mut stdin = self.child.stdin.take().unwrap();
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.flush().unwrap();
        let status = self.child.wait().unwrap();
        drop(stdin);
        while let Ok(b) = self.out.recv_timeout(Duration::from_millis(200)) {
            self.seen.push_str(&String::from_utf8_lossy(&b));
        }
        (status.code(), self.seen)
    }
}

#[test]
fn an_operator_at_a_terminal_racing_a_yes_is_refused_after_the_y() {
    let env = env(&cutover(""));
    let first = env.snapshot("builtin", "example.com");
    // No race: the operator's `y` applies (the terminal path works).
    let mut op = Operator::start(&env);
    op.expect("[y/N]");
    let (code, seen) = op.answer("y\n");
    assert_eq!(code, Some(0), "{seen}");
    assert_eq!(env.status("web")["state"], "failed-over");
    abort_restores(&env, &first);
    for round in 0..3 {
        let before = snapshots(&env).len();
        let mut op = Operator::start(&env);
        op.expect("[y/N]");
        // While the operator reads the plan, automation (here: another CLI) fails over.
        env.ok(&["failover", "web", "--yes"]);
        let (code, seen) = op.answer("y\n");
        assert_eq!(code, Some(2), "round {round}: {seen}");
        assert!(
            seen.contains("changed since the plan was shown"),
            "round {round}: {seen}"
        );
        // One snapshot (the --yes one), of the original records: no second snapshot of the
        // failed-over zone.
        let snaps = snapshots(&env);
        assert_eq!(snaps.len(), before + 1, "round {round}");
        assert_eq!(snapshot_www(&env), [ORIGINAL], "round {round}");
        abort_restores(&env, &first);
    }
}

/// `POST path` with the bearer token: status and JSON body.
fn post(port: u16, path: &str, body: &str) -> (u16, Value) {
    let (status, v, _) = common::api::post(port, path, TOKEN, body);
    (status, v)
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn automation_a_webhook_and_the_cli_race_for_one_failover() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut primary = Some(Endpoint::start(listener));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("zones")).unwrap();
    std::fs::write(dir.path().join("zones/example.com.zone"), ZONE).unwrap();
    let rest = format!(
        "[api]\ntoken_env = \"SB_RACE_TOKEN\"\n\n{}",
        cutover(&format!(
            "auto_failover = true\n\
             health = {{ check = \"tcp://127.0.0.1:{port}\", interval = \"100ms\", timeout = \"100ms\", fall = 1, rise = 1 }}"
        ))
    );
    let serve = ApiServe::start(dir.path(), &rest, &[("SB_RACE_TOKEN", TOKEN)]);
    let config = dir.path().join("switchback.toml");
    let env = CliEnv::at(common::BIN, dir, config);
    let first = env.snapshot("builtin", "example.com");
    let mut winners = std::collections::BTreeMap::<&str, usize>::new();
    for round in 0..5 {
        let before_snaps = snapshots(&env).len();
        let before_runs = applied_failovers(&env);
        // The CLI, the webhook and the primary's death (the automation) at about the same
        // moment, in a different order each round: (primary dies, CLI, hook) after ms.
        let (die_at, cli_at, hook_at) = [
            (0, 0, 0),
            (0, 0, 0),
            (0, 150, 150),
            (150, 0, 60),
            (60, 60, 0),
        ][round];
        let t0 = Instant::now();
        let at = |ms: u64| {
            let t = t0 + Duration::from_millis(ms);
            std::thread::sleep(t.saturating_duration_since(Instant::now()));
        };
        let api_port = serve.api_port;
        let hook = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(hook_at));
            post(
                api_port,
                "/v1/hooks/post-recovery",
                &format!(r#"{{"event_id": "race-{round}", "cutover": "web"}}"#),
            )
        });
        let mut cli = None;
        for (ms, what) in [(die_at, "die"), (cli_at, "cli")]
            .iter()
            .copied()
            .collect::<std::collections::BTreeSet<_>>()
        {
            at(ms);
            match what {
                "die" => drop(primary.take()),
                _ => cli = Some(env.cmd(&["failover", "web", "--yes"]).spawn().unwrap()),
            }
        }
        let cli = cli.unwrap();
        let cli = cli.wait_with_output().unwrap();
        let (hook_status, hook_body) = hook.join().unwrap();
        // The automation acts within a probe interval or two; give it time to try.
        std::thread::sleep(Duration::from_millis(800));
        let applied = applied_failovers(&env) - before_runs;
        assert_eq!(
            applied,
            1,
            "round {round}: exactly one failover must apply\ncli: {}\nhook: {hook_status} {hook_body}\n{}",
            text(&cli),
            serve.log_text()
        );
        if cli.status.success() {
            *winners.entry("cli").or_default() += 1;
        } else {
            assert_lost(&cli);
        }
        match hook_status {
            200 | 202 => *winners.entry("webhook").or_default() += 1,
            409 => {
                let e = hook_body["error"].as_str().unwrap_or("");
                assert!(e == "busy" || e == "refused", "round {round}: {hook_body}");
                if e == "busy" {
                    assert!(
                        hook_body["detail"]
                            .as_str()
                            .unwrap_or("")
                            .starts_with("held by "),
                        "{hook_body}"
                    );
                }
            }
            s => panic!("round {round}: hook answered {s} {hook_body}"),
        }
        let snaps = snapshots(&env);
        assert_eq!(snaps.len(), before_snaps + 1, "round {round}: one snapshot");
        assert_eq!(snapshot_www(&env), [ORIGINAL], "round {round}");
        // The primary comes back; the next round starts from the exact original zone.
        primary = Some(Endpoint::start(
            TcpListener::bind(("127.0.0.1", port)).unwrap(),
        ));
        abort_restores(&env, &first);
        wait_for("the health check up again", Duration::from_secs(10), || {
            let o = env.run(&["--json", "health"]);
            o.status.success()
        });
        std::thread::sleep(Duration::from_millis(300));
    }
    let automation = 5 - winners.values().sum::<usize>();
    eprintln!(
        "5 rounds: cli won {}, webhook won {}, automation won {automation}",
        winners.get("cli").copied().unwrap_or(0),
        winners.get("webhook").copied().unwrap_or(0)
    );
}
