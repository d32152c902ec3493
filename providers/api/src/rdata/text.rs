//! Character-strings (RFC 1035 §5.1): escapes, quoting, and the CAA tag rule.

use super::*;

/// Decode RFC 1035 escapes (`\DDD`, `\X`) in raw token text.
pub(super) fn unescape_text(raw: &str) -> Result<Vec<u8>> {
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

pub(super) fn char_string(tok: &Token, what: &str) -> Result<Vec<u8>> {
    let s = unescape_text(&tok.text)?;
    if s.len() > 255 {
        return err(format!(
            "{what} string longer than 255 octets ({} octets): split it into several quoted strings",
            s.len()
        ));
    }
    Ok(s)
}

pub(super) fn push_char_string(w: &mut Vec<u8>, tok: &Token, what: &str) -> Result<()> {
    let s = char_string(tok, what)?;
    w.push(s.len() as u8);
    w.extend_from_slice(&s);
    Ok(())
}

pub(super) fn check_caa_tag(tag: &[u8]) -> Result<()> {
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

/// Append `bytes` as a quoted character-string.
pub(super) fn quote(out: &mut String, bytes: &[u8]) {
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
