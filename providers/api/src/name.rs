//! Absolute, lower-case domain names.
//!
//! A [`Name`] is stored in uncompressed wire form with every ASCII letter folded to lower case,
//! and shown in presentation form with the trailing dot (RFC 1035 §5.1 escapes for anything
//! that is not a plain letter, digit, hyphen or underscore).

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a name could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("empty label in name {0:?}")]
    EmptyLabel(String),
    #[error("label longer than 63 octets in name {0:?}")]
    LabelTooLong(String),
    #[error("name {0:?} is longer than 255 octets")]
    TooLong(String),
    #[error("bad escape in name {0:?}")]
    BadEscape(String),
    #[error("relative name {0:?} with no origin to complete it")]
    Relative(String),
}

/// An absolute domain name, folded to lower case.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Name {
    /// Uncompressed wire form, ending with the root label (a zero octet).
    wire: Box<[u8]>,
}

impl Name {
    /// The root name `.`.
    pub fn root() -> Name {
        Name {
            wire: Box::new([0u8]),
        }
    }

    /// Parse a name in presentation form. `@` is the origin; a name without a trailing dot is
    /// relative to `origin` (an error when there is none).
    pub fn parse(text: &str, origin: Option<&Name>) -> Result<Name, NameError> {
        if text == "@" {
            return origin
                .cloned()
                .ok_or_else(|| NameError::Relative(text.to_string()));
        }
        if text == "." {
            return Ok(Name::root());
        }
        let bytes = text.as_bytes();
        // Labels are written in place: `at` is the length octet of the label being read. An
        // absolute name without escapes fills the vector exactly (no copy into the box).
        let mut wire = Vec::with_capacity(bytes.len() + 1);
        wire.push(0);
        let (mut at, mut absolute, mut i) = (0, false, 0);
        let close = |wire: &mut Vec<u8>, at: usize| {
            let len = wire.len() - at - 1;
            if len > 63 {
                return Err(NameError::LabelTooLong(text.to_string()));
            }
            wire[at] = len as u8;
            Ok(())
        };
        while i < bytes.len() {
            let c = bytes[i];
            match c {
                b'.' => {
                    if wire.len() == at + 1 {
                        return Err(NameError::EmptyLabel(text.to_string()));
                    }
                    close(&mut wire, at)?;
                    at = wire.len();
                    wire.push(0);
                    if i + 1 == bytes.len() {
                        absolute = true;
                    }
                    i += 1;
                }
                b'\\' => {
                    let (b, used) = unescape(&bytes[i + 1..])
                        .ok_or_else(|| NameError::BadEscape(text.to_string()))?;
                    wire.push(b.to_ascii_lowercase());
                    i += 1 + used;
                }
                _ => {
                    wire.push(c.to_ascii_lowercase());
                    i += 1;
                }
            }
        }
        if !absolute {
            let Some(o) = origin else {
                return Err(NameError::Relative(text.to_string()));
            };
            if wire.len() > at + 1 {
                close(&mut wire, at)?;
            } else {
                wire.truncate(at);
            }
            wire.extend_from_slice(&o.wire);
        }
        if wire.len() > 255 {
            return Err(NameError::TooLong(text.to_string()));
        }
        Ok(Name {
            wire: wire.into_boxed_slice(),
        })
    }

    /// Build from uncompressed wire form (case is folded). Returns `None` on malformed input.
    pub fn from_wire(wire: &[u8]) -> Option<Name> {
        let mut i = 0;
        loop {
            let len = *wire.get(i)? as usize;
            if len == 0 {
                break;
            }
            if len > 63 {
                return None;
            }
            i += 1 + len;
        }
        if i + 1 != wire.len() || wire.len() > 255 {
            return None;
        }
        let mut out = wire.to_vec();
        let mut j = 0;
        while out[j] != 0 {
            let len = out[j] as usize;
            out[j + 1..j + 1 + len].make_ascii_lowercase();
            j += 1 + len;
        }
        Some(Name { wire: out.into() })
    }

