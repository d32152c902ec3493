//! ministack (a Route 53 emulator) for the root crate's tests: the venv under
//! `target/peers/ministack` (installed by `tests/peers/route53.sh`, which `tests/run` calls),
//! one process on a free loopback port, killed by PID on drop. The SDK helpers (client, hosted
//! zone, raw change batches, the tiny HTTP client) are the Route 53 crate's own test harness.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../../providers/route53/tests/common/mod.rs"]
pub mod r53;

pub use r53::{create_zone, raw, rrs, sdk};

/// A running ministack, killed when dropped.
pub struct Ministack {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl Ministack {
    /// Start ministack (Route 53 only); panics, never skips, when the venv is missing.
    pub fn start() -> Ministack {
        let bin = super::repo_root().join("target/peers/ministack/bin/ministack");
        assert!(
            bin.exists(),
            "ministack is not installed ({} is missing): run tests/run (or \
             tests/peers/route53.sh) first; these tests do not skip without it",
            bin.display()
        );
        let mut last = String::new();
        // A free port can be taken between the probe and ministack's bind: a few tries.
        for _ in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            let log = std::fs::File::create(dir.path().join("ministack.log")).unwrap();
            let port = r53::free_port();
            let child = Command::new(&bin)
                .env("BIND_HOST", "127.0.0.1")
                .env("GATEWAY_PORT", port.to_string())
                .env("SERVICES", "route53")
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            let mut m = Ministack { port, child, dir };
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = m.child.try_wait() {
                    last = format!("exited with {status}");
                    break;
                }
                if r53::http(port, "GET", "/_ministack/health").is_some_and(|(c, _)| c == 200) {
                    return m;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            last = format!("{last}; log:\n{}", m.log());
        }
        panic!("ministack did not become ready: {last}")
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("ministack.log")).unwrap_or_default()
    }
}

impl Drop for Ministack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
