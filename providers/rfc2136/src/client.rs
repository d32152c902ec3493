//! The exchanges with the primary, over TCP (RFC 7766 framing): AXFR (every message's TSIG
//! verified, RFC 8945 §5.3.1) and UPDATE (signed; the answer's TSIG verified). Nothing is
//! retried: an UPDATE whose answer was lost may have been applied, and the planner's read-back
//! decides (its prerequisites make a second send of the same message fail, not apply twice).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use switchback_api::provider::ClientStats;
use switchback_api::tsig::{self, Key};
use switchback_api::{Name, ProviderError, RType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::debug;

use crate::convert::{self, WireRecord, rcode_name};

/// A connection's worth of settings, and the counts `/metrics` shows.
#[derive(Debug)]
pub struct Client {
    pub server: SocketAddr,
    pub timeout: Duration,
    key: Option<Key>,
    transfer_key: Option<Key>,
    calls: AtomicU64,
    errors: AtomicU64,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Client {
    pub fn new(
        server: SocketAddr,
        timeout: Duration,
        key: Option<Key>,
        transfer_key: Option<Key>,
    ) -> Client {
        Client {
            server,
            timeout,
            key,
            transfer_key,
            calls: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        }
    }

    pub fn stats(&self) -> ClientStats {
        ClientStats {
            calls: self.calls.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            retries: 0,
        }
    }

    fn failed(&self, e: ProviderError) -> ProviderError {
        self.errors.fetch_add(1, Ordering::Relaxed);
        e
    }

    async fn connect(&self) -> Result<TcpStream, ProviderError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        match tokio::time::timeout(self.timeout, TcpStream::connect(self.server)).await {
            Ok(Ok(s)) => {
                s.set_nodelay(true).ok();
                Ok(s)
            }
            Ok(Err(e)) => Err(self.failed(ProviderError::Transport(format!(
                "cannot connect to {}: {e}",
                self.server
            )))),
            Err(_) => Err(self.failed(ProviderError::Transport(format!(
                "no connection to {} within {:?}",
                self.server, self.timeout
            )))),
        }
    }

    /// The whole zone by AXFR: its records in the order sent, the closing SOA included.
    pub async fn axfr(&self, zone: &Name) -> Result<Vec<WireRecord>, ProviderError> {
        let key = self.transfer_key.as_ref().or(self.key.as_ref());
        let id = rand::random();
        let mut q = convert::axfr_query(id, zone);
        let mac = key.map(|k| tsig::sign(&mut q, k, now(), None));
        let mut s = self.connect().await?;
        let work = async {
            write_msg(&mut s, &q).await?;
            let mut verifier = key
                .zip(mac.as_deref())
                .map(|(k, m)| tsig::Verifier::new(k, m, now()));
            let mut records: Vec<WireRecord> = Vec::new();
            let mut messages = 0usize;
            loop {
                let raw = read_msg(&mut s).await?;
                messages += 1;
                let body = match &mut verifier {
                    Some(v) => v.check(&raw).map_err(|e| {
                        ProviderError::Auth(format!("AXFR of {zone} from {}: {e}", self.server))
                    })?,
                    None => raw,
                };
                let p = convert::parse(&body).map_err(ProviderError::Other)?;
                if p.id != id {
                    return Err(ProviderError::Other(format!(
                        "AXFR of {zone}: an answer with another id"
                    )));
                }
                if p.rcode != 0 {
                    let rc = rcode_name(p.rcode);
                    let msg = format!(
                        "AXFR of {zone} from {} answered {rc} (does the server allow transfers to this host{}?)",
                        self.server,
                        if key.is_some() { " with this key" } else { "" }
                    );
                    return Err(match p.rcode {
                        5 | 9 => ProviderError::Auth(msg),
                        _ => ProviderError::Other(msg),
                    });
                }
                let first = records.is_empty();
                records.extend(p.answers);
                if first
                    && records
                        .first()
                        .is_some_and(|r| r.rtype != RType::SOA.0 || r.owner != *zone)
                {
                    return Err(ProviderError::Other(format!(
                        "AXFR of {zone}: the answer does not start with the zone's SOA"
                    )));
                }
                let done = records.len() > 1
                    && records
                        .last()
                        .is_some_and(|r| r.rtype == RType::SOA.0 && r.owner == *zone);
                if done {
                    if let Some(v) = &verifier {
                        if !v.finished_signed() {
                            return Err(ProviderError::Auth(format!(
                                "AXFR of {zone}: the last message is not signed"
                            )));
                        }
                    }
                    debug!(%zone, messages, records = records.len(), "AXFR");
                    return Ok(records);
                }
            }
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => Err(self.failed(e)),
            Err(_) => Err(self.failed(ProviderError::Transport(format!(
                "AXFR of {zone} from {} did not finish within {:?}",
                self.server, self.timeout
            )))),
        }
    }

    /// Sends one UPDATE message (signed with the key) and checks its answer.
    pub async fn update(&self, zone: &Name, mut msg: Vec<u8>) -> Result<(), ProviderError> {
        let id = u16::from_be_bytes([msg[0], msg[1]]);
        let mac = self
            .key
            .as_ref()
            .map(|k| tsig::sign(&mut msg, k, now(), None));
        let mut s = self.connect().await?;
        let work = async {
            write_msg(&mut s, &msg).await?;
            let raw = read_msg(&mut s).await?;
            let body = match (&self.key, &mac) {
                (Some(k), Some(m)) => tsig::Verifier::new(k, m, now())
                    .check(&raw)
                    .map_err(|e| ProviderError::Auth(format!("UPDATE of {zone}: {e}")))?,
                _ => raw,
            };
            let p = convert::parse(&body).map_err(ProviderError::Other)?;
            if p.id != id {
                return Err(ProviderError::Other(format!(
                    "UPDATE of {zone}: an answer with another id"
                )));
            }
            let rc = rcode_name(p.rcode);
            match p.rcode {
                0 => Ok(()),
                // A prerequisite failed: the zone is not what the change was planned against.
                6..=8 => Err(ProviderError::Conflict {
                    record: zone.to_string(),
                    message: format!(
                        "the server answered {rc}: a record set changed since the plan (nothing of this message was applied)"
                    ),
                }),
                5 | 9 => Err(ProviderError::Auth(format!(
                    "UPDATE of {zone} answered {rc}: does the server allow updates{}?",
                    if self.key.is_some() {
                        " with this key"
                    } else {
                        " without a key"
                    }
                ))),
                _ => Err(ProviderError::Other(format!(
                    "UPDATE of {zone} answered {rc}"
                ))),
            }
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(r) => r.map_err(|e| self.failed(e)),
            Err(_) => Err(self.failed(ProviderError::Transport(format!(
                "no answer to the UPDATE of {zone} from {} within {:?} (it may have been applied)",
                self.server, self.timeout
            )))),
        }
    }
}

async fn write_msg(s: &mut TcpStream, m: &[u8]) -> Result<(), ProviderError> {
    let mut framed = Vec::with_capacity(m.len() + 2);
    framed.extend_from_slice(&(m.len() as u16).to_be_bytes());
    framed.extend_from_slice(m);
    s.write_all(&framed)
        .await
        .map_err(|e| ProviderError::Transport(format!("send: {e}")))
}

async fn read_msg(s: &mut TcpStream) -> Result<Vec<u8>, ProviderError> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len)
        .await
        .map_err(|e| ProviderError::Transport(format!("receive: {e}")))?;
    let mut m = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut m)
        .await
        .map_err(|e| ProviderError::Transport(format!("receive: {e}")))?;
    Ok(m)
}
