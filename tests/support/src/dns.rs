//! A small blocking DNS client for the tests, on hickory-proto's wire format.
//!
//! It sends one question over UDP or TCP (with or without EDNS, with any RD/CD/AD flags, class
//! and opcode), reads AXFR answers made of several messages, and can send raw bytes for the
//! malformed-packet cases. Every answer comes back as the raw bytes plus the parsed `Message`.

use std::fmt;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, RecordType};

/// How long one UDP attempt waits for its answer.
pub const UDP_TIMEOUT: Duration = Duration::from_millis(1500);
/// UDP attempts before giving up.
pub const UDP_ATTEMPTS: usize = 3;
/// How long a TCP read may block.
pub const TCP_TIMEOUT: Duration = Duration::from_secs(5);

/// Transport of one exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        })
    }
}

/// The OPT record a query carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EdnsOpt {
    pub payload: u16,
    pub version: u8,
    pub dnssec_ok: bool,
}

/// One question and how to ask it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Question {
    /// Query name exactly as sent (case kept), absolute or not (a dot is added).
    pub name: String,
    pub qtype: RecordType,
    pub qclass: DNSClass,
    pub opcode: OpCode,
    pub rd: bool,
    pub cd: bool,
    pub ad: bool,
    pub edns: Option<EdnsOpt>,
    pub transport: Transport,
}

impl Question {
    /// A plain question: class IN, no RD, no EDNS, over UDP.
    pub fn new(name: &str, qtype: RecordType) -> Self {
        Question {
            name: if name.ends_with('.') {
                name.to_string()
            } else {
                format!("{name}.")
            },
            qtype,
            qclass: DNSClass::IN,
            opcode: OpCode::Query,
            rd: false,
            cd: false,
            ad: false,
            edns: None,
            transport: Transport::Udp,
        }
    }

    pub fn tcp(mut self) -> Self {
        self.transport = Transport::Tcp;
        self
    }

    pub fn udp(mut self) -> Self {
        self.transport = Transport::Udp;
        self
    }

    pub fn rd(mut self) -> Self {
        self.rd = true;
        self
    }

    pub fn cd(mut self) -> Self {
        self.cd = true;
        self
    }

    pub fn ad(mut self) -> Self {
        self.ad = true;
        self
    }

    pub fn class(mut self, class: DNSClass) -> Self {
        self.qclass = class;
        self
    }

    /// EDNS version 0 with this UDP payload size.
    pub fn edns(mut self, payload: u16) -> Self {
        self.edns = Some(EdnsOpt {
            payload,
            version: 0,
            dnssec_ok: false,
        });
        self
    }

    /// Sets the EDNS version (adds EDNS with payload 1232 if absent).
    pub fn edns_version(mut self, version: u8) -> Self {
        let mut e = self.edns.unwrap_or(EdnsOpt {
            payload: 1232,
            version: 0,
            dnssec_ok: false,
        });
        e.version = version;
        self.edns = Some(e);
        self
    }

    /// Sets the DO bit (adds EDNS with payload 1232 if absent).
    pub fn dnssec_ok(mut self) -> Self {
        let mut e = self.edns.unwrap_or(EdnsOpt {
            payload: 1232,
            version: 0,
            dnssec_ok: false,
        });
        e.dnssec_ok = true;
        self.edns = Some(e);
        self
    }

    /// The largest UDP answer this question allows (RFC 6891 §6.2.5: below 512 counts as 512).
    pub fn udp_limit(&self) -> usize {
        match self.edns {
            Some(e) => usize::from(e.payload.max(512)),
            None => 512,
        }
    }

    /// The query message, with the given id.
    pub fn to_message(&self, id: u16) -> Message {
        let name = Name::from_ascii(&self.name)
            .unwrap_or_else(|e| panic!("bad query name {:?}: {e}", self.name));
        let mut msg = Message::new(id, MessageType::Query, self.opcode);
        msg.metadata.recursion_desired = self.rd;
        msg.metadata.checking_disabled = self.cd;
        msg.metadata.authentic_data = self.ad;
        let mut q = Query::query(name, self.qtype);
        q.set_query_class(self.qclass);
        msg.add_query(q);
        if let Some(e) = self.edns {
            let mut edns = Edns::new();
            edns.set_max_payload(e.payload);
            edns.set_version(e.version);
            edns.set_dnssec_ok(e.dnssec_ok);
            msg.set_edns(edns);
        }
        msg
    }

    /// The query in wire form.
    pub fn to_wire(&self, id: u16) -> Vec<u8> {
        self.to_message(id)
            .to_vec()
            .unwrap_or_else(|e| panic!("cannot encode query {self}: {e}"))
    }
}

