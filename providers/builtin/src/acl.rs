//! Access lists (`allow_transfer`, later `allow_update`): single addresses, CIDR prefixes
//! and TSIG keys (`"key:NAME"`).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use switchback_api::Name;
use switchback_api::tsig::Key;

/// Who may do a thing: a client whose address is in one of `nets`, or whose request is
/// validly signed with one of `keys` (a signature that does not verify is refused before any
/// list is consulted). BIND's and Knot's lists mean the same: any entry suffices.
#[derive(Debug, Clone, Default)]
pub struct Acl {
    pub nets: Vec<Cidr>,
    /// Key names, canonical wire form.
    pub keys: Vec<Name>,
}

impl Acl {
    /// Addresses only.
    pub fn nets(nets: Vec<Cidr>) -> Acl {
        Acl {
            nets,
            keys: Vec::new(),
        }
    }

    /// Whether a request from `ip`, signed by `key` (already verified) or not, may proceed.
    pub fn allows(&self, ip: IpAddr, key: Option<&Key>) -> bool {
        self.nets.iter().any(|c| c.contains(ip))
            || key.is_some_and(|k| self.keys.iter().any(|n| k.is_named(n.wire())))
    }

    /// Whether `ip` is listed by address (the TCP table keeps a share for them).
    pub fn lists_address(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|c| c.contains(ip))
    }

    pub fn is_empty(&self) -> bool {
        self.nets.is_empty() && self.keys.is_empty()
    }
}

/// An address prefix such as `127.0.0.0/8` or `2001:db8::/32` (a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - self.prefix as u32).unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - self.prefix as u32).unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Cidr, String> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("{s:?} is not an address or CIDR prefix"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?} has a bad prefix length (0..={max})"))?,
        };
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches() {
        let c: Cidr = "127.0.0.0/8".parse().unwrap();
        assert!(c.contains("127.1.2.3".parse().unwrap()));
        assert!(c.contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!c.contains("128.0.0.1".parse().unwrap()));
        assert!(!c.contains("::1".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("192.0.2.1".parse().unwrap()));
        let one: Cidr = "::1".parse().unwrap();
        assert!(one.contains("::1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nonsense".parse::<Cidr>().is_err());
    }

    #[test]
    fn keys_or_addresses() {
        use switchback_api::tsig::Algorithm;
        let xfr: Name = "xfr.".parse().unwrap();
        let k = Key::new(&xfr, Algorithm::HmacSha256, b"s");
        let other = Key::new(&"other.".parse().unwrap(), Algorithm::HmacSha256, b"s");
        let acl = Acl {
            nets: vec!["10.0.0.0/8".parse().unwrap()],
            keys: vec![xfr],
        };
        let outside: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(acl.allows("10.1.1.1".parse().unwrap(), None));
        assert!(!acl.allows(outside, None));
        assert!(acl.allows(outside, Some(&k)));
        assert!(!acl.allows(outside, Some(&other)));
        assert!(!acl.lists_address(outside));
    }
}
