//! The health probes against real servers started here on 127.0.0.1 port 0: TCP (up, refused),
//! HTTP (up, refused, slow, wrong status, wrong body, redirects, Host override), HTTPS with a
//! self-signed certificate for another name (fails with verification, passes without; served
//! by `openssl s_server`), and DNS against the built-in server (up, expected answer, wrong
//! answer, NXDOMAIN, NODATA, REFUSED, nothing listening, silence, a reply with the wrong id).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use switchback::health::{HealthSpec, ProbeResult, probe_once};
use switchback_builtin::{Builtin, Listeners, ServerOptions};

fn spec(t: &str) -> HealthSpec {
    HealthSpec::from_toml(t).unwrap_or_else(|e| panic!("{t}: {e}"))
}

async fn probe(t: &str) -> ProbeResult {
    probe_once(&spec(t)).await
}

fn assert_up(r: &ProbeResult, what: &str) {
    assert!(r.ok, "{what}: expected up, got {:?}", r.error);
    assert!(r.error.is_none());
}

fn assert_down(r: &ProbeResult, what: &str, needle: &str) {
    assert!(!r.ok, "{what}: expected down");
    let e = r.error.as_deref().unwrap_or("");
    assert!(
        e.contains(needle),
        "{what}: error {e:?} does not contain {needle:?}"
    );
}

/// A port on which nothing listens (bound, then closed).
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

// ---------------------------------------------------------------------------------------- TCP

#[tokio::test]
async fn tcp_up_and_refused() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let _ = l.accept().await;
        }
    });
    let r = probe(&format!(r#"check = "tcp://{addr}", timeout = "1s""#)).await;
    assert_up(&r, "tcp up");
    assert!(r.latency < Duration::from_secs(1));

    let port = closed_port();
    let r = probe(&format!(
        r#"check = "tcp://127.0.0.1:{port}", timeout = "1s""#
    ))
    .await;
    assert_down(&r, "tcp refused", "refused");

    let r = probe(r#"check = "tcp://name.invalid:80", timeout = "2s""#).await;
    assert!(!r.ok, "an unresolvable name is down");
}

// --------------------------------------------------------------------------------------- HTTP

async fn http_server() -> SocketAddr {
    async fn host(headers: HeaderMap) -> String {
        let h = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("none");
        format!("host={h}")
    }
    let app = Router::new()
        .route("/ok", get(|| async { "status: all good" }))
        .route(
            "/fail",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance") }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "too late"
            }),
        )
        .route(
            "/redirect",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [(header::LOCATION, "http://192.0.2.1/elsewhere")],
                )
                    .into_response()
            }),
        )
        .route(
            "/big",
            get(|| async { format!("{}needle", "x".repeat(200_000)) }),
        )
        .route("/host", get(host));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    addr
}

