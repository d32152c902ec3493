//! The cutover engine end-to-end on Route 53 (ministack), through the `switchback` binary:
//! weighted pairs, the failback stages, the exact restore (the final snapshot equals the first),
//! drift, a crash at one step then `resume`, and the API calls and wall time of a full failover
//! + 3-stage failback.
//!
//! Every check of the records is made with the AWS SDK directly (not through switchback).
//! API calls are counted by the provider (`CallStats`): each read logs `api_calls` at debug,
//! each apply at info (and the journal keeps the apply's `ApplyReport`).

mod common;

use std::process::Output;
use std::time::{Duration, Instant};

use aws_sdk_route53::types::{ChangeAction, RrType};
use common::cli::CliEnv;
use common::ministack::{self, Ministack};
use serde_json::Value;

const ZONE: &str = "example.com.";
/// The provider's request rate (Route 53's own per-account limit, the provider's default).
const RATE: u32 = 5;
/// GetChange polls per change batch on ministack (PENDING, then INSYNC).
const POLLS: usize = 2;
/// The provider's first wait between two GetChange polls (`Tuning::default`), in seconds.
const POLL_INITIAL: f64 = 1.0;

/// One record set as Route 53 holds it: (name, type, set id, weight, ttl, sorted values).
type Native = (String, String, String, i64, i64, Vec<String>);

struct Env {
    ms: Ministack,
    cli: CliEnv,
    rt: tokio::runtime::Runtime,
    client: aws_sdk_route53::Client,
    zone_id: String,
}

