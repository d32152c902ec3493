//! Drills on the built-in provider with `serve` running: the whole cutover on `_drill.`
//! shadow record sets, production untouched byte for byte, the shadows gone afterwards, every
//! phase timed and its RTO measured at the server's listeners; a failing recovery target
//! stops the drill before the failover; the runbook of a two-zone cutover, executed block by
//! block, performs the cutover and the exact restore.

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::cli::Endpoint;
use common::{Switchback, SwitchbackOptions};
use serde_json::Value;

const EXAMPLE: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.80\napi 120 A 192.0.2.90\napi 120 A 192.0.2.91\nmail A 192.0.2.25\n";
const CORP: &str = "$ORIGIN corp.example.\n$TTL 60\n@ SOA ns1 hostmaster 1 7200 900 1209600 60\n@ NS ns1\nns1 A 192.0.2.54\nintranet A 10.0.0.10\n";

fn sb(config: &Path, args: &[&str]) -> Output {
    Command::new(common::BIN)
        .arg("-c")
        .arg(config)
        .args(args)
        .env_remove("SWITCHBACK_FAULT")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn sb_json(config: &Path, args: &[&str]) -> Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    let o = sb(config, &a);
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}\n{}", switchback_testsupport::cli::text(&o)))
}

/// Every record set of a zone except the SOA (its serial moves with every change), as the
/// record model's JSON: the byte-for-byte comparison of production.
fn sets_of(config: &Path, zone: &str) -> Vec<Value> {
    let z = sb_json(
        config,
        &["zone", "export", "builtin", zone, "--format", "json"],
    );
    z["record_sets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["type"] != "SOA")
        .cloned()
        .collect()
}

fn names(sets: &[Value]) -> Vec<String> {
    sets.iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

fn cutover_toml(recovery_port: u16, extra: &str) -> String {
    format!(
        "[[cutover]]\nname = \"web\"\nprovider = \"builtin\"\nzone = \"example.com\"\n\
         steering = \"weighted\"\nfailback_stages = [50, 100]\nsoak = \"1h\"\ndrill_soak = \"0s\"\n\
         rto_target = \"1m\"\n\
         recovery_health = {{ check = \"tcp://127.0.0.1:{recovery_port}\", timeout = \"300ms\" }}\n{extra}\
         [[cutover.record]]\nname = \"www.example.com.\"\ntype = \"A\"\nrecovery = [\"198.51.100.80\"]\n\
         [[cutover.record]]\nname = \"api.example.com.\"\ntype = \"A\"\n\
         recovery = [\"198.51.100.90\"]\n"
    )
}

/// The recovery site's health endpoint: its port, and the guard that keeps it up.
fn recovery_site() -> (u16, Endpoint) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (port, Endpoint::start(listener))
}

fn serve_with(extra_toml: String) -> (tempfile::TempDir, Switchback, u16) {
    let zones = tempfile::tempdir().unwrap();
    std::fs::write(zones.path().join("example.com.zone"), EXAMPLE).unwrap();
    std::fs::write(zones.path().join("corp.example.zone"), CORP).unwrap();
    let mut opts = SwitchbackOptions::new(zones.path());
    let api = common::free_port();
    opts.extra_server_toml = format!("api = \"127.0.0.1:{api}\"\n");
    opts.extra_toml = extra_toml;
    (zones, Switchback::start_with(opts), api)
}

#[test]
fn a_drill_on_shadow_sets_leaves_production_untouched_and_times_every_phase() {
    let (recovery, _recovery_site) = recovery_site();
    let (_zones, s, api) = serve_with(cutover_toml(recovery, ""));
    let before = sets_of(&s.config, "example.com.");
    let ready = sb(&s.config, &["check", "web"]);
    let text = String::from_utf8_lossy(&ready.stdout).to_string();
    assert_eq!(ready.status.code(), Some(0), "{text}");
    assert!(
        text.contains("never been drilled") && text.contains("TTL 300s"),
        "{text}"
    );

    let report = sb_json(&s.config, &["drill", "web"]);
    assert_eq!(report["result"], "passed", "{report:#}");
    assert_eq!(report["cutover"], "web");
    assert_eq!(report["live"], false);
    let phases: Vec<&str> = report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        phases,
        ["setup", "failover", "stage 1", "stage 2", "cleanup"]
    );
    // Every phase's times present and in order; each step visible at the server.
    let mut last = String::new();
    for p in report["phases"].as_array().unwrap() {
        let at = p["started_at"].as_str().unwrap().to_string();
        assert!(at > last, "phases out of order: {report:#}");
        last = at;
        assert!(p["seconds"].as_f64().unwrap() >= 0.0);
        if p["name"] == "setup" || p["name"] == "cleanup" {
            continue;
        }
        let rto = &p["rto"];
        let secs = &rto["seconds"];
        let (plan, applied, verified, visible) = (
            secs["plan"].as_f64().unwrap(),
            secs["applied"].as_f64().unwrap(),
            secs["verified"].as_f64().unwrap(),
            secs["visible"].as_f64().unwrap_or_else(|| panic!("{p:#}")),
        );
        assert!(
            plan <= applied && applied <= verified && verified <= visible,
            "{p:#}"
        );
        assert_eq!(rto["servers"].as_array().unwrap().len(), 1, "{p:#}");
        assert_eq!(rto["servers"][0]["server"], s.addr.to_string());
        eprintln!(
            "drill {}: applied {applied:.4}s verified {verified:.4}s visible {visible:.4}s",
            p["name"]
        );
    }
    assert!(
        report["rto_seconds"].as_f64().unwrap() > 300.0,
        "visible + TTL 300"
    );
    assert_eq!(report["rto_target_seconds"], 60.0);
    assert_eq!(report["rto_met"], false);
    assert_eq!(report["production_untouched"], true);
    assert_eq!(report["shadows_removed"], true);
    let findings = report["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["kind"] == "ttl"
                && f["detail"].as_str().unwrap().contains("www.example.com./A")),
        "{findings:?}"
    );
    assert!(
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["role"] == "recovery" && c["ok"] == true)
    );

    // Production byte for byte as before; no shadow left.
    let after = sets_of(&s.config, "example.com.");
    assert_eq!(before, after);
    assert!(!names(&after).iter().any(|n| n.starts_with("_drill.")));
    // The real cutover never moved; the report is stored and listed.
    let st = sb_json(&s.config, &["cutover", "status", "web"]);
    assert_eq!(st["state"], "idle");
    assert_eq!(st["last_drill"]["id"], report["id"]);
    assert_eq!(st["last_drill"]["result"], "passed");
    let list = sb_json(&s.config, &["drill", "list"]);
    assert_eq!(list[0]["id"], report["id"]);
    assert_eq!(list[0]["report"]["phases"].as_array().unwrap().len(), 5);
    // The status page and the metrics show it.
    let (code, page) = switchback_testsupport::http::request_with(api, "GET", "/", None).unwrap();
    assert_eq!(code, 200);
    assert!(
        page.contains("Recovery time") && page.contains("passed"),
        "{page}"
    );
    let (_, metrics) =
        switchback_testsupport::http::request_with(api, "GET", "/metrics", None).unwrap();
    assert!(
        metrics.contains("switchback_drill_passed{cutover=\"web\"} 1"),
        "{metrics}"
    );

    // Never while the cutover is not idle.
    let o = sb(&s.config, &["failover", "web", "--yes"]);
    assert!(
        o.status.success(),
        "{}",
        switchback_testsupport::cli::text(&o)
    );
    let o = sb(&s.config, &["--json", "drill", "web"]);
    let stopped: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(stopped["result"], "stopped", "{stopped:#}");
    assert_eq!(stopped["findings"][0]["kind"], "not_idle", "{stopped:#}");
    assert!(stopped["phases"].as_array().unwrap().is_empty());
}

