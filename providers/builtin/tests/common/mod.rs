//! Helpers shared by the persistence, pickup, transfer and Knot tests.
#![allow(dead_code)]

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::Message;
use switchback_api::{Change, Name, Provider, RType, RecordSet};
use switchback_builtin::{Builtin, Listeners, ServerOptions};

pub const ZONE: &str = "$ORIGIN example.test.\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\nns A 192.0.2.53\nwww A 192.0.2.1\n";

pub fn name(s: &str) -> Name {
    s.parse().unwrap()
}

/// A zone folder with example.test. and a state file path next to it (or, with
/// [`Dirs::postgres`], a fresh PostgreSQL database as the store).
pub struct Dirs {
    pub tmp: tempfile::TempDir,
    pub zones: PathBuf,
    /// The SQLite file (the store unless `location` says otherwise).
    pub state: PathBuf,
    pub location: switchback_sql::Location,
    pub pg: Option<switchback_testsupport::postgres::TestDatabase>,
}

impl Dirs {
    pub fn new() -> Dirs {
        let tmp = tempfile::tempdir().unwrap();
        let zones = tmp.path().join("zones");
        std::fs::create_dir(&zones).unwrap();
        std::fs::write(zones.join("example.test.zone"), ZONE).unwrap();
        let state = tmp.path().join("state").join("state.db");
        Dirs {
            location: switchback_sql::Location::Sqlite(state.clone()),
            tmp,
            zones,
            state,
            pg: None,
        }
    }

    /// The same, the store on a fresh PostgreSQL database; `None` when PostgreSQL is skipped.
    pub fn postgres() -> Option<Dirs> {
        let pg = switchback_testsupport::postgres::TestDatabase::create()?;
        let mut d = Dirs::new();
        d.location = pg.location();
        d.pg = Some(pg);
        Some(d)
    }

    pub fn file(&self) -> PathBuf {
        self.zones.join("example.test.zone")
    }

    /// As `serve` opens it (answers precomputed).
    pub fn open(&self) -> Builtin {
        Builtin::open_serving("builtin", &self.zones, &self.location).unwrap()
    }

    /// As a CLI process opens it.
    pub fn open_cli(&self) -> Builtin {
        Builtin::open("builtin", &self.zones, &self.location).unwrap()
    }
}

pub fn a_set(owner: &str, addrs: &[&str]) -> RecordSet {
    RecordSet::new(
        name(owner),
        RType::A,
        300,
        addrs.iter().map(|a| a.to_string()),
    )
}

/// The live A set at `owner`.
pub async fn live_a(b: &Builtin, owner: &str) -> Option<RecordSet> {
    let z = b.read_zone(&name("example.test.")).await.unwrap();
    z.record_sets
        .iter()
        .find(|rs| rs.name == name(owner) && rs.rtype == RType::A)
        .cloned()
}

/// Move www.example.test. A to `to` (whatever it is now).
pub async fn move_www(b: &Builtin, to: &str) {
    let before = live_a(b, "www.example.test.").await.unwrap();
    let after = a_set("www.example.test.", &[to]);
    b.apply(&name("example.test."), &[Change::Update { before, after }])
        .await
        .unwrap();
}

pub fn soa_serial_of(b: &Builtin) -> u32 {
    b.catalog()
        .load()
        .zones
        .values()
        .next()
        .unwrap()
        .zone
        .serial
}

pub fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut p = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    p[..2].copy_from_slice(&id.to_be_bytes());
    push_name(&mut p, name);
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&1u16.to_be_bytes());
    p
}

fn push_name(p: &mut Vec<u8>, name: &str) {
    for label in name.trim_end_matches('.').split('.') {
        p.push(label.len() as u8);
        p.extend_from_slice(label.as_bytes());
    }
    p.push(0);
}

/// An IXFR query carrying the client's SOA (serial `serial`) in its authority section.
pub fn ixfr_query(id: u16, zone: &str, serial: u32) -> Vec<u8> {
    let mut p = query(id, zone, 251);
    p[8..10].copy_from_slice(&1u16.to_be_bytes());
    p.extend_from_slice(&[0xC0, 12, 0, 6, 0, 1, 0, 0, 0, 60]);
    let mut rdata = vec![0u8, 0u8];
    rdata.extend_from_slice(&serial.to_be_bytes());
    rdata.extend_from_slice(&[0; 16]);
    p.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    p.extend_from_slice(&rdata);
    p
}

pub fn udp_ask_raw(addr: SocketAddr, pkt: &[u8]) -> Option<Message> {
    udp_ask_within(addr, pkt, Duration::from_secs(2))
}

pub fn udp_ask_within(addr: SocketAddr, pkt: &[u8], timeout: Duration) -> Option<Message> {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(timeout)).unwrap();
    s.send_to(pkt, addr).unwrap();
    let mut buf = [0u8; 4096];
    let n = s.recv(&mut buf).ok()?;
    Some(Message::from_vec(&buf[..n]).unwrap())
}

