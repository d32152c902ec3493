//! Knot DNS and BIND 9 as RFC 2136 primaries: each on a free loopback port in its own temp
//! dir with a zone file (example.test.), dynamic updates and transfers allowed to one TSIG key
//! only (hmac-sha256, [`KEY_NAME`], [`SECRET_B64`]).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::daemon::Daemon;
use crate::peers::{self, running_as_root};

/// The key both sides use.
pub const KEY_NAME: &str = "xfr.example.";
pub const SECRET_B64: &str = "c3dpdGNoYmFjay10c2lnLXRlc3Qtc2VjcmV0LTMyYnl0ZXMh";

pub const ZONE: &str = "example.test.";

/// The zone file both servers start from.
pub fn zone_text() -> String {
    ZONE_TEXT.to_string()
}

const ZONE_TEXT: &str = concat!(
    "$ORIGIN example.test.\n$TTL 300\n",
    "@ SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 60\n",
    "@ NS ns.example.test.\nns A 192.0.2.53\nwww A 192.0.2.1\n",
);

/// Which primary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Knot,
    Bind,
}

/// A running primary, killed when dropped.
pub struct Primary {
    pub server: Server,
    daemon: Daemon,
}

impl Primary {
    pub fn addr(&self) -> std::net::SocketAddr {
        ([127, 0, 0, 1], self.daemon.port).into()
    }

    pub fn log(&self) -> String {
        let mut s = self.daemon.log();
        for f in ["knot.log", "named.log"] {
            s.push_str(&std::fs::read_to_string(self.daemon.dir().join(f)).unwrap_or_default());
        }
        s
    }

    /// Starts `server` for zone [`ZONE`]; `None` when it is missing and skipped.
    pub fn start(server: Server) -> Option<Primary> {
        // The zone carries a token unique to this start: the readiness probe asks for it, so
        // another test's server that took the port in between is never mistaken for ours.
        static STARTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let token = format!(
            "{}-{}",
            std::process::id(),
            STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let ours = |port: u16| answers(port, &token);
        let daemon = match server {
            Server::Knot => {
                let knotd = peers::tool("knotd")?;
                Daemon::start(
                    "knotd",
                    Duration::from_secs(15),
                    |port, dir| {
                        write_knot(dir, port, &token);
                        let mut c = Command::new(&knotd);
                        c.arg("-c").arg(dir.join("knot.conf"));
                        c
                    },
                    ours,
                )
            }
            Server::Bind => {
                let named = peers::tool("named")?;
                Daemon::start(
                    "named",
                    Duration::from_secs(15),
                    |port, dir| {
                        write_bind(dir, port, &token);
                        let mut c = Command::new(&named);
                        c.args(["-g", "-c"]).arg(dir.join("named.conf"));
                        if running_as_root() {
                            c.args(["-u", "root"]);
                        }
                        c
                    },
                    ours,
                )
            }
        };
        Some(Primary { server, daemon })
    }
}

/// The name of the TXT record holding the start's token.
pub const INSTANCE: &str = "_instance.example.test.";

/// Whether the server on `port` answers with this start's token (over TCP).
fn answers(port: u16, token: &str) -> bool {
    let q = crate::dns::Question::new(INSTANCE, hickory_proto::rr::RecordType::TXT).tcp();
    crate::dns::query(([127, 0, 0, 1], port).into(), &q).is_ok_and(|r| {
        r.answer_rdata(hickory_proto::rr::RecordType::TXT)
            .iter()
            .any(|t| t.contains(token))
    })
}

fn zone_file(token: &str) -> String {
    format!("{}{INSTANCE} TXT \"{token}\"\n", zone_text())
}

fn write_knot(dir: &Path, port: u16, token: &str) {
    let head = crate::wait::knot_config_head(dir, port);
    std::fs::write(dir.join("zones/example.test.zone"), zone_file(token)).unwrap();
    let conf = format!(
        "{head}\
         key:\n  - id: {KEY_NAME}\n    algorithm: hmac-sha256\n    secret: {SECRET_B64}\n\
         acl:\n  - id: ddns\n    key: {KEY_NAME}\n    action: [update, transfer]\n\
         template:\n  - id: default\n    storage: \"{zones}\"\n    zonefile-sync: -1\n    \
         journal-content: changes\n\
         zone:\n  - domain: {ZONE}\n    file: example.test.zone\n    acl: ddns\n",
        zones = dir.join("zones").display(),
    );
    std::fs::write(dir.join("knot.conf"), conf).unwrap();
}

fn write_bind(dir: &Path, port: u16, token: &str) {
    std::fs::write(dir.join("example.test.zone"), zone_file(token)).unwrap();
    let conf = format!(
        "key \"{KEY_NAME}\" {{ algorithm hmac-sha256; secret \"{SECRET_B64}\"; }};\n\
         options {{\n  directory \"{d}\";\n  pid-file \"{d}/named.pid\";\n  listen-on port {port} {{ 127.0.0.1; }};\n  \
         listen-on-v6 {{ none; }};\n  recursion no;\n  dnssec-validation no;\n  notify no;\n}};\n\
         controls {{ }};\n\
         logging {{ channel f {{ file \"{d}/named.log\"; severity info; print-time yes; }}; category default {{ f; }}; category update {{ f; }}; }};\n\
         zone \"{ZONE}\" {{\n  type primary;\n  file \"{d}/example.test.zone\";\n  \
         allow-update {{ key \"{KEY_NAME}\"; }};\n  allow-transfer {{ key \"{KEY_NAME}\"; }};\n  \
         serial-update-method increment;\n}};\n",
        d = dir.display(),
    );
    std::fs::write(dir.join("named.conf"), conf).unwrap();
}
