//! The cutover engine through the CLI on the built-in provider: failover (both steerings),
//! staged failback to an exact restore, soak, drift, the health gate, and crash safety with
//! the fault-injection variable (debug builds).

mod common;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{Question, Switchback, SwitchbackOptions};
use hickory_proto::rr::RecordType;
use serde_json::Value;

const ZONE: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.80\napi A 192.0.2.90\nmail A 192.0.2.25\n@ MX 10 mail\n@ TXT \"v=spf1 mx -all\"\nold A 192.0.2.1\nold2 A 192.0.2.2\n";

fn cutover_toml(name: &str, steering: &str, extra: &str) -> String {
    format!(
        "[[cutover]]\nname = \"{name}\"\nprovider = \"builtin\"\nzone = \"example.com\"\n\
         steering = \"{steering}\"\nsoak = \"0s\"\n{extra}\n\
         [[cutover.record]]\nname = \"www.example.com.\"\ntype = \"A\"\nrecovery = [\"198.51.100.80\"]\n"
    )
}

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

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_switchback"));
        c.current_dir(self.dir.path())
            .args(args)
            .env_remove("SWITCHBACK_FAULT")
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "{args:?} failed: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        serde_json::from_str(&self.ok(&a)).unwrap()
    }

    /// `args` with the fault variable set: the process must die at that point.
    fn crash(&self, fault: &str, args: &[&str]) {
        let o = self
            .cmd(args)
            .env("SWITCHBACK_FAULT", fault)
            .output()
            .unwrap();
        assert!(
            !o.status.success() && o.status.code().is_none(),
            "{args:?} with SWITCHBACK_FAULT={fault} did not crash: {:?} {}{}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(&format!("fault injected at {fault}")),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    fn first_snapshot(&self) -> String {
        let list = self.json(&["snapshot", "list"]);
        let arr = list.as_array().unwrap();
        arr.last().unwrap()["id"].as_str().unwrap().to_string()
    }

    /// The live record sets at `name`/A.
    fn sets(&self, name: &str) -> Vec<Value> {
        let v = self.json(&[
            "zone",
            "export",
            "builtin",
            "example.com",
            "--format",
            "json",
        ]);
        v["record_sets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|rs| rs["name"] == name && rs["type"] == "A")
            .cloned()
            .collect()
    }

    fn status(&self, name: &str) -> Value {
        self.json(&["cutover", "status", name])
    }

    fn identical_to(&self, snap: &str) -> bool {
        self.json(&["diff", snap])["identical"] == true
    }
}

fn values(rs: &Value) -> Vec<String> {
    rs["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["data"].as_str().unwrap().to_string())
        .collect()
}

fn weights(sets: &[Value]) -> Vec<(String, u64, Vec<String>)> {
    let mut v: Vec<_> = sets
        .iter()
        .map(|rs| {
            (
                rs["set_identifier"].as_str().unwrap_or("").to_string(),
                rs["weight"].as_u64().unwrap_or(999),
                values(rs),
            )
        })
        .collect();
    v.sort();
    v
}

fn stderr(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn failover_steering_then_staged_failback_restores_exactly() {
    let env = Env::new(&cutover_toml("web", "failover", ""));
    let list = env.json(&["cutover", "list"]);
    assert_eq!(list[0]["state"], "idle");
    // No --yes, no terminal: refused, nothing changes, no snapshot.
    let o = env.run(&["failover", "web"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(env.json(&["snapshot", "list"]).as_array().unwrap().len(), 0);
    let dry = env.json(&["failover", "web", "--dry-run"]);
    assert_eq!(dry["applied"], false);
    assert_eq!(values(&env.sets("www.example.com.")[0]), ["192.0.2.80"]);

    let out = env.json(&["failover", "web", "--yes"]);
    assert_eq!(out["outcome"]["state"], "failed-over", "{out}");
    let snap = env.first_snapshot();
    assert_eq!(out["outcome"]["snapshot_id"], snap.as_str());
    let www = env.sets("www.example.com.");
    assert_eq!(www.len(), 1);
    assert_eq!(values(&www[0]), ["198.51.100.80"]);
    assert_eq!(www[0]["ttl"], 60);
    let st = env.status("web");
    assert_eq!(st["state"], "failed-over");
    assert_eq!(st["snapshot_id"], snap.as_str());

    // Stage 1 (10%) and 2 (50%): weighted pairs; stage 3 restores the snapshot exactly.
    for (stage, w) in [(1, 10u64), (2, 50)] {
        let out = env.json(&["failback", "web", "--yes"]);
        assert_eq!(out["outcome"]["stage"], stage, "{out}");
        assert_eq!(out["outcome"]["state"], "failing-back");
        let got = weights(&env.sets("www.example.com."));
        assert_eq!(
            got,
            vec![
                ("primary".into(), w, vec!["192.0.2.80".into()]),
                ("recovery".into(), 100 - w, vec!["198.51.100.80".into()]),
            ]
        );
    }
    let plan = env.json(&["cutover", "plan", "web"]);
    assert_eq!(plan["to_state"], "restored", "{plan}");
    let out = env.json(&["failback", "web", "--yes"]);
    assert_eq!(out["outcome"]["state"], "restored", "{out}");
    assert!(
        env.identical_to(&snap),
        "final zone differs from the snapshot"
    );
    // A new snapshot equals the first one (diff identical both ways, i.e. the same sets).
    let st = env.status("web");
    assert_eq!(st["state"], "restored");
    let kinds: Vec<&str> = st["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["failover", "failback", "failback", "failback"]);
    for r in st["runs"].as_array().unwrap() {
        assert_eq!(r["state"], "done");
        assert!(r["journal"].as_array().unwrap().len() >= 4, "{r}");
    }
    // Failback once restored: refused.
    let o = env.run(&["failback", "web", "--yes"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn weighted_failover_answers_over_dns_before_during_after() {
    // Serve the zone and drive the cutover against serve's own config and state store.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("example.com.zone"), ZONE).unwrap();
    let mut opts = SwitchbackOptions::new(tmp.path());
    opts.extra_toml = cutover_toml("webw", "weighted", "failback_stages = [50, 100]");
    let sb = Switchback::start_with(opts);
    let cli = |args: &[&str]| -> Value {
        let mut c = Command::new(env!("CARGO_BIN_EXE_switchback"));
        c.arg("-c")
            .arg(&sb.config)
            .arg("--json")
            .args(args)
            .env_remove("SWITCHBACK_FAULT")
            .stdin(Stdio::null());
        let o = c.output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let q = Question::new("www.example.com.", RecordType::A);
    let answers = |r: &common::Response| r.answer_rdata(RecordType::A);
    assert_eq!(
        sb.query(&q).unwrap().answer_rdata(RecordType::A),
        ["192.0.2.80"]
    );

    let out = cli(&["failover", "webw", "--yes"]);
    assert_eq!(out["outcome"]["state"], "failed-over", "{out}");
    let exp = cli(&[
        "zone",
        "export",
        "builtin",
        "example.com",
        "--format",
        "json",
    ]);
    let www: Vec<Value> = exp["record_sets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|rs| rs["name"] == "www.example.com." && rs["type"] == "A")
        .cloned()
        .collect();
    assert_eq!(
        weights(&www),
        vec![
            ("primary".into(), 0, vec!["192.0.2.80".into()]),
            ("recovery".into(), 100, vec!["198.51.100.80".into()]),
        ]
    );
    let primary = www
        .iter()
        .find(|r| r["set_identifier"] == "primary")
        .unwrap();
    assert_eq!(primary["fields"]["health_check"], "webw");
    assert_eq!(primary["ttl"], 60);
    sb.wait_for(&q, Duration::from_secs(5), |r| {
        answers(r) == ["198.51.100.80"]
    });
    for _ in 0..50 {
        assert_eq!(answers(&sb.query(&q).unwrap()), ["198.51.100.80"]);
    }

    // Stage 1: 50/50 per query.
    cli(&["failback", "webw", "--yes"]);
    sb.wait_for(&q, Duration::from_secs(5), |r| answers(r) == ["192.0.2.80"]);
    let (mut p, mut r) = (0, 0);
    for _ in 0..400 {
        match answers(&sb.query(&q).unwrap()).as_slice() {
            [a] if a == "192.0.2.80" => p += 1,
            [a] if a == "198.51.100.80" => r += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert!(
        (120..=280).contains(&p) && p + r == 400,
        "primary {p}, recovery {r}"
    );

    // Stage 2: restored.
    let out = cli(&["failback", "webw", "--yes"]);
    assert_eq!(out["outcome"]["state"], "restored");
    // The server picks the change up within 100 ms: then every answer is the primary.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let all_primary = (0..40).all(|_| answers(&sb.query(&q).unwrap()) == ["192.0.2.80"]);
        if all_primary {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still answering the recovery target"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let snap = out["outcome"]["snapshot_id"].as_str().unwrap().to_string();
    assert_eq!(cli(&["diff", &snap])["identical"], true);
}

#[test]
fn soak_is_between_failback_stages_and_only_skip_soak_skips_it() {
    let env =
        Env::new(&cutover_toml("web", "failover", "").replace("soak = \"0s\"", "soak = \"1h\""));
    env.ok(&["failover", "web", "--yes"]);
    // The first stage may follow the failover at once (a drill needs no override).
    env.ok(&["failback", "web", "--yes"]);
    assert_eq!(env.status("web")["stage"], 1);
    let o = env.run(&["failback", "web", "--yes"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("soaked"), "{}", stderr(&o));
    assert!(stderr(&o).contains("--skip-soak"), "{}", stderr(&o));
    // --force overrides drift and thresholds, not the soak.
    let o = env.run(&["failback", "web", "--yes", "--force"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(env.status("web")["stage"], 1);
    let o = env.run(&["failback", "web", "--yes", "--skip-soak"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("soak skipped with --skip-soak"),
        "{}",
        stderr(&o)
    );
    assert_eq!(env.status("web")["stage"], 2);
    // The override is in the journal.
    let runs = env.status("web")["runs"].as_array().unwrap().clone();
    let last = runs.last().unwrap().to_string();
    assert!(last.contains("soak skipped"), "{last}");
}

/// Change the live zone behind the cutover's back (through `apply`, as another operator would).
fn edit_live(env: &Env, edits: &[(&str, &str)]) {
    let mut v = env.json(&[
        "zone",
        "export",
        "builtin",
        "example.com",
        "--format",
        "json",
    ]);
    for rs in v["record_sets"].as_array_mut().unwrap() {
        for (name, value) in edits {
            if rs["name"] == *name && rs["type"] == "A" {
                rs["values"] = serde_json::json!([{ "data": value }]);
            }
        }
    }
    std::fs::write(env.path("edited.json"), v.to_string()).unwrap();
    env.ok(&[
        "apply",
        "builtin",
        "example.com",
        "edited.json",
        "--yes",
        "--force",
    ]);
}

#[test]
fn drift_stops_failback_with_three_way_diff_and_force_restores_only_the_cutover() {
    let env = Env::new(&cutover_toml("web", "failover", ""));
    env.ok(&["failover", "web", "--yes"]);
    let snap = env.first_snapshot();
    edit_live(
        &env,
        &[
            ("www.example.com.", "203.0.113.7"),
            ("api.example.com.", "203.0.113.9"),
        ],
    );
    let o = env.run(&["failback", "web", "--stage", "all", "--yes"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let text = stderr(&o);
    for want in [
        "conflict www.example.com./A",
        "snapshot: ttl 300  192.0.2.80",
        "written:  ttl 60  198.51.100.80",
        "live:     ttl 60  203.0.113.7",
        "left alone: api.example.com./A",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    // JSON form of the refusal.
    let o = env.run(&["--json", "failback", "web", "--yes"]);
    assert_eq!(o.status.code(), Some(3));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["refused"], "drift");
    assert_eq!(v["drift"]["conflicts"][0]["key"], "www.example.com./A");
    assert_eq!(v["drift"]["left_alone"][0]["key"], "api.example.com./A");
    assert_eq!(env.status("web")["state"], "failed-over");
    assert_eq!(values(&env.sets("www.example.com.")[0]), ["203.0.113.7"]);

    let o = env.run(&["failback", "web", "--stage", "all", "--yes", "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("left alone: api.example.com./A"),
        "{}",
        stderr(&o)
    );
    assert_eq!(values(&env.sets("www.example.com.")[0]), ["192.0.2.80"]);
    assert_eq!(env.sets("www.example.com.")[0]["ttl"], 300);
    assert_eq!(values(&env.sets("api.example.com.")[0]), ["203.0.113.9"]);
    let d = env.json(&["diff", &snap]);
    let changes = d["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{d}");
    assert_eq!(changes[0]["after"]["name"], "api.example.com.");
}

#[test]
fn abort_restores_the_snapshot_with_the_same_drift_rules() {
    let env = Env::new(&cutover_toml("web", "weighted", ""));
    env.ok(&["failover", "web", "--yes"]);
    env.ok(&["failback", "web", "--yes"]);
    let snap = env.first_snapshot();
    edit_live(&env, &[("mail.example.com.", "203.0.113.25")]);
    // Only a non-cutover record changed: no conflict; it is left alone.
    let o = env.run(&["abort", "web", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("left alone: mail.example.com./A"),
        "{}",
        stderr(&o)
    );
    assert_eq!(env.status("web")["state"], "restored");
    assert_eq!(
        weights(&env.sets("www.example.com.")),
        vec![("".into(), 999, vec!["192.0.2.80".into()])]
    );
    assert_eq!(values(&env.sets("mail.example.com.")[0]), ["203.0.113.25"]);
    let d = env.json(&["diff", &snap]);
    assert_eq!(d["changes"].as_array().unwrap().len(), 1, "{d}");
}

#[test]
fn health_gate_refuses_an_unhealthy_primary_unless_ignored_loudly() {
    let port = common::free_port();
    let env = Env::new(&cutover_toml(
        "web",
        "weighted",
        &format!(
            "health = {{ check = \"tcp://127.0.0.1:{port}\", interval = \"1s\", timeout = \"300ms\" }}"
        ),
    ));
    env.ok(&["failover", "web", "--yes"]);
    let o = env.run(&["failback", "web", "--yes", "--force"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("not healthy"), "{}", stderr(&o));
    assert_eq!(env.status("web")["stage"], 0);
    let st = env.status("web");
    assert!(st["health"].as_str().unwrap().starts_with("down"), "{st}");

    let o = env.run(&["failback", "web", "--yes", "--ignore-health"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("HEALTH GATE OVERRIDDEN"),
        "{}",
        stderr(&o)
    );
    let st = env.status("web");
    assert_eq!(st["stage"], 1);
    let last = st["runs"].as_array().unwrap().last().unwrap().clone();
    let noted = last["journal"].as_array().unwrap().iter().any(|j| {
        j["step"] == "note"
            && j["detail"]["note"]
                .as_str()
                .unwrap_or("")
                .contains("HEALTH GATE OVERRIDDEN")
    });
    assert!(noted, "journal lacks the override: {last}");

    // A healthy primary passes.
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    env.ok(&["failback", "web", "--yes"]);
    drop(listener);
}

#[test]
fn config_errors_name_the_cutover() {
    let cases = [
        (
            "[providers.cf]\ntype = \"cloudflare\"\ntoken_env = \"X\"\n".to_string()
                + &cutover_toml("webcf", "weighted", "").replace("\"builtin\"", "\"cf\""),
            "webcf",
        ),
        (
            cutover_toml("w", "failover", "").replace("www.example.com.", "www.example.org."),
            "outside",
        ),
        (cutover_toml("w", "failover", "bogus = 1"), "bogus"),
        (
            cutover_toml("w", "failover", "") + &cutover_toml("w", "failover", ""),
            "duplicate",
        ),
        (
            cutover_toml("w", "failover", "failback_stages = [50, 10, 100]"),
            "failback_stages",
        ),
        (
            cutover_toml("w", "failover", "").replace("\"builtin\"", "\"nope\""),
            "nope",
        ),
    ];
    for (toml, want) in cases {
        let env = Env::new(&toml);
        let o = env.run(&["cutover", "list"]);
        assert!(!o.status.success(), "{toml}");
        assert!(stderr(&o).contains(want), "{want}: {}", stderr(&o));
    }
}

/// For every fault point of a failover and a failback stage: crash there, then `resume`
/// finishes the step; the same crash then `abort` restores the snapshot. No run is lost.
#[test]
#[cfg(debug_assertions)]
fn crash_at_every_step_then_resume_or_abort() {
    let points = ["after-intent", "mid-apply", "after-apply"];
    for point in points {
        // --- failover, then resume ---
        let env = Env::new(&cutover_toml("web", "weighted", ""));
        env.crash(&format!("failover:{point}"), &["failover", "web", "--yes"]);
        let st = env.status("web");
        assert_eq!(st["state"], "ready", "{point}: {st}");
        assert!(st["intent"].is_object());
        let o = env.run(&["failback", "web", "--yes"]);
        assert_eq!(
            o.status.code(),
            Some(2),
            "interrupted step refuses other steps"
        );
        let runs_before = st["runs"].as_array().unwrap().len();
        env.ok(&["resume", "web"]);
        let st = env.status("web");
        assert_eq!(st["state"], "failed-over", "{point}: {st}");
        assert!(st["intent"].is_null());
        assert_eq!(
            weights(&env.sets("www.example.com.")),
            vec![
                ("primary".into(), 0, vec!["192.0.2.80".into()]),
                ("recovery".into(), 100, vec!["198.51.100.80".into()]),
            ],
            "{point}"
        );
        let runs = st["runs"].as_array().unwrap();
        assert_eq!(runs.len(), runs_before + 1, "{point}: {st}");
        for r in &runs[..runs_before] {
            // The interrupted run is kept with its journal; closed as aborted if it was open.
            assert!(r["state"] == "aborted" || r["state"] == "done", "{r}");
            assert!(!r["journal"].as_array().unwrap().is_empty());
        }

        // --- failback stage 1, crash, resume ---
        env.crash(&format!("failback:{point}"), &["failback", "web", "--yes"]);
        assert!(env.status("web")["intent"].is_object());
        env.ok(&["resume", "web"]);
        let st = env.status("web");
        assert_eq!(
            (st["state"].as_str(), st["stage"].as_u64()),
            (Some("failing-back"), Some(1))
        );
        assert_eq!(
            weights(&env.sets("www.example.com."))[0],
            ("primary".into(), 10, vec!["192.0.2.80".into()])
        );
        // Last stage crashed, then resumed: the exact restore.
        env.crash(
            &format!("failback:{point}"),
            &["failback", "web", "--stage", "all", "--yes"],
        );
        env.ok(&["resume", "web"]);
        let snap = env.first_snapshot();
        assert!(env.identical_to(&snap), "{point}");
        assert_eq!(env.status("web")["state"], "restored");

        // --- failover crash, then abort ---
        let env = Env::new(&cutover_toml("web", "weighted", ""));
        env.crash(&format!("failover:{point}"), &["failover", "web", "--yes"]);
        env.ok(&["abort", "web", "--yes"]);
        let snap = env.first_snapshot();
        assert!(env.identical_to(&snap), "{point}");
        assert_eq!(env.status("web")["state"], "restored");

        // --- failback crash, then abort; and an abort crash, then resume ---
        let env = Env::new(&cutover_toml("web", "failover", ""));
        env.ok(&["failover", "web", "--yes"]);
        env.crash(&format!("failback:{point}"), &["failback", "web", "--yes"]);
        env.crash(&format!("abort:{point}"), &["abort", "web", "--yes"]);
        env.ok(&["resume", "web"]);
        let snap = env.first_snapshot();
        assert!(env.identical_to(&snap), "{point}");
        let st = env.status("web");
        assert_eq!(st["state"], "restored");
        let kinds: Vec<&str> = st["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds.first(), Some(&"failover"), "{kinds:?}");
        assert_eq!(kinds.last(), Some(&"abort"), "{kinds:?}");
    }

    // A crash right after the snapshot, before any state was stored: nothing to resume, the
    // snapshot is kept, and the failover can simply run again.
    let env = Env::new(&cutover_toml("web", "failover", ""));
    env.crash("failover:after-snapshot", &["failover", "web", "--yes"]);
    assert_eq!(env.json(&["snapshot", "list"]).as_array().unwrap().len(), 1);
    let o = env.run(&["resume", "web"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    env.ok(&["failover", "web", "--yes"]);
    assert_eq!(env.status("web")["state"], "failed-over");
}
