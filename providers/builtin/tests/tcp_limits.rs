//! TCP under abuse, on loopback (sources 127.0.0.x): one client cannot take more than its
//! share of the connections, a client that pipelines queries and never reads loses its
//! connection after the write timeout, idle connections make room for new ones, and peers
//! allowed to transfer zones keep a reserved share. Other clients are answered throughout.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchback_builtin::{Builtin, Listeners, ServerOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

fn zone() -> String {
    let mut z = String::from(
        "$ORIGIN example.test.\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\nns A 192.0.2.53\nwww A 192.0.2.1\n",
    );
    // A large answer (about 10 KB): a client that does not read fills the socket fast.
    for i in 0..50 {
        z.push_str(&format!("big TXT \"{i:03}{}\"\n", "x".repeat(200)));
    }
    z
}

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
    let mut framed = (p.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&p);
    framed
}

struct Running {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _builtin: Arc<Builtin>,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

async fn start(opts: ServerOptions) -> Running {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("example.test.zone"), zone()).unwrap();
    let builtin = Arc::new(Builtin::new("builtin", dir.path()));
    assert!(builtin.reload().failed.is_empty());
    let listeners = Listeners::bind(&["127.0.0.1:0".parse().unwrap()], 1).unwrap();
    let addr = listeners.local_addrs()[0];
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(switchback_builtin::serve(
        builtin.catalog(),
        listeners,
        opts,
        async {
            let _ = rx.await;
        },
    ));
    Running {
        addr,
        stop: Some(tx),
        _builtin: builtin,
        _dir: dir,
    }
}

/// A TCP connection from loopback source `from`.
async fn connect(from: [u8; 4], to: SocketAddr) -> TcpStream {
    let s = TcpSocket::new_v4().unwrap();
    s.bind(SocketAddr::new(IpAddr::from(from), 0)).unwrap();
    s.connect(to).await.unwrap()
}

/// One query over `s`, answered within 2 s: the response.
async fn ask(s: &mut TcpStream, id: u16, name: &str) -> Option<Vec<u8>> {
    s.write_all(&query(id, name, 1)).await.ok()?;
    let mut len = [0u8; 2];
    tokio::time::timeout(Duration::from_secs(2), s.read_exact(&mut len))
        .await
        .ok()?
        .ok()?;
    let mut m = vec![0; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut m).await.ok()?;
    (m[..2] == id.to_be_bytes()).then_some(m)
}

/// Whether the server closed `s` (EOF or reset within `within`, after draining).
async fn closed(s: &mut TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut buf = vec![0u8; 65536];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

fn opts(per_client: usize, max: usize) -> ServerOptions {
    ServerOptions {
        udp_workers: 1,
        tcp_per_client: per_client,
        tcp_max: max,
        tcp_idle_timeout: Duration::from_secs(5),
        tcp_write_timeout: Duration::from_millis(500),
        allow_transfer: switchback_builtin::acl::Acl::nets(vec!["127.0.0.200/32".parse().unwrap()]),
        ..ServerOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_gets_its_share_and_the_others_are_served() {
    let sv = start(opts(4, 32)).await;
    // The attacker: 60 connections from 127.0.0.5, none reading.
    let mut attacker = Vec::new();
    for _ in 0..60 {
        attacker.push(connect([127, 0, 0, 5], sv.addr).await);
    }
    // All but its share are closed at once.
    let mut open = 0;
    for s in &mut attacker {
        if !closed(s, Duration::from_millis(300)).await {
            open += 1;
        }
    }
    assert_eq!(open, 4, "the client's share");
    // Another client is answered.
    let mut victim = connect([127, 0, 0, 1], sv.addr).await;
    assert!(ask(&mut victim, 7, "www.example.test.").await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_loses_its_connection() {
    let sv = start(opts(16, 64)).await;
    let mut stalled = Vec::new();
    for i in 0..8u8 {
        let mut s = connect([127, 0, 1, i + 1], sv.addr).await;
        // Pipeline answers of ~10 KB without reading: the socket buffers fill, the server's
        // write blocks, the write timeout (500 ms) closes the connection.
        let mut burst = Vec::new();
        for id in 0..2000u16 {
            burst.extend_from_slice(&query(id, "big.example.test.", 16));
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), s.write_all(&burst)).await;
        stalled.push(s);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Meanwhile, and after, another client's queries are answered.
    let mut victim = connect([127, 0, 0, 1], sv.addr).await;
    for id in 0..20 {
        assert!(
            ask(&mut victim, id, "www.example.test.").await.is_some(),
            "query {id}"
        );
    }
    // Every stalled connection was closed (after its buffered answers).
    for (i, s) in stalled.iter_mut().enumerate() {
        assert!(
            closed(s, Duration::from_secs(10)).await,
            "stalled connection {i} still open"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_make_room_and_transfer_peers_keep_a_share() {
    // 10 slots, 1 reserved for 127.0.0.200 (allowed to transfer).
    let sv = start(opts(2, 10)).await;
    let mut idle = Vec::new();
    for i in 0..9u8 {
        let mut s = connect([127, 0, 2, i + 1], sv.addr).await;
        assert!(ask(&mut s, 1, "www.example.test.").await.is_some());
        idle.push(s);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The table (less the reserved slot) is full of idle connections: a new client gets in,
    // and the oldest idle one is closed for it.
    let mut newcomer = connect([127, 0, 3, 1], sv.addr).await;
    assert!(ask(&mut newcomer, 2, "www.example.test.").await.is_some());
    assert!(
        closed(&mut idle[0], Duration::from_secs(2)).await,
        "the oldest idle one"
    );
    assert!(
        !closed(&mut idle[8], Duration::from_millis(200)).await,
        "the newest stays"
    );
    // A transfer peer uses the reserved slot.
    let mut peer = connect([127, 0, 0, 200], sv.addr).await;
    assert!(ask(&mut peer, 3, "www.example.test.").await.is_some());
}
