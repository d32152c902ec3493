//! Test harness: the Route 53 emulators (ministack, moto) from their venvs under
//! `target/peers/` (installed by `tests/peers/route53.sh`, which `tests/run` calls), one process
//! per test on a free loopback port, killed by PID when the guard drops.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_route53::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_route53::types::{
    Change as NChange, ChangeAction, ChangeBatch, HostedZoneConfig, ResourceRecord,
    ResourceRecordSet, RrType, Vpc, VpcRegion,
};
use switchback_api::Name;
use switchback_route53::{Route53, Route53Config, Tuning};

/// The access key and secret the tests use (the emulators accept anything).
pub const ACCESS_KEY: &str = "testing";
pub const SECRET_KEY: &str = "testing";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ministack,
    Moto,
}

impl Kind {
    fn venv(self) -> &'static str {
        match self {
            Kind::Ministack => "ministack",
            Kind::Moto => "moto",
        }
    }
    fn binary(self) -> &'static str {
        match self {
            Kind::Ministack => "ministack",
            Kind::Moto => "moto_server",
        }
    }
    fn health(self) -> &'static str {
        match self {
            Kind::Ministack => "/_ministack/health",
            Kind::Moto => "/moto-api/",
        }
    }
    fn reset_path(self) -> &'static str {
        match self {
            Kind::Ministack => "/_ministack/reset",
            Kind::Moto => "/moto-api/reset",
        }
    }
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The emulator's binary; panics (never skips) when the venv is missing.
pub fn peer_binary(kind: Kind) -> PathBuf {
    let bin = workspace_root()
        .join("target/peers")
        .join(kind.venv())
        .join("bin")
        .join(kind.binary());
    if !bin.exists() {
        panic!(
            "the Route 53 test peer {} is not installed ({} is missing): run tests/run (or \
             tests/peers/route53.sh) first; these tests do not skip without it",
            kind.venv(),
            bin.display()
        );
    }
    bin
}

pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().unwrap().port()
}

/// A running emulator, killed (by PID) when dropped.
pub struct Emulator {
    pub kind: Kind,
    pub port: u16,
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Emulator {
    pub fn start(kind: Kind) -> Emulator {
        let bin = peer_binary(kind);
        let mut last = String::new();
        // A few tries: a free port can be taken between the probe and the emulator's bind.
        for _ in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            let log = dir.path().join("emulator.log");
            let port = free_port();
            let out = std::fs::File::create(&log).unwrap();
            let mut cmd = Command::new(&bin);
            match kind {
                Kind::Ministack => {
                    cmd.env("BIND_HOST", "127.0.0.1")
                        .env("GATEWAY_PORT", port.to_string())
                        .env("SERVICES", "route53");
                }
                Kind::Moto => {
                    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
                }
            }
            cmd.current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out);
            let child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            let mut emu = Emulator {
                kind,
                port,
                child,
                log,
                _dir: dir,
            };
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = emu.child.try_wait() {
                    last = format!("exited with {status}");
                    break;
                }
                if http(port, "GET", kind.health()).is_some_and(|(code, _)| code == 200) {
                    return emu;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            last = format!("{last}; log:\n{}", emu.log());
            // Dropping `emu` kills it.
        }
        panic!("{} did not become ready: {last}", kind.venv())
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Forget every zone (the emulator's reset endpoint).
    pub fn reset(&self) {
        let r = http(self.port, "POST", self.kind.reset_path());
        assert!(
            r.as_ref().is_some_and(|(c, _)| *c == 200),
            "reset failed: {r:?}"
        );
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tiny HTTP/1.1 request: (status, body).
pub fn http(port: u16, method: &str, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).to_string();
    let code = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|x| x.1)
        .unwrap_or("")
        .to_string();
    Some((code, body))
}

/// Short waits for emulators (they answer at once).
pub fn fast_tuning() -> Tuning {
    Tuning {
        page_size: 300,
        attempt_timeout: Duration::from_secs(10),
        backoff_base: Duration::from_millis(20),
        backoff_max: Duration::from_millis(500),
        retry_budget: Duration::from_secs(30),
        poll_initial: Duration::from_millis(10),
        poll_max: Duration::from_millis(100),
        poll_budget: Duration::from_secs(30),
    }
}

pub fn config(endpoint: &str, rate: u32) -> Route53Config {
    Route53Config {
        endpoint: Some(endpoint.to_string()),
        region: Some("us-east-1".into()),
        rate,
        ..Route53Config::default()
    }
}

pub fn credentials() -> Credentials {
    Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "switchback-tests")
}

/// The provider on an endpoint, with static test credentials and fast tuning.
pub fn provider(endpoint: &str, rate: u32) -> Route53 {
    Route53::with_credentials("r53", config(endpoint, rate), credentials())
        .unwrap()
        .with_tuning(fast_tuning())
}

/// A plain SDK client on an endpoint (to set up zones, and to show what the emulator accepts).
pub fn sdk(endpoint: &str) -> aws_sdk_route53::Client {
    let conf = aws_sdk_route53::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials())
        .endpoint_url(endpoint)
        .build();
    aws_sdk_route53::Client::from_conf(conf)
}

