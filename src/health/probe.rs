//! The probes: TCP connect, HTTP(S) GET, DNS query. Each is built once per check and run on
//! every tick; the caller ([`run_probe`]) bounds it with the check's timeout and measures it.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use reqwest::Url;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::spec::{CheckTarget, HealthSpec};
use super::state::ProbeResult;

/// What a probe returns: `Ok` when the target is healthy, else a one-line reason.
pub type ProbeFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// One kind of check. Implemented by the built-in probes and by fakes in tests.
pub trait Probe: Send + Sync + 'static {
    fn probe(&self) -> ProbeFuture<'_>;
}

/// The most of a body read when looking for `expect_body`.
pub const MAX_BODY: usize = 1 << 20;

/// Build the probe for a validated spec (the HTTP client, with its TLS settings, is built here
/// once and reused: every probe still opens a fresh connection).
pub fn build_probe(spec: &HealthSpec) -> Result<Arc<dyn Probe>, String> {
    Ok(match &spec.target {
        CheckTarget::Tcp { host, port } => Arc::new(TcpProbe {
            host: host.clone(),
            port: *port,
        }),
        CheckTarget::Http { url } => Arc::new(HttpProbe::new(spec, url)?),
        CheckTarget::Dns {
            host,
            port,
            name,
            rtype,
        } => Arc::new(DnsProbe {
            host: host.clone(),
            port: *port,
            name: name.clone(),
            rtype: *rtype,
            expect: spec.expect_answer.clone(),
        }),
    })
}

/// The OS errors that say this machine is out of a resource, not that the target is down:
/// EMFILE, ENFILE (file descriptors), ENOMEM, ENOBUFS (memory, buffers), EADDRNOTAVAIL (no
/// local port left). Their text always ends with `(os error N)`, also inside the HTTP and DNS
/// clients' error chains.
const LOCAL_OS_ERRORS: &[(i32, &str)] = &[
    (24, "file descriptors"),
    (23, "file descriptors"),
    (12, "memory"),
    (105, "buffers"),
    (99, "local ports"),
];

/// Why a failed probe is local trouble, if it is: a resource of this machine ran out, or the
/// runtime was so overloaded that the probe's timeout fired long after it was due.
pub fn local_cause(
    error: &str,
    timed_out: bool,
    latency: Duration,
    timeout: Duration,
) -> Option<String> {
    for (code, what) in LOCAL_OS_ERRORS {
        if error.contains(&format!("(os error {code})")) {
            return Some(format!("out of {what} here"));
        }
    }
    if timed_out && latency > timeout * 2 + Duration::from_millis(250) {
        return Some(format!(
            "the runtime is overloaded (a {} timeout fired after {})",
            crate::duration::format_duration(timeout),
            crate::duration::format_duration(latency)
        ));
    }
    None
}

/// Run `probe` once, bounded by `timeout`: the result with its time and latency.
pub async fn run_probe(probe: &dyn Probe, timeout: Duration) -> ProbeResult {
    let at = SystemTime::now();
    // tokio's clock: the same as std's, but paused and advanced in tests that simulate time.
    let start = tokio::time::Instant::now();
    let outcome = tokio::time::timeout(timeout, probe.probe()).await;
    let latency = start.elapsed();
    let (error, timed_out) = match outcome {
        Ok(Ok(())) => (None, false),
        Ok(Err(e)) => (Some(e), false),
        Err(_) => (
            Some(format!(
                "timed out after {}",
                crate::duration::format_duration(timeout)
            )),
            true,
        ),
    };
    let local = error
        .as_deref()
        .and_then(|e| local_cause(e, timed_out, latency, timeout));
    ProbeResult {
        at,
        latency,
        ok: error.is_none(),
        error: match (error, &local) {
            (Some(e), Some(why)) => Some(format!("{e} (local trouble: {why}; not counted)")),
            (e, _) => e,
        },
        local: local.is_some(),
    }
}

/// One probe of `spec`, for `switchback health` and tools: a build error is a failed result.
pub async fn probe_once(spec: &HealthSpec) -> ProbeResult {
    match build_probe(spec) {
        Ok(p) => run_probe(&*p, spec.timeout).await,
        Err(e) => ProbeResult {
            at: SystemTime::now(),
            latency: Duration::ZERO,
            ok: false,
            error: Some(e),
            local: false,
        },
    }
}

/// An error and its causes on one line (`error sending request: … : invalid peer certificate`).
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = c.source();
    }
    s
}

async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("cannot resolve {host}: no addresses"));
    }
    Ok(addrs)
}

