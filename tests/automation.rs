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
use serde_json::{Value, json};
use switchback_testsupport::cloudflare_fake as cf_fake;
use switchback_testsupport::wait::wait_for;

const ZONE: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.80\napi A 192.0.2.90\n";

fn status(config: &std::path::Path) -> Value {
    let o = Command::new(common::BIN)
        .arg("-c")
        .arg(config)
        .args(["--json", "cutover", "status", "web"])
        .env("SB_CF_TOKEN", cf_fake::TOKEN)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
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
    // Its RTO is measured from the health transition that crossed `fall`, and visible at the
    // server's own listener.
    wait_for("the failover's RTO", Duration::from_secs(5), || {
        status(&sb.config)["last_rto"]["step"] == "failover"
    });
    let rto = status(&sb.config)["last_rto"].clone();
    assert_eq!(rto["trigger"]["kind"], "health", "{rto:#}");
    let visible = rto["seconds"]["visible"]
        .as_f64()
        .unwrap_or_else(|| panic!("{rto:#}"));
    assert!(
        rto["seconds"]["applied"].as_f64().unwrap() <= visible,
        "{rto:#}"
    );
    eprintln!("automatic failover RTO from the transition: visible after {visible:.4}s");

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

/// A disaster is when providers are slow: an automatic failover the provider throttles past
/// its `throttle_budget` fails for now and is tried again on the next tick (about a second),
/// not after `hold_down` (an hour here); it lands as soon as the provider answers, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_automatic_failover_is_retried_on_the_next_tick_not_held_down() {
    let fake = cf_fake::Fake::start(cf_fake::Options::default()).await;
    let zid = fake.add_zone("public.example", "acct");
    fake.seed(
        &zid,
        vec![json!({"type": "A", "name": "www.public.example", "content": "203.0.113.80", "ttl": 300})],
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let primary = Endpoint::start(listener);
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("example.com.zone"), ZONE).unwrap();
    let mut opts = SwitchbackOptions::new(tmp.path());
    opts.env.push(("SB_CF_TOKEN".into(), cf_fake::TOKEN.into()));
    opts.extra_toml = format!(
        "[providers.cf]\ntype = \"cloudflare\"\nendpoint = \"{}\"\ntoken_env = \"SB_CF_TOKEN\"\n\
         throttle_budget = \"1s\"\n\n\
         [[cutover]]\nname = \"web\"\nprovider = \"cf\"\nzone = \"public.example\"\n\
         steering = \"failover\"\nsoak = \"0s\"\nhold_down = \"1h\"\nauto_failover = true\n\
         health = {{ check = \"tcp://127.0.0.1:{port}\", interval = \"200ms\", timeout = \"150ms\", fall = 2, rise = 2 }}\n\
         [[cutover.record]]\nname = \"www.public.example.\"\ntype = \"A\"\nrecovery = [\"198.51.100.80\"]\n",
        fake.endpoint()
    );
    let sb = tokio::task::spawn_blocking(move || Switchback::start_with(opts))
        .await
        .unwrap();
    let config = sb.config.clone();
    let www = || {
        let recs = fake.records(&zid);
        let mut v: Vec<String> = recs
            .iter()
            .filter(|r| r["name"] == "www.public.example" && r["type"] == "A")
            .map(|r| r["content"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(www(), ["203.0.113.80"]);

    // Cloudflare throttles every request with a Retry-After of 30 s, beyond the 1 s budget.
    fake.set_options(|o| {
        o.throttle_after = Some(0);
        o.throttle_count = usize::MAX;
        o.retry_after_secs = 30;
    });
    let throttled_before = fake.throttled();
    drop(primary);
    // Refused more than once: the step was tried again on later ticks, not held down.
    let t = Instant::now();
    while fake.throttled() < throttled_before + 3 {
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "the throttled failover was not tried again (429s: {})",
            fake.throttled() - throttled_before
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(www(), ["203.0.113.80"], "nothing applied while throttled");
    let c = config.clone();
    let st = tokio::task::spawn_blocking(move || status(&c))
        .await
        .unwrap();
    assert_eq!(st["state"], "idle", "{st}");

    // The provider answers again: the failover lands on the next tick, well inside hold_down.
    fake.set_options(|o| o.throttle_after = None);
    let t = Instant::now();
    while www() != ["198.51.100.80"] {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the failover did not land once the provider answered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "throttling lifted -> failover applied after {:?}",
        t.elapsed()
    );
    let c = config.clone();
    let st = tokio::task::spawn_blocking(move || {
        let t = Instant::now();
        loop {
            let st = status(&c);
            if st["state"] == "failed-over" || t.elapsed() > Duration::from_secs(5) {
                return st;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .unwrap();
    assert_eq!(st["state"], "failed-over", "{st}");
    let snaps = st["snapshots"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(snaps, 1, "one failover, one snapshot set: {st}");
    drop(sb);
}
