//! Normalized view of a DNS answer and a readable difference between two of them.
//!
//! A response is reduced to: opcode, rcode (with the EDNS extended bits merged), the flags AA TC
//! RD RA AD CD, the question (case kept, since servers must echo it), and each section as a
//! sorted set of records in presentation form. Owner names and the domain names inside RDATA are
//! lower-cased (DNS names compare case-insensitively, RFC 4343 §3; Knot lower-cases every name it
//! loads, the Switchback model keeps names lower-case). The OPT record is kept out of the
//! sections; its version, UDP payload size, DO bit and extended rcode are compared on their own.
//! EDNS options (for example Knot's Extended DNS Error on REFUSED) are not compared.

use std::collections::BTreeSet;
use std::fmt;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::SVCB;
use hickory_proto::rr::rdata::svcb::SvcParamValue;
use hickory_proto::rr::{Name, RData, Record, RecordType};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flags {
    pub aa: bool,
    pub tc: bool,
    pub rd: bool,
    pub ra: bool,
    pub ad: bool,
    pub cd: bool,
}

impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut v = vec!["qr"];
        for (on, name) in [
            (self.aa, "aa"),
            (self.tc, "tc"),
            (self.rd, "rd"),
            (self.ra, "ra"),
            (self.ad, "ad"),
            (self.cd, "cd"),
        ] {
            if on {
                v.push(name);
            }
        }
        f.write_str(&v.join(" "))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdnsInfo {
    pub version: u8,
    pub payload: u16,
    pub dnssec_ok: bool,
    /// The upper 8 bits of the 12-bit rcode, as carried in the OPT TTL.
    pub ext_rcode: u8,
    /// The Z flag bits, which a responder must send as zero (RFC 6891 §6.1.4).
    pub z: u16,
}

impl fmt::Display for EdnsInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "version {} udp {} do {} ext-rcode {} z {:#06x}",
            self.version, self.payload, self.dnssec_ok as u8, self.ext_rcode, self.z
        )
    }
}

/// What the differential test compares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Normalized {
    pub opcode: String,
    pub rcode: String,
    pub flags: Flags,
    pub question: Vec<String>,
    pub answer: BTreeSet<String>,
    pub authority: BTreeSet<String>,
    pub additional: BTreeSet<String>,
    pub edns: Option<EdnsInfo>,
}

impl Normalized {
    pub fn from_message(msg: &Message) -> Self {
        let m = &msg.metadata;
        Normalized {
            opcode: format!("{}", m.op_code),
            rcode: rcode_name(m.response_code),
            flags: Flags {
                aa: m.authoritative,
                tc: m.truncation,
                rd: m.recursion_desired,
                ra: m.recursion_available,
                ad: m.authentic_data,
                cd: m.checking_disabled,
            },
            question: msg
                .queries
                .iter()
                .map(|q| {
                    format!(
                        "{} {} {}",
                        q.name(),
                        q.query_class(),
                        type_name(q.query_type())
                    )
                })
                .collect(),
            answer: msg.answers.iter().map(record_to_string).collect(),
            authority: msg.authorities.iter().map(record_to_string).collect(),
            additional: msg.additionals.iter().map(record_to_string).collect(),
            edns: msg.edns.as_ref().map(|e| EdnsInfo {
                version: e.version(),
                payload: e.max_payload(),
                dnssec_ok: e.flags().dnssec_ok,
                ext_rcode: e.rcode_high(),
                z: e.flags().z,
            }),
        }
    }

    /// A referral: not authoritative, no answer, NS records in the authority section.
    pub fn is_referral(&self) -> bool {
        !self.flags.aa
            && self.answer.is_empty()
            && self.authority.iter().any(|r| rr_type(r) == "NS")
    }
}

impl fmt::Display for Normalized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            ";; opcode {} rcode {} flags: {}",
            self.opcode, self.rcode, self.flags
        )?;
        match &self.edns {
            Some(e) => writeln!(f, ";; EDNS: {e}")?,
            None => writeln!(f, ";; no EDNS")?,
        }
        for q in &self.question {
            writeln!(f, ";; QUESTION {q}")?;
        }
        for (name, sec) in [
            ("ANSWER", &self.answer),
            ("AUTHORITY", &self.authority),
            ("ADDITIONAL", &self.additional),
        ] {
            for r in sec {
                writeln!(f, "{name:<10} {r}")?;
            }
        }
        Ok(())
    }
}

/// The type field of a record string made by `record_to_string`.
pub fn rr_type(rr: &str) -> &str {
    rr.split(' ').nth(3).unwrap_or("")
}

/// The owner field of a record string made by `record_to_string`.
pub fn rr_owner(rr: &str) -> &str {
    rr.split(' ').next().unwrap_or("")
}

