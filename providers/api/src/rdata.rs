//! RDATA codec: presentation form <-> uncompressed wire form, for every type the record model
//! knows, and RFC 3597 `\# len hex` for the rest. Canonical presentation = format(parse(text)).
//!
//! Canonical form choices (accepted by BIND and Knot DNS zone loaders):
//! - names absolute, lower case, with the trailing dot;
//! - IPv6 addresses in RFC 5952 form;
//! - hex (DS, SSHFP, TLSA digests, `\#` data) upper case without spaces;
//! - base64 (DNSKEY, ECH, OPENPGPKEY) unbroken, with padding;
//! - character-strings (TXT, HINFO, NAPTR, CAA value, URI target) always quoted, with `"` and
//!   `\` escaped by a backslash and octets outside 0x20..=0x7e as `\DDD`;
//! - SOA timers in plain seconds;
//! - SVCB/HTTPS parameters in key order, `alpn` quoted, unknown keys as `keyNNNNN="…"`;
//! - types without a specific codec as `\# <len> <HEX>` (`\# 0` when empty).

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use crate::token::{Token, tokenize};
use crate::{Name, RType};

/// Why RDATA could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RdataError(pub String);

type Result<T, E = RdataError> = std::result::Result<T, E>;

fn err<T>(msg: impl Into<String>) -> Result<T> {
    Err(RdataError(msg.into()))
}

/// The largest RDATA the wire format can carry.
const MAX_RDATA: usize = 65535;

/// Parse the RDATA tokens of one record of type `rtype` into uncompressed wire form.
/// Relative names are completed with `origin`. Names inside RDATA are folded to lower case.
pub fn parse(rtype: RType, tokens: &[Token], origin: &Name) -> Result<Vec<u8>, RdataError> {
    check_not_meta(rtype)?;
    let generic = is_generic(tokens);
    let wire = if generic {
        parse_generic(tokens)?
    } else {
        match parse_known(rtype, tokens, origin)? {
            Some(wire) => wire,
            None => {
                return err(format!(
                    "{rtype} RDATA must be written in the RFC 3597 generic form \\# <length> <hex>"
                ));
            }
        }
    };
    if wire.len() > MAX_RDATA {
        return err(format!(
            "{rtype} RDATA is {} octets, longer than the limit of {MAX_RDATA}",
            wire.len()
        ));
    }
    // Whatever we accept must be well-formed for its type, so that `format` can show it.
    if let Err(e) = format_known(rtype, &wire) {
        return if generic {
            err(format!("\\# data is not valid {rtype} RDATA: {e}"))
        } else {
            Err(e)
        };
    }
    Ok(wire)
}

/// Render uncompressed wire RDATA of type `rtype` in canonical presentation form.
pub fn format(rtype: RType, wire: &[u8]) -> Result<String, RdataError> {
    check_not_meta(rtype)?;
    if wire.len() > MAX_RDATA {
        return err(format!(
            "{rtype} RDATA is {} octets, longer than the limit of {MAX_RDATA}",
            wire.len()
        ));
    }
    match format_known(rtype, wire)? {
        Some(text) => Ok(text),
        None => Ok(format_generic(wire)),
    }
}

/// The canonical presentation form of `text` (RDATA of type `rtype`).
pub fn canonicalize(rtype: RType, text: &str, origin: &Name) -> Result<String, RdataError> {
    let tokens = tokenize(text).map_err(RdataError)?;
    format(rtype, &parse(rtype, &tokens, origin)?)
}

