//! `serve` under a 1,024 open-file limit, flooded with connections on its HTTP and DNS ports
//! from one client: the caps keep descriptors for everything else, so the health probes keep
//! working, the healthy primary is never failed over (invariant 7), and DNS is answered.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use common::api::ApiServe;
use common::cli::{CliEnv, Endpoint};

const ZONE: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.80\n";

fn get(port: u16, path: &str) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

fn udp_answers(port: u16) -> bool {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut q = vec![0x4a, 0x11, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    q.extend_from_slice(b"\x03www\x07example\x03com\x00\x00\x01\x00\x01");
    s.send_to(&q, ("127.0.0.1", port)).unwrap();
    let mut buf = [0u8; 512];
    matches!(s.recv(&mut buf), Ok(n) if n > 12 && buf[..2] == [0x4a, 0x11] && buf[3] & 0xF == 0)
}

/// This test process needs more descriptors than the flood.
fn raise_own_limit() {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit on a local struct (this process only: nextest runs each test
    // in a process of its own).
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut r);
        r.rlim_cur = r.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &r);
    }
}

#[test]
fn a_connection_flood_never_fails_over_a_healthy_primary() {
    raise_own_limit();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let _primary = Endpoint::start(listener);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("zones")).unwrap();
    std::fs::write(dir.path().join("zones/example.com.zone"), ZONE).unwrap();
    let rest = format!(
        "[[cutover]]\nname = \"web\"\nprovider = \"builtin\"\nzone = \"example.com\"\n\
         auto_failover = true\nhold_down = \"0s\"\n\
         health = {{ check = \"tcp://127.0.0.1:{port}\", interval = \"200ms\", timeout = \"200ms\", fall = 2, rise = 1 }}\n\
         [[cutover.record]]\nname = \"www.example.com.\"\ntype = \"A\"\nrecovery = [\"198.51.100.80\"]\n"
    );
    let serve = ApiServe::start_limited(dir.path(), &rest, &[], Some(1024));
    let up = "switchback_health_check_up{check=\"web\"";
    let t = Instant::now();
    while !get(serve.api_port, "/metrics")
        .lines()
        .any(|l| l.starts_with(up) && l.ends_with(" 1"))
    {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the check never came up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The flood: 1,500 unfinished HTTP request heads and 400 idle DNS TCP connections, held for
    // 3 s (15 probe intervals; fall is 2).
    // From 127.0.0.9: the checks below come from 127.0.0.1.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut flood = Vec::new();
    for i in 0..1900 {
        let to = if i < 1500 {
            serve.api_port
        } else {
            serve.dns_port
        };
        let s = rt.block_on(async {
            let sock = tokio::net::TcpSocket::new_v4().ok()?;
            sock.bind("127.0.0.9:0".parse().unwrap()).ok()?;
            tokio::time::timeout(
                Duration::from_secs(2),
                sock.connect(std::net::SocketAddr::from(([127, 0, 0, 1], to))),
            )
            .await
            .ok()?
            .ok()
        });
        if let Some(s) = s {
            let mut s = s.into_std().unwrap();
            s.set_nonblocking(false).unwrap();
            if to == serve.api_port {
                let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n");
            }
            flood.push(s);
        }
    }
    let held = Instant::now();
    while held.elapsed() < Duration::from_secs(3) {
        assert!(
            udp_answers(serve.dns_port),
            "DNS over UDP answered during the flood"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let metrics = get(serve.api_port, "/metrics");
    drop(flood);
    // The check stayed up, nothing was failed over.
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with(up) && l.ends_with(" 1")),
        "the healthy primary's check went down under the flood:\n{metrics}\n{}",
        serve.log_text()
    );
    let config = dir.path().join("switchback.toml");
    let cli = CliEnv::at(common::BIN, tempfile::tempdir().unwrap(), config);
    let st = cli.status("web");
    assert_eq!(st["state"], "idle", "failed over under a flood: {st}");
    assert!(udp_answers(serve.dns_port));
    // The DNS port refused what was over its caps.
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("switchback_dns_tcp_refused_total ") && !l.ends_with(" 0")),
        "{metrics}"
    );
}