impl fmt::Display for Question {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.name,
            self.qclass,
            crate::compare::type_name(self.qtype)
        )?;
        if self.opcode != OpCode::Query {
            write!(f, " opcode={}", u8::from(self.opcode))?;
        }
        write!(f, " {}", self.transport)?;
        match self.edns {
            None => write!(f, " noedns")?,
            Some(e) => {
                write!(f, " edns={}", e.payload)?;
                if e.version != 0 {
                    write!(f, " ednsver={}", e.version)?;
                }
                if e.dnssec_ok {
                    write!(f, " +do")?;
                }
            }
        }
        if self.rd {
            write!(f, " +rd")?;
        }
        if self.cd {
            write!(f, " +cd")?;
        }
        if self.ad {
            write!(f, " +ad")?;
        }
        Ok(())
    }
}

/// An answer: the bytes as received and the parsed message.
#[derive(Clone, Debug)]
pub struct Response {
    pub raw: Vec<u8>,
    pub msg: Message,
}

impl Response {
    pub fn parse(raw: Vec<u8>) -> Result<Self, String> {
        let msg = Message::from_vec(&raw).map_err(|e| {
            format!(
                "cannot parse a {}-byte answer: {e}; first bytes: {}",
                raw.len(),
                hex(&raw[..raw.len().min(96)])
            )
        })?;
        Ok(Response { raw, msg })
    }

    pub fn rcode(&self) -> ResponseCode {
        self.msg.metadata.response_code
    }

    /// The answer section in presentation form (see `compare::record_to_string`).
    pub fn answers(&self) -> Vec<String> {
        self.msg
            .answers
            .iter()
            .map(crate::compare::record_to_string)
            .collect()
    }

    /// The RDATA of each answer record whose type is `rtype`, in presentation form.
    pub fn answer_rdata(&self, rtype: RecordType) -> Vec<String> {
        self.msg
            .answers
            .iter()
            .filter(|r| r.record_type() == rtype)
            .map(|r| crate::compare::rdata_to_string(&r.data))
            .collect()
    }
}

fn next_id() -> u16 {
    // Unpredictability does not matter here; distinctness between retries does.
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let seed = (std::process::id() as u16).wrapping_mul(7919);
    NEXT.fetch_add(1, Ordering::Relaxed)
        .wrapping_mul(40503)
        .wrapping_add(seed)
}

/// Sends `q` to `server` and returns the parsed answer.
pub fn query(server: SocketAddr, q: &Question) -> Result<Response, String> {
    let id = next_id();
    let wire = q.to_wire(id);
    let raw = match q.transport {
        Transport::Udp => exchange_udp(server, &wire)?.ok_or_else(|| {
            format!("no UDP answer from {server} after {UDP_ATTEMPTS} attempts for {q}")
        })?,
        Transport::Tcp => exchange_tcp(server, &wire)?,
    };
    let resp = Response::parse(raw).map_err(|e| format!("{q} -> {server}: {e}"))?;
    if resp.msg.metadata.id != id {
        return Err(format!(
            "{q} -> {server}: answer id {} for query id {id}",
            resp.msg.metadata.id
        ));
    }
    Ok(resp)
}

/// Sends raw bytes over UDP; `Ok(None)` when no answer comes back (a server may drop junk).
/// The first two bytes of `wire` are the id an answer must carry, unless `wire` is shorter.
pub fn exchange_udp(server: SocketAddr, wire: &[u8]) -> Result<Option<Vec<u8>>, String> {
    exchange_udp_with(server, wire, UDP_ATTEMPTS, UDP_TIMEOUT)
}

pub fn exchange_udp_with(
    server: SocketAddr,
    wire: &[u8],
    attempts: usize,
    timeout: Duration,
) -> Result<Option<Vec<u8>>, String> {
    let sock = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("bind UDP: {e}"))?;
    sock.connect(server)
        .map_err(|e| format!("connect UDP {server}: {e}"))?;
    let mut buf = vec![0u8; 65535];
    for _ in 0..attempts {
        sock.send(wire)
            .map_err(|e| format!("send UDP to {server}: {e}"))?;
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            sock.set_read_timeout(Some(left))
                .map_err(|e| format!("set_read_timeout: {e}"))?;
            match sock.recv(&mut buf) {
                Ok(n) => {
                    // Ignore a late answer to an earlier query on this socket.
                    if wire.len() >= 2 && (n < 2 || buf[..2] != wire[..2]) {
                        continue;
                    }
                    return Ok(Some(buf[..n].to_vec()));
                }
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    break;
                }
                // ICMP port unreachable: nobody listens (yet).
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    std::thread::sleep(Duration::from_millis(20));
                    break;
                }
                Err(e) => return Err(format!("recv UDP from {server}: {e}")),
            }
        }
    }
    Ok(None)
}

fn tcp_connect(server: SocketAddr) -> Result<TcpStream, String> {
    let s = TcpStream::connect_timeout(&server, TCP_TIMEOUT)
        .map_err(|e| format!("connect TCP {server}: {e}"))?;
    s.set_read_timeout(Some(TCP_TIMEOUT))
        .map_err(|e| format!("set_read_timeout: {e}"))?;
    s.set_write_timeout(Some(TCP_TIMEOUT))
        .map_err(|e| format!("set_write_timeout: {e}"))?;
    s.set_nodelay(true).ok();
    Ok(s)
}

