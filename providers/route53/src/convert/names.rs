//! Names and values between Route 53's presentation form (`\ooo` octal escapes) and the
//! record model's (RFC 1035 decimal `\DDD`, canonical).

use super::*;

/// Route 53 text (`\ooo` octal escapes) -> RFC 1035 text (`\DDD` decimal). Other escapes
/// (`\"`, `\\`, `\.`) are kept. Three digits that are not octal are left as they are.
pub fn octal_to_decimal(text: &str) -> String {
    convert_escapes(text, |d| {
        if d.iter().all(|c| (b'0'..=b'7').contains(c)) {
            let v = (d[0] - b'0') as u32 * 64 + (d[1] - b'0') as u32 * 8 + (d[2] - b'0') as u32;
            (v <= 255).then(|| format!("\\{v:03}"))
        } else {
            None
        }
    })
}

/// RFC 1035 text (`\DDD` decimal) -> Route 53 text (`\ooo` octal).
pub fn decimal_to_octal(text: &str) -> String {
    convert_escapes(text, |d| {
        let v = (d[0] - b'0') as u32 * 100 + (d[1] - b'0') as u32 * 10 + (d[2] - b'0') as u32;
        (v <= 255).then(|| format!("\\{v:03o}"))
    })
}

pub(super) fn convert_escapes(text: &str, digits: impl Fn(&[u8; 3]) -> Option<String>) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut plain = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        out.push_str(&text[plain..i]);
        if b.len() >= i + 4 && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            let d = [b[i + 1], b[i + 2], b[i + 3]];
            match digits(&d) {
                Some(s) => out.push_str(&s),
                None => out.push_str(&text[i..i + 4]),
            }
            i += 4;
        } else if i + 1 < b.len() {
            // `\X`: keep both characters (X may be multi-byte UTF-8: copy up to the next char).
            let mut end = i + 2;
            while !text.is_char_boundary(end) {
                end += 1;
            }
            out.push_str(&text[i..end]);
            i = end;
        } else {
            out.push('\\');
            i += 1;
        }
        plain = i;
    }
    out.push_str(&text[plain..]);
    out
}

/// A name as Route 53 returns it (`\052` for `*`, with or without the trailing dot).
pub fn name_from_r53(text: &str) -> Result<Name, String> {
    let mut t = octal_to_decimal(text);
    if !t.ends_with('.') || t.ends_with("\\.") {
        t.push('.');
    }
    Name::parse(&t, None).map_err(|e| format!("Route 53 returned a bad name {text:?}: {e}"))
}

/// A name as Route 53 takes it: letters, digits, `-` and `_` as they are, a whole-label `*`
/// as is, every other octet as `\ooo` (octal).
pub fn name_to_r53(name: &Name) -> String {
    if name.is_root() {
        return ".".into();
    }
    let mut out = String::with_capacity(name.wire().len() + 4);
    for label in name.labels() {
        if label == b"*" {
            out.push('*');
        } else {
            for &b in label {
                match b {
                    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => out.push(b as char),
                    _ => out.push_str(&format!("\\{b:03o}")),
                }
            }
        }
        out.push('.');
    }
    out
}

/// A value as Route 53 returns it -> canonical presentation form.
pub fn value_from_r53(rtype: RType, text: &str) -> Result<String, String> {
    rdata::canonicalize(rtype, &octal_to_decimal(text), &Name::root()).map_err(|e| e.to_string())
}

/// A canonical value -> Route 53's form.
pub fn value_to_r53(rtype: RType, canonical: &str) -> Result<String, String> {
    let c = rdata::canonicalize(rtype, canonical, &Name::root()).map_err(|e| e.to_string())?;
    Ok(decimal_to_octal(&c))
}

pub(super) fn rtype_from_r53(t: &RrType) -> Result<RType, String> {
    RType::parse(t.as_str()).ok_or_else(|| format!("unknown record type {:?}", t.as_str()))
}
