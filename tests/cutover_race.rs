//! One actor at a time (DESIGN.md invariant 6), proved by racing real actors on the built-in
//! provider: two CLI processes started together, an operator at a pseudo-terminal racing a
//! `--yes`, and `serve`'s automation racing a CLI failover and a webhook. In every round
//! exactly one step applies, the others get exit 5 / HTTP 409 `busy` or a clean refusal, the
//! snapshot holds the original records, and `abort` restores the zone exactly.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::api::ApiServe;
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

/// A folder with a zone and a config; the CLI run against it.
struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new(cutovers: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("zones")).unwrap();
        std::fs::write(dir.path().join("zones/example.com.zone"), ZONE).unwrap();
        std::fs::write(
            dir.path().join("switchback.toml"),
            format!("[server]\nzones = \"zones\"\nstate = \"state/state.db\"\n\n{cutovers}"),
        )
        .unwrap();
        Env { dir }
    }

    /// The env of a running `serve` (its config in `dir`).
    fn at(dir: tempfile::TempDir) -> Env {
        Env { dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("switchback.toml")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_switchback"));
        c.current_dir(self.dir.path())
            .arg("-c")
            .arg(self.config())
            .args(args)
            .env_remove("SWITCHBACK_FAULT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(o.status.success(), "{args:?} failed: {}", text(&o));
        String::from_utf8(o.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        serde_json::from_str(&self.ok(&a)).unwrap()
    }

    fn snapshots(&self) -> Vec<Value> {
        self.json(&["snapshot", "list"]).as_array().unwrap().clone()
    }

    /// The values of www/A in snapshot `id`.
    fn snapshot_www(&self, id: &str) -> Vec<String> {
        let v = self.json(&["snapshot", "show", id, "--format", "json"]);
        let sets = v["zone"]["record_sets"]
            .as_array()
            .or_else(|| v["record_sets"].as_array())
            .unwrap_or_else(|| panic!("no record sets in {v}"))
            .clone();
        www_values(&sets)
    }

    fn live_www(&self) -> Vec<String> {
        let v = self.json(&[
            "zone",
            "export",
            "builtin",
            "example.com",
            "--format",
            "json",
        ]);
        www_values(v["record_sets"].as_array().unwrap())
    }

    fn status(&self) -> Value {
        self.json(&["cutover", "status", "web"])
    }

    /// Failover runs that finished applying.
    fn applied_failovers(&self) -> usize {
        self.status()["runs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["kind"] == "failover" && r["state"] == "done")
            .count()
    }

    /// Abort, and check that the zone is exactly the first snapshot's again.
    fn abort_restores(&self, first: &str) {
        let o = self.run(&["abort", "web", "--yes", "--wait", "20s"]);
        assert!(o.status.success(), "abort: {}", text(&o));
        let d = self.json(&["diff", first]);
        assert_eq!(d["identical"], true, "abort did not restore exactly: {d}");
        assert_eq!(self.live_www(), [ORIGINAL]);
    }
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn www_values(sets: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = sets
        .iter()
        .filter(|rs| rs["name"] == "www.example.com." && rs["type"] == "A")
        .flat_map(|rs| {
            rs["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["data"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    v.sort();
    v.dedup();
    v
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
    let env = Env::new(&cutover(""));
    let first = env.json(&["snapshot", "create", "builtin", "example.com"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut busy, mut refused) = (0, 0);
    for round in 0..20 {
        let before = env.snapshots().len();
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
        let snaps = env.snapshots();
        assert_eq!(snaps.len(), before + 1, "round {round}: {snaps:?}");
        let st = env.status();
        let id = st["snapshots"][0]["id"].as_str().unwrap().to_string();
        assert_eq!(env.snapshot_www(&id), [ORIGINAL], "round {round}");
        assert_eq!(env.live_www(), [ORIGINAL, RECOVERY]);
        env.abort_restores(&first);
    }
    eprintln!(
        "20 rounds: the loser was busy (exit 5) {busy} times, refused (exit 2) {refused} times"
    );
}

#[test]
fn a_waiting_actor_gets_the_lease_when_the_holder_is_done() {
    let env = Env::new(&cutover(""));
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
    let st = env.status();
    assert_eq!(st["state"], "restored", "{st}");
    assert_eq!(env.live_www(), [ORIGINAL]);
}

/// `switchback failover web` at a pseudo-terminal (util-linux `script`): it prints the plan
/// and asks; the test answers through the terminal.
struct Operator {
    child: Child,
    out: std::sync::mpsc::Receiver<Vec<u8>>,
    seen: String,
}

impl Operator {
    fn start(env: &Env) -> Operator {
        let cmd = format!(
            "{} -c {} failover web",
            env!("CARGO_BIN_EXE_switchback"),
            env.config().display()
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
    let env = Env::new(&cutover(""));
    let first = env.json(&["snapshot", "create", "builtin", "example.com"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    // No race: the operator's `y` applies (the terminal path works).
    let mut op = Operator::start(&env);
    op.expect("[y/N]");
    let (code, seen) = op.answer("y\n");
    assert_eq!(code, Some(0), "{seen}");
    assert_eq!(env.status()["state"], "failed-over");
    env.abort_restores(&first);
    for round in 0..3 {
        let before = env.snapshots().len();
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
        let snaps = env.snapshots();
        assert_eq!(snaps.len(), before + 1, "round {round}");
        let id = env.status()["snapshots"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(env.snapshot_www(&id), [ORIGINAL]);
        env.abort_restores(&first);
    }
}

/// A TCP health endpoint that accepts and closes connections until dropped.
struct Endpoint {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Endpoint {
    fn start(listener: TcpListener) -> Endpoint {
        listener.set_nonblocking(true).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            while !s.load(std::sync::atomic::Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => drop(conn),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Endpoint {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `POST path` with the bearer token (HTTP/1.0, blocking): status and JSON body.
fn post(port: u16, path: &str, body: &str) -> (u16, Value) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.0\r\nHost: localhost\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    let status = buf
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let json = buf
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, json)
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
    let env = Env::at(dir);
    let first = env.json(&["snapshot", "create", "builtin", "example.com"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut winners = std::collections::BTreeMap::<&str, usize>::new();
    for round in 0..5 {
        let before_snaps = env.snapshots().len();
        let before_runs = env.applied_failovers();
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
        let applied = env.applied_failovers() - before_runs;
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
        let snaps = env.snapshots();
        assert_eq!(snaps.len(), before_snaps + 1, "round {round}: one snapshot");
        let id = env.status()["snapshots"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(env.snapshot_www(&id), [ORIGINAL], "round {round}");
        // The primary comes back; the next round starts from the exact original zone.
        primary = Some(Endpoint::start(
            TcpListener::bind(("127.0.0.1", port)).unwrap(),
        ));
        env.abort_restores(&first);
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
