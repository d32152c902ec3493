//! The status page at `GET /` of a running `switchback serve`: fetched over HTTP (the key texts)
//! and rendered by headless Chromium (a screenshot, copied to
//! `target/test-output/status-page.png`).
//!
//! The scene: `web` failed over with its primary's check down, `api` failing back (stage 1 of
//! 3) with its check up, `mail` idle with no check.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Switchback, SwitchbackOptions, free_port};

const ZONE: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n\
                    @ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.80\napi A 192.0.2.90\n\
                    mail A 192.0.2.25\n";

fn cutover(name: &str, steering: &str, health: Option<String>, record: &str, to: &str) -> String {
    let health = health
        .map(|h| format!("health = {h}\n"))
        .unwrap_or_default();
    format!(
        "[[cutover]]\nname = \"{name}\"\nprovider = \"builtin\"\nzone = \"example.com\"\n\
         steering = \"{steering}\"\nsoak = \"0s\"\n{health}\
         [[cutover.record]]\nname = \"{record}\"\ntype = \"A\"\nrecovery = [\"{to}\"]\n\n"
    )
}

/// `GET path` over HTTP/1.1 on loopback: (status, body).
fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "chunked answer: {head}"
    );
    Ok((status, body.to_string()))
}

fn cli(sb: &Switchback, args: &[&str]) {
    let o = Command::new(Switchback::bin())
        .arg("-c")
        .arg(&sb.config)
        .args(args)
        .current_dir(sb.dir.path())
        .env_remove("SWITCHBACK_FAULT")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "switchback {args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Polls `GET /` until `pred` holds on the body.
fn page_until(addr: SocketAddr, what: &str, pred: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let last = match http_get(addr, "/") {
            Ok((200, body)) if pred(&body) => return body,
            Ok((code, body)) => format!("{code}: {body}"),
            Err(e) => e.to_string(),
        };
        assert!(
            Instant::now() < deadline,
            "status page never showed {what}; last answer:\n{last}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Width and height from a PNG's IHDR, after checking the signature.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.len() > 24, "{} bytes is no PNG", png.len());
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG signature");
    assert_eq!(&png[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

fn output_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is target/tmp: its parent is the target folder.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("test-output");
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// `chromium --headless … --screenshot=OUT URL`, killed after 90 s.
fn screenshot(chromium: &Path, url: &str, out: &Path) {
    let profile = tempfile::Builder::new()
        .prefix("chromium-profile-")
        .tempdir()
        .unwrap();
    let log = profile.path().join("chromium.log");
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", out.display()))
        .arg("--window-size=1280,900")
        .arg(url)
        .env("HOME", profile.path())
        .stdin(Stdio::null())
        .stdout(fs::File::create(&log).unwrap())
        .stderr(fs::File::create(&log).unwrap())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish in 90 s:\n{}",
                fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        status.success() && out.is_file(),
        "chromium failed ({status:?}), no screenshot:\n{}",
        fs::read_to_string(&log).unwrap_or_default()
    );
}

#[test]
fn status_page_over_http_and_in_headless_chromium() {
    let Some(chromium) = common::require_tool("chromium") else {
        return; // SWITCHBACK_SKIP_PEERS names chromium (said on stderr)
    };

    let zones = tempfile::tempdir().unwrap();
    fs::write(zones.path().join("example.com.zone"), ZONE).unwrap();
    // `api`'s primary is up (this listener), `web`'s is down (nothing listens there).
    let up = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let up_port = up.local_addr().unwrap().port();
    let down_port = free_port();
    let check = |port: u16| {
        format!(
            "{{ check = \"tcp://127.0.0.1:{port}\", interval = \"200ms\", timeout = \"100ms\", \
             fall = 1, rise = 1 }}"
        )
    };
    let api_port = free_port();
    let mut opts = SwitchbackOptions::new(zones.path());
    opts.extra_server_toml = format!("api = \"127.0.0.1:{api_port}\"");
    opts.extra_toml = cutover(
        "web",
        "failover",
        Some(check(down_port)),
        "www.example.com.",
        "198.51.100.80",
    ) + &cutover(
        "api",
        "weighted",
        Some(check(up_port)),
        "api.example.com.",
        "198.51.100.90",
    ) + &cutover(
        "mail",
        "failover",
        None,
        "mail.example.com.",
        "198.51.100.25",
    );
    let sb = Switchback::start_with(opts);
    let api = SocketAddr::from(([127, 0, 0, 1], api_port));

    cli(&sb, &["failover", "web", "--yes"]);
    cli(&sb, &["failover", "api", "--yes"]);
    cli(&sb, &["failback", "api", "--yes"]);

    // The page, once the monitor has seen both checks.
    let body = page_until(api, "web failed over and both checks probed", |b| {
        b.contains("failed-over")
            && b.contains("failing-back")
            && b.contains(">down<")
            && b.contains(">up<")
    });
    for text in [
        "<!DOCTYPE html>",
        "http-equiv=\"refresh\"",
        "web",
        "api",
        "mail",
        "failed-over",
        "failing-back",
        "idle",
        "stage 1 of 3",
        &format!("tcp://127.0.0.1:{down_port}"),
        &format!("tcp://127.0.0.1:{up_port}"),
        "failover",
        "failback",
    ] {
        assert!(body.contains(text), "status page lacks {text:?}:\n{body}");
    }
    assert!(
        !body.contains("<script"),
        "no JavaScript on the status page"
    );

    // The picture.
    let dir = tempfile::tempdir().unwrap();
    let shot = dir.path().join("status-page.png");
    screenshot(&chromium, &format!("http://{api}/"), &shot);
    let png = fs::read(&shot).unwrap();
    let (w, h) = png_size(&png);
    assert_eq!((w, h), (1280, 900), "screenshot size");
    assert!(
        png.len() > 20_000,
        "a {}-byte screenshot is too plain to be the page",
        png.len()
    );
    let out = output_dir().join("status-page.png");
    fs::copy(&shot, &out).unwrap();
    println!(
        "status page screenshot ({w}x{h}, {} bytes): {}",
        png.len(),
        out.display()
    );
    eprintln!("status page screenshot: {}", out.display());
    drop(up);
}
