//! "Served, not just stored" (DESIGN.md "Built-in authoritative server"): a CLI change on the
//! built-in provider returns once a running `serve` on the same store serves the new serial,
//! so `apply --yes && dig` sees the change at once, every time; without a `serve` it says so
//! and returns at once.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Question, Switchback, SwitchbackOptions};
use hickory_proto::rr::RecordType;

const ZONE: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.80\n";

fn cli(config: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchback"))
        .arg("-c")
        .arg(config)
        .args(args)
        .env_remove("SWITCHBACK_FAULT")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn zone_with_www(dir: &std::path::Path, value: &str) -> std::path::PathBuf {
    let f = dir.join(format!("www-{value}.zone"));
    std::fs::write(&f, ZONE.replace("192.0.2.80", value)).unwrap();
    f
}

#[test]
fn apply_then_dig_sees_the_change_every_time() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("example.com.zone"), ZONE).unwrap();
    let mut opts = SwitchbackOptions::new(tmp.path());
    opts.extra_server_toml = "node = \"site-a\"".into();
    opts.extra_toml =
        "[[cutover]]\nname = \"web\"\nprovider = \"builtin\"\nzone = \"example.com\"\n\
                       [[cutover.record]]\nname = \"www.example.com.\"\ntype = \"A\"\n\
                       recovery = [\"203.0.113.5\"]\n"
            .into();
    let sb = Switchback::start_with(opts);
    let q = Question::new("www.example.com.", RecordType::A);
    let files = tempfile::tempdir().unwrap();
    for i in 0..10 {
        let value = format!("198.51.100.{}", 10 + i);
        let f = zone_with_www(files.path(), &value);
        let t = Instant::now();
        let o = cli(
            &sb.config,
            &[
                "apply",
                "builtin",
                "example.com",
                f.to_str().unwrap(),
                "--yes",
            ],
        );
        let took = t.elapsed();
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "{out}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            out.contains("example.com.: served by serve on site-a at serial"),
            "{out}"
        );
        // The very next query, no waiting: the new answer.
        let r = sb.query(&q).unwrap();
        assert_eq!(r.answer_rdata(RecordType::A), [value.as_str()], "round {i}");
        assert!(took < Duration::from_secs(5), "round {i}: {took:?}");
    }
    // --json carries it too.
    let f = zone_with_www(files.path(), "198.51.100.99");
    let o = cli(
        &sb.config,
        &[
            "--json",
            "apply",
            "builtin",
            "example.com",
            f.to_str().unwrap(),
            "--yes",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["served"]["status"], "served", "{v}");
    assert_eq!(v["served"]["node"], "site-a", "{v}");
    // A cutover step too: failover, then the very next query answers the recovery target.
    let o = cli(&sb.config, &["--json", "failover", "web", "--yes"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["served"][0]["status"], "served", "{v}");
    assert_eq!(v["served"][0]["zone"], "example.com.", "{v}");
    let r = sb.query(&q).unwrap();
    assert_eq!(r.answer_rdata(RecordType::A), ["203.0.113.5"]);
}

#[test]
fn without_serve_the_change_is_stored_and_the_cli_says_so_at_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("zones")).unwrap();
    std::fs::write(dir.path().join("zones/example.com.zone"), ZONE).unwrap();
    let config = dir.path().join("switchback.toml");
    std::fs::write(
        &config,
        "[server]\nzones = \"zones\"\nstate = \"state/state.db\"\n",
    )
    .unwrap();
    let f = zone_with_www(dir.path(), "198.51.100.7");
    let t = Instant::now();
    let o = cli(
        &config,
        &[
            "apply",
            "builtin",
            "example.com",
            f.to_str().unwrap(),
            "--yes",
        ],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("no serve is running on this state store"),
        "{out}"
    );
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "returned at once: {:?}",
        t.elapsed()
    );
}
