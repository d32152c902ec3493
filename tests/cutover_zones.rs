//! A cutover over several zones on several providers (DESIGN.md "Many zones, many
//! providers"), through the `switchback` binary: a snapshot set taken together before the
//! failover, steps applied zone by zone and journaled per zone, a crash between two zones
//! finished by `resume`, drift in one zone stopping the step for every zone (exit 3), and the
//! exact restore of every zone.
//!
//! - Three zones: two on the built-in server, one on Cloudflare (the project's stateful fake,
//!   `switchback_testsupport::cloudflare_fake`).
//! - Two zones: the built-in server and Route 53 (ministack), weighted, three stages.

mod common;

use switchback_testsupport::cloudflare_fake as cf_fake;

use aws_sdk_route53::types::{ChangeAction, RrType};
use common::cli::{CliEnv, text};
use common::ministack;
use serde_json::{Value, json};

const SITE: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.80\nmail A 192.0.2.25\n";
const CORP: &str = "$ORIGIN corp.example.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 10.0.0.53\napp A 10.0.0.10\nldap A 10.0.0.20\n";

fn env(config: &str) -> CliEnv {
    CliEnv::new(
        common::BIN,
        &[("example.com", SITE), ("corp.example", CORP)],
        config,
    )
}

/// A zone export with NAME/A's values replaced (someone else's change), applied.
fn edit(env: &CliEnv, provider: &str, zone: &str, name: &str, value: &str) {
    let mut v = env.json(&["zone", "export", provider, zone, "--format", "json"]);
    for rs in v["record_sets"].as_array_mut().unwrap() {
        if rs["name"] == name && rs["type"] == "A" {
            rs["values"] = json!([{ "data": value }]);
        }
    }
    let file = env.dir.path().join("edited.json");
    std::fs::write(&file, v.to_string()).unwrap();
    env.ok(&[
        "apply",
        provider,
        zone,
        file.to_str().unwrap(),
        "--yes",
        "--force",
    ]);
}

/// Every zone of the cutover's snapshot set equals its snapshot now.
fn every_zone_identical_to_its_snapshot(env: &CliEnv) -> bool {
    let st = env.status("web");
    let snaps = st["snapshots"].as_array().unwrap().clone();
    assert!(!snaps.is_empty(), "{st}");
    snaps
        .iter()
        .all(|s| env.identical_to(s["id"].as_str().unwrap()))
}

/// Crash at `fault` (the process aborts, as kill -9 would).
fn crash(env: &CliEnv, fault: &str, args: &[&str]) {
    let o = env
        .cmd(args)
        .env("SWITCHBACK_FAULT", fault)
        .output()
        .unwrap();
    assert!(
        o.status.code().is_none(),
        "{args:?} did not crash at {fault}: {}",
        text(&o)
    );
}

