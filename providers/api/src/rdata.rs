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

pub mod codec;
mod encoding;
mod loc;
mod reader;
mod svcb;
#[cfg(test)]
mod tests;
mod text;

use encoding::*;
use loc::*;
use reader::*;
use svcb::*;
use text::*;

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

/// Standard base64 with padding, as DNSKEY and RRSIG fields are written.
pub fn encode_base64(b: &[u8]) -> String {
    encoding::base64_encode(b)
}

/// Standard base64 (the padding may be left out).
pub fn decode_base64(s: &str) -> Result<Vec<u8>> {
    encoding::base64_decode(s, "base64 data")
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
    compressible(rtype, wire).to_vec()
}

/// [`compressible_names`] without allocating (at most two names: SOA's), for the answer path.
pub fn compressible(rtype: RType, wire: &[u8]) -> Compressible {
    let one = |r: Range<usize>| Compressible {
        ranges: [r, 0..0],
        len: 1,
    };
    match rtype {
        RType::NS | RType::CNAME | RType::PTR => match name_end(wire, 0) {
            Some(end) if end == wire.len() => one(0..end),
            _ => Compressible::default(),
        },
        RType::MX => match name_end(wire, 2) {
            Some(end) if end == wire.len() => one(2..end),
            _ => Compressible::default(),
        },
        RType::SOA => {
            let Some(m) = name_end(wire, 0) else {
                return Compressible::default();
            };
            match name_end(wire, m) {
                Some(r) if r + 20 == wire.len() => Compressible {
                    ranges: [0..m, m..r],
                    len: 2,
                },
                _ => Compressible::default(),
            }
        }
        _ => Compressible::default(),
    }
}

/// The names of an RDATA that may be compressed ([`compressible`]): a slice of ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compressible {
    ranges: [Range<usize>; 2],
    len: u8,
}

impl std::ops::Deref for Compressible {
    type Target = [Range<usize>];
    fn deref(&self) -> &[Range<usize>] {
        &self.ranges[..usize::from(self.len)]
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

// ---------------------------------------------------------------------------------------------
// Wire -> presentation

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