impl Env {
    /// ministack with one hosted zone: two cutover records (www, api) and a few others.
    /// `None` when ministack is missing and `SWITCHBACK_SKIP_PEERS` names it.
    fn new() -> Option<Env> {
        let ms = ministack::start()?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = ministack::sdk(&ms.endpoint());
        let name = ZONE;
        let zone_id = rt.block_on(ministack::create_zone(&client, &name, None));
        let a = |n: &str, ttl, v: &[&str]| {
            (
                ChangeAction::Create,
                ministack::rrs(&format!("{n}.{ZONE}"), RrType::A, Some(ttl), v),
            )
        };
        rt.block_on(ministack::raw(
            &client,
            &zone_id,
            vec![
                a("www", 300, &["192.0.2.80"]),
                a("api", 120, &["192.0.2.90", "192.0.2.91"]),
                a("mail", 300, &["192.0.2.25"]),
                (
                    ChangeAction::Create,
                    ministack::rrs(ZONE, RrType::Mx, Some(300), &["10 mail.example.com."]),
                ),
                (
                    ChangeAction::Create,
                    ministack::rrs(ZONE, RrType::Txt, Some(300), &["\"v=spf1 mx -all\""]),
                ),
                (
                    ChangeAction::Create,
                    ministack::rrs(
                        &format!("docs.{ZONE}"),
                        RrType::Cname,
                        Some(300),
                        &["www.example.com."],
                    ),
                ),
            ],
        ))
        .expect("set up the zone");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("switchback.toml"),
            format!(
                "[server]\nstate = \"state/state.db\"\n\n\
                 [providers.r53]\ntype = \"route53\"\nendpoint = \"{}\"\nregion = \"us-east-1\"\n\
                 rate = {RATE}\n\n\
                 [[cutover]]\nname = \"web\"\nprovider = \"r53\"\nzone = \"example.com\"\n\
                 steering = \"weighted\"\nsoak = \"0s\"\nfailback_stages = [10, 50, 100]\n\n\
                 [[cutover.record]]\nname = \"www.example.com.\"\ntype = \"A\"\n\
                 recovery = [\"198.51.100.80\"]\n\n\
                 [[cutover.record]]\nname = \"api.example.com.\"\ntype = \"A\"\n\
                 recovery = [\"198.51.100.90\", \"198.51.100.91\"]\n",
                ms.endpoint()
            ),
        )
        .unwrap();
        let config = dir.path().join("switchback.toml");
        // The provider's per-read call counts are logged at debug.
        let cli =
            common::cli::at(dir, config).with_env("RUST_LOG", "info,switchback_route53=debug");
        Some(Env {
            ms,
            cli,
            rt,
            client,
            zone_id,
        })
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cli.run(args)
    }

    fn ok(&self, args: &[&str]) -> Output {
        let o = self.run(args);
        assert!(o.status.success(), "{args:?} failed: {}", text(&o));
        o
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        let o = self.ok(&a);
        serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", text(&o)))
    }

    /// A cutover step with `--json`: its output, its stderr (logs) and its wall time.
    fn step(&self, args: &[&str]) -> (Value, String, Duration) {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        let t = Instant::now();
        let o = self.run(&a);
        let took = t.elapsed();
        assert!(o.status.success(), "{args:?} failed: {}", text(&o));
        let v = serde_json::from_slice(&o.stdout).unwrap();
        (v, String::from_utf8_lossy(&o.stderr).into_owned(), took)
    }

    /// Every record set of the hosted zone, read with the SDK.
    fn native(&self) -> Vec<Native> {
        let out = self
            .rt
            .block_on(
                self.client
                    .list_resource_record_sets()
                    .hosted_zone_id(&self.zone_id)
                    .send(),
            )
            .expect("ListResourceRecordSets");
        assert!(!out.is_truncated());
        let mut v: Vec<Native> = out
            .resource_record_sets()
            .iter()
            .map(|r| {
                let mut vals: Vec<String> = r
                    .resource_records()
                    .iter()
                    .map(|x| x.value().to_string())
                    .collect();
                vals.sort();
                (
                    r.name().to_string(),
                    r.r#type().as_str().to_string(),
                    r.set_identifier().unwrap_or("").to_string(),
                    r.weight().unwrap_or(-1),
                    r.ttl().unwrap_or(-1),
                    vals,
                )
            })
            .collect();
        v.sort();
        v
    }

    /// The A sets at `host` (set id, weight, ttl, values).
    fn at(&self, host: &str) -> Vec<(String, i64, i64, Vec<String>)> {
        self.native()
            .into_iter()
            .filter(|r| r.0 == format!("{host}.{ZONE}") && r.1 == "A")
            .map(|r| (r.2, r.3, r.4, r.5))
            .collect()
    }

    /// Upsert one A set (someone else editing the zone).
    fn upsert_a(&self, host: &str, set_id: Option<(&str, i64)>, ttl: i64, values: &[&str]) {
        let mut rs = ministack::rrs(&format!("{host}.{ZONE}"), RrType::A, Some(ttl), values);
        if let Some((id, w)) = set_id {
            rs.set_identifier = Some(id.to_string());
            rs.weight = Some(w);
        }
        self.rt
            .block_on(ministack::raw(
                &self.client,
                &self.zone_id,
                vec![(ChangeAction::Upsert, rs)],
            ))
            .expect("upsert");
    }

    fn status(&self) -> Value {
        self.json(&["cutover", "status", "web"])
    }

    /// The snapshot's zone, as `snapshot show ID --format json` prints it.
    fn snapshot_zone(&self, id: &str) -> Value {
        self.json(&["snapshot", "show", id, "--format", "json"])["zone"].clone()
    }

    fn identical_to(&self, id: &str) -> bool {
        self.json(&["diff", id])["identical"] == true
    }
}