    /// Uncompressed wire form (lower case).
    pub fn wire(&self) -> &[u8] {
        &self.wire
    }

    /// Number of labels, not counting the root.
    pub fn label_count(&self) -> usize {
        self.labels().count()
    }

    /// The labels from the leftmost, as raw octets (root excluded).
    pub fn labels(&self) -> Labels<'_> {
        Labels {
            wire: &self.wire,
            pos: 0,
        }
    }

    pub fn is_root(&self) -> bool {
        self.wire.len() == 1
    }

    /// The name with its leftmost label removed; `None` for the root.
    pub fn parent(&self) -> Option<Name> {
        if self.is_root() {
            return None;
        }
        let skip = 1 + self.wire[0] as usize;
        Some(Name {
            wire: self.wire[skip..].into(),
        })
    }

    /// True when `self` is `other` or below it.
    pub fn is_subdomain_of(&self, other: &Name) -> bool {
        wire_is_subdomain(&self.wire, &other.wire)
    }

    /// A name from wire form this crate made itself (a `Name`'s own octets, lower case and
    /// well formed): no checks, one allocation.
    pub(crate) fn from_own_wire(wire: &[u8]) -> Name {
        debug_assert!(Name::from_wire(wire).is_some_and(|n| *n.wire == *wire));
        Name { wire: wire.into() }
    }

    /// `label` prepended to this name (e.g. `*` for a wildcard).
    pub fn prepend(&self, label: &[u8]) -> Result<Name, NameError> {
        let mut wire = Vec::with_capacity(self.wire.len() + label.len() + 1);
        if label.is_empty() {
            return Err(NameError::EmptyLabel(String::from_utf8_lossy(label).into()));
        }
        if label.len() > 63 {
            return Err(NameError::LabelTooLong(
                String::from_utf8_lossy(label).into(),
            ));
        }
        wire.push(label.len() as u8);
        wire.extend(label.iter().map(u8::to_ascii_lowercase));
        wire.extend_from_slice(&self.wire);
        if wire.len() > 255 {
            return Err(NameError::TooLong(String::from_utf8_lossy(label).into()));
        }
        Ok(Name { wire: wire.into() })
    }

    /// The name relative to `origin` in presentation form (`@` for the origin itself), or the
    /// absolute form when it is not below `origin`.
    pub fn relative_to(&self, origin: &Name) -> String {
        if self == origin {
            return "@".to_string();
        }
        if self.is_subdomain_of(origin) && !origin.is_root() {
            let s = self.to_string();
            let o = origin.to_string();
            return s[..s.len() - o.len() - 1].to_string();
        }
        self.to_string()
    }
}

/// Decode one RFC 1035 escape (the text after the backslash): `\DDD` or `\X`.
/// Returns the octet and how many input octets were used.
pub fn unescape(rest: &[u8]) -> Option<(u8, usize)> {
    let first = *rest.first()?;
    if first.is_ascii_digit() {
        if rest.len() < 3 || !rest[..3].iter().all(u8::is_ascii_digit) {
            return None;
        }
        let v =
            (rest[0] - b'0') as u32 * 100 + (rest[1] - b'0') as u32 * 10 + (rest[2] - b'0') as u32;
        if v > 255 {
            return None;
        }
        Some((v as u8, 3))
    } else {
        Some((first, 1))
    }
}

/// Iterator over the labels of a [`Name`].
pub struct Labels<'a> {
    wire: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let len = *self.wire.get(self.pos)? as usize;
        if len == 0 {
            return None;
        }
        let label = &self.wire[self.pos + 1..self.pos + 1 + len];
        self.pos += 1 + len;
        Some(label)
    }
}

/// Write one label in presentation form.
pub fn write_label(out: &mut String, label: &[u8]) {
    for &b in label {
        match b {
            _ if plain(b) => out.push(b as char),
            b'!'..=b'~' => {
                out.push('\\');
                out.push(b as char);
            }
            _ => {
                out.push_str(&format!("\\{b:03}"));
            }
        }
    }
}

