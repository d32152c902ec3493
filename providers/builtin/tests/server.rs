//! The network front ends on port 0: UDP and TCP answers, zone transfers and their ACL, and
//! zone swaps under a steady query stream (no query lost or blocked).

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use switchback_builtin::{Builtin, Listeners, ServerOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ZONE: &str = "$ORIGIN example.test.\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\nns A 192.0.2.53\nwww A 192.0.2.1\n";

fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut p = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    p[..2].copy_from_slice(&id.to_be_bytes());
    for label in name.trim_end_matches('.').split('.') {
        p.push(label.len() as u8);
        p.extend_from_slice(label.as_bytes());
    }
    p.push(0);
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&1u16.to_be_bytes());
    p
}

struct Running {
    addr: SocketAddr,
    builtin: Arc<Builtin>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

async fn start(allow: &str) -> Running {
    start_with(allow, None).await
}

async fn start_with(allow: &str, rrl: Option<switchback_builtin::rrl::RrlConfig>) -> Running {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("example.test.zone"), ZONE).unwrap();
    let builtin = Arc::new(Builtin::new("builtin", dir.path()));
    let report = builtin.reload();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let listeners = Listeners::bind(&["127.0.0.1:0".parse().unwrap()], 2).unwrap();
    let addr = listeners.local_addrs()[0];
    let opts = ServerOptions {
        udp_workers: 2,
        allow_transfer: switchback_builtin::acl::Acl::nets(vec![allow.parse().unwrap()]),
        rrl,
        ..ServerOptions::default()
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let catalog = builtin.catalog();
    let task = tokio::spawn(switchback_builtin::serve(catalog, listeners, opts, async {
        let _ = rx.await;
    }));
    Running {
        addr,
        builtin,
        stop: Some(tx),
        task,
        _dir: dir,
    }
}

impl Running {
    async fn shutdown(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("server stops within 5 s")
            .unwrap()
            .unwrap();
    }
}

fn udp_ask(addr: SocketAddr, id: u16, name: &str, qtype: u16) -> Option<Message> {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    s.send_to(&query(id, name, qtype), addr).unwrap();
    let mut buf = [0u8; 4096];
    let n = s.recv(&mut buf).ok()?;
    Some(Message::from_vec(&buf[..n]).unwrap())
}

async fn tcp_exchange(addr: SocketAddr, pkt: &[u8]) -> Vec<Message> {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut framed = (pkt.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(pkt);
    s.write_all(&framed).await.unwrap();
    let mut msgs = Vec::new();
    // Read until the transfer ends (second SOA) or a single answer arrives.
    let mut soas = 0;
    loop {
        let mut len = [0u8; 2];
        if s.read_exact(&mut len).await.is_err() {
            break;
        }
        let mut m = vec![0u8; u16::from_be_bytes(len) as usize];
        s.read_exact(&mut m).await.unwrap();
        let m = Message::from_vec(&m).unwrap();
        soas += m
            .answers
            .iter()
            .filter(|r| r.record_type() == RecordType::SOA)
            .count();
        let single = !(m.metadata.response_code == ResponseCode::NoError
            && soas == 1
            && m.queries
                .first()
                .is_some_and(|q| q.query_type() == RecordType::AXFR));
        msgs.push(m);
        if single {
            break;
        }
    }
    msgs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_over_udp_and_tcp_and_stops() {
    let srv = start("127.0.0.0/8").await;
    let addr = srv.addr;
    let m = tokio::task::spawn_blocking(move || udp_ask(addr, 1, "www.example.test.", 1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        m.answers[0].to_string(),
        "www.example.test. 300 IN A 192.0.2.1"
    );
    let m = tcp_exchange(addr, &query(2, "www.example.test.", 1)).await;
    assert_eq!(m[0].answers.len(), 1);
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axfr_follows_allow_transfer() {
    let srv = start("127.0.0.0/8").await;
    let msgs = tcp_exchange(srv.addr, &query(3, "example.test.", 252)).await;
    let records: Vec<String> = msgs
        .iter()
        .flat_map(|m| m.answers.iter().map(|r| r.to_string()))
        .collect();
    assert_eq!(records.len(), 5, "{records:?}");
    assert!(records.first().unwrap().contains("SOA") && records.last().unwrap().contains("SOA"));
    assert!(
        records
            .iter()
            .any(|r| r == "www.example.test. 300 IN A 192.0.2.1")
    );
    srv.shutdown().await;

    let srv = start("192.0.2.0/24").await;
    let msgs = tcp_exchange(srv.addr, &query(4, "example.test.", 252)).await;
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].metadata.response_code, ResponseCode::Refused);
    assert!(msgs[0].answers.is_empty());
    srv.shutdown().await;
}

/// Reload (and a failed reload) while two clients query as fast as they can: every query is
/// answered, the answers move from the old data to the new, and a broken file keeps the old.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swaps_never_drop_or_block_queries() {
    let srv = start("127.0.0.0/8").await;
    let addr = srv.addr;
    let done = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..2u16 {
        let done = done.clone();
        clients.push(std::thread::spawn(move || {
            let (mut n, mut lost, mut slowest) = (0u32, 0u32, Duration::ZERO);
            let s = UdpSocket::bind("127.0.0.1:0").unwrap();
            s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
            let mut buf = [0u8; 1024];
            while !done.load(Ordering::Relaxed) {
                let id = c.wrapping_mul(30000).wrapping_add(n as u16);
                let t = std::time::Instant::now();
                s.send_to(&query(id, "www.example.test.", 1), addr).unwrap();
                match s.recv(&mut buf) {
                    Ok(len) => {
                        let m = Message::from_vec(&buf[..len]).unwrap();
                        assert_eq!(m.metadata.id, id);
                        assert_eq!(m.answers.len(), 1);
                    }
                    Err(_) => lost += 1,
                }
                slowest = slowest.max(t.elapsed());
                n += 1;
            }
            (n, lost, slowest)
        }));
    }
    let dir = srv.builtin.zone_dir().to_path_buf();
    let file = dir.join("example.test.zone");
    for i in 2..12u32 {
        let text = ZONE
            .replace(" 1 3600", &format!(" {i} 3600"))
            .replace("192.0.2.1\n", &format!("192.0.2.{i}\n"));
        std::fs::write(&file, text).unwrap();
        let b = srv.builtin.clone();
        let r = tokio::task::spawn_blocking(move || b.reload())
            .await
            .unwrap();
        assert!(r.failed.is_empty());
        assert_eq!(r.loaded[0].1, i, "serial");
        let m = tokio::task::spawn_blocking(move || udp_ask(addr, 9, "www.example.test.", 1))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            m.answers[0].to_string(),
            format!("www.example.test. 300 IN A 192.0.2.{i}")
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A broken zone file: the error is reported and the last good version keeps serving.
    std::fs::write(&file, "$ORIGIN example.test.\n@ SOA broken\n").unwrap();
    let b = srv.builtin.clone();
    let r = tokio::task::spawn_blocking(move || b.reload())
        .await
        .unwrap();
    assert_eq!(r.failed.len(), 1);
    assert!(
        r.failed[0].1.to_string().contains("example.test.zone:2:"),
        "{}",
        r.failed[0].1
    );
    let m = tokio::task::spawn_blocking(move || udp_ask(addr, 10, "www.example.test.", 1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        m.answers[0].to_string(),
        "www.example.test. 300 IN A 192.0.2.11"
    );
    done.store(true, Ordering::Relaxed);
    for c in clients {
        let (n, lost, slowest) = c.join().unwrap();
        assert!(n > 100, "only {n} queries ran");
        assert_eq!(lost, 0, "{lost} of {n} queries lost during swaps");
        assert!(
            slowest < Duration::from_millis(500),
            "a query waited {slowest:?}"
        );
    }
    srv.shutdown().await;
}

#[test]
fn zone_folder_errors_are_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("good.test.zone"),
        ZONE.replace("example.test.", "good.test."),
    )
    .unwrap();
    std::fs::write(dir.path().join("bad.test.zone"), "garbage here\n").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a zone").unwrap();
    let b = Builtin::new("builtin", dir.path());
    let r = b.reload();
    assert_eq!(r.loaded.len(), 1);
    assert_eq!(r.failed.len(), 1);
    assert!(Path::new(&r.failed[0].0).ends_with("bad.test.zone"));
}

/// RRL: one client over the limit gets at most the budget in full answers, and every second
/// limited response as a truncated (TC) one; other clients are not affected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rrl_limits_a_flooding_client() {
    let rrl = switchback_builtin::rrl::RrlConfig {
        responses_per_second: std::num::NonZeroU32::new(10).unwrap(),
        slip: 2,
        // Loopback is exempt by default; this test floods from it.
        exempt: Vec::new(),
    };
    let srv = start_with("127.0.0.0/8", Some(rrl)).await;
    let addr = srv.addr;
    let (full, truncated, silent) = tokio::task::spawn_blocking(move || {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        for i in 0..100u16 {
            s.send_to(&query(i, "www.example.test.", 1), addr).unwrap();
        }
        let (mut full, mut truncated) = (0, 0);
        let mut buf = [0u8; 1024];
        while let Ok(n) = s.recv(&mut buf) {
            let m = Message::from_vec(&buf[..n]).unwrap();
            if m.metadata.truncation {
                assert!(m.answers.is_empty());
                truncated += 1;
            } else {
                full += 1;
            }
        }
        (full, truncated, 100 - full - truncated)
    })
    .await
    .unwrap();
    // governor allows a burst of 10, then ~10/s: the 100 queries take well under a second.
    assert!((10..=20).contains(&full), "full answers: {full}");
    assert!(
        truncated >= 35 && silent >= 35,
        "truncated {truncated}, dropped {silent}"
    );
    srv.shutdown().await;
}

/// Per-zone counters: UDP and TCP both counted, by zone and RCODE, queries outside our zones
/// apart, and the counts carried over when the zone is rebuilt (monotonic across reloads).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_queries_per_zone_over_udp_and_tcp_across_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("example.test.zone");
    std::fs::write(&file, ZONE).unwrap();
    let builtin = Arc::new(Builtin::new("builtin", dir.path()));
    assert!(builtin.reload().failed.is_empty());
    let listeners = Listeners::bind(&["127.0.0.1:0".parse().unwrap()], 1).unwrap();
    let addr = listeners.local_addrs()[0];
    let metrics = Arc::new(switchback_builtin::DnsMetrics::default());
    let opts = ServerOptions {
        udp_workers: 1,
        metrics: metrics.clone(),
        ..ServerOptions::default()
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(switchback_builtin::serve(
        builtin.catalog(),
        listeners,
        opts,
        async {
            let _ = rx.await;
        },
    ));
    let counts = |b: &Builtin| {
        let (zones, other) = b.catalog().load().query_counts();
        assert_eq!(zones.len(), 1);
        assert_eq!(zones[0].0, "example.test.");
        (zones[0].1, other)
    };
    const NOERROR: usize = 0;
    const NXDOMAIN: usize = 3;
    const REFUSED: usize = 5;
    let udp = |name: &'static str| async move {
        tokio::task::spawn_blocking(move || udp_ask(addr, 7, name, 1))
            .await
            .unwrap()
            .unwrap()
    };
    udp("www.example.test.").await;
    udp("nope.example.test.").await;
    udp("www.elsewhere.test.").await;
    let (zone, other) = counts(&builtin);
    assert_eq!((zone[NOERROR], zone[NXDOMAIN]), (1, 1));
    assert_eq!(other[REFUSED], 1);
    // TCP: counted in the zone and in the server-wide counters.
    let m = tcp_exchange(addr, &query(8, "www.example.test.", 1)).await;
    assert_eq!(m[0].answers.len(), 1);
    let m = tcp_exchange(addr, &query(9, "nope.example.test.", 1)).await;
    assert_eq!(m[0].metadata.response_code, ResponseCode::NXDomain);
    let (zone, _) = counts(&builtin);
    assert_eq!((zone[NOERROR], zone[NXDOMAIN]), (2, 2));
    let total: u64 = metrics
        .rcodes
        .iter()
        .map(|n| n.load(Ordering::Relaxed))
        .sum();
    assert_eq!(total, 5, "UDP and TCP responses");
    assert_eq!(metrics.latency_count.load(Ordering::Relaxed), 5);
    // A rebuilt zone (new serial, new record) keeps counting where the old one was.
    let before = builtin
        .catalog()
        .load()
        .zones
        .values()
        .next()
        .unwrap()
        .clone();
    std::fs::write(
        &file,
        ZONE.replace(" 1 3600", " 2 3600") + "new A 192.0.2.9\n",
    )
    .unwrap();
    assert!(builtin.reload().failed.is_empty());
    let after = builtin
        .catalog()
        .load()
        .zones
        .values()
        .next()
        .unwrap()
        .clone();
    assert!(!Arc::ptr_eq(&before, &after), "the zone was rebuilt");
    assert_eq!(after.zone.serial, 2);
    let (zone, other) = counts(&builtin);
    assert_eq!(
        (zone[NOERROR], zone[NXDOMAIN]),
        (2, 2),
        "not reset by the reload"
    );
    assert_eq!(other[REFUSED], 1, "not reset by the swap");
    // Queries the old version still answers (a worker's cached catalog) land in the same
    // counters as the new version's.
    before.counters.count(&[0, 0, 0x80, 0]);
    udp("new.example.test.").await;
    let (zone, _) = counts(&builtin);
    assert_eq!(zone[NOERROR], 4);
    let mut out = String::new();
    metrics.render_prometheus(&mut out);
    for needle in [
        "switchback_dns_queries_total{zone=\"example.test.\",rcode=\"NOERROR\"} 4",
        "switchback_dns_queries_total{zone=\"example.test.\",rcode=\"NXDOMAIN\"} 2",
        "switchback_dns_queries_total{zone=\"\",rcode=\"REFUSED\"} 1",
    ] {
        assert!(out.contains(needle), "{needle} not in\n{out}");
    }
    tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
