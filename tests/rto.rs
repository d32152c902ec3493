//! The RTO of a real failover, measured: Knot is a secondary of the built-in server (NOTIFY,
//! then IXFR), `verify_ns` names both, and "visible" covers both. The figure Switchback
//! stores for Knot is compared with what this test sees with its own query loop against Knot.

mod common;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use common::{Question, Switchback, SwitchbackOptions, free_port};
use hickory_proto::rr::RecordType;
use serde_json::Value;

const EXAMPLE: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\nwww 120 A 192.0.2.80\n";

fn knot_secondary(
    knotd: &std::path::Path,
    dir: &std::path::Path,
    port: u16,
    primary: SocketAddr,
) -> switchback_testsupport::knot::KnotProcess {
    let rest = format!(
        "{}zone:\n  - domain: example.com.\n    storage: \"{}\"\n    master: switchback\n    \
         acl: notify_from_switchback\n    zonefile-sync: -1\n    zonefile-load: none\n    \
         journal-content: all\n",
        switchback_testsupport::knot::primary_remote(primary, ""),
        dir.join("zones").display(),
    );
    switchback_testsupport::knot::spawn(knotd, dir, port, &rest)
}

fn www(server: SocketAddr) -> Vec<String> {
    common::query(server, &Question::new("www.example.com.", RecordType::A))
        .map(|r| r.answer_rdata(RecordType::A))
        .unwrap_or_default()
}

fn at(v: &Value) -> SystemTime {
    humantime::parse_rfc3339(v.as_str().unwrap()).unwrap()
}

