//! DNS message parsing and writing for the answer path: no allocation, no panics on any input.

/// DNS header flag bits (in the 16-bit flags word).
pub mod flags {
    pub const QR: u16 = 0x8000;
    pub const AA: u16 = 0x0400;
    pub const TC: u16 = 0x0200;
    pub const RD: u16 = 0x0100;
    pub const CD: u16 = 0x0010;
    pub const OPCODE_MASK: u16 = 0x7800;
}

pub mod rcode {
    pub const NOERROR: u8 = 0;
    pub const FORMERR: u8 = 1;
    pub const SERVFAIL: u8 = 2;
    pub const NXDOMAIN: u8 = 3;
    pub const NOTIMP: u8 = 4;
    pub const REFUSED: u8 = 5;
    pub const NOTAUTH: u8 = 9;
    /// Extended: BADVERS (16), carried as 1 in the OPT extended-rcode field.
    pub const BADVERS: u16 = 16;
}

pub const HEADER_LEN: usize = 12;
/// The UDP payload size we advertise and answer up to (DNS flag day 2020).
pub const OUR_UDP_PAYLOAD: u16 = 1232;
pub const MAX_NAME: usize = 255;

/// Type numbers as the answer path matches them (`match` needs plain constants), each taken
/// from [`RType`] so that the number is written once.
pub mod qtype {
    use switchback_api::RType;

    pub const T_A: u16 = RType::A.0;
    pub const T_NS: u16 = RType::NS.0;
    pub const T_CNAME: u16 = RType::CNAME.0;
    pub const T_SOA: u16 = RType::SOA.0;
    pub const T_MX: u16 = RType::MX.0;
    pub const T_AAAA: u16 = RType::AAAA.0;
    pub const T_SRV: u16 = RType::SRV.0;
    pub const T_OPT: u16 = RType::OPT.0;
    pub const T_DS: u16 = RType::DS.0;
    pub const T_SVCB: u16 = RType::SVCB.0;
    pub const T_HTTPS: u16 = RType::HTTPS.0;
    pub const T_IXFR: u16 = RType::IXFR.0;
    pub const T_AXFR: u16 = RType::AXFR.0;
    pub const T_ANY: u16 = RType::ANY.0;
    pub const T_TSIG: u16 = RType::TSIG.0;
}
use qtype::{T_IXFR, T_OPT, T_TSIG};

/// The EDNS(0) part of a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edns {
    pub payload: u16,
    pub version: u8,
    pub dnssec_ok: bool,
}

/// A parsed query. The question name is kept as offsets into the packet plus a lower-cased copy.
#[derive(Debug, Clone)]
pub struct Query {
    pub id: u16,
    pub flags: u16,
    /// Lower-cased uncompressed question name (wire form), `qname[..qname_len]`.
    pub qname: [u8; MAX_NAME],
    pub qname_len: usize,
    pub qtype: u16,
    pub qclass: u16,
    pub edns: Option<Edns>,
    /// Bytes of the question section in the packet (name + type + class), from offset 12.
    pub question_end: usize,
    /// The additional section holds a TSIG record (RFC 8945): the query goes to the signed
    /// path, which verifies it, answers the message without it and signs the answer.
    pub tsig: bool,
}

impl Query {
    pub fn opcode(&self) -> u8 {
        ((self.flags & flags::OPCODE_MASK) >> 11) as u8
    }
    pub fn qname(&self) -> &[u8] {
        &self.qname[..self.qname_len]
    }
}

/// What went wrong reading a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Not worth an answer (shorter than a header, or a response).
    Drop,
    /// Malformed: answer FORMERR (with the header's id and opcode, and the question if it
    /// could be read).
    FormErr {
        question_end: Option<usize>,
        /// Answer with an OPT record (the query carried one, valid or not: RFC 6891 §7).
        opt: bool,
    },
    /// An opcode we do not implement, whose question could not be read.
    NotImp,
}