#[test]
fn a_drill_with_a_failing_recovery_target_stops_before_the_failover() {
    // Nothing listens on the recovery site's port.
    let dead = common::free_port();
    let (_zones, s, _api) = serve_with(cutover_toml(dead, ""));
    let before = sets_of(&s.config, "example.com.");
    let o = sb(&s.config, &["--json", "drill", "web"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        switchback_testsupport::cli::text(&o)
    );
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["result"], "stopped", "{report:#}");
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "recovery_unhealthy"),
        "{report:#}"
    );
    assert!(
        report["phases"].as_array().unwrap().is_empty(),
        "{report:#}"
    );
    assert_eq!(before, sets_of(&s.config, "example.com."));
    let checks = sb(&s.config, &["check", "web"]);
    assert_eq!(checks.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&checks.stdout).contains("NOT READY"));
}

/// The `sh` blocks of a runbook, in order, leaving out the "Undo" sections.
fn sh_blocks(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut undo = false;
    let mut block: Option<String> = None;
    for line in md.lines() {
        if let Some(b) = block.as_mut() {
            if line == "```" {
                if !undo {
                    out.push(block.take().unwrap());
                }
                block = None;
            } else {
                b.push_str(line);
                b.push('\n');
            }
            continue;
        }
        if let Some(h) = line.strip_prefix("## ") {
            undo = h.starts_with("Undo");
        } else if line == "```sh" {
            block = Some(String::new());
        }
    }
    out
}

