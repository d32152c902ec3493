//! Per-query steering on the built-in server: weighted variants answered with their odds,
//! a target whose health check is down left out at once (no API call, no rebuild), and fail
//! open when every target is down.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::Message;
use switchback_api::{Change, Name, Provider, RType, RecordSet};
use switchback_builtin::{Builtin, Listeners, ServerOptions};

const ZONE: &str = "$ORIGIN example.test.\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\nns A 192.0.2.53\nwww A 192.0.2.1\n";

fn query(id: u16, name: &str) -> Vec<u8> {
    let mut p = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    p[..2].copy_from_slice(&id.to_be_bytes());
    for label in name.trim_end_matches('.').split('.') {
        p.push(label.len() as u8);
        p.extend_from_slice(label.as_bytes());
    }
    p.extend_from_slice(&[0, 0, 1, 0, 1]);
    p
}

fn variant(id: &str, weight: u32, addr: &str, check: Option<&str>) -> RecordSet {
    let mut rs = RecordSet::new(
        "www.example.test.".parse().unwrap(),
        RType::A,
        60,
        [addr.to_string()],
    );
    rs.set_identifier = Some(id.into());
    rs.weight = Some(weight);
    if let Some(c) = check {
        rs.fields.insert("health_check".into(), c.into());
    }
    rs
}

/// The A record in the answer to one query.
fn ask(sock: &UdpSocket, addr: SocketAddr, id: u16) -> String {
    sock.send_to(&query(id, "www.example.test."), addr).unwrap();
    let mut buf = [0u8; 1500];
    let n = sock.recv(&mut buf).unwrap();
    let m = Message::from_vec(&buf[..n]).unwrap();
    assert_eq!(m.metadata.id, id);
    let mut v: Vec<String> = m.answers.iter().map(|r| r.data.to_string()).collect();
    v.sort();
    v.join(",")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weighted_pair_follows_weights_and_health() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("example.test.zone"), ZONE).unwrap();
    let b = Arc::new(Builtin::new("builtin", dir.path()));
    assert!(b.reload().failed.is_empty());
    let zone: Name = "example.test.".parse().unwrap();
    let live = b.read_zone(&zone).await.unwrap();
    let plain = live
        .record_sets
        .iter()
        .find(|r| r.name.to_string() == "www.example.test.")
        .unwrap()
        .clone();
    // A failover-style weighted pair: primary 90 (health-checked), recovery 10.
    b.apply(
        &zone,
        &[
            Change::Delete { before: plain },
            Change::Create {
                after: variant("primary", 90, "192.0.2.1", Some("web-primary")),
            },
            Change::Create {
                after: variant("recovery", 10, "198.51.100.1", None),
            },
        ],
    )
    .await
    .unwrap();

    let listeners = Listeners::bind(&["127.0.0.1:0".parse().unwrap()], 2).unwrap();
    let addr = listeners.local_addrs()[0];
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(switchback_builtin::serve(
        b.catalog(),
        listeners,
        ServerOptions {
            udp_workers: 2,
            ..ServerOptions::default()
        },
        async {
            let _ = rx.await;
        },
    ));

    let b2 = b.clone();
    tokio::task::spawn_blocking(move || {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        // 10,000 queries: the primary's share is 90% within ±1.5% (about 5 standard deviations).
        let n = 10_000u32;
        let primary = (0..n)
            .filter(|&i| ask(&sock, addr, i as u16) == "192.0.2.1")
            .count() as f64;
        let share = primary / n as f64;
        assert!((0.885..=0.915).contains(&share), "primary share {share}");

        // The primary's check falls: from the moment the monitor records it, no answer names
        // the dead target.
        let t = Instant::now();
        b2.health().set("web-primary", false);
        let first = ask(&sock, addr, 1);
        let detection_to_answer = t.elapsed();
        assert_eq!(first, "198.51.100.1");
        eprintln!(
            "health transition to first answer without the dead target: {detection_to_answer:?}"
        );
        assert!(
            detection_to_answer < Duration::from_millis(50),
            "{detection_to_answer:?}"
        );
        for i in 0..2_000u16 {
            assert_eq!(ask(&sock, addr, i), "198.51.100.1");
        }
        // Back up: the weights apply again.
        b2.health().set("web-primary", true);
        let back = (0..1000u16)
            .filter(|&i| ask(&sock, addr, i) == "192.0.2.1")
            .count();
        assert!(back > 800, "{back}");
    })
    .await
    .unwrap();
    tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn every_target_down_fails_open() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("example.test.zone"), ZONE).unwrap();
    let b = Builtin::new("builtin", dir.path());
    assert!(b.reload().failed.is_empty());
    let zone: Name = "example.test.".parse().unwrap();
    let live = b.read_zone(&zone).await.unwrap();
    let plain = live
        .record_sets
        .iter()
        .find(|r| r.name.to_string() == "www.example.test.")
        .unwrap()
        .clone();
    b.apply(
        &zone,
        &[
            Change::Delete { before: plain },
            Change::Create {
                after: variant("a", 50, "192.0.2.1", Some("chk-a")),
            },
            Change::Create {
                after: variant("b", 50, "192.0.2.2", Some("chk-b")),
            },
        ],
    )
    .await
    .unwrap();
    b.health().set("chk-a", false);
    b.health().set("chk-b", false);
    let cat = b.catalog();
    let mut out = Vec::new();
    let pkt = query(7, "www.example.test.");
    switchback_builtin::answer::answer(
        &cat.load(),
        &pkt,
        switchback_builtin::answer::Transport::Udp,
        &mut out,
    );
    let m = Message::from_vec(&out).unwrap();
    assert_eq!(m.answers.len(), 2, "fail open: both targets");
}