/// Byte ranges of the domain names inside wire RDATA that a server may compress
/// (RFC 3597 §4: only the RFC 1035 types NS, CNAME, SOA, PTR, MX, and also none else).
/// Empty when the RDATA is malformed.
pub fn compressible_names(rtype: RType, wire: &[u8]) -> Vec<Range<usize>> {
    match rtype {
        RType::NS | RType::CNAME | RType::PTR => match name_end(wire, 0) {
            Some(end) if end == wire.len() => std::iter::once(0..end).collect(),
            _ => Vec::new(),
        },
        RType::MX => match name_end(wire, 2) {
            Some(end) if end == wire.len() => std::iter::once(2..end).collect(),
            _ => Vec::new(),
        },
        RType::SOA => {
            let Some(m) = name_end(wire, 0) else {
                return Vec::new();
            };
            match name_end(wire, m) {
                Some(r) if r + 20 == wire.len() => vec![0..m, m..r],
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

/// The end (exclusive) of the uncompressed name starting at `start` in `wire`, or `None` when
/// there is no well-formed uncompressed name there (truncated, compression pointer, too long).
pub fn name_end(wire: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    loop {
        let len = *wire.get(i)? as usize;
        if len > 63 {
            return None;
        }
        i += 1 + len;
        if i - start > 255 {
            return None;
        }
        if len == 0 {
            return Some(i);
        }
    }
}

fn check_not_meta(rtype: RType) -> Result<()> {
    if rtype.is_meta() {
        return err(format!(
            "{rtype} is a meta or query type and cannot appear as a record in a zone"
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// RFC 3597 generic form

fn is_generic(tokens: &[Token]) -> bool {
    tokens.first().is_some_and(|t| !t.quoted && t.text == "\\#")
}

fn parse_generic(tokens: &[Token]) -> Result<Vec<u8>> {
    let Some(len_tok) = tokens.get(1) else {
        return err("\\# needs a length: \\# <length> <hex>");
    };
    let len = parse_uint(len_tok, "\\# length", MAX_RDATA as u64)? as usize;
    let hex: String = tokens[2..].iter().map(|t| t.text.as_str()).collect();
    if len == 0 {
        if tokens.len() > 2 {
            return err("\\# 0 must not be followed by data");
        }
        return Ok(Vec::new());
    }
    if tokens.len() < 3 {
        return err(format!(
            "\\# {len} needs {len} octets of hex data, got none"
        ));
    }
    let data = hex_decode(&hex, "\\# data")?;
    if data.len() != len {
        return err(format!(
            "\\# length says {len} octets but the hex data has {}",
            data.len()
        ));
    }
    Ok(data)
}

fn format_generic(wire: &[u8]) -> String {
    if wire.is_empty() {
        "\\# 0".to_string()
    } else {
        format!("\\# {} {}", wire.len(), hex_encode(wire))
    }
}

// ---------------------------------------------------------------------------------------------
// Presentation -> wire

/// Parse the type-specific presentation form; `None` when the type has no specific codec.
fn parse_known(rtype: RType, t: &[Token], origin: &Name) -> Result<Option<Vec<u8>>> {
    let mut w = Vec::new();
    match rtype {
        RType::A => {
            fields(rtype, t, &["address"])?;
            w.extend_from_slice(&parse_ipv4(&t[0].text)?.octets());
        }
        RType::AAAA => {
            fields(rtype, t, &["address"])?;
            w.extend_from_slice(&parse_ipv6(&t[0].text)?.octets());
        }
        RType::NS | RType::CNAME | RType::PTR | RType::DNAME => {
            fields(rtype, t, &["target"])?;
            push_name(&mut w, &t[0], origin, "target")?;
        }
        RType::MX | RType::AFSDB | RType::KX => {
            let (first, second) = match rtype {
                RType::MX => ("preference", "exchange"),
                RType::AFSDB => ("subtype", "hostname"),
                _ => ("preference", "exchanger"),
            };
            fields(rtype, t, &[first, second])?;
            push_u16(&mut w, &t[0], first)?;
            push_name(&mut w, &t[1], origin, second)?;
        }
        RType::RP => {
            fields(rtype, t, &["mailbox", "txt-domain"])?;
            push_name(&mut w, &t[0], origin, "mailbox")?;
            push_name(&mut w, &t[1], origin, "txt-domain")?;
        }
        RType::TXT | RType::SPF => {
            if t.is_empty() {
                return err(format!("{rtype} needs at least one string, got none"));
            }
            for tok in t {
                let s = char_string(tok, &rtype.to_string())?;
                w.push(s.len() as u8);
                w.extend_from_slice(&s);
            }
        }
        RType::HINFO => {
            fields(rtype, t, &["cpu", "os"])?;
            push_char_string(&mut w, &t[0], "HINFO cpu")?;
            push_char_string(&mut w, &t[1], "HINFO os")?;
        }
        RType::SOA => {
            fields(
                rtype,
                t,
                &[
                    "mname", "rname", "serial", "refresh", "retry", "expire", "minimum",
                ],
            )?;
            push_name(&mut w, &t[0], origin, "mname")?;
            push_name(&mut w, &t[1], origin, "rname")?;
            w.extend_from_slice(
                &(parse_uint(&t[2], "serial", u32::MAX as u64)? as u32).to_be_bytes(),
            );
            for (tok, what) in t[3..].iter().zip(["refresh", "retry", "expire", "minimum"]) {
                w.extend_from_slice(&parse_ttl(tok, what)?.to_be_bytes());
            }
        }
        RType::SRV => {
            fields(rtype, t, &["priority", "weight", "port", "target"])?;
            push_u16(&mut w, &t[0], "priority")?;
            push_u16(&mut w, &t[1], "weight")?;
            push_u16(&mut w, &t[2], "port")?;
            push_name(&mut w, &t[3], origin, "target")?;
        }
        RType::NAPTR => {
            fields(
                rtype,
                t,
                &[
                    "order",
                    "preference",
                    "flags",
                    "service",
                    "regexp",
                    "replacement",
                ],
            )?;
            push_u16(&mut w, &t[0], "order")?;
            push_u16(&mut w, &t[1], "preference")?;
            push_char_string(&mut w, &t[2], "NAPTR flags")?;
            push_char_string(&mut w, &t[3], "NAPTR service")?;
            push_char_string(&mut w, &t[4], "NAPTR regexp")?;
            push_name(&mut w, &t[5], origin, "replacement")?;
        }
        RType::CAA => {
            fields(rtype, t, &["flags", "tag", "value"])?;
            push_u8(&mut w, &t[0], "flags")?;
            let tag = unescape_text(&t[1].text)?;
            check_caa_tag(&tag)?;
            w.push(tag.len() as u8);
            w.extend_from_slice(&tag);
            w.extend_from_slice(&unescape_text(&t[2].text)?);
        }
        RType::URI => {
            fields(rtype, t, &["priority", "weight", "target"])?;
            push_u16(&mut w, &t[0], "priority")?;
            push_u16(&mut w, &t[1], "weight")?;
            w.extend_from_slice(&unescape_text(&t[2].text)?);
        }
        RType::DS | RType::CDS => {
            at_least(rtype, t, &["key-tag", "algorithm", "digest-type", "digest"])?;
            push_u16(&mut w, &t[0], "key tag")?;
            w.push(parse_algorithm(&t[1])?);
            push_u8(&mut w, &t[2], "digest type")?;
            w.extend_from_slice(&hex_decode(&join(&t[3..]), "digest")?);
        }
        RType::DNSKEY | RType::CDNSKEY => {
            at_least(rtype, t, &["flags", "protocol", "algorithm", "public-key"])?;
            push_u16(&mut w, &t[0], "flags")?;
            push_u8(&mut w, &t[1], "protocol")?;
            w.push(parse_algorithm(&t[2])?);
            w.extend_from_slice(&base64_decode(&join(&t[3..]), "public key")?);
        }
        RType::SSHFP => {
            at_least(rtype, t, &["algorithm", "fp-type", "fingerprint"])?;
            push_u8(&mut w, &t[0], "algorithm")?;
            push_u8(&mut w, &t[1], "fingerprint type")?;
            w.extend_from_slice(&hex_decode(&join(&t[2..]), "fingerprint")?);
        }
        RType::TLSA | RType::SMIMEA => {
            at_least(rtype, t, &["usage", "selector", "matching-type", "data"])?;
            push_u8(&mut w, &t[0], "usage")?;
            push_u8(&mut w, &t[1], "selector")?;
            push_u8(&mut w, &t[2], "matching type")?;
            w.extend_from_slice(&hex_decode(&join(&t[3..]), "certificate data")?);
        }
        RType::OPENPGPKEY => {
            at_least(rtype, t, &["public-key"])?;
            w.extend_from_slice(&base64_decode(&join(t), "public key")?);
        }
        RType::EUI48 => {
            fields(rtype, t, &["address"])?;
            w.extend_from_slice(&parse_eui(&t[0].text, 6)?);
        }
        RType::EUI64 => {
            fields(rtype, t, &["address"])?;
            w.extend_from_slice(&parse_eui(&t[0].text, 8)?);
        }
        RType::SVCB | RType::HTTPS => parse_svcb(rtype, t, origin, &mut w)?,
        RType::LOC => parse_loc(t, &mut w)?,
        _ => return Ok(None),
    }
    Ok(Some(w))
}

/// Exactly `names.len()` tokens.
fn fields(rtype: RType, t: &[Token], names: &[&str]) -> Result<()> {
    if t.len() != names.len() {
        let s = if names.len() == 1 { "" } else { "s" };
        return err(format!(
            "{rtype} needs {} field{s} ({}), got {}",
            names.len(),
            names.join(" "),
            t.len()
        ));
    }
    Ok(())
}

/// At least `names.len()` tokens (the last field may be split across several).
fn at_least(rtype: RType, t: &[Token], names: &[&str]) -> Result<()> {
    if t.len() < names.len() {
        return err(format!(
            "{rtype} needs at least {} fields ({}), got {}",
            names.len(),
            names.join(" "),
            t.len()
        ));
    }
    Ok(())
}

fn join(t: &[Token]) -> String {
    t.iter().map(|t| t.text.as_str()).collect()
}

fn parse_uint(tok: &Token, what: &str, max: u64) -> Result<u64> {
    let s = tok.text.as_str();
    if !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(v) = s.parse::<u64>() {
            if v <= max {
                return Ok(v);
            }
        }
    }
    err(format!(
        "bad {what} {s:?} (expected a number from 0 to {max})"
    ))
}

fn push_u8(w: &mut Vec<u8>, tok: &Token, what: &str) -> Result<()> {
    w.push(parse_uint(tok, what, u8::MAX as u64)? as u8);
    Ok(())
}

fn push_u16(w: &mut Vec<u8>, tok: &Token, what: &str) -> Result<()> {
    w.extend_from_slice(&(parse_uint(tok, what, u16::MAX as u64)? as u16).to_be_bytes());
    Ok(())
}

fn parse_name(tok: &Token, origin: &Name, what: &str) -> Result<Name> {
    if tok.text.is_empty() {
        return err(format!("empty {what} name"));
    }
    Name::parse(&tok.text, Some(origin))
        .map_err(|e| RdataError(format!("bad {what} name {:?}: {e}", tok.text)))
}

fn push_name(w: &mut Vec<u8>, tok: &Token, origin: &Name, what: &str) -> Result<()> {
    w.extend_from_slice(parse_name(tok, origin, what)?.wire());
    Ok(())
}

/// A TTL-style duration: plain seconds, or groups of a number and a unit (`w`, `d`, `h`, `m`,
/// `s`, any case) such as `1h30m` or `2w`, as BIND accepts them.
fn parse_ttl(tok: &Token, what: &str) -> Result<u32> {
    let s = tok.text.as_str();
    let bad = || {
        RdataError(format!(
            "bad {what} {s:?} (expected seconds or a duration like 1h30m, at most 4294967295 seconds)"
        ))
    };
    if s.is_empty() {
        return Err(bad());
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<u32>().map_err(|_| bad());
    }
    let b = s.as_bytes();
    let mut total: u64 = 0;
    let mut i = 0;
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start || i == b.len() || i - start > 10 {
            return Err(bad());
        }
        let n: u64 = s[start..i].parse().map_err(|_| bad())?;
        let unit: u64 = match b[i].to_ascii_lowercase() {
            b'w' => 7 * 24 * 3600,
            b'd' => 24 * 3600,
            b'h' => 3600,
            b'm' => 60,
            b's' => 1,
            _ => return Err(bad()),
        };
        i += 1;
        total += n * unit;
        if total > u32::MAX as u64 {
            return Err(bad());
        }
    }
    Ok(total as u32)
}

fn parse_ipv4(s: &str) -> Result<Ipv4Addr> {
    s.parse()
        .map_err(|_| RdataError(format!("bad IPv4 address {s:?}")))
}

fn parse_ipv6(s: &str) -> Result<Ipv6Addr> {
    s.parse()
        .map_err(|_| RdataError(format!("bad IPv6 address {s:?}")))
}

fn parse_eui(s: &str, n: usize) -> Result<Vec<u8>> {
    let bad = || {
        RdataError(format!(
            "bad EUI{} address {s:?} (expected {n} hex pairs like 00-00-5e-00-53-2a)",
            n * 8
        ))
    };
    let parts: Vec<&str> = s.split('-').collect();
    if parts.len() != n || parts.iter().any(|p| p.len() != 2) {
        return Err(bad());
    }
    let joined: String = parts.concat();
    hex_decode(&joined, "EUI").map_err(|_| bad())
}

/// DNSSEC algorithm: a number or a mnemonic (RFC 8624 / IANA registry).
fn parse_algorithm(tok: &Token) -> Result<u8> {
    const ALGS: &[(&str, u8)] = &[
        ("RSAMD5", 1),
        ("DH", 2),
        ("DSA", 3),
        ("RSASHA1", 5),
        ("DSA-NSEC3-SHA1", 6),
        ("RSASHA1-NSEC3-SHA1", 7),
        ("RSASHA256", 8),
        ("RSASHA512", 10),
        ("ECC-GOST", 12),
        ("ECDSAP256SHA256", 13),
        ("ECDSAP384SHA384", 14),
        ("ED25519", 15),
        ("ED448", 16),
        ("INDIRECT", 252),
        ("PRIVATEDNS", 253),
        ("PRIVATEOID", 254),
    ];
    if let Some(&(_, n)) = ALGS.iter().find(|(m, _)| m.eq_ignore_ascii_case(&tok.text)) {
        return Ok(n);
    }
    Ok(parse_uint(tok, "algorithm", 255)? as u8)
}

/// Decode RFC 1035 escapes (`\DDD`, `\X`) in raw token text.
fn unescape_text(raw: &str) -> Result<Vec<u8>> {
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let rest = &b[i + 1..];
        match rest.first() {
            None => return err(format!("backslash at the end of {raw:?}")),
            Some(d) if d.is_ascii_digit() => {
                let ok = rest.len() >= 3 && rest[..3].iter().all(u8::is_ascii_digit);
                let v = if ok {
                    (rest[0] - b'0') as u32 * 100
                        + (rest[1] - b'0') as u32 * 10
                        + (rest[2] - b'0') as u32
                } else {
                    256
                };
                if v > 255 {
                    return err(format!(
                        "bad escape in {raw:?} (\\DDD needs three digits, at most 255)"
                    ));
                }
                out.push(v as u8);
                i += 4;
            }
            Some(_) => {
                // The escaped character, whole (it may be a multi-byte UTF-8 character).
                let len = raw[i + 1..].chars().next().map_or(1, char::len_utf8);
                out.extend_from_slice(&b[i + 1..i + 1 + len]);
                i += 1 + len;
            }
        }
    }
    Ok(out)
}

fn char_string(tok: &Token, what: &str) -> Result<Vec<u8>> {
    let s = unescape_text(&tok.text)?;
    if s.len() > 255 {
        return err(format!(
            "{what} string longer than 255 octets ({} octets): split it into several quoted strings",
            s.len()
        ));
    }
    Ok(s)
}

fn push_char_string(w: &mut Vec<u8>, tok: &Token, what: &str) -> Result<()> {
    let s = char_string(tok, what)?;
    w.push(s.len() as u8);
    w.extend_from_slice(&s);
    Ok(())
}

fn check_caa_tag(tag: &[u8]) -> Result<()> {
    if tag.is_empty() {
        return err("empty CAA tag");
    }
    if tag.len() > 255 {
        return err("CAA tag longer than 255 octets");
    }
    if !tag.iter().all(u8::is_ascii_alphanumeric) {
        return err(format!(
            "bad CAA tag {:?} (only letters and digits are allowed)",
            String::from_utf8_lossy(tag)
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// SVCB / HTTPS (RFC 9460)

const SVC_KEYS: &[(&str, u16)] = &[
    ("mandatory", 0),
    ("alpn", 1),
    ("no-default-alpn", 2),
    ("port", 3),
    ("ipv4hint", 4),
    ("ech", 5),
    ("ipv6hint", 6),
];

fn svc_key_name(key: u16) -> String {
    match SVC_KEYS.iter().find(|(_, k)| *k == key) {
        Some((name, _)) => (*name).to_string(),
        None => format!("key{key}"),
    }
}

fn parse_svc_key(s: &str) -> Result<u16> {
    if let Some(&(_, k)) = SVC_KEYS.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
        return Ok(k);
    }
    // Later registrations, accepted by name and shown in the generic form.
    if s.eq_ignore_ascii_case("dohpath") {
        return Ok(7);
    }
    if s.eq_ignore_ascii_case("ohttp") {
        return Ok(8);
    }
    let digits = s
        .strip_prefix("key")
        .or_else(|| s.strip_prefix("KEY"))
        .unwrap_or("");
    if !digits.is_empty() && digits.len() <= 5 && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(k) = digits.parse::<u32>() {
            if k == 65535 {
                return err("SvcParam key65535 is reserved");
            }
            if k < 65535 {
                return Ok(k as u16);
            }
        }
    }
    err(format!(
        "unknown SvcParam key {s:?} (expected mandatory, alpn, no-default-alpn, port, ipv4hint, ech, ipv6hint or keyNNNNN)"
    ))
}

fn parse_svcb(rtype: RType, t: &[Token], origin: &Name, w: &mut Vec<u8>) -> Result<()> {
    if t.len() < 2 {
        return err(format!(
            "{rtype} needs at least 2 fields (priority target [params...]), got {}",
            t.len()
        ));
    }
    let priority = parse_uint(&t[0], "priority", u16::MAX as u64)? as u16;
    w.extend_from_slice(&priority.to_be_bytes());
    push_name(w, &t[1], origin, "target")?;

    let mut params: Vec<(u16, Vec<u8>)> = Vec::new();
    let mut i = 2;
    while i < t.len() {
        let tok = &t[i];
        if tok.quoted {
            return err(format!(
                "unexpected quoted string {:?} where a SvcParam (key=value) was expected",
                tok.text
            ));
        }
        let (key_text, value): (&str, Option<&str>) = match tok.text.find('=') {
            Some(eq) => {
                let v = &tok.text[eq + 1..];
                if v.is_empty() && t.get(i + 1).is_some_and(|n| n.quoted) {
                    i += 1;
                    (&tok.text[..eq], Some(t[i].text.as_str()))
                } else {
                    (&tok.text[..eq], Some(v))
                }
            }
            None => (tok.text.as_str(), None),
        };
        let key = parse_svc_key(key_text)?;
        let value = value.map(unescape_text).transpose()?;
        let wire_value = svc_value_to_wire(key, value)?;
        if wire_value.len() > u16::MAX as usize {
            return err(format!("SvcParam {} value is too long", svc_key_name(key)));
        }
        params.push((key, wire_value));
        i += 1;
    }
    params.sort_by_key(|(k, _)| *k);
    for pair in params.windows(2) {
        if pair[0].0 == pair[1].0 {
            return err(format!(
                "duplicate SvcParam key {}",
                svc_key_name(pair[0].0)
            ));
        }
    }
    if priority == 0 && !params.is_empty() {
        return err(format!(
            "{rtype} with priority 0 (AliasMode) cannot have SvcParams"
        ));
    }
    for (key, value) in params {
        w.extend_from_slice(&key.to_be_bytes());
        w.extend_from_slice(&(value.len() as u16).to_be_bytes());
        w.extend_from_slice(&value);
    }
    Ok(())
}

/// Split a decoded SvcParam value on commas; `\,` and `\\` escape a comma or backslash inside
/// an item (RFC 9460 Appendix A.1).
fn split_value_list(v: &[u8]) -> Vec<Vec<u8>> {
    let mut items = Vec::new();
    let mut cur = Vec::new();
    let mut i = 0;
    while i < v.len() {
        match v[i] {
            b'\\' if i + 1 < v.len() => {
                cur.push(v[i + 1]);
                i += 2;
            }
            b',' => {
                items.push(std::mem::take(&mut cur));
                i += 1;
            }
            b => {
                cur.push(b);
                i += 1;
            }
        }
    }
    items.push(cur);
    items
}

fn svc_value_to_wire(key: u16, value: Option<Vec<u8>>) -> Result<Vec<u8>> {
    let name = svc_key_name(key);
    let needs_value = matches!(key, 0 | 1 | 3 | 4 | 5 | 6);
    let value = match value {
        None if needs_value => return err(format!("SvcParam {name} needs a value")),
        None => Vec::new(),
        Some(v) if v.is_empty() && needs_value => {
            return err(format!("SvcParam {name} needs a value, got an empty one"));
        }
        Some(v) => v,
    };
    let text = || String::from_utf8_lossy(&value).into_owned();
    let mut w = Vec::new();
    match key {
        0 => {
            let mut keys = Vec::new();
            for item in split_value_list(&value) {
                let k = parse_svc_key(&String::from_utf8_lossy(&item))?;
                if k == 0 {
                    return err("mandatory cannot list mandatory itself");
                }
                keys.push(k);
            }
            keys.sort_unstable();
            for pair in keys.windows(2) {
                if pair[0] == pair[1] {
                    return err(format!(
                        "mandatory lists key {} twice",
                        svc_key_name(pair[0])
                    ));
                }
            }
            for k in keys {
                w.extend_from_slice(&k.to_be_bytes());
            }
        }
        1 => {
            for item in split_value_list(&value) {
                if item.is_empty() {
                    return err(format!("empty protocol id in alpn={:?}", text()));
                }
                if item.len() > 255 {
                    return err("alpn protocol id longer than 255 octets");
                }
                w.push(item.len() as u8);
                w.extend_from_slice(&item);
            }
        }
        2 => {
            if !value.is_empty() {
                return err("SvcParam no-default-alpn takes no value");
            }
        }
        3 => {
            let tok = Token::plain(text());
            w.extend_from_slice(&(parse_uint(&tok, "port", u16::MAX as u64)? as u16).to_be_bytes());
        }
        4 => {
            for item in text().split(',') {
                w.extend_from_slice(&parse_ipv4(item)?.octets());
            }
        }
        5 => w.extend_from_slice(&base64_decode(&text(), "ech")?),
        6 => {
            for item in text().split(',') {
                w.extend_from_slice(&parse_ipv6(item)?.octets());
            }
        }
        _ => w = value,
    }
    Ok(w)
}

/// One SvcParam in presentation form, checking its wire value.
fn svc_param_text(key: u16, v: &[u8]) -> Result<String> {
    let name = svc_key_name(key);
    let bad = |why: &str| RdataError(format!("malformed SvcParam {name}: {why}"));
    let mut out = String::new();
    match key {
        0 => {
            if v.is_empty() || v.len() % 2 != 0 {
                return Err(bad("length is not a non-zero multiple of 2"));
            }
            let keys: Vec<u16> = v
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            if keys.contains(&0) {
                return Err(bad("lists mandatory itself"));
            }
            if keys.windows(2).any(|p| p[0] >= p[1]) {
                return Err(bad("keys are not in strictly increasing order"));
            }
            if keys.contains(&65535) {
                return Err(bad("lists the reserved key65535"));
            }
            let names: Vec<String> = keys.into_iter().map(svc_key_name).collect();
            out = format!("mandatory={}", names.join(","));
        }
        1 => {
            let mut r = Reader::new(RType::SVCB, v);
            let mut list = Vec::new();
            while !r.done() {
                let id = r.string().map_err(|_| bad("truncated protocol id"))?;
                if id.is_empty() {
                    return Err(bad("empty protocol id"));
                }
                let mut item = Vec::new();
                for &b in id {
                    if b == b',' || b == b'\\' {
                        item.push(b'\\');
                    }
                    item.push(b);
                }
                list.push(item);
            }
            if list.is_empty() {
                return Err(bad("no protocol ids"));
            }
            out.push_str("alpn=");
            quote(&mut out, &list.join(&b','));
        }
        2 => {
            if !v.is_empty() {
                return Err(bad("must have no value"));
            }
            out.push_str("no-default-alpn");
        }
        3 => {
            if v.len() != 2 {
                return Err(bad("length is not 2"));
            }
            out = format!("port={}", u16::from_be_bytes([v[0], v[1]]));
        }
        4 => {
            if v.is_empty() || v.len() % 4 != 0 {
                return Err(bad("length is not a non-zero multiple of 4"));
            }
            let addrs: Vec<String> = v
                .chunks(4)
                .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]).to_string())
                .collect();
            out = format!("ipv4hint={}", addrs.join(","));
        }
        5 => {
            if v.is_empty() {
                return Err(bad("empty"));
            }
            out = format!("ech={}", base64_encode(v));
        }
        6 => {
            if v.is_empty() || v.len() % 16 != 0 {
                return Err(bad("length is not a non-zero multiple of 16"));
            }
            let addrs: Vec<String> = v
                .chunks(16)
                .map(|c| {
                    let mut a = [0u8; 16];
                    a.copy_from_slice(c);
                    Ipv6Addr::from(a).to_string()
                })
                .collect();
            out = format!("ipv6hint={}", addrs.join(","));
        }
        65535 => return Err(bad("key65535 is reserved")),
        _ => {
            out.push_str(&name);
            if !v.is_empty() {
                out.push('=');
                quote(&mut out, v);
            }
        }
    }
    Ok(out)
}

fn format_svcb(r: &mut Reader<'_>, out: &mut String) -> Result<()> {
    let priority = r.u16()?;
    let target = r.name()?;
    let _ = write!(out, "{priority} {target}");
    let mut keys = Vec::new();
    let mut mandatory: Vec<u16> = Vec::new();
    while !r.done() {
        let key = r.u16()?;
        let len = r.u16()? as usize;
        let value = r.take(len)?;
        if keys.last().is_some_and(|&last| last >= key) {
            return err(format!(
                "malformed {} RDATA: SvcParam keys not in strictly increasing order",
                r.rtype
            ));
        }
        keys.push(key);
        if key == 0 {
            mandatory = value
                .chunks(2)
                .filter(|c| c.len() == 2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
        }
        out.push(' ');
        out.push_str(&svc_param_text(key, value)?);
    }
    if priority == 0 && !keys.is_empty() {
        return err(format!(
            "{} with priority 0 (AliasMode) cannot have SvcParams",
            r.rtype
        ));
    }
    for k in mandatory {
        if !keys.contains(&k) {
            return err(format!(
                "mandatory lists {} but the record has no such SvcParam",
                svc_key_name(k)
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// LOC (RFC 1876)

fn parse_loc(t: &[Token], w: &mut Vec<u8>) -> Result<()> {
    let usage = "LOC needs: d1 [m1 [s1]] N|S d2 [m2 [s2]] E|W alt[m] [size[m] [hp[m] [vp[m]]]]";
    let mut i = 0;
    let mut angle = |hemis: [&str; 2], max_deg: u64| -> Result<(u32, bool)> {
        let mut parts: Vec<&Token> = Vec::new();
        loop {
            let Some(tok) = t.get(i) else {
                return err(usage);
            };
            i += 1;
            if let Some(h) = hemis.iter().position(|h| tok.text.eq_ignore_ascii_case(h)) {
                if parts.is_empty() {
                    return err(usage);
                }
                let deg = parse_uint(parts[0], "LOC degrees", max_deg)?;
                let min = match parts.get(1) {
                    Some(m) => parse_uint(m, "LOC minutes", 59)?,
                    None => 0,
                };
                let ms = match parts.get(2) {
                    Some(s) => parse_fixed(&s.text, 3, 59_999, "LOC seconds")?,
                    None => 0,
                };
                let v = ((deg * 60 + min) * 60_000 + ms) as u32;
                if deg == max_deg && v != (max_deg * 3_600_000) as u32 {
                    return err(format!("LOC angle beyond {max_deg} degrees"));
                }
                return Ok((v, h == 0));
            }
            if parts.len() == 3 {
                return err(usage);
            }
            parts.push(tok);
        }
    };
    let (lat, north) = angle(["N", "S"], 90)?;
    let (lon, east) = angle(["E", "W"], 180)?;
    let rest = &t[i..];
    if rest.is_empty() || rest.len() > 4 {
        return err(usage);
    }
    let alt_text = rest[0]
        .text
        .strip_suffix(['m', 'M'])
        .unwrap_or(&rest[0].text);
    let (neg, alt_abs) = match alt_text.strip_prefix('-') {
        Some(a) => (true, a),
        None => (false, alt_text),
    };
    let alt_cm = parse_fixed(alt_abs, 2, 4_284_967_295, "LOC altitude")? as i64;
    let alt = if neg {
        10_000_000 - alt_cm
    } else {
        10_000_000 + alt_cm
    };
    if !(0..=u32::MAX as i64).contains(&alt) {
        return err("LOC altitude out of range (-100000.00m to 42849672.95m)");
    }
    let mut sizes = [0x12u8, 0x16, 0x13]; // 1m, 10000m, 10m
    for (k, tok) in rest[1..].iter().enumerate() {
        let text = tok.text.strip_suffix(['m', 'M']).unwrap_or(&tok.text);
        let cm = parse_fixed(text, 2, 9_000_000_000, "LOC size/precision")?;
        sizes[k] = encode_loc_size(cm);
    }
    let lat = if north {
        (1u64 << 31) + lat as u64
    } else {
        (1u64 << 31) - lat as u64
    };
    let lon = if east {
        (1u64 << 31) + lon as u64
    } else {
        (1u64 << 31) - lon as u64
    };
    w.push(0);
    w.extend_from_slice(&sizes);
    w.extend_from_slice(&(lat as u32).to_be_bytes());
    w.extend_from_slice(&(lon as u32).to_be_bytes());
    w.extend_from_slice(&(alt as u32).to_be_bytes());
    Ok(())
}

/// A decimal with at most `frac` fraction digits, scaled by 10^frac.
fn parse_fixed(s: &str, frac: u32, max: u64, what: &str) -> Result<u64> {
    let bad = || RdataError(format!("bad {what} {s:?}"));
    let (int, fr) = match s.split_once('.') {
        Some((a, b)) => (a, b),
        None => (s, ""),
    };
    if int.is_empty()
        || int.len() > 12
        || fr.len() > frac as usize
        || !int.bytes().chain(fr.bytes()).all(|b| b.is_ascii_digit())
        || (s.contains('.') && fr.is_empty())
    {
        return Err(bad());
    }
    let mut v: u64 = int.parse().map_err(|_| bad())?;
    for k in 0..frac as usize {
        v = v * 10 + fr.as_bytes().get(k).map_or(0, |d| (d - b'0') as u64);
    }
    if v > max {
        return Err(bad());
    }
    Ok(v)
}

/// Centimetres as RFC 1876 mantissa/exponent (rounded up to the next representable size).
fn encode_loc_size(cm: u64) -> u8 {
    let mut exp = 0u8;
    let mut m = cm;
    while m > 9 {
        m = m.div_ceil(10);
        exp += 1;
    }
    // 9e9 cm (the largest) fits in exponent 9.
    ((m as u8) << 4) | exp.min(9)
}

fn format_loc(r: &mut Reader<'_>, out: &mut String) -> Result<bool> {
    let version = r.u8()?;
    if version != 0 {
        // Only version 0 has a presentation form.
        let _ = r.take(r.remaining());
        return Ok(false);
    }
    let mut sizes = [0u64; 3];
    for s in &mut sizes {
        let b = r.u8()?;
        let (m, e) = (b >> 4, b & 0x0f);
        if m > 9 || e > 9 {
            return err("malformed LOC RDATA: bad size or precision");
        }
        *s = m as u64 * 10u64.pow(e as u32);
    }
    let lat = r.u32()? as i64 - (1i64 << 31);
    let lon = r.u32()? as i64 - (1i64 << 31);
    let alt = r.u32()? as i64 - 10_000_000;
    if lat.abs() > 90 * 3_600_000 || lon.abs() > 180 * 3_600_000 {
        return err("malformed LOC RDATA: latitude or longitude out of range");
    }
    let angle = |v: i64, pos: char, neg: char| {
        let h = if v < 0 { neg } else { pos };
        let a = v.unsigned_abs();
        format!(
            "{} {} {}.{:03} {h}",
            a / 3_600_000,
            a / 60_000 % 60,
            a / 1000 % 60,
            a % 1000
        )
    };
    let size = |cm: u64| format!("{}.{:02}m", cm / 100, cm % 100);
    let alt_text = format!(
        "{}{}.{:02}m",
        if alt < 0 { "-" } else { "" },
        alt.unsigned_abs() / 100,
        alt.unsigned_abs() % 100
    );
    let _ = write!(
        out,
        "{} {} {alt_text} {} {} {}",
        angle(lat, 'N', 'S'),
        angle(lon, 'E', 'W'),
        size(sizes[0]),
        size(sizes[1]),
        size(sizes[2])
    );
    Ok(true)
}

// ---------------------------------------------------------------------------------------------
// Wire -> presentation

struct Reader<'a> {
    rtype: RType,
    wire: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(rtype: RType, wire: &'a [u8]) -> Reader<'a> {
        Reader {
            rtype,
            wire,
            pos: 0,
        }
    }

    fn truncated(&self) -> RdataError {
        RdataError(format!("malformed {} RDATA: truncated", self.rtype))
    }

    fn remaining(&self) -> usize {
        self.wire.len() - self.pos
    }

    fn done(&self) -> bool {
        self.pos >= self.wire.len()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.truncated());
        }
        let s = &self.wire[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn rest(&mut self) -> &'a [u8] {
        let s = &self.wire[self.pos..];
        self.pos = self.wire.len();
        s
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn string(&mut self) -> Result<&'a [u8]> {
        let len = self.u8()? as usize;
        self.take(len)
    }

    fn name(&mut self) -> Result<Name> {
        let bad = || {
            RdataError(format!(
                "malformed {} RDATA: bad or truncated domain name",
                self.rtype
            ))
        };
        let end = name_end(self.wire, self.pos).ok_or_else(bad)?;
        let name = Name::from_wire(&self.wire[self.pos..end]).ok_or_else(bad)?;
        self.pos = end;
        Ok(name)
    }

    fn finish(&self) -> Result<()> {
        if !self.done() {
            return err(format!(
                "malformed {} RDATA: {} unexpected octets at the end",
                self.rtype,
                self.remaining()
            ));
        }
        Ok(())
    }
}

/// Append `bytes` as a quoted character-string.
fn quote(out: &mut String, bytes: &[u8]) {
    out.push('"');
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
    out.push('"');
}

/// Expected digest length of the DS digest types with a fixed size.
fn ds_digest_len(digest_type: u8) -> Option<usize> {
    match digest_type {
        1 => Some(20),
        2 | 3 => Some(32),
        4 => Some(48),
        _ => None,
    }
}

/// Format the type-specific presentation form; `None` when the type has no specific codec.
fn format_known(rtype: RType, wire: &[u8]) -> Result<Option<String>> {
    let mut r = Reader::new(rtype, wire);
    let mut out = String::new();
    match rtype {
        RType::A => {
            let b = r.take(4)?;
            out = Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string();
        }
        RType::AAAA => {
            let mut a = [0u8; 16];
            a.copy_from_slice(r.take(16)?);
            out = Ipv6Addr::from(a).to_string();
        }
        RType::NS | RType::CNAME | RType::PTR | RType::DNAME => out = r.name()?.to_string(),
        RType::MX | RType::AFSDB | RType::KX => {
            let pref = r.u16()?;
            out = format!("{pref} {}", r.name()?);
        }
        RType::RP => {
            let mbox = r.name()?;
            out = format!("{mbox} {}", r.name()?);
        }
        RType::TXT | RType::SPF => {
            if r.done() {
                return err(format!("malformed {rtype} RDATA: no strings"));
            }
            while !r.done() {
                if !out.is_empty() {
                    out.push(' ');
                }
                quote(&mut out, r.string()?);
            }
        }
        RType::HINFO => {
            quote(&mut out, r.string()?);
            out.push(' ');
            quote(&mut out, r.string()?);
        }
        RType::SOA => {
            let mname = r.name()?;
            let rname = r.name()?;
            out = format!("{mname} {rname}");
            for _ in 0..5 {
                let _ = write!(out, " {}", r.u32()?);
            }
        }
        RType::SRV => {
            let (p, w, port) = (r.u16()?, r.u16()?, r.u16()?);
            out = format!("{p} {w} {port} {}", r.name()?);
        }
        RType::NAPTR => {
            let (order, pref) = (r.u16()?, r.u16()?);
            let _ = write!(out, "{order} {pref}");
            for _ in 0..3 {
                out.push(' ');
                quote(&mut out, r.string()?);
            }
            let _ = write!(out, " {}", r.name()?);
        }
        RType::CAA => {
            let flags = r.u8()?;
            let tag = r.string()?;
            check_caa_tag(tag).map_err(|e| RdataError(format!("malformed CAA RDATA: {e}")))?;
            let _ = write!(out, "{flags} {} ", String::from_utf8_lossy(tag));
            quote(&mut out, r.rest());
        }
        RType::URI => {
            let (p, w) = (r.u16()?, r.u16()?);
            let _ = write!(out, "{p} {w} ");
            let target = r.rest();
            if target.is_empty() {
                return err("URI target is empty");
            }
            quote(&mut out, target);
        }
        RType::DS | RType::CDS => {
            let (tag, alg, dt) = (r.u16()?, r.u8()?, r.u8()?);
            let digest = r.rest();
            if digest.is_empty() {
                return err(format!("{rtype} digest is empty"));
            }
            if let Some(n) = ds_digest_len(dt) {
                if digest.len() != n {
                    return err(format!(
                        "{rtype} digest type {dt} needs a {n}-octet digest, got {} octets",
                        digest.len()
                    ));
                }
            }
            out = format!("{tag} {alg} {dt} {}", hex_encode(digest));
        }
        RType::DNSKEY | RType::CDNSKEY => {
            let (flags, proto, alg) = (r.u16()?, r.u8()?, r.u8()?);
            let key = r.rest();
            if key.is_empty() {
                return err(format!("{rtype} public key is empty"));
            }
            out = format!("{flags} {proto} {alg} {}", base64_encode(key));
        }
        RType::SSHFP => {
            let (alg, fpt) = (r.u8()?, r.u8()?);
            let fp = r.rest();
            if fp.is_empty() {
                return err("SSHFP fingerprint is empty");
            }
            out = format!("{alg} {fpt} {}", hex_encode(fp));
        }
        RType::TLSA | RType::SMIMEA => {
            let (u, s, m) = (r.u8()?, r.u8()?, r.u8()?);
            let data = r.rest();
            if data.is_empty() {
                return err(format!("{rtype} certificate data is empty"));
            }
            out = format!("{u} {s} {m} {}", hex_encode(data));
        }
        RType::OPENPGPKEY => {
            let key = r.rest();
            if key.is_empty() {
                return err("OPENPGPKEY public key is empty");
            }
            out = base64_encode(key);
        }
        RType::EUI48 | RType::EUI64 => {
            let n = if rtype == RType::EUI48 { 6 } else { 8 };
            let b = r.take(n)?;
            let parts: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
            out = parts.join("-");
        }
        RType::SVCB | RType::HTTPS => format_svcb(&mut r, &mut out)?,
        RType::LOC => {
            if !format_loc(&mut r, &mut out)? {
                return Ok(None);
            }
        }
        _ => return Ok(None),
    }
    r.finish()?;
    Ok(Some(out))
}

// ---------------------------------------------------------------------------------------------
// Hex and base64

fn hex_encode(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(DIGITS[(x >> 4) as usize] as char);
        s.push(DIGITS[(x & 15) as usize] as char);
    }
    s
}

fn hex_decode(s: &str, what: &str) -> Result<Vec<u8>> {
    fn val(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    if let Some(c) = s.chars().find(|c| !c.is_ascii_hexdigit()) {
        return err(format!("bad hex digit {c:?} in {what}"));
    }
    if s.is_empty() {
        return err(format!("empty {what}"));
    }
    if s.len() % 2 != 0 {
        return err(format!("odd number of hex digits in {what}"));
    }
    Ok(s.as_bytes()
        .chunks(2)
        .map(|p| (val(p[0]).unwrap_or(0) << 4) | val(p[1]).unwrap_or(0))
        .collect())
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = ((c[0] as u32) << 16)
            | ((*c.get(1).unwrap_or(&0) as u32) << 8)
            | *c.get(2).unwrap_or(&0) as u32;
        s.push(B64[(n >> 18) as usize & 63] as char);
        s.push(B64[(n >> 12) as usize & 63] as char);
        s.push(if c.len() > 1 {
            B64[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        s.push(if c.len() > 2 {
            B64[n as usize & 63] as char
        } else {
            '='
        });
    }
    s
}

/// Standard base64; the padding may be left out.
fn base64_decode(s: &str, what: &str) -> Result<Vec<u8>> {
    let body = s.trim_end_matches('=');
    let pad = s.len() - body.len();
    if body.is_empty() {
        return err(format!("empty {what}"));
    }
    if pad > 2 || body.len() % 4 == 1 || (pad > 0 && s.len() % 4 != 0) {
        return err(format!("bad base64 length in {what}"));
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in body.chars() {
        let v = match B64.iter().position(|&x| x as char == c) {
            Some(v) => v as u32,
            None => return err(format!("bad base64 character {c:?} in {what}")),
        };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Name {
        "example.com.".parse().unwrap()
    }

    fn canon(t: RType, text: &str) -> Result<String> {
        canonicalize(t, text, &origin())
    }

    fn ok(t: RType, text: &str) -> String {
        match canon(t, text) {
            Ok(s) => s,
            Err(e) => panic!("{t} {text:?}: {e}"),
        }
    }

    fn bad(t: RType, text: &str) -> String {
        match canon(t, text) {
            Ok(s) => panic!("{t} {text:?} was accepted as {s:?}"),
            Err(e) => e.0,
        }
    }

    /// Canonical text is a fixed point, and \# of its wire form gives it back too.
    fn round_trip(t: RType, text: &str, expect: &str) {
        let c = ok(t, text);
        assert_eq!(c, expect, "{t} {text:?}");
        assert_eq!(ok(t, &c), c, "{t} not stable");
        let wire = parse(t, &tokenize(&c).unwrap(), &origin()).unwrap();
        assert_eq!(format(t, &wire).unwrap(), c);
        let generic = format_generic(&wire);
        assert_eq!(ok(t, &generic), c, "{t} from {generic}");
    }

    #[test]
    fn round_trip_every_type() {
        let cases: &[(RType, &str, &str)] = &[
            (RType::A, "192.0.2.1", "192.0.2.1"),
            (RType::AAAA, "2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
            (RType::AAAA, "::ffff:192.0.2.1", "::ffff:192.0.2.1"),
            (RType::NS, "NS1.Example.COM.", "ns1.example.com."),
            (RType::CNAME, "www", "www.example.com."),
            (RType::PTR, "@", "example.com."),
            (RType::DNAME, "other.ORG.", "other.org."),
            (RType::MX, "10 Mail", "10 mail.example.com."),
            (RType::MX, "0 .", "0 ."),
            (RType::AFSDB, "1 afs", "1 afs.example.com."),
            (RType::KX, "5 kx.example.net.", "5 kx.example.net."),
            (RType::RP, "admin.example.com. .", "admin.example.com. ."),
            (RType::TXT, "hello", "\"hello\""),
            (RType::SPF, "\"v=spf1 -all\"", "\"v=spf1 -all\""),
            (RType::HINFO, "INTEL LINUX", "\"INTEL\" \"LINUX\""),
            (
                RType::SOA,
                "ns1 Hostmaster 2024010101 1h 15m 2w 1d12h",
                "ns1.example.com. hostmaster.example.com. 2024010101 3600 900 1209600 129600",
            ),
            (RType::SRV, "10 60 5060 sip", "10 60 5060 sip.example.com."),
            (
                RType::NAPTR,
                "100 10 S SIP+D2U \"\" _sip._udp",
                "100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.example.com.",
            ),
            (
                RType::CAA,
                "0 issue \"letsencrypt.org\"",
                "0 issue \"letsencrypt.org\"",
            ),
            (
                RType::CAA,
                "128 iodef mailto:security@example.com",
                "128 iodef \"mailto:security@example.com\"",
            ),
            (RType::CAA, "0 issue \"\"", "0 issue \"\""),
            (
                RType::DS,
                "60485 RSASHA1 1 2BB183AF5F22588179A53B0A 98631FAD1A292118",
                "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118",
            ),
            (RType::CDS, "0 0 0 00", "0 0 0 00"),
            (
                RType::DNSKEY,
                "257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0d xCjjnopKl+GqJxpVXckHAeF+KkxLbxIL fDLUT0rAK9iUzy1L53eKGQ==",
                "257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==",
            ),
            (RType::CDNSKEY, "0 3 0 AA==", "0 3 0 AA=="),
            (
                RType::SSHFP,
                "4 2 123456789abcdef67890 123456789abcdef67890",
                "4 2 123456789ABCDEF67890123456789ABCDEF67890",
            ),
            (RType::TLSA, "3 1 1 0c72ac70", "3 1 1 0C72AC70"),
            (RType::SMIMEA, "3 0 0 AB CD", "3 0 0 ABCD"),
            (
                RType::URI,
                "10 1 \"https://example.com/\"",
                "10 1 \"https://example.com/\"",
            ),
            (RType::OPENPGPKEY, "AQID BA", "AQIDBA=="),
            (RType::EUI48, "00-00-5E-00-53-2A", "00-00-5e-00-53-2a"),
            (
                RType::EUI64,
                "00-00-5e-ef-10-00-00-2a",
                "00-00-5e-ef-10-00-00-2a",
            ),
            (RType::SVCB, "0 svc.example.net.", "0 svc.example.net."),
            (RType::HTTPS, "1 .", "1 ."),
            (
                RType::HTTPS,
                "1 . alpn=h2,h3 port=443 ipv4hint=192.0.2.1",
                "1 . alpn=\"h2,h3\" port=443 ipv4hint=192.0.2.1",
            ),
            (
                RType::SVCB,
                "16 foo key667=hello",
                "16 foo.example.com. key667=\"hello\"",
            ),
            (
                RType::SVCB,
                "1 . ech=AEP+DQA/ ipv6hint=2001:db8::1,2001:db8::53:1 no-default-alpn alpn=h2 mandatory=alpn,ipv4hint ipv4hint=192.0.2.1,192.0.2.2",
                "1 . mandatory=alpn,ipv4hint alpn=\"h2\" no-default-alpn ipv4hint=192.0.2.1,192.0.2.2 ech=AEP+DQA/ ipv6hint=2001:db8::1,2001:db8::53:1",
            ),
            (RType::SVCB, "1 . key9 key65534=\"\"", "1 . key9 key65534"),
            (
                RType::LOC,
                "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m",
                "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000.00m 10.00m",
            ),
            (
                RType::LOC,
                "42 21 54 N 71 06 18 W -24m 30m",
                "42 21 54.000 N 71 6 18.000 W -24.00m 30.00m 10000.00m 10.00m",
            ),
            (
                RType::LOC,
                "0 S 0 W 0",
                "0 0 0.000 N 0 0 0.000 E 0.00m 1.00m 10000.00m 10.00m",
            ),
            (RType(65534), "\\# 4 0a000001", "\\# 4 0A000001"),
            (RType(65534), "\\# 0", "\\# 0"),
            (RType::NSEC, "\\# 3 00 0001", "\\# 3 000001"),
        ];
        for (t, text, expect) in cases {
            round_trip(*t, text, expect);
        }
    }

    #[test]
    fn names_are_lower_case_absolute() {
        assert_eq!(
            ok(RType::CNAME, "WWW.Example.NET"),
            "www.example.net.example.com."
        );
        assert_eq!(ok(RType::CNAME, "WWW.Example.NET."), "www.example.net.");
        assert_eq!(ok(RType::NS, "a\\.b"), "a\\.b.example.com.");
        assert_eq!(ok(RType::MX, "10 @"), "10 example.com.");
    }

    #[test]
    fn txt_escapes_and_multiple_strings() {
        assert_eq!(
            ok(RType::TXT, r#""a \"quoted\" word" plain "back\\slash""#),
            r#""a \"quoted\" word" "plain" "back\\slash""#
        );
        assert_eq!(
            ok(RType::TXT, r#""tab\009 and \233 and é""#),
            r#""tab\009 and \233 and \195\169""#
        );
        assert_eq!(ok(RType::TXT, r#""\065\066C""#), r#""ABC""#);
        assert_eq!(ok(RType::TXT, r#""""#), r#""""#);
        assert_eq!(ok(RType::TXT, r#"a\ b"#), r#""a b""#);
        assert_eq!(ok(RType::TXT, r#""semi;colon""#), r#""semi;colon""#);
        let long = "x".repeat(255);
        assert_eq!(
            ok(RType::TXT, &format!("\"{long}\"")),
            format!("\"{long}\"")
        );
        let wire = parse(RType::TXT, &tokenize("a bc").unwrap(), &origin()).unwrap();
        assert_eq!(wire, b"\x01a\x02bc");
    }

    #[test]
    fn generic_form_for_known_types() {
        assert_eq!(ok(RType::A, "\\# 4 C0000201"), "192.0.2.1");
        assert_eq!(ok(RType::A, "\\# 4 C000 0201"), "192.0.2.1");
        assert_eq!(ok(RType::TXT, "\\# 6 0568656C6C6F"), "\"hello\"");
        assert_eq!(ok(RType::MX, "\\# 3 000A 00"), "10 .");
        assert_eq!(
            ok(RType::CAA, "\\# 8 00 05 697373756500"),
            "0 issue \"\\000\""
        );
        assert!(bad(RType::A, "\\# 3 C00002").contains("not valid A RDATA"));
        assert!(bad(RType::A, "\\# 4 C00002").contains("says 4 octets"));
        assert!(bad(RType::A, "\\# 4 C000020").contains("odd number"));
        assert!(bad(RType::A, "\\# 4 C00002GG").contains("bad hex digit"));
        assert!(bad(RType::A, "\\#").contains("length"));
        assert!(bad(RType::A, "\\# 0 00").contains("\\# 0"));
        assert!(bad(RType::A, "\\# 70000 00").contains("\\# length"));
        assert!(bad(RType(65534), "hello").contains("RFC 3597"));
        assert_eq!(
            format(RType::TXT, b"").unwrap_err().0,
            "malformed TXT RDATA: no strings"
        );
    }

    #[test]
    fn svcb_params_sorted_and_checked() {
        assert_eq!(
            ok(
                RType::HTTPS,
                "1 . port=8443 alpn=\"h3\" ipv4hint=\"192.0.2.1\""
            ),
            "1 . alpn=\"h3\" port=8443 ipv4hint=192.0.2.1"
        );
        // key3 is port; the generic name of a known key gives the known syntax.
        assert_eq!(
            ok(RType::HTTPS, "1 . key3=53 key1=h2"),
            "1 . alpn=\"h2\" port=53"
        );
        // A comma inside a protocol id (RFC 9460 Appendix A.1).
        assert_eq!(
            ok(RType::SVCB, r#"1 . alpn="f\\\\oo\\,bar,h2""#),
            r#"1 . alpn="f\\\\oo\\,bar,h2""#
        );
        let wire = parse(
            RType::SVCB,
            &tokenize(r#"1 . alpn="f\\\\oo\\,bar,h2""#).unwrap(),
            &origin(),
        )
        .unwrap();
        assert_eq!(&wire[3..], b"\x00\x01\x00\x0c\x08f\\oo,bar\x02h2");
        assert_eq!(
            ok(RType::SVCB, "1 . key65000=\"a b\\\"\""),
            "1 . key65000=\"a b\\\"\""
        );
        assert_eq!(
            ok(RType::SVCB, "1 . dohpath=/q{?dns}"),
            "1 . key7=\"/q{?dns}\""
        );
        assert!(bad(RType::SVCB, "0 . alpn=h2").contains("AliasMode"));
        assert!(bad(RType::SVCB, "1 . port=1 port=2").contains("duplicate SvcParam key port"));
        assert!(bad(RType::SVCB, "1 . port=1 key3=2").contains("duplicate"));
        assert!(bad(RType::SVCB, "1 . mandatory=port").contains("no such SvcParam"));
        assert!(bad(RType::SVCB, "1 . mandatory=mandatory").contains("mandatory itself"));
        assert!(bad(RType::SVCB, "1 . mandatory=port,port port=1").contains("twice"));
        assert!(bad(RType::SVCB, "1 . alpn").contains("needs a value"));
        assert!(bad(RType::SVCB, "1 . alpn=h2,,h3").contains("empty protocol id"));
        assert!(bad(RType::SVCB, "1 . no-default-alpn=x").contains("no value"));
        assert!(bad(RType::SVCB, "1 . port=70000").contains("port"));
        assert!(bad(RType::SVCB, "1 . ipv4hint=1.2.3").contains("bad IPv4 address \"1.2.3\""));
        assert!(bad(RType::SVCB, "1 . ipv6hint=1.2.3.4").contains("IPv6"));
        assert!(bad(RType::SVCB, "1 . ech=!!").contains("base64"));
        assert!(bad(RType::SVCB, "1 . bogus=1").contains("unknown SvcParam key"));
        assert!(bad(RType::SVCB, "1 . key65535").contains("reserved"));
        assert!(bad(RType::SVCB, "1 . \"alpn\"").contains("quoted"));
        assert!(bad(RType::SVCB, "1").contains("at least 2 fields"));
        // Wire with keys out of order is malformed.
        let mut w = vec![0, 1, 0];
        w.extend_from_slice(&[0, 3, 0, 2, 0, 53, 0, 1, 0, 3, 2, b'h', b'2']);
        assert!(
            format(RType::SVCB, &w)
                .unwrap_err()
                .0
                .contains("increasing")
        );
    }

    #[test]
    fn soa_timers() {
        let c = ok(RType::SOA, "ns. h. 1 1W 1D 1H 1M");
        assert_eq!(c, "ns. h. 1 604800 86400 3600 60");
        assert_eq!(
            ok(RType::SOA, "ns. h. 4294967295 1h30m 90s 0 4294967295"),
            "ns. h. 4294967295 5400 90 0 4294967295"
        );
        assert!(bad(RType::SOA, "ns. h. 1 1h30 1 1 1").contains("bad refresh \"1h30\""));
        assert!(bad(RType::SOA, "ns. h. 1 1x 1 1 1").contains("refresh"));
        assert!(bad(RType::SOA, "ns. h. 1 8000w 1 1 1").contains("refresh"));
        assert!(bad(RType::SOA, "ns. h. 1h 1 1 1 1").contains("bad serial"));
        assert!(bad(RType::SOA, "ns. h. 4294967296 1 1 1 1").contains("serial"));
        assert!(bad(RType::SOA, "ns. h. 1 1 1 1").contains("SOA needs 7 fields"));
    }

    #[test]
    fn errors_are_readable() {
        assert_eq!(bad(RType::A, "1.2.3"), "bad IPv4 address \"1.2.3\"");
        assert_eq!(
            bad(RType::A, "1.2.3.4 5.6.7.8"),
            "A needs 1 field (address), got 2"
        );
        assert_eq!(
            bad(RType::MX, "10"),
            "MX needs 2 fields (preference exchange), got 1"
        );
        assert_eq!(
            bad(RType::MX, "10 a b"),
            "MX needs 2 fields (preference exchange), got 3"
        );
        assert!(bad(RType::MX, "-1 a").contains("bad preference \"-1\""));
        assert!(bad(RType::MX, "+1 a").contains("bad preference"));
        assert!(bad(RType::MX, "65536 a").contains("0 to 65535"));
        assert!(bad(RType::AAAA, "2001:db8::g").contains("bad IPv6 address"));
        assert!(bad(RType::A, "01.2.3.4").contains("IPv4"));
        assert!(
            bad(RType::TXT, &format!("\"{}\"", "x".repeat(256)))
                .contains("TXT string longer than 255 octets")
        );
        assert!(bad(RType::TXT, "").contains("at least one string"));
        assert!(bad(RType::TXT, r#""\999""#).contains("bad escape"));
        assert!(bad(RType::TXT, r#""\12""#).contains("bad escape"));
        assert!(bad(RType::TXT, "x\\").contains("backslash"));
        assert!(bad(RType::CNAME, "a..b").contains("bad target name"));
        assert!(bad(RType::CNAME, "\"\"").contains("empty"));
        assert!(bad(RType::CAA, "0 is-sue x").contains("bad CAA tag"));
        assert!(bad(RType::CAA, "0 \"\" x").contains("empty CAA tag"));
        assert!(bad(RType::CAA, "256 issue x").contains("flags"));
        assert!(bad(RType::DS, "1 8 2 ABCD").contains("32-octet"));
        assert!(bad(RType::DS, "1 8 2").contains("at least 4 fields"));
        assert!(bad(RType::DS, "1 BOGUS 2 AB").contains("bad algorithm"));
        assert!(bad(RType::DNSKEY, "256 3 8 A").contains("base64"));
        assert!(bad(RType::DNSKEY, "256 3 8 AA=A").contains("base64"));
        assert!(bad(RType::SSHFP, "1 1 xyz").contains("bad hex digit"));
        assert!(bad(RType::URI, "1 1 \"\"").contains("empty"));
        assert!(bad(RType::HINFO, "x").contains("HINFO needs 2 fields"));
        assert!(bad(RType::NAPTR, &format!("1 1 \"{}\" s r .", "f".repeat(300))).contains("255"));
        assert!(bad(RType::EUI48, "00-00-5e-00-53").contains("EUI48"));
        assert!(bad(RType::LOC, "91 N 0 E 0").contains("degrees"));
        assert!(bad(RType::LOC, "1 2 3 4 N 0 E 0").contains("LOC needs"));
        for meta in [
            RType::OPT,
            RType::ANY,
            RType::AXFR,
            RType::IXFR,
            RType::TSIG,
        ] {
            assert!(bad(meta, "\\# 0").contains("meta"));
            assert!(format(meta, b"").is_err());
        }
        assert!(bad(RType::A, "\"1.2.3.4\" x").contains("got 2"));
    }

    #[test]
    fn malformed_wire_is_rejected() {
        let cases: &[(RType, &[u8])] = &[
            (RType::A, &[1, 2, 3]),
            (RType::A, &[1, 2, 3, 4, 5]),
            (RType::NS, &[3, b'c', b'o']),
            (RType::NS, &[0xc0, 0x0c]),
            (RType::NS, &[0, 0]),
            (RType::MX, &[0]),
            (RType::SOA, &[0, 0, 0, 0, 0, 1]),
            (RType::TXT, &[5, b'a']),
            (RType::CAA, &[0, 0]),
            (RType::CAA, &[0, 2, b'a', b'-']),
            (RType::SVCB, &[0, 0, 0, 0, 1, 0, 0]),
            (RType::SVCB, &[0, 1, 0, 0, 3, 0, 3, 0, 53]),
            (RType::DS, &[0, 1, 8, 2]),
            (
                RType::LOC,
                &[0, 0x12, 0x16, 0x13, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ),
            (
                RType::LOC,
                &[
                    0, 0xa2, 0x16, 0x13, 0x80, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0,
                ],
            ),
        ];
        for (t, w) in cases {
            assert!(format(*t, w).is_err(), "{t} {w:?}");
        }
        assert!(format(RType::A, &vec![0; 70000]).is_err());
    }

    #[test]
    fn compressible_name_ranges() {
        let o = origin();
        let p = |t: RType, s: &str| parse(t, &tokenize(s).unwrap(), &o).unwrap();
        let ns = p(RType::NS, "ns1");
        let r = compressible_names(RType::NS, &ns);
        assert_eq!((r.len(), r[0].clone()), (1, 0..ns.len()));
        let mx = p(RType::MX, "10 mail");
        let r = compressible_names(RType::MX, &mx);
        assert_eq!((r.len(), r[0].clone()), (1, 2..mx.len()));
        let soa = p(RType::SOA, "ns1 h 1 2 3 4 5");
        let m = 1 + 3 + o.wire().len();
        assert_eq!(
            compressible_names(RType::SOA, &soa),
            vec![0..m, m..m + 2 + o.wire().len()]
        );
        for (t, s) in [
            (RType::SRV, "1 1 1 x"),
            (RType::DNAME, "x"),
            (RType::SVCB, "1 x"),
            (RType::RP, "a b"),
        ] {
            assert!(compressible_names(t, &p(t, s)).is_empty(), "{t}");
        }
        assert!(compressible_names(RType::NS, &[3, b'a']).is_empty());
        assert!(compressible_names(RType::MX, &[0]).is_empty());
    }

    #[test]
    fn codecs() {
        for n in 0..40usize {
            let data: Vec<u8> = (0..n).map(|i| (i * 37 + n) as u8).collect();
            if n > 0 {
                assert_eq!(base64_decode(&base64_encode(&data), "x").unwrap(), data);
                assert_eq!(
                    base64_decode(base64_encode(&data).trim_end_matches('='), "x").unwrap(),
                    data
                );
                assert_eq!(hex_decode(&hex_encode(&data), "x").unwrap(), data);
            }
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_decode("Zg==", "x").unwrap(), b"f");
        assert!(base64_decode("Zg===", "x").is_err());
        assert!(base64_decode("Z", "x").is_err());
    }

    const TYPES: &[RType] = &[
        RType::A,
        RType::AAAA,
        RType::NS,
        RType::CNAME,
        RType::PTR,
        RType::DNAME,
        RType::MX,
        RType::AFSDB,
        RType::KX,
        RType::RP,
        RType::TXT,
        RType::SPF,
        RType::HINFO,
        RType::SOA,
        RType::SRV,
        RType::NAPTR,
        RType::CAA,
        RType::URI,
        RType::DS,
        RType::CDS,
        RType::DNSKEY,
        RType::CDNSKEY,
        RType::SSHFP,
        RType::TLSA,
        RType::SMIMEA,
        RType::OPENPGPKEY,
        RType::EUI48,
        RType::EUI64,
        RType::SVCB,
        RType::HTTPS,
        RType::LOC,
        RType::NSEC,
        RType::RRSIG,
        RType(65534),
    ];

    const WORDS: &[&str] = &[
        "0",
        "1",
        "3",
        "8",
        "10",
        "13",
        "255",
        "256",
        "65535",
        "4294967295",
        "1h",
        "2w",
        "a",
        "Mail.Example.",
        ".",
        "@",
        "\\#",
        "4",
        "C0000201",
        "00",
        "0a",
        "\"x y\"",
        "\"\\065\\\"\"",
        "issue",
        "\"ca.example\"",
        "alpn=h2,h3",
        "alpn=",
        "\"h3\"",
        "port=53",
        "mandatory=port",
        "ipv4hint=192.0.2.1",
        "ipv6hint=::1",
        "ech=AAAA",
        "no-default-alpn",
        "key999=x",
        "N",
        "S",
        "E",
        "W",
        "-2m",
        "10m",
        "30.5",
        "AA==",
        "AwEAAQ",
        "192.0.2.1",
        "2001:db8::1",
        "00-00-5e-00-53-2a",
        "x\\032y",
        "",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(2000))]

        #[test]
        fn format_never_panics_and_is_stable(
            ti in 0..TYPES.len(),
            wire in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80),
        ) {
            let t = TYPES[ti];
            if let Ok(text) = format(t, &wire) {
                let again = canonicalize(t, &text, &Name::root());
                proptest::prop_assert_eq!(again, Ok(text.clone()), "{} {:?}", t, wire);
                let back = parse(t, &tokenize(&text).unwrap(), &Name::root()).unwrap();
                proptest::prop_assert_eq!(format(t, &back), Ok(text));
            }
        }

        #[test]
        fn format_of_structured_wire_is_stable(
            ti in 0..TYPES.len(),
            // Small label lengths and counts make names and strings likely to be well-formed.
            wire in proptest::collection::vec(
                proptest::prop_oneof![0u8..8, proptest::prelude::any::<u8>()], 0..48),
        ) {
            let t = TYPES[ti];
            if let Ok(text) = format(t, &wire) {
                proptest::prop_assert_eq!(canonicalize(t, &text, &Name::root()), Ok(text));
            }
        }

        #[test]
        fn parse_of_likely_tokens_is_stable(
            ti in 0..TYPES.len(),
            words in proptest::collection::vec(proptest::sample::select(WORDS), 0..9),
        ) {
            let t = TYPES[ti];
            let text = words.join(" ");
            if let Ok(wire) = parse(t, &tokenize(&text).unwrap(), &origin()) {
                let shown = format(t, &wire).unwrap();
                proptest::prop_assert_eq!(canonicalize(t, &shown, &origin()), Ok(shown));
            }
        }

        #[test]
        fn parse_never_panics(
            ti in 0..TYPES.len(),
            text in "[ -~\\t]{0,60}",
        ) {
            let t = TYPES[ti];
            if let Ok(tokens) = tokenize(&text) {
                if let Ok(wire) = parse(t, &tokens, &origin()) {
                    let shown = format(t, &wire).unwrap();
                    proptest::prop_assert_eq!(canonicalize(t, &shown, &origin()), Ok(shown));
                }
            }
        }
    }
}
