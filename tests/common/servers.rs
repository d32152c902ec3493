//! Servers under test, each a guard that owns a temp dir and a child process:
//! `Switchback` (our `switchback serve`) and `Knot` (knotd, the reference).
//! Both bind 127.0.0.1 on a free port, wait until they answer, and are stopped on drop.

use std::fs::{self, File};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use tempfile::TempDir;

use switchback_testsupport::dns::{self, Question, Response};
use switchback_testsupport::{free_port, peers};

/// How long a server may take to answer its first SOA query.
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(50);

/// The tool's path: the one skip policy of `switchback_testsupport::peers` (a missing tool
/// fails unless `SWITCHBACK_SKIP_PEERS` names it; then `None`).
pub fn require_tool(name: &str) -> Option<PathBuf> {
    peers::tool(name)
}

/// The zone names in a folder: `example.com.zone` serves `example.com.`.
pub fn zones_in(dir: &Path) -> Vec<String> {
    let mut zones: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let zone = name.strip_suffix(".zone")?;
            Some(if zone.ends_with('.') {
                zone.to_string()
            } else {
                format!("{zone}.")
            })
        })
        .collect();
    zones.sort();
    zones
}

/// Copies every regular file of `from` into `to` (the zone folders the tests edit).
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn send_signal(pid: u32, sig: &str) -> bool {
    Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let v: Vec<&str> = text.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

/// Stops a child: SIGTERM, up to 3 s to exit, then SIGKILL. Always reaps it.
fn stop_child(child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    send_signal(child.id(), "TERM");
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Polls `addr` with a UDP SOA query for every zone until each answers NOERROR with its SOA.
/// With no zones, any answer to a query for `.` will do. `alive` is checked between polls.
fn wait_ready(
    addr: SocketAddr,
    zones: &[String],
    mut alive: impl FnMut() -> Result<(), String>,
) -> Result<(), String> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let mut pending: Vec<String> = zones.to_vec();
    let mut last = String::from("no answer yet");
    loop {
        alive()?;
        if pending.is_empty() {
            let q = Question::new(".", RecordType::SOA);
            let wire = q.to_wire(4242);
            if let Ok(Some(_)) = dns::exchange_udp_with(addr, &wire, 1, POLL) {
                return Ok(());
            }
        } else {
            pending.retain(|z| {
                let q = Question::new(z, RecordType::SOA);
                match dns::exchange_udp_with(addr, &q.to_wire(4243), 1, POLL) {
                    Ok(Some(raw)) => match Response::parse(raw) {
                        Ok(r)
                            if r.rcode() == ResponseCode::NoError
                                && r.msg
                                    .answers
                                    .iter()
                                    .any(|a| a.record_type() == RecordType::SOA) =>
                        {
                            false
                        }
                        Ok(r) => {
                            last = format!("{z} SOA -> {}", r.rcode());
                            true
                        }
                        Err(e) => {
                            last = e;
                            true
                        }
                    },
                    _ => true,
                }
            });
            if pending.is_empty() {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            return Err(format!(
                "not ready after {READY_TIMEOUT:?}: zones still not answering {pending:?} ({last})"
            ));
        }
        std::thread::sleep(POLL);
    }
}

/// How to start `switchback serve`.
#[derive(Clone, Debug)]
pub struct SwitchbackOptions {
    pub zones: PathBuf,
    pub allow_transfer: Vec<String>,
    pub udp_workers: u32,
    /// Extra lines for the `[server]` table.
    pub extra_server_toml: String,
    /// Extra tables after `[server]`.
    pub extra_toml: String,
    /// Zones that must answer before the server counts as ready (default: every `*.zone`).
    pub ready_zones: Option<Vec<String>>,
    /// Extra environment variables of the `serve` process (a provider's token variable).
    pub env: Vec<(String, String)>,
    /// `[server] state` (default: `state.db` in the server's temp dir).
    pub state: Option<String>,
}

impl SwitchbackOptions {
    pub fn new(zones: &Path) -> Self {
        SwitchbackOptions {
            zones: zones.to_path_buf(),
            allow_transfer: vec!["127.0.0.0/8".into()],
            udp_workers: 2,
            extra_server_toml: String::new(),
            extra_toml: String::new(),
            ready_zones: None,
            env: Vec::new(),
            state: None,
        }
    }
}

/// `switchback -c CONFIG serve` in a temp dir.
pub struct Switchback {
    child: Child,
    pub addr: SocketAddr,
    pub port: u16,
    pub dir: TempDir,
    pub config: PathBuf,
    pub log: PathBuf,
    pub zones: PathBuf,
}

fn toml_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

impl Switchback {
    pub fn bin() -> PathBuf {
        PathBuf::from(env!("CARGO_BIN_EXE_switchback"))
    }

    /// Serves the zone files in `zones`, AXFR allowed from 127.0.0.0/8.
    pub fn start(zones: &Path) -> Switchback {
        Self::start_with(SwitchbackOptions::new(zones))
    }

    pub fn start_with(opts: SwitchbackOptions) -> Switchback {
        let mut last = String::new();
        // A port can be taken between picking and binding; try a few.
        for _ in 0..3 {
            match Self::try_start(&opts) {
                Ok(s) => return s,
                Err(e) => last = e,
            }
        }
        panic!("switchback serve did not start:\n{last}");
    }

    pub fn try_start(opts: &SwitchbackOptions) -> Result<Switchback, String> {
        let dir = tempfile::Builder::new()
            .prefix("switchback-test-")
            .tempdir()
            .map_err(|e| format!("tempdir: {e}"))?;
        let port = free_port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let zones = fs::canonicalize(&opts.zones)
            .map_err(|e| format!("zones {}: {e}", opts.zones.display()))?;
        let allow = opts
            .allow_transfer
            .iter()
            .map(|a| toml_str(a))
            .collect::<Vec<_>>()
            .join(", ");
        let config = dir.path().join("switchback.toml");
        let text = format!(
            "[server]\n\
             dns = [{dns}]\n\
             zones = {zones}\n\
             state = {state}\n\
             allow_transfer = [{allow}]\n\
             udp_workers = {workers}\n\
             {extra_server}\n\
             {extra}\n",
            dns = toml_str(&addr.to_string()),
            zones = toml_str(&zones.to_string_lossy()),
            state =
                toml_str(&opts.state.clone().unwrap_or_else(|| {
                    dir.path().join("state.db").to_string_lossy().into_owned()
                })),
            workers = opts.udp_workers,
            extra_server = opts.extra_server_toml,
            extra = opts.extra_toml,
        );
        fs::write(&config, text).map_err(|e| format!("write config: {e}"))?;
        let log = dir.path().join("switchback.log");
        let out = File::create(&log).map_err(|e| format!("log: {e}"))?;
        let err = out.try_clone().map_err(|e| format!("log: {e}"))?;
        let mut cmd = Command::new(Self::bin());
        cmd.arg("-c")
            .arg(&config)
            .arg("serve")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "info");
        }
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", Self::bin().display()))?;
        let mut sb = Switchback {
            child,
            addr,
            port,
            dir,
            config,
            log,
            zones: zones.clone(),
        };
        let ready_zones = opts.ready_zones.clone().unwrap_or_else(|| zones_in(&zones));
        let log_path = sb.log.clone();
        let child = &mut sb.child;
        let res = wait_ready(addr, &ready_zones, || match child.try_wait() {
            Ok(Some(status)) => Err(format!("switchback exited early: {status}")),
            _ => Ok(()),
        });
        if let Err(e) = res {
            let log = tail(&log_path, 40);
            drop(sb);
            return Err(format!("{e}\n--- switchback log (last lines) ---\n{log}"));
        }
        Ok(sb)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGHUP (reload the zone folder).
    pub fn hup(&self) {
        assert!(
            send_signal(self.pid(), "HUP"),
            "kill -HUP {} failed",
            self.pid()
        );
    }

    /// Sends SIGTERM and waits up to `timeout` for the exit status.
    pub fn terminate(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        send_signal(self.pid(), "TERM");
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn query(&self, q: &Question) -> Result<Response, String> {
        dns::query(self.addr, q)
    }

    /// Polls `q` until `pred` holds (or panics after `timeout`, showing the last answer).
    pub fn wait_for(
        &self,
        q: &Question,
        timeout: Duration,
        pred: impl Fn(&Response) -> bool,
    ) -> Response {
        let deadline = Instant::now() + timeout;
        loop {
            let r = self.query(q);
            if let Ok(r) = &r {
                if pred(r) {
                    return r.clone();
                }
            }
            if Instant::now() > deadline {
                panic!(
                    "{q}: condition not met after {timeout:?}; last answer: {}\n--- log ---\n{}",
                    match r {
                        Ok(r) => super::compare::Normalized::from_message(&r.msg).to_string(),
                        Err(e) => e,
                    },
                    tail(&self.log, 30)
                );
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Switchback {
    fn drop(&mut self) {
        stop_child(&mut self.child);
        if std::thread::panicking() {
            eprintln!(
                "--- switchback log {} (last lines) ---\n{}",
                self.log.display(),
                tail(&self.log, 30)
            );
        }
    }
}

/// How to start knotd.
#[derive(Clone, Debug)]
pub struct KnotOptions {
    pub zones_dir: PathBuf,
    /// Zones to serve (default: every `*.zone` in `zones_dir`).
    pub zones: Option<Vec<String>>,
    /// Addresses/CIDRs allowed to AXFR.
    pub allow_transfer: Vec<String>,
    /// `server.udp-max-payload` (Knot's default is 1232).
    pub udp_max_payload: Option<u16>,
}

impl KnotOptions {
    pub fn new(zones_dir: &Path) -> Self {
        KnotOptions {
            zones_dir: zones_dir.to_path_buf(),
            zones: None,
            allow_transfer: vec!["127.0.0.0/8".into()],
            udp_max_payload: None,
        }
    }
}

/// knotd in the foreground with its own config, rundir and database in a temp dir.
pub struct Knot {
    child: Child,
    pub addr: SocketAddr,
    pub port: u16,
    pub dir: TempDir,
    pub log: PathBuf,
    pub zones: Vec<String>,
}

impl Knot {
    /// Serves every `*.zone` file in `zones_dir`. `None` when knotd is missing and
    /// SWITCHBACK_SKIP_PEERS names knotd.
    pub fn start(zones_dir: &Path) -> Option<Knot> {
        Self::start_with(KnotOptions::new(zones_dir))
    }

    pub fn start_with(opts: KnotOptions) -> Option<Knot> {
        let knotd = require_tool("knotd")?;
        let mut last = String::new();
        for _ in 0..3 {
            match Self::try_start(&knotd, &opts) {
                Ok(k) => return Some(k),
                Err(e) => last = e,
            }
        }
        panic!("knotd did not start:\n{last}");
    }

    fn try_start(knotd: &Path, opts: &KnotOptions) -> Result<Knot, String> {
        let dir = tempfile::Builder::new()
            .prefix("knot-test-")
            .tempdir()
            .map_err(|e| format!("tempdir: {e}"))?;
        let port = free_port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let zones_dir = fs::canonicalize(&opts.zones_dir)
            .map_err(|e| format!("zones {}: {e}", opts.zones_dir.display()))?;
        let zones = opts.zones.clone().unwrap_or_else(|| zones_in(&zones_dir));
        let rundir = dir.path().join("run");
        let db = dir.path().join("db");
        fs::create_dir_all(&rundir).map_err(|e| e.to_string())?;
        fs::create_dir_all(&db).map_err(|e| e.to_string())?;

        let mut conf = String::new();
        conf.push_str("server:\n");
        conf.push_str(&format!("    listen: 127.0.0.1@{port}\n"));
        conf.push_str(&format!("    rundir: \"{}\"\n", rundir.display()));
        if peers::running_as_root() {
            conf.push_str("    user: root:root\n");
        }
        conf.push_str("    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n");
        // No CHAOS identity/version answers: Switchback has none, so both REFUSE them.
        conf.push_str("    identity: \"\"\n    version: \"\"\n");
        if let Some(p) = opts.udp_max_payload {
            conf.push_str(&format!("    udp-max-payload: {p}\n"));
        }
        conf.push_str("log:\n  - target: stderr\n    any: info\n");
        conf.push_str(&format!("database:\n    storage: \"{}\"\n", db.display()));
        if !opts.allow_transfer.is_empty() {
            conf.push_str(&format!(
                "acl:\n  - id: transfer\n    address: [{}]\n    action: transfer\n",
                opts.allow_transfer.join(", ")
            ));
        }
        conf.push_str("template:\n  - id: default\n");
        conf.push_str(&format!("    storage: \"{}\"\n", zones_dir.display()));
        conf.push_str("    file: \"%s.zone\"\n");
        // Read the files as they are; never write them back, never keep a journal.
        conf.push_str(
            "    zonefile-sync: -1\n    zonefile-load: whole\n    journal-content: none\n",
        );
        if !opts.allow_transfer.is_empty() {
            conf.push_str("    acl: transfer\n");
        }
        conf.push_str("zone:\n");
        for z in &zones {
            conf.push_str(&format!("  - domain: \"{z}\"\n"));
        }
        let config = dir.path().join("knot.conf");
        fs::write(&config, conf).map_err(|e| format!("write knot.conf: {e}"))?;

        let log = dir.path().join("knot.log");
        let out = File::create(&log).map_err(|e| format!("log: {e}"))?;
        let err = out.try_clone().map_err(|e| format!("log: {e}"))?;
        let child = Command::new(knotd)
            .arg("-c")
            .arg(&config)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("spawn knotd: {e}"))?;
        let mut k = Knot {
            child,
            addr,
            port,
            dir,
            log,
            zones: zones.clone(),
        };
        let log_path = k.log.clone();
        let child = &mut k.child;
        let res = wait_ready(addr, &zones, || match child.try_wait() {
            Ok(Some(status)) => Err(format!("knotd exited early: {status}")),
            _ => Ok(()),
        });
        if let Err(e) = res {
            let log = tail(&log_path, 40);
            drop(k);
            return Err(format!("{e}\n--- knotd log (last lines) ---\n{log}"));
        }
        Ok(k)
    }

    pub fn query(&self, q: &Question) -> Result<Response, String> {
        dns::query(self.addr, q)
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Knot {
    fn drop(&mut self) {
        stop_child(&mut self.child);
        if std::thread::panicking() {
            eprintln!(
                "--- knotd log {} (last lines) ---\n{}",
                self.log.display(),
                tail(&self.log, 30)
            );
        }
    }
}