/// `tcp://HOST:PORT`: up when a connection is accepted (then closed at once).
pub struct TcpProbe {
    host: String,
    port: u16,
}

impl Probe for TcpProbe {
    fn probe(&self) -> ProbeFuture<'_> {
        Box::pin(async move {
            let addrs = resolve(&self.host, self.port).await?;
            let mut last = String::new();
            for a in addrs {
                match TcpStream::connect(a).await {
                    Ok(_) => return Ok(()),
                    Err(e) => last = format!("connect {a}: {e}"),
                }
            }
            Err(last)
        })
    }
}

/// `http://…` / `https://…`: a GET; up when the status is in `expect_status` and the body
/// (when `expect_body` is set) contains the substring.
///
/// Choices: redirects are not followed (a 3xx is judged by its own status, and 200-399 counts
/// it as up, as HAProxy and most load balancers do; following could test another host); no
/// proxy from the environment; no pooled connections (each probe opens its own, so a dead
/// listener is seen even while an old keep-alive connection lives); with `host`, the URL's
/// host is replaced by it (Host header, SNI and certificate name) while the connection still
/// goes to the URL's host.
pub struct HttpProbe {
    client: reqwest::Client,
    url: Url,
    expect_status: Vec<RangeInclusive<u16>>,
    expect_status_text: String,
    expect_body: Option<String>,
}

/// Sends every name the client asks for to the original host of the URL.
struct PinnedResolver {
    host: String,
}

