//! `health = { check = "...", ... }`: the schema of one health check and its validation.

use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::rr::{Name, RecordType};
use reqwest::Url;
use serde::Deserialize;

use crate::duration::{format_duration, parse_duration};

/// Interval when none is given.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// Timeout when none is given (capped at half the interval).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
pub const DEFAULT_FALL: u32 = 3;
pub const DEFAULT_RISE: u32 = 2;
/// The shortest interval accepted.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// A bad `health` table. The message names the key: `health.fall: must be at least 1`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HealthSpecError(pub String);

fn err(key: &str, message: impl std::fmt::Display) -> HealthSpecError {
    HealthSpecError(format!("health.{key}: {message}"))
}

/// What a check probes, parsed from its `check` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckTarget {
    /// `tcp://HOST:PORT`: a TCP connect.
    Tcp { host: String, port: u16 },
    /// `http://…` or `https://…`: a GET judged by its status (and optionally its body).
    Http { url: Url },
    /// `dns://HOST[:PORT]/NAME[/TYPE]`: a UDP query (TCP when truncated) for NAME/TYPE sent to
    /// HOST:PORT (port 53, type A by default).
    Dns {
        host: String,
        port: u16,
        name: Name,
        rtype: RecordType,
    },
}

/// One health check: the `health = {...}` table of a `[[cutover]]`, validated at load.
///
/// Deserialized from the table with unknown keys refused; every bad value is an error naming
/// its key (`health.timeout: must be at most health.interval (5s)`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawHealthSpec")]
pub struct HealthSpec {
    /// The URL as written (shown in tables and logs; credentials in it are refused).
    pub check: String,
    pub target: CheckTarget,
    pub interval: Duration,
    pub timeout: Duration,
    /// Consecutive failures that take a check Down.
    pub fall: u32,
    /// Consecutive successes that take a check Up.
    pub rise: u32,
    /// HTTP(S): statuses that count as up (default 200-399).
    pub expect_status: Vec<RangeInclusive<u16>>,
    /// HTTP(S): a substring the body must contain.
    pub expect_body: Option<String>,
    /// DNS: values (presentation form) that must all be among the answer's records.
    pub expect_answer: Vec<String>,
    /// HTTP(S): the Host header and TLS SNI (and the name the certificate is checked against);
    /// the connection still goes to the URL's host.
    pub host: Option<String>,
    /// HTTPS: verify the certificate chain and name (default true).
    pub tls_verify: bool,
}

/// The table as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHealthSpec {
    check: String,
    interval: Option<String>,
    timeout: Option<String>,
    fall: Option<i64>,
    rise: Option<i64>,
    expect_status: Option<toml::Value>,
    expect_body: Option<String>,
    expect_answer: Option<toml::Value>,
    host: Option<String>,
    tls_verify: Option<bool>,
}

impl TryFrom<RawHealthSpec> for HealthSpec {
    type Error = HealthSpecError;