/// Whether a label octet is written as itself in presentation form.
fn plain(b: u8) -> bool {
    PLAIN[usize::from(b)]
}

const PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'*' | b'/');
        b += 1;
    }
    t
};

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() {
            return f.write_str(".");
        }
        // The common case in one pass and one write, without allocating: the wire form with
        // each length octet turned into the dot before its label ("3www7example0" ->
        // "www.example."), when no octet needs an escape.
        let wire = &self.wire[..self.wire.len() - 1];
        let mut buf = [0u8; 255];
        let (mut i, mut clean) = (0, true);
        while i < wire.len() {
            let len = usize::from(wire[i]);
            let label = &wire[i + 1..i + 1 + len];
            clean &= label.iter().all(|&b| plain(b));
            buf[i..i + len].copy_from_slice(label);
            buf[i + len] = b'.';
            i += len + 1;
        }
        if clean {
            if let Ok(text) = std::str::from_utf8(&buf[..wire.len()]) {
                return f.write_str(text);
            }
        }
        let mut s = String::with_capacity(self.wire.len() + 4);
        for label in self.labels() {
            write_label(&mut s, label);
            s.push('.');
        }
        f.write_str(&s)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

/// DNSSEC canonical order (RFC 4034 §6.1): compare label by label from the right.
impl Ord for Name {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_wire(&self.wire, &other.wire)
    }
}

/// The canonical order (RFC 4034 §6.1) of two names in their uncompressed, lower-case wire
/// form: label by label from the root.
pub fn cmp_wire(a: &[u8], b: &[u8]) -> Ordering {
    // Label start offsets on the stack (a name has at most 127 labels): no allocation, since
    // sorting big zones compares names millions of times.
    fn starts(wire: &[u8], out: &mut [u8; 128]) -> usize {
        let (mut n, mut i) = (0, 0);
        while i < wire.len() && wire[i] != 0 && n < out.len() {
            out[n] = i as u8;
            n += 1;
            i += 1 + wire[i] as usize;
        }
        n
    }
    fn label(wire: &[u8], at: u8) -> &[u8] {
        let at = at as usize;
        &wire[at + 1..at + 1 + wire[at] as usize]
    }
    let (mut sa, mut sb) = ([0u8; 128], [0u8; 128]);
    let (na, nb) = (starts(a, &mut sa), starts(b, &mut sb));
    for k in 1..=na.min(nb) {
        match label(a, sa[na - k]).cmp(label(b, sb[nb - k])) {
            Ordering::Equal => {}
            o => return o,
        }
    }
    na.cmp(&nb)
}

/// Whether the wire-form name `a` is `b` or below it.
pub fn wire_is_subdomain(a: &[u8], b: &[u8]) -> bool {
    if b.len() > a.len() {
        return false;
    }
    let off = a.len() - b.len();
    if a[off..] != b[..] {
        return false;
    }
    // `off` must fall on a label boundary of `a`.
    let mut i = 0;
    while i < off {
        i += 1 + a[i] as usize;
    }
    i == off
}

/// The wire-form name `a` without its leftmost label; `None` for the root.
pub fn wire_parent(a: &[u8]) -> Option<&[u8]> {
    match a.first() {
        Some(&len) if len != 0 => a.get(1 + len as usize..),
        _ => None,
    }
}

