//! `switchback serve` as a child process for the HTTP API tests: a config written in a temp
//! dir (DNS and API on free loopback ports), extra environment (tokens, AWS keys), ready when
//! `GET /healthz` answers 200; the process's VmRSS; killed by PID on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `switchback -c CONFIG serve`.
pub struct ApiServe {
    child: Child,
    pub base: String,
    pub api_port: u16,
    pub dns_port: u16,
    pub config: PathBuf,
    pub log: PathBuf,
}

impl ApiServe {
    /// Serve `dir/switchback.toml` = `[server]` (dns, api, zones = "zones", state) followed by
    /// `rest`, with `env` added to the environment.
    pub fn start(dir: &Path, rest: &str, env: &[(&str, &str)]) -> ApiServe {
        Self::start_limited(dir, rest, env, None)
    }

    /// [`ApiServe::start`] under an open-file limit of `nofile` (soft and hard, `prlimit`).
    pub fn start_limited(
        dir: &Path,
        rest: &str,
        env: &[(&str, &str)],
        nofile: Option<u64>,
    ) -> ApiServe {
        let mut last = String::new();
        for _ in 0..3 {
            match Self::try_start(dir, rest, env, nofile) {
                Ok(s) => return s,
                Err(e) => last = e,
            }
        }
        panic!("switchback serve (API) did not start:\n{last}");
    }

    fn try_start(
        dir: &Path,
        rest: &str,
        env: &[(&str, &str)],
        nofile: Option<u64>,
    ) -> Result<ApiServe, String> {
        std::fs::create_dir_all(dir.join("zones")).unwrap();
        let (dns_port, api_port) = (super::free_port(), super::free_port());
        let config = dir.join("switchback.toml");
        std::fs::write(
            &config,
            format!(
                "[server]\ndns = [\"127.0.0.1:{dns_port}\"]\napi = \"127.0.0.1:{api_port}\"\n\
                 zones = \"zones\"\nstate = \"state/state.db\"\nudp_workers = 1\n\n{rest}"
            ),
        )
        .unwrap();
        let log = dir.join("serve.log");
        let out = std::fs::File::create(&log).unwrap();
        let mut cmd = match nofile {
            None => Command::new(env!("CARGO_BIN_EXE_switchback")),
            Some(n) => {
                let mut c = Command::new("prlimit");
                c.arg(format!("--nofile={n}:{n}"))
                    .arg("--")
                    .arg(env!("CARGO_BIN_EXE_switchback"));
                c
            }
        };
        cmd.current_dir(dir)
            .arg("-c")
            .arg(&config)
            .arg("serve")
            .env_remove("SWITCHBACK_FAULT")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
        let mut s = ApiServe {
            child,
            base: format!("http://127.0.0.1:{api_port}"),
            api_port,
            dns_port,
            config,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(st)) = s.child.try_wait() {
                return Err(format!("serve exited: {st}\n{}", s.log_text()));
            }
            if healthz(api_port) {
                return Ok(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("no /healthz after 20 s\n{}", s.log_text()))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The process's resident set size in KiB (`VmRSS` in /proc/PID/status).
    pub fn rss_kib(&self) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        s.lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .expect("VmRSS")
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// `GET /healthz` answers 200 (a blocking HTTP/1.0 exchange, no runtime needed).
fn healthz(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.starts_with("HTTP/1.0 200") || buf.starts_with("HTTP/1.1 200")
}

impl Drop for ApiServe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- serve log ---\n{}", self.log_text());
        }
    }
}

/// `POST path` with a bearer token (HTTP/1.0, blocking): the status, the JSON body (`Null`
/// when there is none: the server died) and whether the answer is an idempotent replay.
pub fn post(port: u16, path: &str, token: &str, body: &str) -> (u16, serde_json::Value, bool) {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return (0, serde_json::Value::Null, false);
    };
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let _ = write!(
        s,
        "POST {path} HTTP/1.0\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    let status = buf
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (head, rest) = buf.split_once("\r\n\r\n").unwrap_or((&buf, ""));
    let replay = head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with("idempotent-replay: true")
    });
    (
        status,
        serde_json::from_str(rest).unwrap_or(serde_json::Value::Null),
        replay,
    )
}