impl reqwest::dns::Resolve for PinnedResolver {
    fn resolve(&self, _name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = self.host.clone();
        Box::pin(async move {
            let addrs = resolve(&host, 0)
                .await
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { e.into() })?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl HttpProbe {
    fn new(spec: &HealthSpec, url: &Url) -> Result<HttpProbe, String> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .pool_max_idle_per_host(0)
            .timeout(spec.timeout)
            .connect_timeout(spec.timeout)
            .user_agent(concat!("switchback-health/", env!("CARGO_PKG_VERSION")));
        if !spec.tls_verify {
            builder = builder
                .tls_danger_accept_invalid_certs(true)
                .tls_danger_accept_invalid_hostnames(true);
        }
        let mut url = url.clone();
        if let Some(h) = &spec.host {
            let original = url
                .host_str()
                .unwrap_or("")
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            url.set_host(Some(h))
                .map_err(|e| format!("health.host {h:?}: {e}"))?;
            builder = builder.dns_resolver(Arc::new(PinnedResolver { host: original }));
        }
        let client = builder
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {}", chain(&e)))?;
        Ok(HttpProbe {
            client,
            url,
            expect_status: spec.expect_status.clone(),
            expect_status_text: spec.expect_status_text(),
            expect_body: spec.expect_body.clone(),
        })
    }
}

impl Probe for HttpProbe {
    fn probe(&self) -> ProbeFuture<'_> {
        Box::pin(async move {
            let mut resp = self
                .client
                .get(self.url.clone())
                .send()
                .await
                .map_err(|e| chain(&e.without_url()))?;
            let status = resp.status().as_u16();
            if !self.expect_status.iter().any(|r| r.contains(&status)) {
                return Err(format!(
                    "status {status} (expected {})",
                    self.expect_status_text
                ));
            }
            let Some(want) = &self.expect_body else {
                return Ok(());
            };
            let mut body: Vec<u8> = Vec::new();
            while let Some(chunk) = resp
                .chunk()
                .await
                .map_err(|e| format!("reading the body: {}", chain(&e.without_url())))?
            {
                body.extend_from_slice(&chunk);
                if contains(&body, want.as_bytes()) {
                    return Ok(());
                }
                if body.len() >= MAX_BODY {
                    break;
                }
            }
            Err(format!(
                "body does not contain {want:?} (status {status}, {} bytes read)",
                body.len()
            ))
        })
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// `dns://HOST:PORT/NAME/TYPE`: a non-recursive query (RD=0) with a random id over UDP (TCP
/// when the answer is truncated); up when the reply has the id and question, NOERROR, at
/// least one record of TYPE in the answer section, and every `expect_answer` among them.
pub struct DnsProbe {
    host: String,
    port: u16,
    name: Name,
    rtype: RecordType,
    expect: Vec<String>,
}

impl DnsProbe {
    fn judge(&self, reply: &Message) -> Result<(), String> {
        let rcode = reply.metadata.response_code;
        if rcode != ResponseCode::NoError {
            return Err(format!("{} {}: rcode {rcode}", self.name, self.rtype));
        }
        let got: Vec<String> = reply
            .answers
            .iter()
            .filter(|r| r.record_type() == self.rtype)
            .map(|r| r.data.to_string())
            .collect();
        if got.is_empty() {
            return Err(format!("{} {}: no answer", self.name, self.rtype));
        }
        let norm: Vec<String> = got.iter().map(|v| normalize(v)).collect();
        for want in &self.expect {
            if !norm.contains(&normalize(want)) {
                return Err(format!(
                    "{} {}: answer [{}] does not include {want}",
                    self.name,
                    self.rtype,
                    got.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// The reply to our query: same id, a response, the same question (names compare
    /// without case).
    fn is_reply_to(&self, m: &Message, id: u16) -> bool {
        m.metadata.id == id
            && m.metadata.message_type == MessageType::Response
            && m.queries.len() == 1
            && m.queries[0].query_type() == self.rtype
            && m.queries[0].name() == &self.name
    }

    async fn over_udp(&self, addr: SocketAddr, packet: &[u8], id: u16) -> Result<Message, String> {
        let local: SocketAddr = if addr.is_ipv4() {
            SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, 0))
        } else {
            SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 0))
        };
        let sock = UdpSocket::bind(local)
            .await
            .map_err(|e| format!("udp socket: {e}"))?;
        sock.connect(addr)
            .await
            .map_err(|e| format!("udp {addr}: {e}"))?;
        sock.send(packet)
            .await
            .map_err(|e| format!("udp {addr}: {e}"))?;
        let mut buf = vec![0u8; 4096];
        loop {
            // A refused port shows up here as ECONNREFUSED on a connected socket.
            let n = sock
                .recv(&mut buf)
                .await
                .map_err(|e| format!("udp {addr}: {e}"))?;
            // Stray or spoofed datagrams (wrong id or question) are ignored: keep waiting
            // until the timeout.
            if let Ok(m) = Message::from_vec(&buf[..n])
                && self.is_reply_to(&m, id)
            {
                return Ok(m);
            }
        }
    }

    async fn over_tcp(&self, addr: SocketAddr, packet: &[u8], id: u16) -> Result<Message, String> {
        let mut s = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("tcp {addr}: {e}"))?;
        let mut framed = (packet.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(packet);
        s.write_all(&framed)
            .await
            .map_err(|e| format!("tcp {addr}: {e}"))?;
        let mut len = [0u8; 2];
        s.read_exact(&mut len)
            .await
            .map_err(|e| format!("tcp {addr}: {e}"))?;
        let mut m = vec![0u8; u16::from_be_bytes(len) as usize];
        s.read_exact(&mut m)
            .await
            .map_err(|e| format!("tcp {addr}: {e}"))?;
        let m = Message::from_vec(&m).map_err(|e| format!("tcp {addr}: bad reply: {e}"))?;
        if !self.is_reply_to(&m, id) {
            return Err(format!("tcp {addr}: reply does not match the query"));
        }
        Ok(m)
    }
}

impl Probe for DnsProbe {
    fn probe(&self) -> ProbeFuture<'_> {
        Box::pin(async move {
            let addr = resolve(&self.host, self.port).await?[0];
            let mut q = Message::query();
            q.metadata.op_code = OpCode::Query;
            q.metadata.recursion_desired = false;
            q.add_query(Query::query(self.name.clone(), self.rtype));
            let id = q.metadata.id;
            let packet = q
                .to_vec()
                .map_err(|e| format!("cannot build the query: {e}"))?;
            let mut reply = self.over_udp(addr, &packet, id).await?;
            if reply.metadata.truncation {
                reply = self.over_tcp(addr, &packet, id).await?;
            }
            self.judge(&reply)
        })
    }
}

/// Presentation forms compared loosely: case, a trailing dot and address spelling do not
/// matter (`2001:DB8::1` = `2001:db8:0::1`).
fn normalize(v: &str) -> String {
    let v = v.trim();
    if let Ok(ip) = v.parse::<IpAddr>() {
        return ip.to_string();
    }
    v.split_whitespace()
        .map(|w| w.trim_end_matches('.').to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_forms() {
        assert_eq!(normalize("2001:DB8:0::1"), normalize("2001:db8::1"));
        assert_eq!(normalize("Mail.Example.COM."), "mail.example.com");
        assert_eq!(normalize("10  mx.example.com."), "10 mx.example.com");
        assert!(contains(b"hello world", b"o w"));
        assert!(!contains(b"hello", b"world"));
    }
}
