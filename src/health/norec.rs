//! One non-recursive query (`dig +norec`) to an authoritative server: what it answers now for
//! a name and type, for the RTO's "visible" (DESIGN.md "RTO, measured"). UDP, and TCP when the
//! answer is truncated.

use std::net::SocketAddr;
use std::time::Duration;

use switchback_api::message::{self, Message};
use switchback_api::{Name, RType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// What a server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The AA bit.
    pub authoritative: bool,
    pub rcode: u8,
    /// The answer section's records of the asked name and type: their RDATA in canonical
    /// presentation form, sorted.
    pub values: Vec<String>,
    /// The SOA serial in the answer (a SOA query) or the authority section (a negative
    /// answer).
    pub serial: Option<u32>,
}

fn query_packet(id: u16, name: &Name, rtype: RType) -> Vec<u8> {
    let wire = name.wire();
    let mut m = Vec::with_capacity(12 + wire.len() + 4);
    m.extend_from_slice(&id.to_be_bytes());
    // QR=0, OPCODE=0, RD=0 (+norec); one question.
    m.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    m.extend_from_slice(wire);
    m.extend_from_slice(&rtype.0.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    m
}

fn next_id() -> u16 {
    crate::store::random_u64(0) as u16
}

/// Ask `server` for `name`/`rtype` without recursion, within `timeout`.
pub async fn query(
    server: SocketAddr,
    name: &Name,
    rtype: RType,
    timeout: Duration,
) -> Result<Answer, String> {
    tokio::time::timeout(timeout, query_inner(server, name, rtype))
        .await
        .map_err(|_| format!("no answer from {server} within {timeout:?}"))?
}

async fn query_inner(server: SocketAddr, name: &Name, rtype: RType) -> Result<Answer, String> {
    let id = next_id();
    let packet = query_packet(id, name, rtype);
    let bind: SocketAddr = if server.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = UdpSocket::bind(bind).await.map_err(|e| e.to_string())?;
    sock.connect(server).await.map_err(|e| e.to_string())?;
    sock.send(&packet)
        .await
        .map_err(|e| format!("{server}: {e}"))?;
    let mut buf = vec![0u8; 65535];
    let m = loop {
        let n = sock
            .recv(&mut buf)
            .await
            .map_err(|e| format!("{server}: {e}"))?;
        match message::parse(&buf[..n]) {
            Ok(m) if m.id == id && m.flags & 0x8000 != 0 => break m,
            _ => continue,
        }
    };
    let m = if m.flags & 0x0200 != 0 {
        over_tcp(server, &packet, id).await?
    } else {
        m
    };
    Ok(read_answer(&m, name, rtype))
}

async fn over_tcp(server: SocketAddr, packet: &[u8], id: u16) -> Result<Message, String> {
    let mut s = TcpStream::connect(server)
        .await
        .map_err(|e| format!("{server} (TCP): {e}"))?;
    let mut out = Vec::with_capacity(packet.len() + 2);
    out.extend_from_slice(&(packet.len() as u16).to_be_bytes());
    out.extend_from_slice(packet);
    s.write_all(&out).await.map_err(|e| e.to_string())?;
    let len = s.read_u16().await.map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; usize::from(len)];
    s.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
    let m = message::parse(&buf).map_err(|e| format!("{server}: {e}"))?;
    if m.id != id {
        return Err(format!("{server}: an answer to another query"));
    }
    Ok(m)
}

fn read_answer(m: &Message, name: &Name, rtype: RType) -> Answer {
    let mut values: Vec<String> = m
        .answers
        .iter()
        .filter(|r| r.owner == *name && r.rtype == rtype.0)
        .map(|r| {
            switchback_api::rdata::format(rtype, &r.rdata)
                .unwrap_or_else(|_| format!("\\# {}", r.rdata.len()))
        })
        .collect();
    values.sort();
    values.dedup();
    let serial = m
        .answers
        .iter()
        .chain(&m.authority)
        .find(|r| r.rtype == RType::SOA.0)
        .and_then(|r| soa_serial(&r.rdata));
    Answer {
        authoritative: m.flags & 0x0400 != 0,
        rcode: m.rcode(),
        values,
        serial,
    }
}

/// The serial of a SOA RDATA (uncompressed: two names, then five 32-bit fields).
fn soa_serial(rdata: &[u8]) -> Option<u32> {
    let a = switchback_api::rdata::name_end(rdata, 0)?;
    let b = switchback_api::rdata::name_end(rdata, a)?;
    let s = rdata.get(b..b + 4)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// RFC 1982: whether serial `a` is `b` or later.
pub fn serial_at_least(a: u32, b: u32) -> bool {
    a == b || (a.wrapping_sub(b) as i32) > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_compare_in_sequence_space() {
        assert!(serial_at_least(5, 5));
        assert!(serial_at_least(6, 5));
        assert!(!serial_at_least(4, 5));
        assert!(serial_at_least(1, u32::MAX));
        assert!(!serial_at_least(u32::MAX, 1));
    }

    #[test]
    fn the_query_asks_without_recursion() {
        let n: Name = "www.example.com.".parse().unwrap();
        let q = query_packet(7, &n, RType::A);
        let m = message::parse(&q).unwrap();
        assert_eq!(m.id, 7);
        assert_eq!(m.flags & 0x0100, 0, "RD must be clear");
        assert_eq!(m.questions[0].name, n);
    }
}
