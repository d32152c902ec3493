//! Notifications out, against a receiver on loopback that answers 500 to the first two
//! deliveries and is then down (its port closed) for a while: every event of a failover and
//! its staged failback arrives, in order, exactly once with a 2xx per event id (the retries
//! carry the same id), every signature valid; the steps are not delayed by the dead receiver.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Switchback, SwitchbackOptions};
use serde_json::Value;

const EXAMPLE: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.80\n";
const SECRET: &str = "notify-secret-for-tests";
const PATH: &str = "/hooks/switchback";
/// How long the receiver's port stays closed after its two failures.
const DOWN: Duration = Duration::from_secs(3);

/// One delivery as the receiver saw it, and what it answered.
#[derive(Debug, Clone)]
struct Delivery {
    event_id: String,
    kind: String,
    body: String,
    signature: String,
    answered: u16,
}

fn read_request(s: &mut TcpStream) -> Option<(Vec<(String, String)>, String)> {
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some((
        headers,
        String::from_utf8_lossy(&buf[head_end..]).to_string(),
    ))
}

/// The flaky receiver: 500, 500, then its port closed for [`DOWN`], then 200 for good.
fn receiver(listener: TcpListener, log: Arc<Mutex<Vec<Delivery>>>, stop: Arc<AtomicBool>) {
    let addr = listener.local_addr().unwrap();
    let mut listener = Some(listener);
    let mut served = 0;
    while !stop.load(Ordering::Relaxed) {
        let Some(l) = listener.as_ref() else {
            std::thread::sleep(DOWN);
            listener = Some(TcpListener::bind(addr).unwrap());
            continue;
        };
        l.set_nonblocking(true).unwrap();
        let mut conn = match l.accept() {
            Ok((c, _)) => c,
            Err(_) => {
                std::thread::sleep(Duration::from_millis(2));
                continue;
            }
        };
        conn.set_nonblocking(false).unwrap();
        let Some((headers, body)) = read_request(&mut conn) else {
            continue;
        };
        let h = |k: &str| {
            headers
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        served += 1;
        let status = if served <= 2 { 500 } else { 200 };
        log.lock().unwrap().push(Delivery {
            event_id: h("x-switchback-event-id"),
            kind: h("x-switchback-event"),
            signature: h("x-switchback-signature"),
            body,
            answered: status,
        });
        let reason = if status == 200 {
            "OK"
        } else {
            "Internal Server Error"
        };
        let _ = conn.write_all(
            format!("HTTP/1.1 {status} {reason}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .as_bytes(),
        );
        drop(conn);
        if served == 2 {
            // Down: the port closed (connections refused) for a while.
            listener = None;
        }
    }
}

fn step(config: &std::path::Path, args: &[&str]) -> (Value, Duration) {
    let t = Instant::now();
    let o = Command::new(common::BIN)
        .arg("-c")
        .arg(config)
        .arg("--json")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let took = t.elapsed();
    assert!(
        o.status.success(),
        "{}",
        switchback_testsupport::cli::text(&o)
    );
    (serde_json::from_slice(&o.stdout).unwrap(), took)
}

fn valid_signature(d: &Delivery) -> bool {
    let Some((t, _)) = d
        .signature
        .strip_prefix("t=")
        .and_then(|s| s.split_once(','))
    else {
        return false;
    };
    let Ok(t) = t.parse::<i64>() else {
        return false;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    (now - t).abs() < 300
        && switchback::http::auth::sign(SECRET.as_bytes(), t, PATH, d.body.as_bytes())
            == d.signature
}

#[test]
fn every_event_arrives_once_in_order_signed_through_failures_and_an_outage() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let log: Arc<Mutex<Vec<Delivery>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let rx = {
        let (log, stop) = (log.clone(), stop.clone());
        std::thread::spawn(move || receiver(listener, log, stop))
    };
    let zones = tempfile::tempdir().unwrap();
    std::fs::write(zones.path().join("example.com.zone"), EXAMPLE).unwrap();
    let mut opts = SwitchbackOptions::new(zones.path());
    opts.extra_server_toml = format!("api = \"127.0.0.1:{}\"\n", common::free_port());
    opts.env = vec![("SB_NOTIFY_SECRET".into(), SECRET.into())];
    opts.extra_toml = format!(
        "[[notify]]\nname = \"ops\"\nurl = \"http://{addr}{PATH}\"\nsecret_env = \"SB_NOTIFY_SECRET\"\n\
         [[cutover]]\nname = \"web\"\nprovider = \"builtin\"\nzone = \"example.com\"\n\
         steering = \"weighted\"\nfailback_stages = [50, 100]\nsoak = \"0s\"\n\
         [[cutover.record]]\nname = \"www.example.com.\"\ntype = \"A\"\nrecovery = [\"198.51.100.80\"]\n"
    );
    let sb = Switchback::start_with(opts);

    // The steps, while the receiver fails and then is down.
    let (_, failover) = step(&sb.config, &["failover", "web", "--yes"]);
    let (_, stage) = step(&sb.config, &["failback", "web", "--yes"]);
    let (out, restored) = step(&sb.config, &["failback", "web", "--yes"]);
    assert_eq!(out["outcome"]["state"], "restored");
    let pending = step(&sb.config, &["cutover", "status", "web"]).0["notifications"].clone();
    eprintln!(
        "steps with the receiver failing or down: failover {failover:?}, stage {stage:?}, \
         restored {restored:?}; queue {pending}"
    );
    for (what, took) in [
        ("failover", failover),
        ("stage", stage),
        ("restored", restored),
    ] {
        assert!(
            took < Duration::from_secs(3),
            "{what} took {took:?}: a dead receiver must not delay a step"
        );
    }

    // Every event delivered (2xx) once.
    let t = Instant::now();
    let delivered = loop {
        let ok: Vec<Delivery> = log
            .lock()
            .unwrap()
            .iter()
            .filter(|d| d.answered == 200)
            .cloned()
            .collect();
        if ok.len() >= 3 {
            break ok;
        }
        assert!(
            t.elapsed() < Duration::from_secs(40),
            "not every event arrived: {:#?}\n{}",
            log.lock().unwrap(),
            sb.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!("all three delivered {:?} after the last step", t.elapsed());
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::Relaxed);
    rx.join().unwrap();
    let all = log.lock().unwrap().clone();
    let ok: Vec<&Delivery> = all.iter().filter(|d| d.answered == 200).collect();
    assert_eq!(
        ok.len(),
        3,
        "one 2xx per event, never again after it: {all:#?}"
    );
    let kinds: Vec<&str> = ok.iter().map(|d| d.kind.as_str()).collect();
    assert_eq!(kinds, ["failover", "stage", "restored"], "in order");
    let mut ids: Vec<&str> = ok.iter().map(|d| d.event_id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3, "one event id each");
    // The two failed attempts were the first event, with its id.
    assert_eq!(all[0].answered, 500);
    assert_eq!(all[1].answered, 500);
    assert_eq!(all[0].event_id, delivered[0].event_id);
    assert_eq!(all[1].event_id, delivered[0].event_id);
    for d in &all {
        assert!(valid_signature(d), "bad signature on {d:#?}");
        let v: Value = serde_json::from_str(&d.body).unwrap();
        assert_eq!(v["event_id"], d.event_id.as_str());
        assert_eq!(v["kind"], d.kind.as_str());
        assert_eq!(v["cutover"], "web");
        assert!(v["at"].is_string());
    }
    let status = step(&sb.config, &["cutover", "status", "web"]).0;
    assert_eq!(status["notifications"][0]["target"], "ops");
    assert_eq!(status["notifications"][0]["pending"], 0);
    assert_eq!(status["notifications"][0]["delivered"], 3);
    assert!(!sb.log_text().contains(SECRET));
}
