//! The `switchback` binary as a user runs it: a folder with zone files and a config, commands
//! run against it (`-c CONFIG`, no terminal, no fault injection, no AWS settings of the
//! host), their JSON output; and a TCP health endpoint a test can kill. The binary is given by
//! the test (`env!("CARGO_BIN_EXE_switchback")` exists only in the root crate's tests).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;

/// A folder with `zones/` and `switchback.toml`, and the commands run against it.
pub struct CliEnv {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    bin: PathBuf,
    env: Vec<(String, String)>,
}

impl CliEnv {
    /// `zones/NAME.zone` for each `(NAME, text)`, and a config of `[server] zones, state`
    /// followed by `rest`.
    pub fn new(bin: impl Into<PathBuf>, zones: &[(&str, &str)], rest: &str) -> CliEnv {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("zones")).unwrap();
        for (name, text) in zones {
            std::fs::write(dir.path().join(format!("zones/{name}.zone")), text).unwrap();
        }
        let config = dir.path().join("switchback.toml");
        std::fs::write(
            &config,
            format!("[server]\nzones = \"zones\"\nstate = \"state/state.db\"\n\n{rest}"),
        )
        .unwrap();
        CliEnv::at(bin, dir, config)
    }

    /// Commands against an existing folder and config (a running `serve`'s).
    pub fn at(bin: impl Into<PathBuf>, dir: tempfile::TempDir, config: PathBuf) -> CliEnv {
        std::fs::write(dir.path().join("aws-empty"), "").unwrap();
        CliEnv {
            dir,
            config,
            bin: bin.into(),
            env: Vec::new(),
        }
    }

    /// The folder's path joined with `rel`.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Set `key=value` in every command's environment.
    pub fn with_env(mut self, key: &str, value: &str) -> CliEnv {
        self.env.push((key.into(), value.into()));
        self
    }

    /// `switchback -c CONFIG ARGS`, output captured.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        // Empty AWS config and credentials files: nothing from the host's ~/.aws.
        let none = self.dir.path().join("aws-empty");
        c.current_dir(self.dir.path())
            .arg("-c")
            .arg(&self.config)
            .args(args)
            .env_remove("SWITCHBACK_FAULT")
            .env_remove("SWITCHBACK_FAULT_DELAY_MS")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", &none)
            .env("AWS_SHARED_CREDENTIALS_FILE", &none)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Run; it must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        String::from_utf8(o.stdout).unwrap()
    }

    /// Run with `--json`; it must succeed; its document.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        serde_json::from_str(&self.ok(&a)).unwrap()
    }

    /// `cutover status NAME --json`.
    pub fn status(&self, cutover: &str) -> Value {
        self.json(&["cutover", "status", cutover])
    }

    /// The id of a new snapshot of `provider`'s `zone`.
    pub fn snapshot(&self, provider: &str, zone: &str) -> String {
        self.json(&["snapshot", "create", provider, zone])["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Whether the live zone of snapshot `id` equals it.
    pub fn identical_to(&self, id: &str) -> bool {
        self.json(&["diff", id])["identical"] == true
    }

    /// The sorted values of every `NAME/TYPE` set in `provider`'s `zone` now.
    pub fn values(&self, provider: &str, zone: &str, name: &str, rtype: &str) -> Vec<String> {
        let v = self.json(&["zone", "export", provider, zone, "--format", "json"]);
        values_in(v["record_sets"].as_array().unwrap(), name, rtype)
    }

    /// The sorted values of `NAME/TYPE` in snapshot `id`.
    pub fn snapshot_values(&self, id: &str, name: &str, rtype: &str) -> Vec<String> {
        let v = self.json(&["snapshot", "show", id, "--format", "json"]);
        values_in(v["zone"]["record_sets"].as_array().unwrap(), name, rtype)
    }
}

/// The sorted, distinct values of every `NAME/TYPE` set among `sets` (the model's JSON).
pub fn values_in(sets: &[Value], name: &str, rtype: &str) -> Vec<String> {
    let mut v: Vec<String> = sets
        .iter()
        .filter(|rs| rs["name"] == name && rs["type"] == rtype)
        .flat_map(|rs| {
            rs["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["data"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// A command's exit code and output, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A TCP health endpoint that accepts and closes connections until dropped (the primary
/// "dies" when it is dropped).
pub struct Endpoint {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Endpoint {
    pub fn start(listener: TcpListener) -> Endpoint {
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => drop(conn),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Endpoint {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
