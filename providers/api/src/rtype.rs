//! Record types by number, with their mnemonics (RFC 3597 `TYPEnnn` for the rest).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A resource record type.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RType(pub u16);

macro_rules! rtypes {
    ($($name:ident = $num:expr),* $(,)?) => {
        impl RType {
            $(pub const $name: RType = RType($num);)*
            /// The mnemonic of a known type.
            pub fn mnemonic(self) -> Option<&'static str> {
                match self.0 {
                    $($num => Some(stringify!($name)),)*
                    _ => None,
                }
            }
            fn from_mnemonic(s: &str) -> Option<RType> {
                $(if s.eq_ignore_ascii_case(stringify!($name)) { return Some(RType($num)); })*
                None
            }
        }
    };
}

rtypes! {
    A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, HINFO = 13, MX = 15, TXT = 16, RP = 17,
    AFSDB = 18, AAAA = 28, LOC = 29, SRV = 33, NAPTR = 35, KX = 36, CERT = 37, DNAME = 39,
    OPT = 41, DS = 43, SSHFP = 44, IPSECKEY = 45, RRSIG = 46, NSEC = 47, DNSKEY = 48,
    DHCID = 49, NSEC3 = 50, NSEC3PARAM = 51, TLSA = 52, SMIMEA = 53, HIP = 55, CDS = 59,
    CDNSKEY = 60, OPENPGPKEY = 61, CSYNC = 62, ZONEMD = 63, SVCB = 64, HTTPS = 65, SPF = 99,
    EUI48 = 108, EUI64 = 109, TKEY = 249, TSIG = 250, IXFR = 251, AXFR = 252, MAILB = 253,
    MAILA = 254, ANY = 255, URI = 256, CAA = 257,
}

impl RType {
    /// Meta and query-only types (RFC 6895 §3.1): never stored in a zone.
    pub fn is_meta(self) -> bool {
        matches!(self.0, 41 | 128..=255)
    }

    /// Parse a mnemonic or the RFC 3597 `TYPEnnn` form.
    pub fn parse(s: &str) -> Option<RType> {
        if let Some(t) = RType::from_mnemonic(s) {
            return Some(t);
        }
        let digits = s.strip_prefix("TYPE").or_else(|| s.strip_prefix("type"))?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse::<u16>().ok().map(RType)
    }
}

impl fmt::Display for RType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mnemonic() {
            Some(m) => f.write_str(m),
            None => write!(f, "TYPE{}", self.0),
        }
    }
}

impl fmt::Debug for RType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for RType {
    type Err = String;
    fn from_str(s: &str) -> Result<RType, String> {
        RType::parse(s).ok_or_else(|| format!("unknown record type {s:?}"))
    }
}

impl Serialize for RType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RType, D::Error> {
        crate::name::parse_text(d, "a record type")
    }
}

/// The record types an authoritative server holds that Switchback reads and writes losslessly
/// (each has a presentation codec in [`crate::rdata`]): the built-in server's and the RFC 2136
/// provider's set.
pub const ZONE_TYPES: &[RType] = &[
    RType::SOA,
    RType::NS,
    RType::A,
    RType::AAAA,
    RType::CNAME,
    RType::MX,
    RType::TXT,
    RType::SPF,
    RType::SRV,
    RType::CAA,
    RType::PTR,
    RType::NAPTR,
    RType::DS,
    RType::DNSKEY,
    RType::SSHFP,
    RType::TLSA,
    RType::SVCB,
    RType::HTTPS,
    RType::HINFO,
    RType::URI,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(RType::parse("aaaa"), Some(RType::AAAA));
        assert_eq!(RType::parse("TYPE65534"), Some(RType(65534)));
        assert_eq!(RType(65534).to_string(), "TYPE65534");
        assert_eq!(RType::parse("TYPE1"), Some(RType::A));
        assert_eq!(RType::parse("BOGUS"), None);
        assert_eq!(RType::parse("TYPE70000"), None);
        assert!(RType::ANY.is_meta() && RType::OPT.is_meta() && !RType::CAA.is_meta());
    }
}