pub fn udp_ask(addr: SocketAddr, id: u16, name: &str, qtype: u16) -> Option<Message> {
    udp_ask_raw(addr, &query(id, name, qtype))
}

/// The A addresses answered for `name`, sorted.
pub fn a_answer(addr: SocketAddr, name: &str) -> Vec<String> {
    a_answer_within(addr, name, Duration::from_secs(2))
}

/// [`a_answer`] waiting at most `timeout` for the answer.
pub fn a_answer_within(addr: SocketAddr, name: &str, timeout: Duration) -> Vec<String> {
    let Some(m) = udp_ask_within(addr, &query(7, name, 1), timeout) else {
        return Vec::new();
    };
    let mut v: Vec<String> = m
        .answers
        .iter()
        .map(|r| r.to_string())
        .filter_map(|s| s.split_whitespace().nth(4).map(str::to_string))
        .collect();
    v.sort();
    v
}

/// The serial of an SOA record printed as text.
pub fn soa_serial(record: &str) -> Option<u32> {
    let f: Vec<&str> = record.split_whitespace().collect();
    (f.get(3) == Some(&"SOA")).then(|| f.get(6)?.parse().ok())?
}

/// Send a transfer request over TCP and read the whole answer as record texts (AXFR: until
/// the second current SOA; IXFR: a lone SOA, or until the third current SOA for the
/// incremental form, or the second for the AXFR form).
pub fn tcp_transfer(addr: SocketAddr, pkt: &[u8]) -> (u8, Vec<String>) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut framed = (pkt.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(pkt);
    s.write_all(&framed).unwrap();
    let mut records: Vec<String> = Vec::new();
    let mut rcode = 0;
    loop {
        let mut len = [0u8; 2];
        if s.read_exact(&mut len).is_err() {
            break;
        }
        let mut m = vec![0u8; u16::from_be_bytes(len) as usize];
        s.read_exact(&mut m).unwrap();
        let first = records.is_empty();
        let m = Message::from_vec(&m).unwrap();
        rcode = u16::from(m.metadata.response_code) as u8;
        records.extend(m.answers.iter().map(|r| r.to_string()));
        if rcode != 0 || (first && records.len() <= 1) {
            break;
        }
        let Some(current) = records.first().and_then(|r| soa_serial(r)) else {
            break;
        };
        let n = records
            .iter()
            .filter(|r| soa_serial(r) == Some(current))
            .count();
        let incremental = records
            .get(1)
            .and_then(|r| soa_serial(r))
            .is_some_and(|s| s != current);
        if n >= if incremental { 3 } else { 2 } {
            break;
        }
    }
    (rcode, records)
}

/// A server on 127.0.0.1 port 0 serving `b`'s catalog, with `b.watch` running.
pub struct Serving {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::watch::Sender<bool>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Serving {
    /// Transfers allowed to 127.0.0.0/8; unsigned NOTIFY.
    pub async fn start(b: Arc<Builtin>, notify: Vec<SocketAddr>) -> Serving {
        let opts = ServerOptions {
            udp_workers: 1,
            allow_transfer: switchback_builtin::acl::Acl::nets(vec![
                "127.0.0.0/8".parse().unwrap(),
            ]),
            ..ServerOptions::default()
        };
        Serving::start_with(b, opts, switchback_builtin::watch::Notify::to(notify)).await
    }

    /// With these options (access lists, TSIG keys) and NOTIFY.
    pub async fn start_with(
        b: Arc<Builtin>,
        opts: ServerOptions,
        notify: switchback_builtin::watch::Notify,
    ) -> Serving {
        let listeners = Listeners::bind(&["127.0.0.1:0".parse().unwrap()], 1).unwrap();
        let addr = listeners.local_addrs()[0];
        let (tx, rx) = tokio::sync::watch::channel(false);
        let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|v| *v).await;
        };
        let server = tokio::spawn({
            let stop = wait(rx.clone());
            let cat = b.catalog();
            async move {
                switchback_builtin::serve(cat, listeners, opts, stop)
                    .await
                    .unwrap();
            }
        });
        let watcher = tokio::spawn(b.watch(notify, wait(rx)));
        Serving {
            addr,
            stop: Some(tx),
            tasks: vec![server, watcher],
        }
    }

    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(true);
        for t in self.tasks.drain(..) {
            tokio::time::timeout(Duration::from_secs(5), t)
                .await
                .expect("stops within 5 s")
                .unwrap();
        }
    }
}

/// A peer program (knotd, kdig, dig): the workspace's one skip policy
/// (`switchback_testsupport::peers`): a missing one fails the test unless
/// `SWITCHBACK_SKIP_PEERS` names it, then `None`.
pub fn program(name: &str) -> Option<PathBuf> {
    switchback_testsupport::peers::tool(name)
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}