#[inline]
fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Parse a query packet. Only the first question is read; QDCOUNT must be 1.
pub fn parse_query(pkt: &[u8]) -> Result<Query, ParseError> {
    if pkt.len() < HEADER_LEN {
        return Err(ParseError::Drop);
    }
    let id = u16::from_be_bytes([pkt[0], pkt[1]]);
    let fl = u16::from_be_bytes([pkt[2], pkt[3]]);
    if fl & flags::QR != 0 {
        return Err(ParseError::Drop);
    }
    let qd = u16::from_be_bytes([pkt[4], pkt[5]]);
    let an = u16::from_be_bytes([pkt[6], pkt[7]]);
    let ns = u16::from_be_bytes([pkt[8], pkt[9]]);
    let ar = u16::from_be_bytes([pkt[10], pkt[11]]);
    let opcode = ((fl & flags::OPCODE_MASK) >> 11) as u8;
    // An authority section is allowed only in an IXFR query (the client's SOA, RFC 1995 §3);
    // that is checked once the question type is known.
    if qd != 1 || an != 0 {
        return Err(if opcode == 0 {
            ParseError::FormErr {
                question_end: None,
                opt: false,
            }
        } else {
            ParseError::NotImp
        });
    }
    let mut q = Query {
        id,
        flags: fl,
        qname: [0; MAX_NAME],
        qname_len: 0,
        qtype: 0,
        qclass: 0,
        edns: None,
        question_end: 0,
        tsig: false,
    };
    // Question name: no compression allowed (nothing precedes it).
    let mut i = HEADER_LEN;
    loop {
        let len = *pkt.get(i).ok_or(ParseError::FormErr {
            question_end: None,
            opt: false,
        })? as usize;
        if len & 0xC0 != 0 {
            return Err(ParseError::FormErr {
                question_end: None,
                opt: false,
            });
        }
        if q.qname_len + 1 + len > MAX_NAME {
            return Err(ParseError::FormErr {
                question_end: None,
                opt: false,
            });
        }
        let label = pkt.get(i + 1..i + 1 + len).ok_or(ParseError::FormErr {
            question_end: None,
            opt: false,
        })?;
        q.qname[q.qname_len] = len as u8;
        for (d, s) in q.qname[q.qname_len + 1..q.qname_len + 1 + len]
            .iter_mut()
            .zip(label)
        {
            *d = s.to_ascii_lowercase();
        }
        q.qname_len += 1 + len;
        i += 1 + len;
        if len == 0 {
            break;
        }
    }
    q.qtype = be16(pkt, i).ok_or(ParseError::FormErr {
        question_end: None,
        opt: false,
    })?;
    q.qclass = be16(pkt, i + 2).ok_or(ParseError::FormErr {
        question_end: None,
        opt: false,
    })?;
    i += 4;
    q.question_end = i;
    if ns != 0 && (opcode != 0 || q.qtype != T_IXFR) {
        return Err(if opcode == 0 {
            ParseError::FormErr {
                question_end: None,
                opt: false,
            }
        } else {
            ParseError::NotImp
        });
    }
    let formerr = ParseError::FormErr {
        question_end: Some(q.question_end),
        opt: false,
    };
    for _ in 0..ns {
        let (_, next) = skip_name(pkt, i).ok_or(formerr)?;
        let rdlen = be16(pkt, next + 8).ok_or(formerr)? as usize;
        i = next + 10 + rdlen;
        if i > pkt.len() {
            return Err(formerr);
        }
    }
    // The reply echoes the question only (never the authority section: its counts say so).
    let opt_formerr = ParseError::FormErr {
        question_end: Some(q.question_end),
        opt: true,
    };
    // Additional section: at most one OPT, owner root; a TSIG is noted (the signed path checks
    // where it sits); anything else is skipped.
    for _ in 0..ar {
        let (owner_root, next) = skip_name(pkt, i).ok_or(formerr)?;
        let rtype = be16(pkt, next).ok_or(formerr)?;
        let class = be16(pkt, next + 2).ok_or(formerr)?;
        let ttl_hi = be16(pkt, next + 4).ok_or(formerr)?;
        let ttl_lo = be16(pkt, next + 6).ok_or(formerr)?;
        let rdlen = be16(pkt, next + 8).ok_or(formerr)? as usize;
        let end = next + 10 + rdlen;
        if end > pkt.len() {
            return Err(formerr);
        }
        if rtype == T_TSIG {
            q.tsig = true;
        }
        if rtype == T_OPT {
            if q.edns.is_some() {
                // RFC 6891 §6.1.1: more than one OPT is FORMERR (without OPT, as Knot).
                return Err(formerr);
            }
            if !owner_root || !valid_options(&pkt[next + 10..end]) {
                return Err(opt_formerr);
            }
            q.edns = Some(Edns {
                payload: class,
                version: (ttl_hi & 0xFF) as u8,
                dnssec_ok: ttl_lo & 0x8000 != 0,
            });
        }
        i = end;
    }
    if i != pkt.len() {
        // Octets after the last record (Knot answers FORMERR too).
        return Err(if q.edns.is_some() {
            opt_formerr
        } else {
            formerr
        });
    }
    Ok(q)
}

