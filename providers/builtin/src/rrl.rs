//! Response rate limiting per client prefix (/24 for IPv4, /56 for IPv6), checked without
//! waiting: over the limit a response is dropped, or every `slip`-th one is sent truncated
//! (TC) so a real client retries over TCP.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// `[server] rrl = { responses_per_second = N, slip = 2 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RrlConfig {
    pub responses_per_second: NonZeroU32,
    /// 0: always drop; 1: always truncate; n: truncate every n-th limited response.
    pub slip: u32,
}

pub struct Rrl {
    limiter: DefaultKeyedRateLimiter<(u8, u128)>,
    pub slip: u32,
}

/// What to do with a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Send,
    Drop,
    Truncate,
}

impl Rrl {
    pub fn new(cfg: RrlConfig) -> Rrl {
        Rrl {
            limiter: RateLimiter::keyed(Quota::per_second(cfg.responses_per_second)),
            slip: cfg.slip,
        }
    }

    /// `counter` is the caller's own (per worker) count of limited responses.
    pub fn check(&self, ip: IpAddr, counter: &mut u32) -> Verdict {
        let key = match ip {
            IpAddr::V4(a) => (4, (u32::from(a) & 0xFFFF_FF00) as u128),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => (4, (u32::from(v4) & 0xFFFF_FF00) as u128),
                None => (6, u128::from(a) & (u128::MAX << 72)),
            },
        };
        if self.limiter.check_key(&key).is_ok() {
            return Verdict::Send;
        }
        *counter = counter.wrapping_add(1);
        if self.slip != 0 && *counter % self.slip == 0 {
            Verdict::Truncate
        } else {
            Verdict::Drop
        }
    }

    /// Forget idle clients (call now and then).
    pub fn housekeeping(&self) {
        self.limiter.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_prefix_and_slips() {
        let rrl = Rrl::new(RrlConfig {
            responses_per_second: NonZeroU32::new(5).unwrap(),
            slip: 2,
        });
        let mut c = 0;
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let same_24: IpAddr = "192.0.2.200".parse().unwrap();
        let other: IpAddr = "198.51.100.1".parse().unwrap();
        let sent = (0..5)
            .filter(|_| rrl.check(a, &mut c) == Verdict::Send)
            .count();
        assert_eq!(sent, 5);
        // The same /24 shares the budget; limited responses alternate drop / truncate.
        assert_eq!(rrl.check(same_24, &mut c), Verdict::Drop);
        assert_eq!(rrl.check(same_24, &mut c), Verdict::Truncate);
        assert_eq!(rrl.check(other, &mut c), Verdict::Send);
        let v6a: IpAddr = "2001:db8:0:1::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8:0:ff::2".parse().unwrap();
        for _ in 0..5 {
            assert_eq!(rrl.check(v6a, &mut c), Verdict::Send);
        }
        assert_ne!(rrl.check(v6b, &mut c), Verdict::Send, "same /56");
    }
}