    fn try_from(raw: RawHealthSpec) -> Result<HealthSpec, HealthSpecError> {
        let target = parse_check(&raw.check)?;
        let is_http = matches!(target, CheckTarget::Http { .. });
        let is_https = matches!(&target, CheckTarget::Http { url } if url.scheme() == "https");
        let is_dns = matches!(target, CheckTarget::Dns { .. });
        let only = |key: &str, kinds: &str| err(key, format!("only applies to {kinds} checks"));

        let interval = match &raw.interval {
            Some(s) => parse_duration(s).map_err(|e| err("interval", e))?,
            None => DEFAULT_INTERVAL,
        };
        if interval < MIN_INTERVAL {
            return Err(err(
                "interval",
                format!("must be at least {}", format_duration(MIN_INTERVAL)),
            ));
        }
        let timeout = match &raw.timeout {
            Some(s) => parse_duration(s).map_err(|e| err("timeout", e))?,
            None => DEFAULT_TIMEOUT.min(interval / 2),
        };
        if timeout.is_zero() {
            return Err(err("timeout", "must be more than 0"));
        }
        if timeout > interval {
            return Err(err(
                "timeout",
                format!(
                    "must be at most health.interval ({})",
                    format_duration(interval)
                ),
            ));
        }
        let count = |key: &str, v: Option<i64>, default: u32| -> Result<u32, HealthSpecError> {
            match v {
                None => Ok(default),
                Some(n) if n < 1 => {
                    Err(HealthSpecError(format!("health.{key} must be at least 1")))
                }
                Some(n) if n > 1000 => Err(HealthSpecError(format!(
                    "health.{key} must be at most 1000"
                ))),
                Some(n) => Ok(n as u32),
            }
        };
        let fall = count("fall", raw.fall, DEFAULT_FALL)?;
        let rise = count("rise", raw.rise, DEFAULT_RISE)?;

        let expect_status = match &raw.expect_status {
            None => vec![200..=399],
            Some(_) if !is_http => return Err(only("expect_status", "http and https")),
            Some(v) => parse_status(v)?,
        };
        if raw.expect_body.is_some() && !is_http {
            return Err(only("expect_body", "http and https"));
        }
        if raw.expect_body.as_deref() == Some("") {
            return Err(err("expect_body", "must not be empty"));
        }
        let expect_answer = match &raw.expect_answer {
            None => Vec::new(),
            Some(_) if !is_dns => return Err(only("expect_answer", "dns")),
            Some(toml::Value::String(s)) => vec![s.clone()],
            Some(toml::Value::Array(a)) if !a.is_empty() => a
                .iter()
                .map(|v| match v {
                    toml::Value::String(s) => Ok(s.clone()),
                    other => Err(err(
                        "expect_answer",
                        format!("expected a string, found {}", other.type_str()),
                    )),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(err(
                    "expect_answer",
                    "expected a value such as \"192.0.2.1\" or a list of them",
                ));
            }
        };
        if expect_answer.iter().any(|a| a.trim().is_empty()) {
            return Err(err("expect_answer", "must not be empty"));
        }
        let host = match raw.host {
            None => None,
            Some(_) if !is_http => return Err(only("host", "http and https")),
            Some(h) => Some(check_host_override(&h)?),
        };
        let tls_verify = match raw.tls_verify {
            None => true,
            Some(_) if !is_https => return Err(only("tls_verify", "https")),
            Some(v) => v,
        };
        Ok(HealthSpec {
            check: raw.check,
            target,
            interval,
            timeout,
            fall,
            rise,
            expect_status,
            expect_body: raw.expect_body,
            expect_answer,
            host,
            tls_verify,
        })
    }
}

impl HealthSpec {
    /// A check with every other key at its default.
    pub fn new(check: &str) -> Result<HealthSpec, HealthSpecError> {
        HealthSpec::try_from(RawHealthSpec {
            check: check.to_string(),
            interval: None,
            timeout: None,
            fall: None,
            rise: None,
            expect_status: None,
            expect_body: None,
            expect_answer: None,
            host: None,
            tls_verify: None,
        })
    }

    /// Parse the inside of a `health = {...}` table written as TOML (`check = "...", fall = 2`
    /// or the whole `{ ... }`), mostly for tests and tools.
    pub fn from_toml(table: &str) -> Result<HealthSpec, HealthSpecError> {
        let t = table.trim();
        let t = t
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .unwrap_or(t);
        #[derive(Deserialize)]
        struct Wrap {
            health: HealthSpec,
        }
        toml::from_str::<Wrap>(&format!("health = {{ {t} }}"))
            .map(|w| w.health)
            .map_err(|e| {
                HealthSpecError(e.message().split_whitespace().collect::<Vec<_>>().join(" "))
            })
    }

    /// Whether `status` is one `expect_status` accepts.
    pub fn status_ok(&self, status: u16) -> bool {
        self.expect_status.iter().any(|r| r.contains(&status))
    }