/// The serial of the SOA in the authority section of an IXFR query (RFC 1995 §3), if any.
pub fn ixfr_client_serial(pkt: &[u8], q: &Query) -> Option<u32> {
    if be16(pkt, 8)? == 0 {
        return None;
    }
    let (_, next) = skip_name(pkt, q.question_end)?;
    if be16(pkt, next)? != 6 {
        return None;
    }
    let rdlen = be16(pkt, next + 8)? as usize;
    let rdata = pkt.get(next + 10..next + 10 + rdlen)?;
    let at = rdata.len().checked_sub(20)?;
    let b = rdata.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Whether a message's header counts agree with its sections: the question, then every
/// record of the three sections, walked by the counts, end exactly at the end of the message.
/// Every reply we write must pass (a property the tests and fuzz targets check).
pub fn counts_match(m: &[u8]) -> bool {
    let (Some(qd), Some(an), Some(ns), Some(ar)) =
        (be16(m, 4), be16(m, 6), be16(m, 8), be16(m, 10))
    else {
        return false;
    };
    let mut i = HEADER_LEN;
    for _ in 0..qd {
        let Some((_, n)) = skip_name(m, i) else {
            return false;
        };
        i = n + 4;
    }
    for _ in 0..u32::from(an) + u32::from(ns) + u32::from(ar) {
        let Some((_, n)) = skip_name(m, i) else {
            return false;
        };
        let Some(rdlen) = be16(m, n + 8) else {
            return false;
        };
        i = n + 10 + rdlen as usize;
    }
    i == m.len()
}

/// EDNS options must tile the RDATA exactly.
fn valid_options(mut rdata: &[u8]) -> bool {
    while !rdata.is_empty() {
        let Some(len) = be16(rdata, 2) else {
            return false;
        };
        let total = 4 + len as usize;
        if total > rdata.len() {
            return false;
        }
        rdata = &rdata[total..];
    }
    true
}

/// Skip a (possibly compressed) name at `at`; returns (is_root, offset after it).
fn skip_name(pkt: &[u8], mut at: usize) -> Option<(bool, usize)> {
    let start = at;
    loop {
        let len = *pkt.get(at)?;
        if len & 0xC0 == 0xC0 {
            pkt.get(at + 1)?;
            return Some((false, at + 2));
        }
        if len & 0xC0 != 0 {
            return None;
        }
        at += 1 + len as usize;
        if len == 0 {
            return Some((at == start + 1, at));
        }
        if at > pkt.len() {
            return None;
        }
    }
}

/// Writes a response into a reusable buffer, compressing names against what it wrote before.
pub struct Writer<'a> {
    pub buf: &'a mut Vec<u8>,
    /// Offsets of label starts written uncompressed (each one starts a suffix we can point to).
    targets: [u16; 64],
    ntargets: usize,
}

/// Section counters live at fixed header offsets.
#[derive(Clone, Copy)]
pub enum Section {
    Answer = 6,
    Authority = 8,
    Additional = 10,
}