/// The lines that tell two normalized answers apart; empty when they are the same.
pub fn diff(
    left_name: &str,
    left: &Normalized,
    right_name: &str,
    right: &Normalized,
) -> Vec<String> {
    let mut out = Vec::new();
    let w = left_name.len().max(right_name.len());
    let mut field = |what: &str, l: String, r: String| {
        if l != r {
            out.push(format!(
                "{what}:\n      {left_name:<w$}: {l}\n      {right_name:<w$}: {r}"
            ));
        }
    };
    field("opcode", left.opcode.clone(), right.opcode.clone());
    field("rcode", left.rcode.clone(), right.rcode.clone());
    field("flags", left.flags.to_string(), right.flags.to_string());
    field(
        "question",
        left.question.join(", "),
        right.question.join(", "),
    );
    field(
        "EDNS",
        left.edns
            .as_ref()
            .map_or_else(|| "none".to_string(), |e| e.to_string()),
        right
            .edns
            .as_ref()
            .map_or_else(|| "none".to_string(), |e| e.to_string()),
    );
    for (name, l, r) in [
        ("answer", &left.answer, &right.answer),
        ("authority", &left.authority, &right.authority),
        ("additional", &left.additional, &right.additional),
    ] {
        if l != r {
            let mut s = format!("{name} section differs:");
            for x in l.difference(r) {
                s.push_str(&format!("\n      only {left_name:<w$}: {x}"));
            }
            for x in r.difference(l) {
                s.push_str(&format!("\n      only {right_name:<w$}: {x}"));
            }
            out.push(s);
        }
    }
    out
}

/// `owner ttl class type rdata`, owner lower-cased.
pub fn record_to_string(r: &Record) -> String {
    format!(
        "{} {} {} {} {}",
        lname(&r.name),
        r.ttl,
        r.dns_class,
        type_name(r.record_type()),
        rdata_to_string(&r.data)
    )
}

/// The RCODE mnemonic (RFC 6895 §2.3), RCODEn for the rest.
pub fn rcode_name(rc: ResponseCode) -> String {
    let n = u16::from(rc);
    switchback_api::message::rcode_name(n).map_or_else(|| format!("RCODE{n}"), str::to_string)
}

/// RFC 3597 style for unknown types, the mnemonic otherwise.
pub fn type_name(t: RecordType) -> String {
    match t {
        RecordType::Unknown(n) => format!("TYPE{n}"),
        t => t.to_string(),
    }
}

/// A domain name in presentation form, lower-cased.
pub fn lname(n: &Name) -> String {
    n.to_ascii().to_ascii_lowercase()
}

/// RDATA in presentation form. Hickory's own `Display` joins TXT strings without quotes and
/// prints unknown SVCB keys lossily, so those types (and every type whose RDATA holds text) are
/// written here; unknown types use the RFC 3597 generic form.
pub fn rdata_to_string(data: &RData) -> String {
    match data {
        RData::TXT(t) => t
            .txt_data
            .iter()
            .map(|s| quote(s))
            .collect::<Vec<_>>()
            .join(" "),
        RData::CAA(c) => format!("{} {} {}", c.flags(), c.tag, quote(&c.value)),
        RData::NAPTR(n) => format!(
            "{} {} {} {} {} {}",
            n.order,
            n.preference,
            quote(&n.flags),
            quote(&n.services),
            quote(&n.regexp),
            lname(&n.replacement)
        ),
        RData::CNAME(n) => lname(&n.0),
        RData::NS(n) => lname(&n.0),
        RData::PTR(n) => lname(&n.0),
        RData::MX(m) => format!("{} {}", m.preference, lname(&m.exchange)),
        RData::SOA(s) => format!(
            "{} {} {} {} {} {} {}",
            lname(&s.mname),
            lname(&s.rname),
            s.serial,
            s.refresh,
            s.retry,
            s.expire,
            s.minimum
        ),
        RData::SRV(s) => format!(
            "{} {} {} {}",
            s.priority,
            s.weight,
            s.port,
            lname(&s.target)
        ),
        RData::SVCB(s) => svcb(s),
        RData::HTTPS(h) => svcb(&h.0),
        RData::NULL(n) => generic(&n.anything),
        RData::Unknown { rdata, .. } => generic(&rdata.anything),
        other => other.to_string(),
    }
}

fn svcb(s: &SVCB) -> String {
    let mut out = format!("{} {}", s.svc_priority, lname(&s.target_name));
    for (key, value) in &s.svc_params {
        let v = match value {
            SvcParamValue::Mandatory(m) => {
                m.0.iter()
                    .map(|k| k.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            }
            SvcParamValue::Alpn(a) => quote_str(&a.0.join(",")),
            SvcParamValue::NoDefaultAlpn => String::new(),
            SvcParamValue::Port(p) => p.to_string(),
            SvcParamValue::Ipv4Hint(h) => {
                h.0.iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            }
            SvcParamValue::Ipv6Hint(h) => {
                h.0.iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            }
            SvcParamValue::EchConfigList(e) => format!("hex:{}", super::dns::hex(&e.0)),
            SvcParamValue::Unknown(u) => format!("hex:{}", super::dns::hex(&u.0)),
        };
        if v.is_empty() {
            out.push_str(&format!(" {key}"));
        } else {
            out.push_str(&format!(" {key}={v}"));
        }
    }
    out
}

/// RFC 3597 generic RDATA.
pub fn generic(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        "\\# 0".to_string()
    } else {
        format!(
            "\\# {} {}",
            bytes.len(),
            super::dns::hex(bytes).to_uppercase()
        )
    }
}

/// A <character-string> in quotes, with `"` and `\` escaped and bytes outside printable
/// ASCII as `\DDD` (RFC 1035 §5.1).
pub fn quote(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push('"');
    for &b in bytes {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\{b:03}")),
        }
    }
    s.push('"');
    s
}

fn quote_str(s: &str) -> String {
    quote(s.as_bytes())
}
