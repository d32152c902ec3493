//! Hex and base64 (RFC 4648), as RDATA presentation forms use them.

use super::*;

pub(super) fn hex_encode(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(DIGITS[(x >> 4) as usize] as char);
        s.push(DIGITS[(x & 15) as usize] as char);
    }
    s
}

pub(super) fn hex_decode(s: &str, what: &str) -> Result<Vec<u8>> {
    pub(super) fn val(c: u8) -> Option<u8> {
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

pub(super) const B64: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub(super) fn base64_encode(b: &[u8]) -> String {
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
pub(super) fn base64_decode(s: &str, what: &str) -> Result<Vec<u8>> {
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