impl<'a> Writer<'a> {
    /// Start a response: header copied from the query with QR set, then the question
    /// (copied as the client sent it, so the name's case is preserved).
    pub fn response(buf: &'a mut Vec<u8>, pkt: &[u8], q: &Query, aa: bool, rc: u8) -> Writer<'a> {
        buf.clear();
        let mut fl = flags::QR | (q.flags & (flags::OPCODE_MASK | flags::RD | flags::CD));
        if aa {
            fl |= flags::AA;
        }
        fl |= rc as u16 & 0xF;
        buf.extend_from_slice(&q.id.to_be_bytes());
        buf.extend_from_slice(&fl.to_be_bytes());
        buf.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
        buf.extend_from_slice(&pkt[HEADER_LEN..q.question_end]);
        let mut w = Writer {
            buf,
            targets: [0; 64],
            ntargets: 0,
        };
        // Every label of the question name is a compression target.
        let mut i = HEADER_LEN;
        while w.buf[i] != 0 && w.ntargets < w.targets.len() {
            w.targets[w.ntargets] = i as u16;
            w.ntargets += 1;
            i += 1 + w.buf[i] as usize;
        }
        w
    }

    /// A bare header-only response (FORMERR/NOTIMP when the question could not be read).
    pub fn header_only(buf: &'a mut Vec<u8>, pkt: &[u8], rc: u8) -> Writer<'a> {
        buf.clear();
        let id = [pkt[0], pkt[1]];
        let fl = u16::from_be_bytes([pkt[2], pkt[3]]);
        let fl =
            flags::QR | (fl & (flags::OPCODE_MASK | flags::RD | flags::CD)) | (rc as u16 & 0xF);
        buf.extend_from_slice(&id);
        buf.extend_from_slice(&fl.to_be_bytes());
        buf.extend_from_slice(&[0; 8]);
        Writer {
            buf,
            targets: [0; 64],
            ntargets: 0,
        }
    }

    /// A later message of a multi-message answer (zone transfer): header with AA, no question.
    pub fn continuation(buf: &'a mut Vec<u8>, pkt: &[u8]) -> Writer<'a> {
        let w = Writer::header_only(buf, pkt, rcode::NOERROR);
        w.buf[2] |= (flags::AA >> 8) as u8;
        w
    }

    pub fn set_rcode(&mut self, rc: u8) {
        self.buf[3] = (self.buf[3] & 0xF0) | (rc & 0xF);
    }

    pub fn set_flag(&mut self, flag: u16, on: bool) {
        let mut fl = u16::from_be_bytes([self.buf[2], self.buf[3]]);
        if on {
            fl |= flag;
        } else {
            fl &= !flag;
        }
        self.buf[2..4].copy_from_slice(&fl.to_be_bytes());
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn bump(&mut self, s: Section) {
        let at = s as usize;
        let n = u16::from_be_bytes([self.buf[at], self.buf[at + 1]]).wrapping_add(1);
        self.buf[at..at + 2].copy_from_slice(&n.to_be_bytes());
    }

    pub fn count(&self, s: Section) -> u16 {
        let at = s as usize;
        u16::from_be_bytes([self.buf[at], self.buf[at + 1]])
    }

    /// Drop everything from `at` on (a section boundary) and zero the counters after `keep`.
    pub fn truncate_to(&mut self, at: usize, an: u16, ns: u16, ar: u16) {
        self.buf.truncate(at);
        self.buf[6..8].copy_from_slice(&an.to_be_bytes());
        self.buf[8..10].copy_from_slice(&ns.to_be_bytes());
        self.buf[10..12].copy_from_slice(&ar.to_be_bytes());
        // Forget compression targets past the cut.
        while self.ntargets > 0 && self.targets[self.ntargets - 1] as usize >= at {
            self.ntargets -= 1;
        }
    }

    /// Write a lower-case uncompressed wire name, compressed against earlier names.
    pub fn name(&mut self, name: &[u8]) {
        let mut i = 0;
        while i < name.len() && name[i] != 0 {
            if let Some(ptr) = self.find_suffix(&name[i..]) {
                self.buf.extend_from_slice(&(0xC000 | ptr).to_be_bytes());
                return;
            }
            let len = name[i] as usize;
            let here = self.buf.len();
            if here < 0x3FFF && self.ntargets < self.targets.len() {
                self.targets[self.ntargets] = here as u16;
                self.ntargets += 1;
            }
            self.buf.extend_from_slice(&name[i..i + 1 + len]);
            i += 1 + len;
        }
        self.buf.push(0);
    }

    /// Offset of an already written name equal (ignoring case) to `suffix`.
    fn find_suffix(&self, suffix: &[u8]) -> Option<u16> {
        self.targets[..self.ntargets]
            .iter()
            .copied()
            .find(|&t| name_eq_at(self.buf, t as usize, suffix))
    }

    /// A resource record. `rdata` is uncompressed wire; the names inside it that may be
    /// compressed (NS, CNAME, PTR, MX, SOA names) are found from its type.
    pub fn record(&mut self, s: Section, owner: Owner<'_>, rtype: u16, ttl: u32, rdata: &[u8]) {
        let names = switchback_api::rdata::compressible(switchback_api::RType(rtype), rdata);
        match owner {
            Owner::Question => self.buf.extend_from_slice(&[0xC0, HEADER_LEN as u8]),
            Owner::Name(n) => self.name(n),
        }
        self.buf.extend_from_slice(&rtype.to_be_bytes());
        self.buf.extend_from_slice(&1u16.to_be_bytes());
        self.buf.extend_from_slice(&ttl.to_be_bytes());
        let len_at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        let mut pos = 0;
        for r in names.iter() {
            self.buf.extend_from_slice(&rdata[pos..r.start]);
            self.name(&rdata[r.clone()]);
            pos = r.end;
        }
        self.buf.extend_from_slice(&rdata[pos..]);
        let len = (self.buf.len() - len_at - 2) as u16;
        self.buf[len_at..len_at + 2].copy_from_slice(&len.to_be_bytes());
        self.bump(s);
    }

    /// The OPT pseudo-record (always last).
    pub fn opt(&mut self, ext_rcode: u8, dnssec_ok: bool) {
        self.buf.push(0);
        self.buf.extend_from_slice(&T_OPT.to_be_bytes());
        self.buf.extend_from_slice(&OUR_UDP_PAYLOAD.to_be_bytes());
        self.buf.push(ext_rcode);
        self.buf.push(0);
        self.buf
            .extend_from_slice(&(if dnssec_ok { 0x8000u16 } else { 0 }).to_be_bytes());
        self.buf.extend_from_slice(&[0, 0]);
        self.bump(Section::Additional);
    }
}

/// The owner of a record being written.
pub enum Owner<'n> {
    /// The question name (a pointer to offset 12; keeps the client's case).
    Question,
    Name(&'n [u8]),
}

/// Does the (possibly compressed) name at `at` in `buf` equal `name` (uncompressed, lower
/// case)? Case-insensitive.
fn name_eq_at(buf: &[u8], mut at: usize, name: &[u8]) -> bool {
    let mut i = 0;
    let mut hops = 0;
    loop {
        let Some(&len) = buf.get(at) else {
            return false;
        };
        if len & 0xC0 == 0xC0 {
            hops += 1;
            if hops > 16 {
                return false;
            }
            let Some(&lo) = buf.get(at + 1) else {
                return false;
            };
            at = (((len & 0x3F) as usize) << 8) | lo as usize;
            continue;
        }
        let len = len as usize;
        if name.get(i) != Some(&(len as u8)) {
            return false;
        }
        if len == 0 {
            return true;
        }
        let (Some(a), Some(b)) = (buf.get(at + 1..at + 1 + len), name.get(i + 1..i + 1 + len))
        else {
            return false;
        };
        if !a.eq_ignore_ascii_case(b) {
            return false;
        }
        at += 1 + len;
        i += 1 + len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &[u8], qtype: u16, extra: &[u8], ar: u16) -> Vec<u8> {
        let mut p = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0];
        p.extend_from_slice(&ar.to_be_bytes());
        p.extend_from_slice(name);
        p.extend_from_slice(&qtype.to_be_bytes());
        p.extend_from_slice(&1u16.to_be_bytes());
        p.extend_from_slice(extra);
        p
    }

    const WWW: &[u8] = b"\x03WwW\x07example\x03com\x00";

    #[test]
    fn parses_question_and_edns() {
        let opt = [0, 0, 41, 0x10, 0, 0, 0, 0x80, 0, 0, 0];
        let q = parse_query(&query(WWW, 1, &opt, 1)).unwrap();
        assert_eq!(q.qname(), b"\x03www\x07example\x03com\x00");
        assert_eq!(q.qtype, 1);
        assert_eq!(
            q.edns,
            Some(Edns {
                payload: 4096,
                version: 0,
                dnssec_ok: true
            })
        );
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(parse_query(&[0; 5]).unwrap_err(), ParseError::Drop);
        // Compression pointer in the question.
        assert!(matches!(
            parse_query(&query(b"\xC0\x0C", 1, &[], 0)),
            Err(ParseError::FormErr { .. })
        ));
        // Two OPT records.
        let opt = [0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0];
        let two: Vec<u8> = opt.iter().chain(opt.iter()).copied().collect();
        assert_eq!(
            parse_query(&query(WWW, 1, &two, 2)).unwrap_err(),
            ParseError::FormErr {
                question_end: Some(WWW.len() + 16),
                opt: false
            }
        );
        // OPT with a bad option length: FORMERR with an OPT in the answer.
        let bad = [0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 4, 0, 3, 0, 9];
        assert!(matches!(
            parse_query(&query(WWW, 1, &bad, 1)),
            Err(ParseError::FormErr { opt: true, .. })
        ));
        // Octets after the question.
        assert!(matches!(
            parse_query(&query(WWW, 1, &[0, 0], 0)),
            Err(ParseError::FormErr {
                question_end: Some(_),
                opt: false
            })
        ));
        // Truncated.
        let full = query(WWW, 1, &[], 0);
        for cut in 12..full.len() {
            assert!(parse_query(&full[..cut]).is_err(), "cut {cut}");
        }
    }

    #[test]
    fn ixfr_carries_the_client_soa() {
        // IXFR with the client's SOA (serial 42) in the authority section.
        let mut p = query(WWW, 251, &[], 0);
        p[8..10].copy_from_slice(&1u16.to_be_bytes());
        p.extend_from_slice(&[0xC0, 12, 0, 6, 0, 1, 0, 0, 0, 60, 0, 22, 0, 0]);
        p.extend_from_slice(&42u32.to_be_bytes());
        p.extend_from_slice(&[0; 16]);
        let q = parse_query(&p).unwrap();
        assert_eq!(ixfr_client_serial(&p, &q), Some(42));
        // Truncated authority: FORMERR.
        assert!(matches!(
            parse_query(&p[..p.len() - 3]),
            Err(ParseError::FormErr { .. })
        ));
        // An authority section in any other query stays FORMERR.
        p[WWW.len() + 12..WWW.len() + 14].copy_from_slice(&1u16.to_be_bytes());
        assert_eq!(
            parse_query(&p).unwrap_err(),
            ParseError::FormErr {
                question_end: None,
                opt: false
            }
        );
        // No authority: no client serial.
        let p = query(WWW, 251, &[], 0);
        assert_eq!(ixfr_client_serial(&p, &parse_query(&p).unwrap()), None);
    }

    #[test]
    fn writer_compresses_against_question() {
        let pkt = query(WWW, 1, &[], 0);
        let q = parse_query(&pkt).unwrap();
        let mut buf = Vec::new();
        let mut w = Writer::response(&mut buf, &pkt, &q, true, 0);
        w.record(
            Section::Answer,
            Owner::Question,
            5,
            60,
            b"\x04mail\x07example\x03com\x00",
        );
        // owner pointer (2) + fixed (10) + "mail" label (5) + pointer to example.com (2)
        assert_eq!(buf.len(), pkt.len() + 2 + 10 + 5 + 2);
        assert_eq!(&buf[buf.len() - 2..], &[0xC0, 16]);
    }
}