#[tokio::test]
async fn http_up_down_slow_status_body() {
    let a = http_server().await;
    let t = r#"interval = "5s", timeout = "1s""#;

    let r = probe(&format!(r#"check = "http://{a}/ok", {t}"#)).await;
    assert_up(&r, "http up");
    let r = probe(&format!(
        r#"check = "http://{a}/ok", expect_body = "all good", {t}"#
    ))
    .await;
    assert_up(&r, "http body match");
    let r = probe(&format!(
        r#"check = "http://{a}/big", expect_body = "needle", {t}"#
    ))
    .await;
    assert_up(&r, "http body match after 200 kB");

    let port = closed_port();
    let r = probe(&format!(r#"check = "http://127.0.0.1:{port}/ok", {t}"#)).await;
    assert_down(&r, "http refused", "onnect");

    let start = Instant::now();
    let r = probe(&format!(
        r#"check = "http://{a}/slow", interval = "2s", timeout = "300ms""#
    ))
    .await;
    assert!(!r.ok, "slow is down");
    let e = r.error.clone().unwrap();
    assert!(e.contains("timed out") || e.contains("timeout"), "{e}");
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "bounded by the timeout: {:?}",
        start.elapsed()
    );
    assert!(r.latency >= Duration::from_millis(250), "{:?}", r.latency);

    let r = probe(&format!(r#"check = "http://{a}/fail", {t}"#)).await;
    assert_down(&r, "wrong status", "status 503 (expected 200-399)");
    let r = probe(&format!(
        r#"check = "http://{a}/fail", expect_status = 503, {t}"#
    ))
    .await;
    assert_up(&r, "503 expected");
    let r = probe(&format!(
        r#"check = "http://{a}/ok", expect_status = ["500-599"], {t}"#
    ))
    .await;
    assert_down(&r, "200 not expected", "status 200 (expected 500-599)");
    let r = probe(&format!(r#"check = "http://{a}/missing", {t}"#)).await;
    assert_down(&r, "404", "status 404");

    let r = probe(&format!(
        r#"check = "http://{a}/ok", expect_body = "healthy", {t}"#
    ))
    .await;
    assert_down(&r, "wrong body", "body does not contain \"healthy\"");
    let r = probe(&format!(
        r#"check = "http://{a}/fail", expect_status = 503, expect_body = "nope", {t}"#
    ))
    .await;
    assert_down(
        &r,
        "wrong body on an expected status",
        "body does not contain",
    );

    // Redirects are not followed: a 302 counts by its own status.
    let r = probe(&format!(r#"check = "http://{a}/redirect", {t}"#)).await;
    assert_up(&r, "302 within 200-399, not followed");
    let r = probe(&format!(
        r#"check = "http://{a}/redirect", expect_status = 200, {t}"#
    ))
    .await;
    assert_down(&r, "302 when 200 is expected", "status 302");
}

#[tokio::test]
async fn http_host_override() {
    let a = http_server().await;
    let r = probe(&format!(
        r#"check = "http://{a}/host", expect_body = "host=127.0.0.1:{}", timeout = "1s""#,
        a.port()
    ))
    .await;
    assert_up(&r, "default Host is the URL's");
    // With `host`, the Host header changes but the connection still goes to the URL's address.
    let r = probe(&format!(
        r#"check = "http://{a}/host", host = "www.example.test", expect_body = "host=www.example.test:{}", timeout = "1s""#,
        a.port()
    ))
    .await;
    assert_up(&r, "Host override");
}

// -------------------------------------------------------------------------------------- HTTPS

/// `openssl s_server -www` on 127.0.0.1 with a throwaway self-signed certificate for a name
/// that is not the one we connect to. `None` when there is no openssl CLI.
struct TlsServer {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `openssl s_server` with a fresh self-signed certificate; `None` only when openssl is missing
/// and `SWITCHBACK_SKIP_PEERS` names it.
fn tls_server() -> Option<TlsServer> {
    let openssl = switchback_testsupport::peers::tool("openssl")?;
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = (dir.path().join("key.pem"), dir.path().join("cert.pem"));
    let keygen = Command::new(&openssl)
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args([
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=switchback-test.invalid",
        ])
        // A self-signed leaf certificate (not a CA) for a name that is not 127.0.0.1.
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "subjectAltName=DNS:switchback-test.invalid"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    assert!(
        keygen.as_ref().is_ok_and(|s| s.success()),
        "openssl req could not make a certificate: {keygen:?}"
    );
    let mut child = Command::new(&openssl)
        .args(["s_server", "-accept", "127.0.0.1:0", "-www", "-cert"])
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl s_server starts");
    // It prints `ACCEPT 127.0.0.1:PORT` once it listens.
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut addr = None;
    for _ in 0..10 {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        if let Some(a) = line.trim().strip_prefix("ACCEPT ") {
            addr = a.parse().ok();
            break;
        }
    }
    // Keep draining its stdout so it never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        while out.read_line(&mut sink).unwrap_or(0) > 0 {
            sink.clear();
        }
    });
    let addr = addr.expect("openssl s_server reports its port");
    Some(TlsServer {
        child,
        addr,
        _dir: dir,
    })
}

#[tokio::test]
async fn https_bad_certificate() {
    let Some(srv) = tls_server() else { return };
    let a = srv.addr;
    let t = r#"interval = "5s", timeout = "2s""#;
    // Verification on (the default): self-signed, and issued for another name.
    let r = probe(&format!(r#"check = "https://{a}/", {t}"#)).await;
    assert_down(&r, "self-signed, verify on", "certificate");
    eprintln!("verify on: {}", r.error.as_deref().unwrap_or(""));
    let r = probe(&format!(
        r#"check = "https://{a}/", host = "switchback-test.invalid", {t}"#
    ))
    .await;
    assert_down(&r, "self-signed even with its own name", "certificate");
    let r = probe(&format!(
        r#"check = "https://{a}/", tls_verify = true, {t}"#
    ))
    .await;
    assert_down(&r, "explicit verify on", "certificate");
    // Verification off: the handshake passes and s_server's page is a 200.
    let r = probe(&format!(
        r#"check = "https://{a}/", tls_verify = false, {t}"#
    ))
    .await;
    assert_up(&r, "verify off");
    let r = probe(&format!(
        r#"check = "https://{a}/", tls_verify = false, host = "www.example.test", {t}"#
    ))
    .await;
    assert_up(&r, "verify off with a Host/SNI override");
    // Plain HTTP to a TLS port is not up.
    let r = probe(&format!(r#"check = "http://{a}/", {t}"#)).await;
    assert!(!r.ok, "http to a TLS port");
}

// ---------------------------------------------------------------------------------------- DNS

const ZONE: &str = "$ORIGIN example.test.\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\nns A 192.0.2.53\nwww A 192.0.2.1\nwww A 192.0.2.2\nv6 AAAA 2001:db8::1\nalias CNAME www\n@ MX 10 mail\n";

struct Dns {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

async fn dns_server() -> Dns {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("example.test.zone"), ZONE).unwrap();
    let builtin = Arc::new(Builtin::new("builtin", dir.path()));
    let report = builtin.reload();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let listeners = Listeners::bind(&["127.0.0.1:0".parse().unwrap()], 1).unwrap();
    let addr = listeners.local_addrs()[0];
    let opts = ServerOptions {
        udp_workers: 1,
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
    Dns {
        addr,
        stop: Some(tx),
        task,
        _dir: dir,
    }
}

impl Dns {
    async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_up_down_wrong_answer() {
    let srv = dns_server().await;
    let a = srv.addr;
    let t = r#"interval = "2s", timeout = "1s""#;

    let r = probe(&format!(r#"check = "dns://{a}/www.example.test/A", {t}"#)).await;
    assert_up(&r, "dns up");
    let r = probe(&format!(
        r#"check = "dns://{a}/WWW.Example.Test", expect_answer = "192.0.2.2", {t}"#
    ))
    .await;
    assert_up(&r, "expected answer among two, type A by default, any case");
    let r = probe(&format!(
        r#"check = "dns://{a}/www.example.test/A", expect_answer = ["192.0.2.1", "192.0.2.2"], {t}"#
    ))
    .await;
    assert_up(&r, "both expected answers");
    let r = probe(&format!(
        r#"check = "dns://{a}/v6.example.test/AAAA", expect_answer = "2001:DB8:0::1", {t}"#
    ))
    .await;
    assert_up(&r, "AAAA compared as an address");
    let r = probe(&format!(
        r#"check = "dns://{a}/example.test/MX", expect_answer = "10 mail.example.test", {t}"#
    ))
    .await;
    assert_up(&r, "MX in presentation form, trailing dot optional");
    let r = probe(&format!(
        r#"check = "dns://{a}/alias.example.test/A", expect_answer = "192.0.2.1", {t}"#
    ))
    .await;
    assert_up(&r, "through an in-zone CNAME");

    let r = probe(&format!(
        r#"check = "dns://{a}/www.example.test/A", expect_answer = "192.0.2.99", {t}"#
    ))
    .await;
    assert_down(&r, "wrong answer", "does not include 192.0.2.99");
    assert!(
        r.error.as_deref().unwrap().contains("192.0.2.1"),
        "{:?}",
        r.error
    );
    let r = probe(&format!(r#"check = "dns://{a}/nope.example.test/A", {t}"#)).await;
    assert_down(&r, "NXDOMAIN", "rcode");
    let r = probe(&format!(
        r#"check = "dns://{a}/www.example.test/AAAA", {t}"#
    ))
    .await;
    assert_down(&r, "NODATA", "no answer");
    let r = probe(&format!(r#"check = "dns://{a}/www.other.test/A", {t}"#)).await;
    assert_down(&r, "REFUSED outside the zone", "rcode");

    srv.shutdown().await;
    // Nothing listening any more: ICMP port unreachable shows as a refused UDP socket, or
    // at worst as the timeout.
    let r = probe(&format!(r#"check = "dns://{a}/www.example.test/A", {t}"#)).await;
    assert!(!r.ok, "server stopped");
    eprintln!("dns server stopped: {:?} after {:?}", r.error, r.latency);
}

/// A UDP responder that answers every query with a reply whose id is wrong, and (when `good`)
/// then with a correct one.
async fn fake_dns(good: bool) -> SocketAddr {
    use hickory_proto::op::{Message, MessageType};
    use hickory_proto::rr::{RData, Record, rdata::A};
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        loop {
            let Ok((n, peer)) = sock.recv_from(&mut buf).await else {
                return;
            };
            let q = Message::from_vec(&buf[..n]).unwrap();
            assert!(!q.metadata.recursion_desired, "RD=0");
            let mut reply = Message::response(q.metadata.id, q.metadata.op_code);
            reply.metadata.message_type = MessageType::Response;
            reply.add_queries(q.queries.clone());
            let name = q.queries[0].name().clone();
            reply.add_answer(Record::from_rdata(name, 60, RData::A(A::new(192, 0, 2, 1))));
            let mut bad = reply.clone();
            bad.metadata.id = q.metadata.id.wrapping_add(1);
            let _ = sock.send_to(&bad.to_vec().unwrap(), peer).await;
            if good {
                let _ = sock.send_to(&reply.to_vec().unwrap(), peer).await;
            }
        }
    });
    addr
}

#[tokio::test]
async fn dns_checks_the_reply_id() {
    let t = r#"interval = "2s", timeout = "500ms""#;
    let a = fake_dns(true).await;
    let r = probe(&format!(r#"check = "dns://{a}/www.example.test/A", {t}"#)).await;
    assert_up(&r, "wrong-id datagram ignored, right one taken");
    let a = fake_dns(false).await;
    let r = probe(&format!(r#"check = "dns://{a}/www.example.test/A", {t}"#)).await;
    assert_down(&r, "only a wrong-id reply", "timed out after 500ms");

    // A socket that never answers: the timeout.
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let a = silent.local_addr().unwrap();
    let r = probe(&format!(r#"check = "dns://{a}/www.example.test/A", {t}"#)).await;
    assert_down(&r, "silence", "timed out after 500ms");
    drop(silent);
}

/// Invariant 7: a probe that fails because this process ran out of file descriptors is local
/// trouble: marked `local` (never counted toward `fall`), not a target failure. The part that
/// exhausts the descriptors runs in a child process of its own (this test binary, re-run with
/// `SB_FD_CHILD=1`), so no other test shares the lowered limit.
#[test]
fn a_probe_out_of_file_descriptors_is_local_trouble() {
    const NAME: &str = "a_probe_out_of_file_descriptors_is_local_trouble";
    if std::env::var_os("SB_FD_CHILD").is_none() {
        let o = Command::new(std::env::current_exe().unwrap())
            .args([NAME, "--exact", "--nocapture", "--test-threads", "1"])
            .env("SB_FD_CHILD", "1")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(o.status.success(), "{text}");
        assert!(
            text.contains("fd exhaustion checked"),
            "the child ran: {text}"
        );
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let check = format!(r#"check = "tcp://127.0.0.1:{port}", timeout = "1s""#);
    let up = rt.block_on(probe(&check));
    assert_up(&up, "before");
    assert!(!up.local);
    // Leave a few descriptors, then use them all up.
    let open = std::fs::read_dir("/proc/self/fd").unwrap().count() as u64;
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain getrlimit/setrlimit on a local struct.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
    }
    let saved = lim.rlim_cur;
    lim.rlim_cur = open + 8;
    unsafe {
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
    }
    let mut hog = Vec::new();
    while let Ok(f) = std::fs::File::open("/dev/null") {
        hog.push(f);
        assert!(hog.len() < 100, "the limit did not bite");
    }
    let r = rt.block_on(probe(&check));
    drop(hog);
    lim.rlim_cur = saved;
    unsafe {
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
    }
    assert!(!r.ok, "{r:?}");
    assert!(r.local, "out of descriptors is local trouble: {r:?}");
    let e = r.error.as_deref().unwrap_or("");
    assert!(
        e.contains("os error 24") && e.contains("not counted"),
        "{e}"
    );
    // And the state machine does not count it.
    let mut st = switchback::health::CheckStatus::new("web", check.as_str(), 1, 1);
    st.record(up);
    for _ in 0..5 {
        assert!(st.record(r.clone()).is_none());
    }
    assert_eq!(st.state, switchback::health::HealthState::Up);
    let again = rt.block_on(probe(&check));
    assert_up(&again, "after");
    eprintln!("fd exhaustion checked");
}