fn text(o: &Output) -> String {
    format!(
        "{:?}\n{}{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// The weighted pair at www and api after a step with the primary at `w`%.
fn expect_pairs(env: &Env, w: i64) {
    assert_eq!(
        env.at("www"),
        vec![
            ("primary".into(), w, 60, s(&["192.0.2.80"])),
            ("recovery".into(), 100 - w, 60, s(&["198.51.100.80"])),
        ],
        "www at primary {w}%"
    );
    assert_eq!(
        env.at("api"),
        vec![
            ("primary".into(), w, 60, s(&["192.0.2.90", "192.0.2.91"])),
            (
                "recovery".into(),
                100 - w,
                60,
                s(&["198.51.100.90", "198.51.100.91"])
            ),
        ],
        "api at primary {w}%"
    );
}

/// The provider's call counts in a step's logs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Calls {
    /// ReadZone calls (each: ListResourceRecordSets pages, plus the zone lookup once).
    reads: usize,
    list_pages: usize,
    /// Every API call of the process (reads and applies).
    api_calls: usize,
    /// Calls of the applies only (ChangeResourceRecordSets + GetChange).
    apply_calls: usize,
    get_change_polls: usize,
}

fn field(line: &str, key: &str) -> Option<usize> {
    line.split_whitespace()
        .find_map(|t| t.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
}

fn calls(log: &str) -> Calls {
    let mut c = Calls::default();
    for line in log.lines() {
        let Some(n) = field(line, "api_calls") else {
            continue;
        };
        c.api_calls += n;
        if let Some(p) = field(line, "list_pages") {
            c.reads += 1;
            c.list_pages += p;
        }
        if let Some(p) = field(line, "get_change_polls") {
            c.apply_calls += n;
            c.get_change_polls += p;
        }
    }
    c
}

/// The `ApplyReport` journaled by the last run of the cutover.
fn journaled_report(status: &Value) -> Value {
    let run = status["runs"].as_array().unwrap().last().unwrap().clone();
    run["journal"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["step"] == "apply" && e["phase"] == "done")
        .map(|e| e["detail"].clone())
        .unwrap_or_else(|| panic!("no apply/done in {run}"))
}

#[test]
fn weighted_failover_and_three_stage_failback_restore_exactly_with_minimal_calls() {
    let Some(env) = Env::new() else {
        return;
    };
    let before = env.native();
    let sets = before.len();
    assert!(sets >= 8, "{before:?}");
    assert_eq!(env.json(&["cutover", "list"])[0]["state"], "idle");

    let mut total = Calls::default();
    let mut wall = Duration::ZERO;
    let mut per_step = Vec::new();
    // (arguments, primary weight after, state after, stage after)
    let steps: [(&[&str], i64, &str, u64); 4] = [
        (&["failover", "web", "--yes"], 0, "failed-over", 0),
        (
            &["failback", "web", "--stage", "next", "--yes"],
            10,
            "failing-back",
            1,
        ),
        (
            &["failback", "web", "--stage", "next", "--yes"],
            50,
            "failing-back",
            2,
        ),
        (
            &["failback", "web", "--stage", "next", "--yes"],
            100,
            "restored",
            3,
        ),
    ];
    let mut first_snapshot = String::new();
    for (i, (args, w, state, stage)) in steps.iter().enumerate() {
        let (out, log, took) = env.step(args);
        assert_eq!(out["applied"], true, "{out}");
        assert_eq!(out["outcome"]["state"], *state, "{out}");
        assert_eq!(out["outcome"]["stage"], *stage, "{out}");
        if i == 0 {
            first_snapshot = out["outcome"]["snapshot_id"].as_str().unwrap().to_string();
        } else {
            assert_eq!(out["outcome"]["snapshot_id"], first_snapshot.as_str());
        }
        if *w < 100 {
            expect_pairs(&env, *w);
        } else {
            assert_eq!(env.native(), before, "the restore is not exact");
        }
        // The ApplyReport is journaled; its calls are the ones the apply logged.
        let c = calls(&log);
        let report = journaled_report(&env.status());
        assert_eq!(report["batches"], 1, "{report}");
        assert_eq!(
            report["api_calls"].as_u64(),
            Some(c.apply_calls as u64),
            "{report} vs {c:?}\n{log}"
        );
        // The minimum: one zone lookup per process (then cached), ceil(sets / 300) list pages
        // per read, one change batch (a few records: far under 1,000 records / 32,000
        // characters) and the GetChange polls until INSYNC: ministack answers PENDING to the
        // first and INSYNC to the second, like Route 53 (which stays PENDING longer), so 2.
        // The engine reads the zone twice per step: once to plan (the failover snapshots
        // that very read; a failback checks drift on it) and once to verify (the read-back is
        // what the step wrote, the base of the next drift check).
        let reads = 2;
        let pages = sets.div_ceil(300);
        assert_eq!(c.reads, reads, "{c:?}\n{log}");
        assert_eq!(c.list_pages, reads * pages, "{c:?}\n{log}");
        assert_eq!(c.get_change_polls, POLLS, "{c:?}\n{log}");
        assert_eq!(c.apply_calls, 1 + POLLS, "{c:?}\n{log}");
        assert_eq!(c.api_calls, 1 + reads * pages + 1 + POLLS, "{c:?}\n{log}");
        // Paced at RATE requests per second, no burst, and the first GetChange poll interval
        // (1 s by default) between the two polls: (calls - 2) / RATE + 1 s at least.
        let floor =
            Duration::from_secs_f64((c.api_calls - 2) as f64 / f64::from(RATE) + POLL_INITIAL);
        assert!(took >= floor, "step {i}: {took:?} < {floor:?} for {c:?}");
        total.reads += c.reads;
        total.list_pages += c.list_pages;
        total.api_calls += c.api_calls;
        total.apply_calls += c.apply_calls;
        total.get_change_polls += c.get_change_polls;
        wall += took;
        per_step.push((args[0], c.api_calls, took));
    }
    // 4 processes: 4 lookups + 4 x 2 reads x ceil(sets / 300) pages
    // + 4 x (1 change batch + 2 polls).
    assert_eq!(
        total.api_calls,
        4 + 8 * sets.div_ceil(300) + 4 * (1 + POLLS)
    );
    eprintln!(
        "route53 (ministack, rate {RATE}/s, {sets} record sets): failover + 3-stage failback: \
         {} API calls ({} reads / {} list pages, {} apply calls), wall {:.2?}; per step: {:?}",
        total.api_calls, total.reads, total.list_pages, total.apply_calls, wall, per_step
    );

    // The final snapshot equals the first; `diff` agrees.
    let last = env.json(&["snapshot", "create", "r53", "example.com"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(last, first_snapshot);
    assert_eq!(
        env.snapshot_zone(&first_snapshot),
        env.snapshot_zone(&last),
        "the final snapshot differs from the first"
    );
    assert!(env.identical_to(&first_snapshot));
    let st = env.status();
    assert_eq!(st["state"], "restored");
    let kinds: Vec<&str> = st["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["failover", "failback", "failback", "failback"]);
    for r in st["runs"].as_array().unwrap() {
        assert_eq!(r["state"], "done", "{r}");
    }
    // Nothing else was ever touched: the emulator saw no error.
    assert!(!env.ms.log().contains("Traceback"), "{}", env.ms.log());
}

#[test]
fn drift_on_route53_stops_with_3_then_force_overwrites_the_cutover_record_only() {
    let Some(env) = Env::new() else {
        return;
    };
    let before = env.native();
    let out = env.json(&["failover", "web", "--yes"]);
    let snap = out["outcome"]["snapshot_id"].as_str().unwrap().to_string();
    expect_pairs(&env, 0);
    // Someone else: the recovery side of www (a cutover record) and mail (not one).
    env.upsert_a("www", Some(("recovery", 100)), 60, &["203.0.113.7"]);
    env.upsert_a("mail", None, 300, &["192.0.2.26"]);
    let o = env.run(&["--json", "failback", "web", "--stage", "next", "--yes"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["refused"], "drift", "{v}");
    let conflicts: Vec<&str> = v["drift"]["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert_eq!(conflicts.len(), 1, "{v}");
    assert!(conflicts[0].starts_with("www.example.com./A"), "{v}");
    let left: Vec<&str> = v["drift"]["left_alone"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert_eq!(left, ["mail.example.com./A"], "{v}");
    // Nothing changed by the refusal.
    assert_eq!(env.at("www")[1].3, s(&["203.0.113.7"]));
    assert_eq!(env.status()["stage"], 0);

    // --force: the cutover record is overwritten (stage 1), mail is left alone.
    let out = env.json(&["failback", "web", "--stage", "next", "--yes", "--force"]);
    assert_eq!(out["outcome"]["stage"], 1, "{out}");
    expect_pairs(&env, 10);
    assert_eq!(
        env.at("mail"),
        vec![(String::new(), -1, 300, s(&["192.0.2.26"]))]
    );
    // Straight to the restore: the cutover records as in the snapshot, mail still left alone.
    let out = env.json(&["failback", "web", "--stage", "all", "--yes", "--force"]);
    assert_eq!(out["outcome"]["state"], "restored", "{out}");
    let mut expected = before.clone();
    for r in &mut expected {
        if r.0 == format!("mail.{ZONE}") {
            r.5 = s(&["192.0.2.26"]);
        }
    }
    assert_eq!(env.native(), expected);
    let d = env.json(&["diff", &snap]);
    let changed: Vec<String> = d["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(changed.len(), 1, "{d}");
    assert!(changed[0].contains("mail.example.com."), "{d}");
}

#[test]
fn crash_mid_apply_of_stage_1_then_resume_completes_it() {
    let Some(env) = Env::new() else {
        return;
    };
    let before = env.native();
    let out = env.json(&["failover", "web", "--yes"]);
    let snap = out["outcome"]["snapshot_id"].as_str().unwrap().to_string();
    let fault = "failback:mid-apply";
    let o = env
        .cli
        .cmd(&["failback", "web", "--stage", "next", "--yes"])
        .env("SWITCHBACK_FAULT", fault)
        .output()
        .unwrap();
    assert!(
        !o.status.success() && o.status.code().is_none(),
        "did not abort: {}",
        text(&o)
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&format!("fault injected at {fault}")),
        "{}",
        text(&o)
    );
    // The batch went to Route 53 before the crash; the step is still open.
    expect_pairs(&env, 10);
    let st = env.status();
    assert_eq!(st["state"], "failed-over", "{st}");
    assert_eq!(st["intent"]["to_stage"], 1, "{st}");
    assert_eq!(
        st["runs"].as_array().unwrap().last().unwrap()["state"],
        "running"
    );
    // Any other step is refused until the interrupted one is finished.
    let o = env.run(&["failback", "web", "--stage", "next", "--yes"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("resume"), "{}", text(&o));

    let out = env.json(&["resume", "web"]);
    assert_eq!(out["outcome"]["resume"], true, "{out}");
    assert_eq!(out["outcome"]["state"], "failing-back", "{out}");
    assert_eq!(out["outcome"]["stage"], 1, "{out}");
    expect_pairs(&env, 10);
    let st = env.status();
    assert_eq!(st["state"], "failing-back");
    assert_eq!(st["stage"], 1);
    assert!(st["intent"].is_null(), "{st}");
    // The journal keeps the interrupted run (closed as aborted, its entries intact).
    let runs = st["runs"].as_array().unwrap();
    let states: Vec<(&str, &str)> = runs
        .iter()
        .map(|r| (r["kind"].as_str().unwrap(), r["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [
            ("failover", "done"),
            ("failback", "aborted"),
            ("failback", "done")
        ],
        "{st}"
    );
    let steps: Vec<(&str, &str)> = runs[1]["journal"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["step"].as_str().unwrap(), e["phase"].as_str().unwrap()))
        .collect();
    assert!(steps.contains(&("apply", "started")), "{steps:?}");
    assert!(steps.contains(&("interrupted", "failed")), "{steps:?}");

    // The rest of the way: stages 2 and 3; the zone is the snapshot again.
    env.json(&["failback", "web", "--stage", "next", "--yes"]);
    expect_pairs(&env, 50);
    env.json(&["failback", "web", "--stage", "next", "--yes"]);
    assert_eq!(env.native(), before);
    assert!(env.identical_to(&snap));
}

/// A drill on Route 53 (ministack): shadow sets created, failed over, walked back in every
/// stage and restored, then removed; the production record sets are byte for byte as
/// before (read with the SDK), and every phase is timed. There is no authoritative server to
/// ask offline: visibility is reported as not checked, never waited for.
#[test]
fn a_drill_on_route53_leaves_production_untouched() {
    let Some(env) = Env::new() else { return };
    let before = env.native();
    let t = Instant::now();
    let report = env.json(&["drill", "web"]);
    let took = t.elapsed();
    assert_eq!(report["result"], "passed", "{report:#}");
    let phases: Vec<&str> = report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        phases,
        [
            "setup", "failover", "stage 1", "stage 2", "stage 3", "cleanup"
        ]
    );
    let mut last = String::new();
    for p in report["phases"].as_array().unwrap() {
        let at = p["started_at"].as_str().unwrap().to_string();
        assert!(at > last, "in order: {report:#}");
        last = at;
        if let Some(s) = p["rto"]["seconds"].as_object() {
            let (a, v) = (
                s["applied"].as_f64().unwrap(),
                s["verified"].as_f64().unwrap(),
            );
            assert!(a <= v, "{p:#}");
            assert!(s["visible"].is_null(), "no server offline: {p:#}");
            eprintln!(
                "ministack drill {}: {:.3}s, applied {a:.3}s, verified {v:.3}s",
                p["name"],
                p["seconds"].as_f64().unwrap()
            );
        }
    }
    assert_eq!(report["production_untouched"], true);
    assert_eq!(report["shadows_removed"], true);
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "ns_unchecked"),
        "{report:#}"
    );
    eprintln!("ministack drill: {took:?} in all");
    assert_eq!(env.native(), before, "production untouched, shadows gone");
    assert_eq!(env.json(&["cutover", "status", "web"])["state"], "idle");
}
