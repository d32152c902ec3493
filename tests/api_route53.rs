//! The whole pre-recovery -> post-recovery -> failback x3 sequence driven only through the
//! HTTP API of `switchback serve`, on Route 53 (ministack): a weighted cutover, each hook sent
//! with a real HTTP client (bearer token or HMAC signature), its run polled at
//! `GET /v1/cutovers/web` when it answers 202, the hosted zone read with the AWS SDK after each
//! step, and at the end the first snapshot equal to a new one (`diff ID` identical).

mod common;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_route53::types::{ChangeAction, RrType};
use common::api::ApiServe;
use common::ministack;
use reqwest::StatusCode;
use serde_json::{Value, json};

const ZONE: &str = "example.com.";
const TOKEN: &str = "r53-api-token";
const SECRET: &str = "r53-webhook-secret";

/// One record set as Route 53 holds it: (name, type, set id, weight, ttl, sorted values).
type Native = (String, String, String, i64, i64, Vec<String>);

async fn native(client: &aws_sdk_route53::Client, zone_id: &str) -> Vec<Native> {
    let out = client
        .list_resource_record_sets()
        .hosted_zone_id(zone_id)
        .send()
        .await
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

/// The A sets at `host`: (set id, weight, ttl, values).
fn at(all: &[Native], host: &str) -> Vec<(String, i64, i64, Vec<String>)> {
    all.iter()
        .filter(|r| r.0 == format!("{host}.{ZONE}") && r.1 == "A")
        .map(|r| (r.2.clone(), r.3, r.4, r.5.clone()))
        .collect()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn get(&self, p: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(format!("{}{p}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        let st = r.status();
        (st, r.json().await.unwrap_or(Value::Null))
    }

    /// A hook, signed with the HMAC secret (`signed`) or with the bearer token.
    async fn hook(&self, route: &str, body: Value, signed: bool) -> (StatusCode, Value, Duration) {
        let body = body.to_string();
        let mut rb = self
            .http
            .post(format!("{}/v1/hooks/{route}", self.base))
            .header("content-type", "application/json");
        if signed {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64;
            rb = rb.header(
                switchback::http::auth::SIGNATURE_HEADER,
                switchback::http::auth::sign(
                    SECRET.as_bytes(),
                    t,
                    &format!("/v1/hooks/{route}"),
                    body.as_bytes(),
                ),
            );
        } else {
            rb = rb.bearer_auth(TOKEN);
        }
        let t0 = Instant::now();
        let r = rb.body(body).send().await.unwrap();
        let took = t0.elapsed();
        let st = r.status();
        (st, r.json().await.unwrap_or(Value::Null), took)
    }

    /// Poll `GET /v1/cutovers/web` until hook run `run_id` is no longer running.
    async fn wait_run(&self, run_id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (st, v) = self.get("/v1/cutovers/web").await;
            assert_eq!(st, StatusCode::OK, "{v}");
            let run = v["hook_runs"]
                .as_array()
                .unwrap()
                .iter()
                .find(|j| j["run_id"] == run_id)
                .cloned()
                .unwrap_or_else(|| panic!("run {run_id} not in {v}"));
            if run["state"] != "running" {
                return run;
            }
            assert!(Instant::now() < deadline, "run {run_id} still running: {v}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A hook's answer: 200 (done in time) or 202 (then poll); the run must end done.
    async fn settle(&self, st: StatusCode, v: &Value) -> Value {
        assert!(
            st == StatusCode::OK || st == StatusCode::ACCEPTED,
            "{st} {v}"
        );
        let run = self.wait_run(v["run_id"].as_str().unwrap()).await;
        assert_eq!(run["state"], "done", "{run}");
        run
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_over_http_on_route53_fail_over_fail_back_and_restore_the_first_snapshot() {
    let Some(ms) = ministack::start() else {
        return;
    };
    let sdk = ministack::sdk(&ms.endpoint());
    let zone_id = ministack::create_zone(&sdk, &ZONE, None).await;
    let a = |n: &str, ttl, v: &[&str]| {
        (
            ChangeAction::Create,
            ministack::rrs(&format!("{n}.{ZONE}"), RrType::A, Some(ttl), v),
        )
    };
    ministack::raw(
        &sdk,
        &zone_id,
        vec![
            a("www", 300, &["192.0.2.80"]),
            a("api", 120, &["192.0.2.90", "192.0.2.91"]),
            a("mail", 300, &["192.0.2.25"]),
            (
                ChangeAction::Create,
                ministack::rrs(ZONE, RrType::Mx, Some(300), &["10 mail.example.com."]),
            ),
        ],
    )
    .await
    .expect("set up the zone");
    let before = native(&sdk, &zone_id).await;

    let dir = tempfile::tempdir().unwrap();
    let none = dir.path().join("aws-empty");
    std::fs::write(&none, "").unwrap();
    let none = none.to_string_lossy().into_owned();
    let env: Vec<(&str, &str)> = vec![
        ("SB_API_TOKEN", TOKEN),
        ("SB_HOOK_SECRET", SECRET),
        (
            "AWS_ACCESS_KEY_ID",
            switchback_testsupport::route53::ACCESS_KEY,
        ),
        (
            "AWS_SECRET_ACCESS_KEY",
            switchback_testsupport::route53::SECRET_KEY,
        ),
        ("AWS_REGION", "us-east-1"),
        ("AWS_CONFIG_FILE", &none),
        ("AWS_SHARED_CREDENTIALS_FILE", &none),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let rest = format!(
        "[api]\ntoken_env = \"SB_API_TOKEN\"\nwebhook_secret_env = \"SB_HOOK_SECRET\"\n\n\
         [providers.aws]\ntype = \"route53\"\nendpoint = \"{}\"\nregion = \"us-east-1\"\n\
         rate = 20\n\n\
         [[cutover]]\nname = \"web\"\nprovider = \"aws\"\nzone = \"example.com\"\n\
         steering = \"weighted\"\nsoak = \"0s\"\nfailback_stages = [10, 50, 100]\n\n\
         [[cutover.record]]\nname = \"www.example.com.\"\ntype = \"A\"\n\
         recovery = [\"198.51.100.80\"]\n\n\
         [[cutover.record]]\nname = \"api.example.com.\"\ntype = \"A\"\n\
         recovery = [\"198.51.100.90\", \"198.51.100.91\"]\n",
        ms.endpoint()
    );
    let serve = ApiServe::start(dir.path(), &rest, &env);
    let c = Client {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        base: serve.base.clone(),
    };
    let (st, v) = c.get("/v1/cutovers/web").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "idle", "{v}");
    let mut times = Vec::new();

    // 1. pre-recovery: a snapshot of the hosted zone; Route 53 unchanged.
    let (st, v, t) = c
        .hook(
            "pre-recovery",
            json!({"event_id": "r53-pre", "cutover": "web"}),
            true,
        )
        .await;
    times.push(("pre-recovery", st, t));
    let run = c.settle(st, &v).await;
    let first = run["result"]["snapshot_id"].as_str().unwrap().to_string();
    assert_eq!(native(&sdk, &zone_id).await, before);

    // 2. post-recovery, www's recovery value named by the hook: primary 0, recovery 100.
    let (st, v, t) = c
        .hook(
            "post-recovery",
            json!({"event_id": "r53-post", "cutover": "web",
                   "targets": {"www.example.com./A": ["198.51.100.81"]}}),
            false,
        )
        .await;
    times.push(("post-recovery", st, t));
    c.settle(st, &v).await;
    let expect = |all: &[Native], w: i64| {
        assert_eq!(
            at(all, "www"),
            vec![
                ("primary".into(), w, 60, s(&["192.0.2.80"])),
                ("recovery".into(), 100 - w, 60, s(&["198.51.100.81"])),
            ],
            "www at primary {w}%"
        );
        assert_eq!(
            at(all, "api"),
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
        // Nothing else touched.
        let others = |x: &[Native]| -> Vec<Native> {
            x.iter()
                .filter(|r| r.0 != format!("www.{ZONE}") && r.0 != format!("api.{ZONE}"))
                .cloned()
                .collect()
        };
        assert_eq!(others(all), others(&before));
    };
    expect(&native(&sdk, &zone_id).await, 0);
    let (_, v) = c.get("/v1/cutovers/web").await;
    assert_eq!(v["state"], "failed-over", "{v}");

    // 3-5. failback: next (10/90), next (50/50), next (restored: the originals exactly).
    for (i, (w, state)) in [
        (10, "failing-back"),
        (50, "failing-back"),
        (100, "restored"),
    ]
    .into_iter()
    .enumerate()
    {
        let (st, v, t) = c
            .hook(
                "failback",
                json!({"event_id": format!("r53-fb{i}"), "cutover": "web", "stage": "next"}),
                i % 2 == 1,
            )
            .await;
        times.push(("failback", st, t));
        c.settle(st, &v).await;
        let now = native(&sdk, &zone_id).await;
        if w < 100 {
            expect(&now, w);
        } else {
            assert_eq!(now, before, "the restore is not exact");
        }
        let (_, v) = c.get("/v1/cutovers/web").await;
        assert_eq!(v["state"], state, "{v}");
        assert_eq!(v["stage"], i + 1, "{v}");
    }
    for (h, st, t) in &times {
        assert!(*t < Duration::from_secs(2), "{h} answered in {t:?} ({st})");
    }
    eprintln!("route53 hook answers (status, time): {times:?}");

    // A replay of the first failback: the first answer, nothing changes.
    let (st, v, _) = c
        .hook(
            "failback",
            json!({"event_id": "r53-fb0", "cutover": "web", "stage": "next"}),
            false,
        )
        .await;
    assert!(
        st == StatusCode::OK || st == StatusCode::ACCEPTED,
        "{st} {v}"
    );
    assert_eq!(native(&sdk, &zone_id).await, before);

    let (_, v) = c.get("/v1/cutovers/web").await;
    let kinds: Vec<(&str, &str)> = v["last_runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["kind"].as_str().unwrap(), r["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("failover", "done"),
            ("failback", "done"),
            ("failback", "done"),
            ("failback", "done")
        ],
        "{v}"
    );

    // The first snapshot, listed by the API, equals a new one; `diff` agrees.
    let (st, v) = c.get("/v1/snapshots").await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        v["snapshots"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == first.as_str()),
        "{v}"
    );
    let cli = |args: &[&str]| -> Value {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchback"));
        cmd.current_dir(dir.path())
            .arg("-c")
            .arg(&serve.config)
            .arg("--json")
            .args(args)
            .env_remove("SWITCHBACK_FAULT")
            .stdin(Stdio::null());
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let o: Output = cmd.output().unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {:?}\n{}{}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let last = cli(&["snapshot", "create", "aws", "example.com"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(last, first);
    assert_eq!(
        cli(&["snapshot", "show", &first, "--format", "json"])["zone"],
        cli(&["snapshot", "show", &last, "--format", "json"])["zone"],
        "the final snapshot differs from the first"
    );
    assert_eq!(cli(&["diff", &first])["identical"], true);
    assert!(!ms.log().contains("Traceback"), "{}", ms.log());
    drop(serve);
}
