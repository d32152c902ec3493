//! Automation in `serve`: a primary whose health check falls is failed over automatically
//! (`auto_failover`), the answers follow; with `auto_failback`, the walk back happens stage by
//! stage once the primary is up again, but never closer than `hold_down` to the last
//! automatic action (flapping is damped).

mod common;

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::cli::Endpoint;
use common::{Question, Switchback, SwitchbackOptions};
use hickory_proto::rr::RecordType;
use serde_json::Value;

const ZONE: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.80\napi A 192.0.2.90\n";

fn status(config: &std::path::Path) -> Value {
    let o = Command::new(env!("CARGO_BIN_EXE_switchback"))
        .arg("-c")
        .arg(config)
        .args(["--json", "cutover", "status", "web"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
    t.elapsed()
}

#[test]
fn primary_down_fails_over_automatically_and_back_in_stages_after_hold_down() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let primary = Endpoint::start(listener);
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("example.com.zone"), ZONE).unwrap();
    let mut opts = SwitchbackOptions::new(tmp.path());
    opts.extra_toml = format!(
        "[[cutover]]\nname = \"web\"\nprovider = \"builtin\"\nzone = \"example.com\"\n\
         steering = \"weighted\"\nfailback_stages = [50, 100]\nsoak = \"0s\"\nhold_down = \"3s\"\n\
         auto_failover = true\nauto_failback = true\n\
         health = {{ check = \"tcp://127.0.0.1:{port}\", interval = \"200ms\", timeout = \"150ms\", fall = 2, rise = 2 }}\n\
         [[cutover.record]]\nname = \"www.example.com.\"\ntype = \"A\"\nrecovery = [\"198.51.100.80\"]\n"
    );
    let sb = Switchback::start_with(opts);
    let q = Question::new("www.example.com.", RecordType::A);
    let www = || sb.query(&q).unwrap().answer_rdata(RecordType::A);
    assert_eq!(www(), ["192.0.2.80"]);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        status(&sb.config)["state"],
        "idle",
        "a healthy primary: no action"
    );

    // The primary dies: failover without anyone typing a command.
    drop(primary);
    let t = wait_for("the automatic failover", Duration::from_secs(10), || {
        www() == ["198.51.100.80"]
    });
    eprintln!(
        "primary down -> answers on the recovery site after {t:?} (fall 2 x 200 ms + failover + pickup)"
    );
    // The serving provider answers from the new zone as soon as it is applied; the step's
    // state is stored after its verify, a moment later.
    wait_for("the failover's state", Duration::from_secs(5), || {
        status(&sb.config)["state"] == "failed-over"
    });

    // It comes back at once: the first failback stage waits for hold_down (3 s) after the
    // failover, however healthy the primary looks.
    let primary = Endpoint::start(TcpListener::bind(("127.0.0.1", port)).unwrap());
    let back = Instant::now();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(status(&sb.config)["state"], "failed-over", "held down");
    wait_for(
        "the first automatic failback stage",
        Duration::from_secs(10),
        || status(&sb.config)["stage"] == 1,
    );
    assert!(back.elapsed() >= Duration::from_millis(1500));
    // Then the last stage restores the zone, again no sooner than hold_down later.
    let stage1 = Instant::now();
    wait_for("the exact restore", Duration::from_secs(15), || {
        status(&sb.config)["state"] == "restored"
    });
    assert!(
        stage1.elapsed() >= Duration::from_secs(2),
        "stages are hold_down apart"
    );
    wait_for("the restored answer", Duration::from_secs(5), || {
        www() == ["192.0.2.80"]
    });
    drop(primary);
}
