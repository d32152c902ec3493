//! A tiny blocking HTTP/1.1 client for peers' health and reset endpoints.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// `METHOD path` on 127.0.0.1:`port` with an empty body: `(status, body)`, or `None` when
/// nothing answered.
pub fn request(port: u16, method: &str, path: &str) -> Option<(u16, String)> {
    request_with(port, method, path, None)
}

/// [`request`] with `Authorization: Bearer TOKEN`.
pub fn request_with(
    port: u16,
    method: &str,
    path: &str,
    bearer: Option<&str>,
) -> Option<(u16, String)> {
    let auth = bearer.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
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