#[test]
fn the_runbook_of_a_two_zone_cutover_runs_as_written_and_restores_exactly() {
    let (recovery, _recovery_site) = recovery_site();
    let extra = format!(
        "[[cutover]]\nname = \"web\"\nprovider = \"builtin\"\nzone = \"example.com\"\n\
         steering = \"weighted\"\nfailback_stages = [50, 100]\nsoak = \"1s\"\n\
         recovery_health = {{ check = \"tcp://127.0.0.1:{recovery}\" }}\n\
         [[cutover.record]]\nname = \"www.example.com.\"\ntype = \"A\"\nrecovery = [\"198.51.100.80\"]\n\
         [[cutover.record]]\nname = \"intranet.corp.example.\"\ntype = \"A\"\nzone = \"corp.example\"\n\
         recovery = [\"10.20.0.10\"]\n"
    );
    let (_zones, s, _api) = serve_with(extra);
    let before = (
        sets_of(&s.config, "example.com."),
        sets_of(&s.config, "corp.example."),
    );
    let o = sb(&s.config, &["cutover", "plan", "web", "--runbook"]);
    assert!(
        o.status.success(),
        "{}",
        switchback_testsupport::cli::text(&o)
    );
    let md = String::from_utf8(o.stdout).unwrap();
    assert!(md.starts_with("# Runbook: cutover web"), "{md}");
    assert!(md.contains("## Undo: abort"), "{md}");
    assert!(md.contains("dig +norec"), "{md}");
    assert!(
        md.contains("198.51.100.80") && md.contains("10.20.0.10"),
        "before -> after: {md}"
    );
    assert!(
        md.contains("[set primary, weight 50]"),
        "stage 1's sets: {md}"
    );
    let blocks = sh_blocks(&md);
    assert_eq!(blocks.len(), 4, "pre-checks, failover, two stages:\n{md}");
    // The commands run from the config's folder, `switchback` on the PATH.
    let bin_dir = Path::new(common::BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let dir = s.config.parent().unwrap();
    for (i, b) in blocks.iter().enumerate() {
        let o = Command::new("bash")
            .args(["-euo", "pipefail", "-c", b])
            .current_dir(dir)
            .env("PATH", &path)
            .env_remove("SWITCHBACK_FAULT")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "block {i} failed:\n{b}\n{}",
            switchback_testsupport::cli::text(&o)
        );
        let st = sb_json(&s.config, &["cutover", "status", "web"]);
        let want = ["idle", "failed-over", "failing-back", "restored"][i];
        assert_eq!(st["state"], want, "after block {i}:\n{b}");
        if i == 1 {
            let out = String::from_utf8_lossy(&o.stdout);
            assert!(
                out.contains("198.51.100.80"),
                "the dig line shows the recovery: {out}"
            );
        }
    }
    let after = (
        sets_of(&s.config, "example.com."),
        sets_of(&s.config, "corp.example."),
    );
    assert_eq!(before, after, "the exact restore, in both zones");
}

