//! A DNS message reader for the rare paths that need every section (AXFR answers read by the
//! `rfc2136` provider, UPDATE requests taken by the built-in server): names followed through
//! compression pointers, and the names inside the RDATA of the types a sender may compress
//! (RFC 1035's, and those RFC 3597 §4 says to decompress) expanded, so that every RDATA comes
//! out in the uncompressed wire form [`crate::rdata`] reads. Never panics on any input.

use crate::{Name, RType};

/// One record of a message, its RDATA uncompressed, names lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub owner: Name,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    pub rdata: Vec<u8>,
}

/// One entry of the question (UPDATE: zone) section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub name: Name,
    pub qtype: u16,
    pub qclass: u16,
}

/// A whole message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: u16,
    pub flags: u16,
    pub questions: Vec<Question>,
    /// Answer (UPDATE: prerequisites), authority (UPDATE: updates), additional.
    pub answers: Vec<Record>,
    pub authority: Vec<Record>,
    pub additional: Vec<Record>,
}

impl Message {
    pub fn rcode(&self) -> u8 {
        (self.flags & 0x0F) as u8
    }

    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0x0F) as u8
    }
}

/// What is wrong with a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed DNS message: {0}")]
pub struct Malformed(pub &'static str);

fn u16_at(m: &[u8], at: usize) -> Result<u16, Malformed> {
    m.get(at..at + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or(Malformed("truncated"))
}

/// A name at `at` (pointers followed, lower-cased), and the offset after it where it was
/// written.
pub fn read_name(m: &[u8], at: usize) -> Result<(Vec<u8>, usize), Malformed> {
    let mut out = Vec::with_capacity(32);
    let (mut p, mut after, mut jumps) = (at, None, 0);
    loop {
        let len = *m.get(p).ok_or(Malformed("truncated name"))? as usize;
        if len & 0xC0 == 0xC0 {
            let lo = *m.get(p + 1).ok_or(Malformed("truncated pointer"))? as usize;
            after.get_or_insert(p + 2);
            jumps += 1;
            if jumps > 64 {
                return Err(Malformed("a compression loop"));
            }
            p = ((len & 0x3F) << 8) | lo;
            continue;
        }
        if len & 0xC0 != 0 {
            return Err(Malformed("a bad label type"));
        }
        out.push(len as u8);
        if len == 0 {
            break;
        }
        let label = m
            .get(p + 1..p + 1 + len)
            .ok_or(Malformed("truncated label"))?;
        out.extend(label.iter().map(u8::to_ascii_lowercase));
        if out.len() > 255 {
            return Err(Malformed("a name longer than 255 octets"));
        }
        p += 1 + len;
    }
    Ok((out, after.unwrap_or(p + 1)))
}

#[derive(Clone, Copy)]
enum Field {
    Fixed(usize),
    Name,
    CharString,
}

/// Where names sit in the RDATA of the types a sender may compress.
fn layout(rtype: u16) -> Option<&'static [Field]> {
    use Field::*;
    Some(match RType(rtype) {
        RType::NS | RType::CNAME | RType::PTR | RType::DNAME => &[Name],
        RType::SOA => &[Name, Name, Fixed(20)],
        RType::MX => &[Fixed(2), Name],
        RType::SRV => &[Fixed(6), Name],
        RType::NAPTR => &[Fixed(4), CharString, CharString, CharString, Name],
        _ => return None,
    })
}

/// The RDATA at `start..start + len` of `m`, names expanded.
fn rdata_of(m: &[u8], rtype: u16, start: usize, len: usize) -> Result<Vec<u8>, Malformed> {
    const T: Malformed = Malformed("truncated RDATA");
    let end = start + len;
    let raw = m.get(start..end).ok_or(T)?;
    let Some(fields) = layout(rtype) else {
        return Ok(raw.to_vec());
    };
    if len == 0 {
        // An UPDATE's "delete an RRset" and prerequisites carry no RDATA.
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(len + 16);
    let mut p = start;
    for f in fields {
        match *f {
            Field::Fixed(n) => {
                out.extend_from_slice(m.get(p..p + n).filter(|_| p + n <= end).ok_or(T)?);
                p += n;
            }
            Field::CharString => {
                let n = *m.get(p).filter(|_| p < end).ok_or(T)? as usize;
                out.extend_from_slice(m.get(p..p + 1 + n).filter(|_| p + 1 + n <= end).ok_or(T)?);
                p += 1 + n;
            }
            Field::Name => {
                let (name, next) = read_name(m, p)?;
                if next > end {
                    return Err(T);
                }
                out.extend_from_slice(&name);
                p = next;
            }
        }
    }
    if p != end {
        return Err(Malformed("RDATA longer than its fields"));
    }
    Ok(out)
}

fn records(m: &[u8], at: &mut usize, n: u16) -> Result<Vec<Record>, Malformed> {
    let mut v = Vec::with_capacity(usize::from(n).min(1024));
    for _ in 0..n {
        let (owner, next) = read_name(m, *at)?;
        let rtype = u16_at(m, next)?;
        let class = u16_at(m, next + 2)?;
        let ttl = (u32::from(u16_at(m, next + 4)?) << 16) | u32::from(u16_at(m, next + 6)?);
        let rdlen = u16_at(m, next + 8)? as usize;
        let rdata = rdata_of(m, rtype, next + 10, rdlen)?;
        *at = next + 10 + rdlen;
        let owner = Name::from_wire(&owner).ok_or(Malformed("a bad owner name"))?;
        v.push(Record {
            owner,
            rtype,
            class,
            ttl,
            rdata,
        });
    }
    Ok(v)
}

/// Reads a whole message.
pub fn parse(m: &[u8]) -> Result<Message, Malformed> {
    if m.len() < 12 {
        return Err(Malformed("shorter than a header"));
    }
    let id = u16_at(m, 0)?;
    let flags = u16_at(m, 2)?;
    let (qd, an, ns, ar) = (u16_at(m, 4)?, u16_at(m, 6)?, u16_at(m, 8)?, u16_at(m, 10)?);
    let mut at = 12;
    let mut questions = Vec::with_capacity(usize::from(qd).min(16));
    for _ in 0..qd {
        let (name, next) = read_name(m, at)?;
        let name = Name::from_wire(&name).ok_or(Malformed("a bad question name"))?;
        questions.push(Question {
            name,
            qtype: u16_at(m, next)?,
            qclass: u16_at(m, next + 2)?,
        });
        at = next + 4;
    }
    let answers = records(m, &mut at, an)?;
    let authority = records(m, &mut at, ns)?;
    let additional = records(m, &mut at, ar)?;
    if at != m.len() {
        return Err(Malformed("octets after the last record"));
    }
    Ok(Message {
        id,
        flags,
        questions,
        answers,
        authority,
        additional,
    })
}

/// The mnemonic of RCODE `rc` (RFC 6895 §2.3; RFC 2136 adds YXDOMAIN..NOTZONE), for the
/// codes a DNS message carries in its header or its OPT record; `None` for the others.
pub fn rcode_name(rc: u16) -> Option<&'static str> {
    Some(match rc {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        16 => "BADVERS",
        23 => "BADCOOKIE",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_names_in_rdata_are_expanded_and_truncations_refused() {
        // `example.test. MX 10 mail.example.test.`, the exchange compressed to a label and a
        // pointer to the question's name.
        let mut m = vec![0, 7, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(b"\x07example\x04test\x00\x00\x0f\x00\x01");
        m.extend_from_slice(&[0xC0, 12, 0, 15, 0, 1, 0, 0, 1, 44, 0, 9, 0, 10]);
        m.extend_from_slice(b"\x04mail\xC0\x0c");
        let p = parse(&m).unwrap();
        let r = &p.answers[0];
        assert_eq!(r.owner.to_string(), "example.test.");
        assert_eq!(r.ttl, 300);
        assert_eq!(
            crate::rdata::format(RType::MX, &r.rdata).unwrap(),
            "10 mail.example.test."
        );
        for i in 0..m.len() {
            assert!(parse(&m[..i]).is_err(), "truncated at {i}");
        }
    }
}
