//! Health applied per query on the built-in server, end to end: a real TCP health check
//! (the same monitor `serve` runs) falls, and the next DNS answers leave the dead target out
//! with no API call and no zone change. Measures the time from the probe result that crosses
//! `fall` to the first answer without the dead target (goal: under 50 ms).

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hickory_proto::op::Message;
use switchback::health::{HealthMonitor, HealthSpec, HealthState};
use switchback_api::{Change, Name, Provider, RType, RecordSet};
use switchback_builtin::{Builtin, Listeners, ServerOptions};

const ZONE: &str = "$ORIGIN example.test.\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\nns A 192.0.2.53\nwww A 192.0.2.1\n";

fn query(id: u16) -> Vec<u8> {
    let mut p = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    p[..2].copy_from_slice(&id.to_be_bytes());
    for label in ["www", "example", "test"] {
        p.push(label.len() as u8);
        p.extend_from_slice(label.as_bytes());
    }
    p.extend_from_slice(&[0, 0, 1, 0, 1]);
    p
}

fn answer(sock: &UdpSocket, addr: SocketAddr, id: u16) -> String {
    sock.send_to(&query(id), addr).unwrap();
    let mut buf = [0u8; 1500];
    let n = sock.recv(&mut buf).unwrap();
    let m = Message::from_vec(&buf[..n]).unwrap();
    m.answers
        .iter()
        .map(|r| r.data.to_string())
        .collect::<Vec<_>>()
        .join(",")
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_target_leaves_the_answers_within_50ms_of_the_deciding_probe() {
    // The primary's health endpoint: a real TCP listener, closed later.
    let target = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = target.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("example.test.zone"), ZONE).unwrap();
    let b = Arc::new(Builtin::new("builtin", dir.path()));
    assert!(b.reload().failed.is_empty());
    let zone: Name = "example.test.".parse().unwrap();
    let live = b.read_zone(&zone).await.unwrap();
    let www = live
        .record_sets
        .iter()
        .find(|r| r.name.to_string() == "www.example.test.")
        .unwrap()
        .clone();
    // Mid-failback: 50/50 between the primary (health-checked as "web") and the recovery site.
    b.apply(
        &zone,
        &[
            Change::Delete { before: www },
            Change::Create {
                after: variant("primary", 50, "192.0.2.1", Some("web")),
            },
            Change::Create {
                after: variant("recovery", 50, "198.51.100.1", None),
            },
        ],
    )
    .await
    .unwrap();

    // The monitor as `serve` wires it: every transition goes to the server's health table.
    let spec = HealthSpec::from_toml(&format!("check = \"tcp://127.0.0.1:{port}\", interval = \"100ms\", timeout = \"50ms\", fall = 2, rise = 1")).unwrap();
    let monitor = Arc::new(HealthMonitor::new(vec![("web".into(), spec)]).unwrap());
    let decided: Arc<Mutex<Option<Instant>>> = Arc::default();
    {
        let (table, decided) = (b.health().clone(), decided.clone());
        monitor.on_transition(move |t| {
            table.set(&t.name, t.to != HealthState::Down);
            if t.to == HealthState::Down {
                *decided.lock().unwrap() = Some(t.decided);
            }
        });
    }
    monitor.start();

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

    let m2 = monitor.clone();
    let (elapsed, before_primary) = tokio::task::spawn_blocking(move || {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        // Up first: both targets answer.
        let start = Instant::now();
        while m2.state("web") != Some(HealthState::Up) {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "check never came up"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let before_primary = (0..400u16)
            .filter(|&i| answer(&sock, addr, i) == "192.0.2.1")
            .count();
        // The primary dies.
        drop(target);
        // Query as fast as we can until an answer leaves it out after the deciding probe.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut id = 0u16;
        loop {
            assert!(
                Instant::now() < deadline,
                "the dead target never left the answers"
            );
            id = id.wrapping_add(1);
            let a = answer(&sock, addr, id);
            let d = *decided.lock().unwrap();
            if let Some(d) = d {
                // The first answer after the decision must already be without the primary;
                // measure to the first such answer.
                if a == "198.51.100.1" {
                    return (d.elapsed(), before_primary);
                }
            }
        }
    })
    .await
    .unwrap();
    eprintln!("deciding probe -> first answer without the dead target: {elapsed:?}");
    assert!(
        (120..=280).contains(&before_primary),
        "50/50 before: {before_primary} of 400"
    );
    assert!(elapsed < Duration::from_millis(50), "{elapsed:?}");
    // And it stays out.
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    for i in 0..500u16 {
        assert_eq!(answer(&sock, addr, i), "198.51.100.1");
    }
    monitor.stop();
    tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}