#[test]
fn serve_drills_on_its_schedule() {
    let (recovery, _recovery_site) = recovery_site();
    let (_zones, s, _api) = serve_with(cutover_toml(recovery, "drill_every = \"1h\"\n"));
    // No drill yet: the first is due at once, then not again within the hour.
    switchback_testsupport::wait::wait_for(
        "serve's scheduled drill",
        std::time::Duration::from_secs(20),
        || {
            let l = sb_json(&s.config, &["drill", "list", "web"]);
            l.as_array().unwrap().len() == 1 && l[0]["result"] != "running"
        },
    );
    let list = sb_json(&s.config, &["drill", "list", "web"]);
    assert_eq!(list[0]["result"], "passed", "{list:#}");
    assert!(
        list[0]["report"]["actor"]
            .as_str()
            .unwrap()
            .starts_with("auto:drill@"),
        "{list:#}"
    );
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(
        sb_json(&s.config, &["drill", "list", "web"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_drill_killed_half_way_is_cleaned_up_by_the_next() {
    let (recovery, _recovery_site) = recovery_site();
    let (_zones, s, _api) = serve_with(cutover_toml(recovery, ""));
    let before = sets_of(&s.config, "example.com.");
    // The process dies right after the shadow failover (as kill -9 would: no unwinding).
    let o = Command::new(common::BIN)
        .arg("-c")
        .arg(&s.config)
        .args(["--json", "drill", "web"])
        .env("SWITCHBACK_FAULT", "drill:after-failover")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        !o.status.success(),
        "{}",
        switchback_testsupport::cli::text(&o)
    );
    let left = sets_of(&s.config, "example.com.");
    assert!(
        names(&left).iter().any(|n| n.starts_with("_drill.")),
        "the dead drill left its shadows cut over"
    );
    assert_eq!(
        sb_json(&s.config, &["drill", "list"])[0]["result"],
        "running"
    );

    let report = sb_json(&s.config, &["drill", "web"]);
    assert_eq!(report["result"], "passed", "{report:#}");
    let kinds: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"interrupted"), "{report:#}");
    assert_eq!(
        before,
        sets_of(&s.config, "example.com."),
        "production untouched, shadows gone"
    );
    let list = sb_json(&s.config, &["drill", "list", "web"]);
    let results: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["passed", "interrupted"]);
}

#[test]
fn two_drills_at_once_one_runs_the_other_is_busy() {
    let (recovery, _recovery_site) = recovery_site();
    // A soak between the stages keeps the first drill going while the second starts.
    let (_zones, s, _api) = serve_with(
        cutover_toml(recovery, "").replace("drill_soak = \"0s\"", "drill_soak = \"1s\""),
    );
    let before = sets_of(&s.config, "example.com.");
    let spawn = || {
        Command::new(common::BIN)
            .arg("-c")
            .arg(&s.config)
            .args(["--json", "drill", "web"])
            .env_remove("SWITCHBACK_FAULT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = spawn();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let second = spawn().wait_with_output().unwrap();
    let first = first.wait_with_output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        switchback_testsupport::cli::text(&first)
    );
    assert_eq!(
        second.status.code(),
        Some(5),
        "busy: {}",
        switchback_testsupport::cli::text(&second)
    );
    let list = sb_json(&s.config, &["drill", "list", "web"]);
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "a refused drill leaves no report"
    );
    assert_eq!(list[0]["result"], "passed");
    assert_eq!(before, sets_of(&s.config, "example.com."));
}

#[test]
fn a_live_drill_is_confirmed_then_runs_the_real_cutover_and_restores_it() {
    let (recovery, _recovery_site) = recovery_site();
    let (_zones, s, _api) = serve_with(cutover_toml(recovery, ""));
    let before = sets_of(&s.config, "example.com.");
    let o = sb(&s.config, &["drill", "web", "--live"]);
    assert_eq!(o.status.code(), Some(2), "no terminal, no --yes: refused");
    assert_eq!(before, sets_of(&s.config, "example.com."));
    let report = sb_json(&s.config, &["drill", "web", "--live", "--yes"]);
    assert_eq!(report["result"], "passed", "{report:#}");
    assert_eq!(report["live"], true);
    let phases: Vec<&str> = report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["failover", "stage 1", "stage 2"]);
    assert_eq!(
        before,
        sets_of(&s.config, "example.com."),
        "restored exactly"
    );
    let st = sb_json(&s.config, &["cutover", "status", "web"]);
    assert_eq!(st["state"], "restored");
    assert_eq!(st["last_drill"]["live"], true);
    assert_eq!(st["last_rto"]["trigger"]["kind"], "drill");
}