static ZONES: AtomicUsize = AtomicUsize::new(0);

/// A fresh zone name for this process.
pub fn unique_zone(prefix: &str) -> Name {
    let n = ZONES.fetch_add(1, Ordering::SeqCst);
    format!("{prefix}-{}-{n}.test.", std::process::id())
        .parse()
        .unwrap()
}

/// Create a hosted zone (private when `vpc` is given); returns its id (without /hostedzone/).
pub async fn create_zone(
    client: &aws_sdk_route53::Client,
    name: &Name,
    vpc: Option<&str>,
) -> String {
    static REF: AtomicUsize = AtomicUsize::new(0);
    let mut req = client
        .create_hosted_zone()
        .name(name.to_string())
        .caller_reference(format!(
            "sb-{}-{}-{}",
            std::process::id(),
            REF.fetch_add(1, Ordering::SeqCst),
            name
        ));
    if let Some(v) = vpc {
        req = req
            .vpc(
                Vpc::builder()
                    .vpc_id(v)
                    .vpc_region(VpcRegion::UsEast1)
                    .build(),
            )
            .hosted_zone_config(HostedZoneConfig::builder().private_zone(true).build());
    }
    let out = req.send().await.expect("create hosted zone");
    let id = out.hosted_zone().unwrap().id();
    id.strip_prefix("/hostedzone/").unwrap_or(id).to_string()
}

/// An emulator, a provider on it and a fresh zone in it.
pub async fn setup(kind: Kind, rate: u32) -> (Emulator, Route53, Name, String) {
    let emu = Emulator::start(kind);
    let zone = unique_zone("sb");
    let id = create_zone(&sdk(&emu.endpoint()), &zone, None).await;
    if kind == Kind::Moto {
        fix_moto_soa(&sdk(&emu.endpoint()), &zone, &id).await;
    }
    let p = provider(&emu.endpoint(), rate);
    (emu, p, zone, id)
}

/// A native record set (for plain SDK calls).
pub fn rrs(name: &str, t: RrType, ttl: Option<i64>, values: &[&str]) -> ResourceRecordSet {
    let mut b = ResourceRecordSet::builder()
        .name(name)
        .r#type(t)
        .set_ttl(ttl);
    for v in values {
        b = b.resource_records(ResourceRecord::builder().value(*v).build().unwrap());
    }
    b.build().unwrap()
}

pub async fn raw(
    client: &aws_sdk_route53::Client,
    zone_id: &str,
    changes: Vec<(ChangeAction, ResourceRecordSet)>,
) -> Result<(), String> {
    let changes = changes
        .into_iter()
        .map(|(a, r)| {
            NChange::builder()
                .action(a)
                .resource_record_set(r)
                .build()
                .unwrap()
        })
        .collect();
    client
        .change_resource_record_sets()
        .hosted_zone_id(zone_id)
        .change_batch(
            ChangeBatch::builder()
                .set_changes(Some(changes))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws_sdk_route53::error::DisplayErrorContext(e).to_string())
}

/// moto 5.2.5 answers a new zone's SOA value as a Python dict repr
/// (`{'Value': 'ns-2048.awsdns-64.com. hostmaster.example.com. 1 7200 ...'}`), which the
/// provider's lossless read refuses (see `moto_soa_value_is_refused_loudly` in moto.rs):
/// write a real SOA value over it.
pub async fn fix_moto_soa(client: &aws_sdk_route53::Client, zone: &Name, id: &str) {
    raw(
        client,
        id,
        vec![(
            ChangeAction::Upsert,
            rrs(
                &zone.to_string(),
                RrType::Soa,
                Some(900),
                &["ns-2048.awsdns-64.com. hostmaster.example.com. 1 7200 900 1209600 86400"],
            ),
        )],
    )
    .await
    .expect("fix moto's SOA");
}