#[test]
fn visible_covers_the_secondary_and_matches_an_outside_query_loop() {
    let Some(knotd) = common::require_tool("knotd") else {
        return;
    };
    let zones = tempfile::tempdir().unwrap();
    std::fs::write(zones.path().join("example.com.zone"), EXAMPLE).unwrap();
    let knot_port = free_port();
    let knot = SocketAddr::from(([127, 0, 0, 1], knot_port));
    let mut opts = SwitchbackOptions::new(zones.path());
    opts.extra_server_toml = format!(
        "api = \"127.0.0.1:{}\"\nnotify = [\"{knot}\"]\n",
        free_port()
    );
    let sb = Switchback::start_with(opts);
    // The cutover names the server's own port in verify_ns, known only now; the command
    // reads the config afresh (serve needs no cutover to serve the zone).
    let cfg = std::fs::read_to_string(&sb.config).unwrap();
    std::fs::write(
        &sb.config,
        format!(
            "{cfg}\n[[cutover]]\nname = \"web\"\nprovider = \"builtin\"\nzone = \"example.com\"\n\
             rto_target = \"5m\"\nverify_ns = [\"{}\", \"{knot}\"]\n\
             [[cutover.record]]\nname = \"www.example.com.\"\ntype = \"A\"\n\
             recovery = [\"198.51.100.80\"]\n",
            sb.addr
        ),
    )
    .unwrap();
    let kdir = tempfile::tempdir().unwrap();
    let _knot = knot_secondary(&knotd, kdir.path(), knot_port, sb.addr);
    let t = Instant::now();
    while www(knot) != ["192.0.2.80"] {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "Knot never served the zone"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // The outside view: a loop asking Knot, from before the command until it answers.
    let stop = Arc::new(AtomicBool::new(false));
    let seen: Arc<Mutex<Option<SystemTime>>> = Arc::default();
    let looper = {
        let (stop, seen) = (stop.clone(), seen.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if www(knot) == ["198.51.100.80"] {
                    *seen.lock().unwrap() = Some(SystemTime::now());
                    return;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let o = Command::new(common::BIN)
        .arg("-c")
        .arg(&sb.config)
        .args(["--json", "failover", "web", "--yes"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}",
        switchback_testsupport::cli::text(&o)
    );
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    let t = Instant::now();
    while seen.lock().unwrap().is_none() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    looper.join().unwrap();
    let loop_saw = seen
        .lock()
        .unwrap()
        .expect("the loop never saw the change at Knot");

    let rto = &out["rto"];
    let servers = rto["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 2, "{rto:#}");
    let trigger = at(&rto["trigger"]["at"]);
    let mut knot_visible = None;
    for s in servers {
        let v = s["visible_seconds"]
            .as_f64()
            .unwrap_or_else(|| panic!("{rto:#}"));
        if s["server"] == knot.to_string() {
            knot_visible = Some(trigger + Duration::from_secs_f64(v));
        }
    }
    let knot_visible = knot_visible.expect("Knot is one of the servers");
    let secs = &rto["seconds"];
    let visible = secs["visible"].as_f64().unwrap();
    assert!(secs["verified"].as_f64().unwrap() <= visible);
    assert_eq!(
        secs["worst_case"].as_f64().unwrap(),
        visible + 120.0,
        "visible + the old TTL: {rto:#}"
    );
    assert_eq!(rto["met"], true);
    let diff = match knot_visible.duration_since(loop_saw) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    };
    eprintln!(
        "RTO at Knot: {:.4}s after the trigger (verified {:.4}s, visible everywhere {visible:.4}s); \
         Switchback saw it {:.1} ms after the outside loop",
        knot_visible
            .duration_since(trigger)
            .unwrap_or_default()
            .as_secs_f64(),
        secs["verified"].as_f64().unwrap(),
        diff * 1000.0
    );
    assert!(
        diff.abs() < 0.025,
        "Switchback's visible time at Knot is {:.1} ms from the outside loop's",
        diff * 1000.0
    );
    // Stored with the run: status, metrics.
    let st = Command::new(common::BIN)
        .arg("-c")
        .arg(&sb.config)
        .args(["--json", "cutover", "status", "web"])
        .output()
        .unwrap();
    let st: Value = serde_json::from_slice(&st.stdout).unwrap();
    assert_eq!(st["last_rto"]["run"], rto["run"]);
    assert_eq!(st["last_rto"]["seconds"]["visible"], secs["visible"]);
}

/// A webhook's step is measured from the request's arrival, in the background (the hook
/// answers first).
#[test]
fn a_webhook_step_is_measured_from_its_arrival() {
    use common::api::{ApiServe, post};
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("zones")).unwrap();
    std::fs::write(dir.path().join("zones/example.com.zone"), EXAMPLE).unwrap();
    let rest = "[api]\ntoken_env = \"SB_RTO_TOKEN\"\n\n[[cutover]]\nname = \"web\"\n\
                provider = \"builtin\"\nzone = \"example.com\"\n[[cutover.record]]\n\
                name = \"www.example.com.\"\ntype = \"A\"\nrecovery = [\"198.51.100.80\"]\n";
    let s = ApiServe::start(dir.path(), rest, &[("SB_RTO_TOKEN", "rto-token")]);
    let (code, body, _) = post(
        s.api_port,
        "/v1/hooks/post-recovery",
        "rto-token",
        r#"{"event_id": "rto-1", "cutover": "web"}"#,
    );
    assert!(code == 200 || code == 202, "{code} {body}");
    let status = || {
        let o = Command::new(common::BIN)
            .arg("-c")
            .arg(&s.config)
            .args(["--json", "cutover", "status", "web"])
            .output()
            .unwrap();
        serde_json::from_slice::<Value>(&o.stdout).unwrap()
    };
    switchback_testsupport::wait::wait_for("the hook's RTO", Duration::from_secs(10), || {
        status()["last_rto"]["step"] == "failover"
    });
    let rto = status()["last_rto"].clone();
    assert_eq!(rto["trigger"]["kind"], "webhook", "{rto:#}");
    assert!(rto["seconds"]["visible"].as_f64().is_some(), "{rto:#}");
    assert_eq!(
        rto["servers"][0]["server"],
        format!("127.0.0.1:{}", s.dns_port)
    );
    let (_, metrics) =
        switchback_testsupport::http::request_with(s.api_port, "GET", "/metrics", None).unwrap();
    assert!(
        metrics.contains("switchback_cutover_rto_seconds{cutover=\"web\",phase=\"visible\"}"),
        "{metrics}"
    );
}