fn zones_of(st: &Value) -> Vec<(String, String)> {
    st["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["provider"].as_str().unwrap().to_string(),
                s["zone"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_zones_on_the_builtin_server_and_cloudflare() {
    let fake = cf_fake::Fake::start(cf_fake::Options::default()).await;
    let zid = fake.add_zone("public.example", "acct");
    fake.seed(
        &zid,
        vec![
            json!({"type": "A", "name": "www.public.example", "content": "203.0.113.80", "ttl": 300}),
            json!({"type": "A", "name": "shop.public.example", "content": "203.0.113.81", "ttl": 300}),
            json!({"type": "TXT", "name": "public.example", "content": "\"v=spf1 -all\"", "ttl": 300}),
        ],
    );
    let config = format!(
        "[providers.cf]\ntype = \"cloudflare\"\nendpoint = \"{}\"\ntoken_env = \"SB_CF_TOKEN\"\n\n\
         [[cutover]]\nname = \"web\"\nprovider = \"builtin\"\nzone = \"example.com\"\n\
         steering = \"failover\"\nsoak = \"0s\"\n\n\
         [[cutover.record]]\nname = \"www.example.com.\"\ntype = \"A\"\nrecovery = [\"198.51.100.80\"]\n\n\
         [[cutover.record]]\nname = \"app.corp.example.\"\ntype = \"A\"\nzone = \"corp.example\"\n\
         recovery = [\"10.20.0.10\"]\n\n\
         [[cutover.record]]\nname = \"www.public.example.\"\ntype = \"A\"\nprovider = \"cf\"\n\
         zone = \"public.example\"\nrecovery = [\"198.51.100.180\"]\n",
        fake.endpoint()
    );
    let env = env(&config).with_env("SB_CF_TOKEN", cf_fake::TOKEN);
    let env = std::sync::Arc::new(env);
    let e = env.clone();
    tokio::task::spawn_blocking(move || three_zone_steps(&e))
        .await
        .unwrap();
}

fn three_zone_steps(env: &CliEnv) {
    // A weighted cutover with a Cloudflare record is refused at config load, naming it.
    let weighted = env.dir.path().join("weighted.toml");
    let toml = std::fs::read_to_string(env.dir.path().join("switchback.toml"))
        .unwrap()
        .replace("steering = \"failover\"", "steering = \"weighted\"");
    std::fs::write(&weighted, toml).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_switchback"))
        .arg("-c")
        .arg(&weighted)
        .args(["cutover", "list"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cutover[web].record[2].provider") && err.contains("www.public.example./A"),
        "{}",
        text(&o)
    );

    let st = env.status("web");
    assert_eq!(st["zones"].as_array().unwrap().len(), 3, "{st}");
    assert_eq!(
        st["stages"], 1,
        "a record on a provider without weights: one stage"
    );
    // Failover: one snapshot per zone, taken together, in config order.
    let out = env.json(&["failover", "web", "--yes"]);
    assert_eq!(
        out["outcome"]["zones"].as_array().unwrap().len(),
        3,
        "{out}"
    );
    let st = env.status("web");
    assert_eq!(
        zones_of(&st),
        [
            ("builtin".to_string(), "example.com.".to_string()),
            ("builtin".to_string(), "corp.example.".to_string()),
            ("cf".to_string(), "public.example.".to_string()),
        ],
        "{st}"
    );
    assert_eq!(
        env.values("builtin", "example.com", "www.example.com.", "A"),
        ["198.51.100.80"]
    );
    assert_eq!(
        env.values("builtin", "corp.example", "app.corp.example.", "A"),
        ["10.20.0.10"]
    );
    assert_eq!(
        env.values("cf", "public.example", "www.public.example.", "A"),
        ["198.51.100.180"]
    );
    // Nothing outside the cutover moved.
    assert_eq!(
        env.values("cf", "public.example", "shop.public.example.", "A"),
        ["203.0.113.81"]
    );

    // Drift in one zone (Cloudflare) stops the failback for every zone: exit 3.
    edit(
        env,
        "cf",
        "public.example",
        "www.public.example.",
        "203.0.113.99",
    );
    let o = env.run(&["--json", "failback", "web", "--yes"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let conflicts = v["drift"]["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{v}");
    assert_eq!(conflicts[0]["zone"], "cf/public.example.", "{v}");
    assert_eq!(
        env.values("builtin", "example.com", "www.example.com.", "A"),
        ["198.51.100.80"],
        "no zone changed by the refused step"
    );
    assert_eq!(env.status("web")["state"], "failed-over");

    // --force, and a crash after the first zone: the step is journaled per zone.
    crash(
        env,
        "failback:after-zone",
        &["failback", "web", "--yes", "--force"],
    );
    let st = env.status("web");
    let intent = &st["intent"];
    assert_eq!(intent["done"].as_array().unwrap().len(), 1, "{st}");
    assert_eq!(
        env.values("builtin", "example.com", "www.example.com.", "A"),
        ["192.0.2.80"],
        "the first zone is restored"
    );
    assert_eq!(
        env.values("builtin", "corp.example", "app.corp.example.", "A"),
        ["10.20.0.10"],
        "the second zone is not yet"
    );
    // Resume finishes the zones not done: every zone exactly as in its snapshot.
    let out = env.json(&["resume", "web"]);
    assert_eq!(out["outcome"]["state"], "restored", "{out}");
    assert_eq!(
        out["outcome"]["zones"].as_array().unwrap().len(),
        2,
        "only the zones not done: {out}"
    );
    assert!(every_zone_identical_to_its_snapshot(env));
    assert_eq!(
        env.values("cf", "public.example", "www.public.example.", "A"),
        ["203.0.113.80"],
        "--force overwrote the drifted record with the snapshot's"
    );
    // A journaled run per zone.
    let runs: Vec<(String, String)> = env.status("web")["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_string(),
                r["zone"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for zone in ["example.com.", "corp.example.", "public.example."] {
        assert!(
            runs.contains(&("failover".to_string(), zone.to_string())),
            "{runs:?}"
        );
    }
}

#[test]
fn two_zones_on_the_builtin_server_and_route53_weighted_in_stages() {
    let Some(ms) = ministack::start() else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = ministack::sdk(&ms.endpoint());
    let zone_id = rt.block_on(ministack::create_zone(&client, &"public.example.", None));
    rt.block_on(ministack::raw(
        &client,
        &zone_id,
        vec![
            (
                ChangeAction::Create,
                ministack::rrs(
                    "www.public.example.",
                    RrType::A,
                    Some(300),
                    &["203.0.113.80"],
                ),
            ),
            (
                ChangeAction::Create,
                ministack::rrs(
                    "shop.public.example.",
                    RrType::A,
                    Some(300),
                    &["203.0.113.81"],
                ),
            ),
        ],
    ))
    .expect("zone set up");
    let config = format!(
        "[providers.r53]\ntype = \"route53\"\nendpoint = \"{}\"\nregion = \"us-east-1\"\nrate = 50\n\n\
         [[cutover]]\nname = \"web\"\nprovider = \"r53\"\nzone = \"public.example\"\n\
         steering = \"weighted\"\nsoak = \"0s\"\nfailback_stages = [10, 50, 100]\n\n\
         [[cutover.record]]\nname = \"www.public.example.\"\ntype = \"A\"\nrecovery = [\"198.51.100.180\"]\n\n\
         [[cutover.record]]\nname = \"app.corp.example.\"\ntype = \"A\"\nprovider = \"builtin\"\n\
         zone = \"corp.example\"\nrecovery = [\"10.20.0.10\"]\n",
        ms.endpoint()
    );
    let env = env(&config);
    let st = env.status("web");
    assert_eq!(st["stages"], 3, "both providers have weights: {st}");
    // Failover, crashed between the two zones: Route 53 done, the built-in zone not.
    crash(&env, "failover:after-zone", &["failover", "web", "--yes"]);
    let st = env.status("web");
    assert_eq!(st["intent"]["done"].as_array().unwrap().len(), 1, "{st}");
    assert_eq!(
        env.values("r53", "public.example", "www.public.example.", "A"),
        ["198.51.100.180", "203.0.113.80"],
        "a weighted pair on Route 53"
    );
    assert_eq!(
        env.values("builtin", "corp.example", "app.corp.example.", "A"),
        ["10.0.0.10"]
    );
    let out = env.json(&["resume", "web"]);
    assert_eq!(out["outcome"]["state"], "failed-over", "{out}");
    assert_eq!(
        env.values("builtin", "corp.example", "app.corp.example.", "A"),
        ["10.0.0.10", "10.20.0.10"]
    );
    assert_eq!(
        zones_of(&env.status("web")),
        [
            ("r53".to_string(), "public.example.".to_string()),
            ("builtin".to_string(), "corp.example.".to_string()),
        ]
    );
    // The stages, each in both zones: the primary's weight 10, 50, then the exact restore.
    for (stage, weight) in [(1, 10), (2, 50)] {
        let out = env.json(&["failback", "web", "--yes"]);
        assert_eq!(out["outcome"]["stage"], stage, "{out}");
        for (p, z, n) in [
            ("r53", "public.example", "www.public.example."),
            ("builtin", "corp.example", "app.corp.example."),
        ] {
            let v = env.json(&["zone", "export", p, z, "--format", "json"]);
            let primary = v["record_sets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|rs| rs["name"] == n && rs["set_identifier"] == "primary")
                .unwrap_or_else(|| panic!("no primary side of {n}: {v}"))
                .clone();
            assert_eq!(primary["weight"], weight, "{p} {z}: {primary}");
        }
    }
    let out = env.json(&["failback", "web", "--yes"]);
    assert_eq!(out["outcome"]["state"], "restored", "{out}");
    assert!(every_zone_identical_to_its_snapshot(&env));
    assert_eq!(
        env.values("r53", "public.example", "www.public.example.", "A"),
        ["203.0.113.80"]
    );
    assert_eq!(
        env.values("builtin", "corp.example", "app.corp.example.", "A"),
        ["10.0.0.10"]
    );
    drop(ms);
}
