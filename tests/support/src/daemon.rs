//! A peer process on a free loopback port: its own temp dir (working directory and log),
//! started again on another port when the first try fails (a free port can be taken between
//! the probe and the peer's bind), ready when a probe says so, killed and reaped on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

const TRIES: usize = 3;
const POLL: Duration = Duration::from_millis(50);

/// A running peer process, killed when dropped.
pub struct Daemon {
    pub port: u16,
    child: Child,
    log: PathBuf,
    dir: tempfile::TempDir,
}

impl Daemon {
    /// Starts `name`: `command(port, dir)` builds the command for a fresh free port and temp
    /// dir (stdout and stderr go to the log, stdin is closed); `ready(port)` is polled until it
    /// is true or `timeout` passes. Panics with the peer's log after three failed tries.
    pub fn start(
        name: &str,
        timeout: Duration,
        mut command: impl FnMut(u16, &Path) -> Command,
        mut ready: impl FnMut(u16) -> bool,
    ) -> Daemon {
        let mut last = String::new();
        for _ in 0..TRIES {
            let dir = tempfile::tempdir().expect("a temp dir");
            let log = dir.path().join(format!("{name}.log"));
            let out = std::fs::File::create(&log).expect("the peer's log file");
            let port = free_port();
            let mut cmd = command(port, dir.path());
            cmd.current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(out.try_clone().expect("the log file"))
                .stderr(out);
            let child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {name} ({cmd:?}): {e}"));
            let mut d = Daemon {
                port,
                child,
                log,
                dir,
            };
            let deadline = Instant::now() + timeout;
            while Instant::now() < deadline {
                if let Ok(Some(status)) = d.child.try_wait() {
                    last = format!("exited with {status}");
                    break;
                }
                if ready(port) {
                    return d;
                }
                std::thread::sleep(POLL);
            }
            last = format!("{last}; log:\n{}", d.log());
            // Dropping `d` kills it.
        }
        panic!("{name} did not become ready after {TRIES} tries: {last}")
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What the peer wrote so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The peer's temp dir (its working directory).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