/// The length of the wire-form name at the start of `buf` (up to and including its root
/// label).
pub fn wire_len(buf: &[u8]) -> usize {
    let mut i = 0;
    while i < buf.len() && buf[i] != 0 {
        i += 1 + buf[i] as usize;
    }
    (i + 1).min(buf.len())
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl std::str::FromStr for Name {
    type Err = NameError;
    /// Parses an absolute name; a missing trailing dot is accepted (names in config and on the
    /// command line may be written either way).
    fn from_str(s: &str) -> Result<Name, NameError> {
        Name::parse(s, Some(&Name::root()))
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Name, D::Error> {
        parse_text(d, "a domain name")
    }
}

/// A value read from a string with its `FromStr`, from the text the format lends where it
/// can (no `String` in between: a zone's JSON has a name and a type in every record set).
pub(crate) fn parse_text<'de, D, T>(d: D, what: &'static str) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: fmt::Display,
{
    struct Text<T>(&'static str, std::marker::PhantomData<T>);
    impl<T: std::str::FromStr> serde::de::Visitor<'_> for Text<T>
    where
        T::Err: fmt::Display,
    {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<T, E> {
            s.parse().map_err(E::custom)
        }
    }
    d.deserialize_str(Text(what, std::marker::PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Name {
        s.parse().unwrap()
    }

    #[test]
    fn parse_and_show() {
        assert_eq!(n("WWW.Example.COM.").to_string(), "www.example.com.");
        assert_eq!(n("www.example.com").to_string(), "www.example.com.");
        assert_eq!(n(".").to_string(), ".");
        assert_eq!(n("a\\.b.example.").to_string(), "a\\.b.example.");
        assert_eq!(n("a\\032b.example.").to_string(), "a\\032b.example.");
        let origin = n("example.com.");
        assert_eq!(
            Name::parse("www", Some(&origin)).unwrap(),
            n("www.example.com.")
        );
        assert_eq!(Name::parse("@", Some(&origin)).unwrap(), origin);
        assert!(Name::parse("www", None).is_err());
        assert!(Name::parse("a..b.", None).is_err());
        assert!(Name::parse(&format!("{}.", "a".repeat(64)), None).is_err());
        // The last label of a relative name is checked too; an empty text is the origin.
        assert!(matches!(
            Name::parse(&"a".repeat(64), Some(&origin)),
            Err(NameError::LabelTooLong(_))
        ));
        assert_eq!(Name::parse("", Some(&origin)).unwrap(), origin);
        assert_eq!(
            Name::parse("x.y", Some(&origin)).unwrap(),
            n("x.y.example.com.")
        );
        assert_eq!(n("a\\.b.example.").wire(), b"\x03a.b\x07example\x00");
        assert!(Name::parse(&format!("{}.", vec!["a".repeat(63); 4].join(".")), None).is_err());
        // The wire form of an absolute name needs no reallocation (its box is the vector).
        assert_eq!(
            n("WWW.Example.COM.").wire(),
            b"\x03www\x07example\x03com\x00"
        );
        // Display and Deserialize agree with the slow paths: escapes and upper case.
        let odd = Name::from_wire(b"\x03a b\x02\xff.\x00").unwrap();
        assert_eq!(odd.to_string(), "a\\032b.\\255\\..");
        assert_eq!(odd.to_string().parse::<Name>().unwrap(), odd);
        let json: Name = serde_json::from_str("\"Mail.Example.\"").unwrap();
        assert_eq!(json, n("mail.example."));
        assert_eq!(serde_json::to_string(&json).unwrap(), "\"mail.example.\"");
    }

    #[test]
    fn relations() {
        assert!(n("a.b.example.").is_subdomain_of(&n("example.")));
        assert!(n("example.").is_subdomain_of(&n("example.")));
        assert!(!n("aexample.").is_subdomain_of(&n("example.")));
        assert!(n("x.").is_subdomain_of(&Name::root()));
        assert_eq!(n("a.b.example.").parent().unwrap(), n("b.example."));
        assert_eq!(n("www.example.com.").relative_to(&n("example.com.")), "www");
        assert_eq!(n("example.com.").relative_to(&n("example.com.")), "@");
        assert_eq!(
            n("other.org.").relative_to(&n("example.com.")),
            "other.org."
        );
    }

    #[test]
    fn canonical_order() {
        let mut v = [
            n("z.example."),
            n("example."),
            n("a.example."),
            n("yljkjljk.a.example."),
            n("*.z.example."),
        ];
        v.sort();
        let shown: Vec<String> = v.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "example.",
                "a.example.",
                "yljkjljk.a.example.",
                "z.example.",
                "*.z.example."
            ]
        );
    }
}