    /// `expect_status` written back (`200-399`, `200, 204`).
    pub fn expect_status_text(&self) -> String {
        self.expect_status
            .iter()
            .map(|r| {
                if r.start() == r.end() {
                    r.start().to_string()
                } else {
                    format!("{}-{}", r.start(), r.end())
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn parse_check(check: &str) -> Result<CheckTarget, HealthSpecError> {
    let key = "check";
    let scheme = check.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    let Some(scheme) = scheme else {
        return Err(err(
            key,
            format!(
                "{check:?} is not a URL (tcp://HOST:PORT, http://…, https://…, dns://HOST:PORT/NAME/TYPE)"
            ),
        ));
    };
    if !matches!(scheme.as_str(), "tcp" | "http" | "https" | "dns") {
        return Err(err(
            key,
            format!("unknown scheme {scheme:?} (tcp, http, https, dns)"),
        ));
    }
    let url = Url::parse(check).map_err(|e| err(key, format!("{check:?}: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(err(
            key,
            "credentials in the URL are not allowed (secrets never go in the config file)",
        ));
    }
    let host = url
        .host_str()
        .unwrap_or("")
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    if host.is_empty() {
        return Err(err(key, format!("{check:?} has no host")));
    }
    match scheme.as_str() {
        "http" | "https" => Ok(CheckTarget::Http { url }),
        "tcp" => {
            let Some(port) = url.port() else {
                return Err(err(
                    key,
                    format!("{check:?}: tcp:// needs a port (tcp://HOST:PORT)"),
                ));
            };
            if port == 0 {
                return Err(err(key, format!("{check:?}: port 0")));
            }
            if !matches!(url.path(), "" | "/") || url.query().is_some() {
                return Err(err(
                    key,
                    format!("{check:?}: tcp:// takes no path or query"),
                ));
            }
            Ok(CheckTarget::Tcp { host, port })
        }
        _ => {
            let port = url.port().unwrap_or(53);
            if port == 0 {
                return Err(err(key, format!("{check:?}: port 0")));
            }
            if url.query().is_some() {
                return Err(err(key, format!("{check:?}: dns:// takes no query")));
            }
            let path = url.path().trim_start_matches('/');
            let mut parts = path.split('/');
            let name = parts.next().unwrap_or("");
            let rtype = parts.next().unwrap_or("A");
            if name.is_empty() || parts.next().is_some() {
                return Err(err(
                    key,
                    format!("{check:?}: expected dns://HOST:PORT/NAME/TYPE"),
                ));
            }
            let mut name = Name::from_ascii(name)
                .map_err(|e| err(key, format!("{check:?}: bad name {name:?}: {e}")))?;
            name.set_fqdn(true);
            let rtype_upper = rtype.to_ascii_uppercase();
            let rtype = RecordType::from_str(&rtype_upper)
                .ok()
                .filter(|t| !matches!(t, RecordType::Unknown(_)))
                .filter(|t| {
                    !matches!(
                        t,
                        RecordType::AXFR | RecordType::IXFR | RecordType::ANY | RecordType::OPT
                    )
                })
                .ok_or_else(|| {
                    err(
                        key,
                        format!("{check:?}: unknown or unusable type {rtype:?}"),
                    )
                })?;
            Ok(CheckTarget::Dns {
                host,
                port,
                name,
                rtype,
            })
        }
    }
}

fn parse_status(v: &toml::Value) -> Result<Vec<RangeInclusive<u16>>, HealthSpecError> {
    let key = "expect_status";
    let one = |v: &toml::Value| -> Result<Vec<RangeInclusive<u16>>, HealthSpecError> {
        let code = |n: i64| -> Result<u16, HealthSpecError> {
            if (100..=599).contains(&n) {
                Ok(n as u16)
            } else {
                Err(err(key, format!("{n} is not an HTTP status (100-599)")))
            }
        };
        match v {
            toml::Value::Integer(n) => {
                let c = code(*n)?;
                Ok(vec![c..=c])
            }
            toml::Value::String(s) => s
                .split(',')
                .map(|part| {
                    let part = part.trim();
                    let num = |t: &str| {
                        t.trim().parse::<i64>().map_err(|_| {
                            err(
                                key,
                                format!("{s:?}: expected a status or a range (200, 200-399, \"200, 204\")"),
                            )
                        })
                    };
                    match part.split_once('-') {
                        Some((a, b)) => {
                            let (a, b) = (code(num(a)?)?, code(num(b)?)?);
                            if a > b {
                                return Err(err(key, format!("{s:?}: range {a}-{b} is empty")));
                            }
                            Ok(a..=b)
                        }
                        None => {
                            let c = code(num(part)?)?;
                            Ok(c..=c)
                        }
                    }
                })
                .collect(),
            other => Err(err(
                key,
                format!("expected a number, a range string or a list, found {}", other.type_str()),
            )),
        }
    };
    match v {
        toml::Value::Array(a) => {
            if a.is_empty() {
                return Err(err(key, "must list at least one status"));
            }
            let mut out = Vec::new();
            for item in a {
                if item.is_array() {
                    return Err(err(key, "nested lists are not allowed"));
                }
                out.extend(one(item)?);
            }
            Ok(out)
        }
        v => one(v),
    }
}

fn check_host_override(h: &str) -> Result<String, HealthSpecError> {
    let h = h.trim().trim_end_matches('.');
    let ok = !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if ok {
        Ok(h.to_ascii_lowercase())
    } else {
        Err(err(
            "host",
            format!("{h:?} is not a host name (the Host header and TLS name, without a port)"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str) -> Result<HealthSpec, String> {
        HealthSpec::from_toml(t).map_err(|e| e.0)
    }

    #[test]
    fn defaults_and_forms() {
        let s = parse(r#"check = "http://192.0.2.10/healthz""#).unwrap();
        assert_eq!(s.interval, Duration::from_secs(5));
        assert_eq!(s.timeout, Duration::from_secs(2));
        assert_eq!((s.fall, s.rise), (3, 2));
        assert!(s.status_ok(200) && s.status_ok(399) && !s.status_ok(400) && !s.status_ok(199));
        assert!(s.tls_verify);

        let s = parse(r#"check = "tcp://db.example.com:5432", interval = "1s""#).unwrap();
        assert_eq!(
            s.target,
            CheckTarget::Tcp {
                host: "db.example.com".into(),
                port: 5432
            }
        );
        assert_eq!(
            s.timeout,
            Duration::from_millis(500),
            "default timeout capped at interval/2"
        );

        // A timeout equal to the interval is what users write (other tools accept it).
        let s = parse(r#"check = "tcp://x:1", interval = "2s", timeout = "2s""#).unwrap();
        assert_eq!(
            (s.interval, s.timeout),
            (Duration::from_secs(2), Duration::from_secs(2))
        );

        let s = parse(r#"check = "tcp://[2001:db8::1]:443""#).unwrap();
        assert_eq!(
            s.target,
            CheckTarget::Tcp {
                host: "2001:db8::1".into(),
                port: 443
            }
        );

        let s = parse(
            r#"check = "dns://127.0.0.1:5353/www.example.com/aaaa", expect_answer = "2001:db8::1""#,
        )
        .unwrap();
        match &s.target {
            CheckTarget::Dns {
                host,
                port,
                name,
                rtype,
            } => {
                assert_eq!((host.as_str(), *port), ("127.0.0.1", 5353));
                assert_eq!(name.to_string(), "www.example.com.");
                assert_eq!(*rtype, RecordType::AAAA);
            }
            t => panic!("{t:?}"),
        }
        assert_eq!(s.expect_answer, vec!["2001:db8::1".to_string()]);
        let s = parse(r#"check = "dns://ns1.example.net/example.com""#).unwrap();
        assert!(matches!(
            s.target,
            CheckTarget::Dns {
                port: 53,
                rtype: RecordType::A,
                ..
            }
        ));

        let s = parse(
            r#"check = "https://10.0.0.1/", expect_status = [200, "300-302"], expect_body = "ok",
               host = "www.example.com", tls_verify = false, fall = 1, rise = 5, interval = "10s", timeout = "9s""#,
        )
        .unwrap();
        assert_eq!(s.expect_status, vec![200..=200, 300..=302]);
        assert_eq!(s.expect_status_text(), "200, 300-302");
        assert_eq!(s.host.as_deref(), Some("www.example.com"));
        assert!(!s.tls_verify);
        assert_eq!((s.fall, s.rise), (1, 5));
        let s = parse(r#"check = "http://a/", expect_status = 204"#).unwrap();
        assert_eq!(s.expect_status, vec![204..=204]);
        let s = parse(r#"check = "http://a/", expect_status = "200, 204-206""#).unwrap();
        assert_eq!(s.expect_status, vec![200..=200, 204..=206]);
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            (
                r#"check = "ftp://x/""#,
                r#"health.check: unknown scheme "ftp" (tcp, http, https, dns)"#,
            ),
            (r#"check = "localhost:80""#, "health.check"),
            (r#"check = "tcp://x""#, "needs a port"),
            (r#"check = "tcp://x:80/path""#, "no path"),
            (r#"check = "http://user:pw@x/""#, "credentials"),
            (r#"check = "dns://1.2.3.4""#, "dns://HOST:PORT/NAME/TYPE"),
            (
                r#"check = "dns://1.2.3.4/a/B0GUS""#,
                "unknown or unusable type",
            ),
            (
                r#"check = "dns://1.2.3.4/a/A/x""#,
                "dns://HOST:PORT/NAME/TYPE",
            ),
            (
                r#"check = "tcp://x:1", fall = 0"#,
                "health.fall must be at least 1",
            ),
            (
                r#"check = "tcp://x:1", rise = -2"#,
                "health.rise must be at least 1",
            ),
            (
                r#"check = "tcp://x:1", interval = "5""#,
                "health.interval: invalid duration \"5\"",
            ),
            (
                r#"check = "tcp://x:1", interval = "10ms""#,
                "health.interval: must be at least 100ms",
            ),
            (
                r#"check = "tcp://x:1", timeout = "6s""#,
                "health.timeout: must be at most health.interval (5s)",
            ),
            (
                r#"check = "tcp://x:1", timeout = "0s""#,
                "health.timeout: must be more than 0",
            ),
            (
                r#"check = "tcp://x:1", expect_body = "ok""#,
                "health.expect_body: only applies to http and https",
            ),
            (
                r#"check = "tcp://x:1", expect_answer = "1.2.3.4""#,
                "health.expect_answer: only applies to dns",
            ),
            (
                r#"check = "http://x/", tls_verify = false"#,
                "health.tls_verify: only applies to https",
            ),
            (
                r#"check = "dns://x/a", host = "y""#,
                "health.host: only applies to http",
            ),
            (r#"check = "http://x/", host = "a b""#, "health.host"),
            (
                r#"check = "http://x/", expect_status = 700"#,
                "health.expect_status: 700 is not an HTTP status",
            ),
            (
                r#"check = "http://x/", expect_status = "399-200""#,
                "is empty",
            ),
            (
                r#"check = "http://x/", expect_status = "2xx""#,
                "health.expect_status",
            ),
            (
                r#"check = "http://x/", expect_status = []"#,
                "health.expect_status",
            ),
            (
                r#"check = "http://x/", expect_status = true"#,
                "health.expect_status",
            ),
            (r#"check = "tcp://x:1", bogus = 1"#, "bogus"),
            (r#"interval = "5s""#, "check"),
        ];
        for (input, want) in cases {
            let e = parse(input).unwrap_err();
            assert!(e.contains(want), "{input}: {e:?} does not contain {want:?}");
        }
    }
}
