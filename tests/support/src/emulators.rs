//! The Route 53 emulators (ministack, moto: PyPI venvs under `target/peers/`, installed by
//! `tests/peers/route53.sh`) and Prism serving Cloudflare's schema (npm, under
//! `target/peers/prism`, installed by `tests/peers/cloudflare.sh`), each a [`Daemon`] on a free
//! loopback port. `start` returns `None` only when the peer is missing and
//! `SWITCHBACK_SKIP_PEERS` names it ([`crate::peers`]).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::daemon::Daemon;
use crate::{http, peers};

/// Which Route 53 emulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ministack,
    Moto,
}

impl Kind {
    /// Its install folder under `target/peers/`, and its name in `SWITCHBACK_SKIP_PEERS`.
    pub fn peer(self) -> &'static str {
        match self {
            Kind::Ministack => "ministack",
            Kind::Moto => "moto",
        }
    }

    fn binary(self) -> &'static str {
        match self {
            Kind::Ministack => "bin/ministack",
            Kind::Moto => "bin/moto_server",
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

/// A running Route 53 emulator, killed when dropped.
pub struct Emulator {
    pub kind: Kind,
    pub port: u16,
    daemon: Daemon,
}

impl Emulator {
    /// Starts the emulator (Route 53 only) and waits until its health endpoint answers 200.
    pub fn start(kind: Kind) -> Option<Emulator> {
        let bin = peers::installed(kind.peer(), kind.binary())?;
        let daemon = Daemon::start(
            kind.peer(),
            Duration::from_secs(30),
            |port, _dir: &Path| {
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
                cmd
            },
            |port| http::request(port, "GET", kind.health()).is_some_and(|(code, _)| code == 200),
        );
        Some(Emulator {
            kind,
            port: daemon.port,
            daemon,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        self.daemon.endpoint()
    }

    /// Forgets every zone (the emulator's reset endpoint).
    pub fn reset(&self) {
        let r = http::request(self.port, "POST", self.kind.reset_path());
        assert!(
            r.as_ref().is_some_and(|(c, _)| *c == 200),
            "reset failed: {r:?}"
        );
    }

    /// What the emulator logged.
    pub fn log(&self) -> String {
        self.daemon.log()
    }
}

/// Prism (`prism mock`) serving an OpenAPI schema, killed when dropped.
pub struct Prism {
    pub port: u16,
    daemon: Daemon,
}

impl Prism {
    /// Starts Prism on `schema` and waits until it answers HTTP. The binary is
    /// `$SWITCHBACK_PRISM` when set, else `target/peers/prism/node_modules/.bin/prism`.
    pub fn start(schema: &Path) -> Option<Prism> {
        let bin = match std::env::var_os("SWITCHBACK_PRISM") {
            Some(b) => b.into(),
            None => peers::installed("prism", "node_modules/.bin/prism")?,
        };
        let daemon = Daemon::start(
            "prism",
            Duration::from_secs(90),
            |port, _dir: &Path| {
                let mut cmd = Command::new(&bin);
                cmd.args(["mock", "-h", "127.0.0.1", "-p", &port.to_string()])
                    .arg(schema);
                cmd
            },
            |port| http::request(port, "GET", "/").is_some(),
        );
        Some(Prism {
            port: daemon.port,
            daemon,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.daemon.endpoint()
    }

    /// What Prism printed.
    pub fn log(&self) -> String {
        self.daemon.log()
    }
}