fn tcp_send(s: &mut TcpStream, wire: &[u8]) -> Result<(), String> {
    let len = u16::try_from(wire.len()).map_err(|_| "message over 65535 bytes".to_string())?;
    let mut framed = Vec::with_capacity(wire.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(wire);
    s.write_all(&framed).map_err(|e| format!("write TCP: {e}"))
}

/// Reads one length-prefixed message; `Ok(None)` on a clean close before the length.
fn tcp_read(s: &mut TcpStream) -> Result<Option<Vec<u8>>, String> {
    let mut len = [0u8; 2];
    match s.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(format!("read TCP length: {e}")),
    }
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut buf)
        .map_err(|e| format!("read TCP message: {e}"))?;
    Ok(Some(buf))
}

/// Sends one message over a new TCP connection and returns the first answer.
pub fn exchange_tcp(server: SocketAddr, wire: &[u8]) -> Result<Vec<u8>, String> {
    let mut s = tcp_connect(server)?;
    tcp_send(&mut s, wire)?;
    tcp_read(&mut s)?.ok_or_else(|| format!("{server} closed the TCP connection without answer"))
}

/// Like `exchange_tcp`, but `Ok(None)` when the server closes, resets or stays silent for
/// `timeout` (a server may ignore junk).
pub fn exchange_tcp_opt(
    server: SocketAddr,
    wire: &[u8],
    timeout: Duration,
) -> Result<Option<Vec<u8>>, String> {
    let mut s = tcp_connect(server)?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| format!("set_read_timeout: {e}"))?;
    tcp_send(&mut s, wire)?;
    let mut len = [0u8; 2];
    match s.read_exact(&mut len) {
        Ok(()) => {}
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::WouldBlock
                    | std::io::ErrorKind::TimedOut
                    | std::io::ErrorKind::ConnectionReset
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(format!("read TCP length: {e}")),
    }
    s.set_read_timeout(Some(TCP_TIMEOUT))
        .map_err(|e| format!("set_read_timeout: {e}"))?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut buf)
        .map_err(|e| format!("read TCP message: {e}"))?;
    Ok(Some(buf))
}

/// Sends several queries down one TCP connection (pipelined, RFC 7766 §6.2.1.1) and returns
/// the answers in the order they arrive.
pub fn pipeline_tcp(server: SocketAddr, qs: &[Question]) -> Result<Vec<Response>, String> {
    let mut s = tcp_connect(server)?;
    for (i, q) in qs.iter().enumerate() {
        tcp_send(&mut s, &q.to_wire(1000 + i as u16))?;
    }
    let mut out = Vec::new();
    for _ in qs {
        let raw = tcp_read(&mut s)?.ok_or("connection closed early")?;
        out.push(Response::parse(raw)?);
    }
    Ok(out)
}

/// A full zone transfer over TCP: every message until the closing SOA.
/// Stops after the first message when that one carries an error rcode.
pub fn axfr(server: SocketAddr, zone: &str) -> Result<Vec<Response>, String> {
    axfr_question(server, &Question::new(zone, RecordType::AXFR).tcp())
}

pub fn axfr_question(server: SocketAddr, q: &Question) -> Result<Vec<Response>, String> {
    let id = next_id();
    let mut s = tcp_connect(server)?;
    tcp_send(&mut s, &q.to_wire(id))?;
    let mut out: Vec<Response> = Vec::new();
    let mut soas = 0usize;
    let mut records = 0usize;
    let started = Instant::now();
    loop {
        if started.elapsed() > Duration::from_secs(60) {
            return Err(format!("AXFR {q} from {server}: no end after 60 s"));
        }
        let Some(raw) = tcp_read(&mut s)? else {
            if out.is_empty() {
                return Err(format!("AXFR {q} from {server}: closed without an answer"));
            }
            return Err(format!(
                "AXFR {q} from {server}: closed after {records} records without the closing SOA"
            ));
        };
        let r = Response::parse(raw)?;
        if r.msg.metadata.id != id {
            return Err(format!(
                "AXFR {q}: message id {} for query id {id}",
                r.msg.metadata.id
            ));
        }
        let failed = r.rcode() != ResponseCode::NoError;
        for rec in &r.msg.answers {
            records += 1;
            if matches!(rec.data, RData::SOA(_)) {
                soas += 1;
            }
        }
        let first_is_soa = out.is_empty()
            && r.msg
                .answers
                .first()
                .is_some_and(|rec| matches!(rec.data, RData::SOA(_)));
        let first_empty = out.is_empty() && r.msg.answers.is_empty();
        out.push(r);
        if failed || first_empty {
            return Ok(out);
        }
        if out.len() == 1 && !first_is_soa {
            return Err(format!(
                "AXFR {q} from {server}: the first record is not the SOA"
            ));
        }
        // The zone's SOA opens and closes the transfer (RFC 5936 §2.2).
        if soas >= 2 {
            return Ok(out);
        }
        if out.len() > 100_000 {
            return Err(format!("AXFR {q} from {server}: too many messages"));
        }
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}
