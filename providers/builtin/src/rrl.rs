//! Response rate limiting per client prefix (/24 for IPv4, /56 for IPv6), checked without
//! waiting, locking or allocating: over the limit a response is dropped, or every `slip`-th one
//! is sent truncated (TC) so a real client retries over TCP.
//!
//! The table is fixed in size ([`TABLE_SLOTS`] slots of 8 bytes, 2 MiB), as Knot's and NSD's
//! are: a prefix hashes (with a key chosen at start) to one slot holding a GCRA state (the
//! theoretical arrival time), updated by compare-and-swap. Prefixes that collide share a
//! budget; spoofed sources cannot grow it, whatever their number.

use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::acl::Cidr;

/// Slots in the table (a power of two).
pub const TABLE_SLOTS: usize = 1 << 18;

/// `[server] rrl = { responses_per_second = N, slip = 2 }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RrlConfig {
    pub responses_per_second: NonZeroU32,
    /// 0: always drop; 1: always truncate; n: truncate every n-th limited response.
    pub slip: u32,
    /// Sources never limited (default: loopback).
    pub exempt: Vec<Cidr>,
}

impl Default for RrlConfig {
    /// On by default: 200 responses per second per prefix, slip 2 (as NSD), loopback exempt.
    fn default() -> RrlConfig {
        RrlConfig {
            responses_per_second: NonZeroU32::new(200).unwrap_or(NonZeroU32::MIN),
            slip: 2,
            exempt: ["127.0.0.0/8", "::1/128"]
                .iter()
                .filter_map(|c| c.parse().ok())
                .collect(),
        }
    }
}

pub struct Rrl {
    slots: Box<[AtomicU64]>,
    hasher: std::collections::hash_map::RandomState,
    start: Instant,
    /// Nanoseconds between two responses at the limit.
    interval: u64,
    /// How far ahead of now a slot's arrival time may run (a second's worth: the burst).
    tolerance: u64,
    exempt: Vec<Cidr>,
    pub slip: u32,
}

/// What to do with a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Send,
    Drop,
    Truncate,
}

/// `n` empty slots from zeroed memory: a big table is fresh pages of the system's, resident
/// only where a client's responses have touched it (2 MiB of RSS otherwise, from the start).
fn zeroed_slots(n: usize) -> Box<[AtomicU64]> {
    let Ok(layout) = std::alloc::Layout::array::<AtomicU64>(n) else {
        std::process::abort();
    };
    if layout.size() == 0 {
        return Box::new([]);
    }
    // SAFETY: the layout is an array of `n` AtomicU64 of non-zero size; the memory is zeroed,
    // and all zero bits is a valid AtomicU64 (0: it has the in-memory representation of a
    // u64); the box takes the allocation with the same layout it will free it with.
    unsafe {
        let p = std::alloc::alloc_zeroed(layout).cast::<AtomicU64>();
        if p.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        Box::from_raw(std::ptr::slice_from_raw_parts_mut(p, n))
    }
}

impl Rrl {
    pub fn new(cfg: RrlConfig) -> Rrl {
        Rrl::with_slots(cfg, TABLE_SLOTS)
    }

    /// A table of `slots` slots (rounded up to a power of two; tests use small ones).
    pub fn with_slots(cfg: RrlConfig, slots: usize) -> Rrl {
        let n = slots.max(1).next_power_of_two();
        let rate = u64::from(cfg.responses_per_second.get());
        // Nanoseconds per response: 0 above 10^9/s (no limit the clock can see).
        let interval = 1_000_000_000 / rate;
        Rrl {
            slots: zeroed_slots(n),
            hasher: std::collections::hash_map::RandomState::new(),
            start: Instant::now(),
            interval,
            // A second's worth of responses, less one: interval * (rate - 1) when the division
            // is exact, and still a second when the interval rounds down (a rate above 10^9/s
            // would otherwise leave no tolerance, and two workers reading the clock a
            // nanosecond apart would drop each other's responses).
            tolerance: 1_000_000_000u64.saturating_sub(interval),
            exempt: cfg.exempt,
            slip: cfg.slip,
        }
    }

    /// The table's size in bytes (fixed).
    pub fn table_bytes(&self) -> usize {
        self.slots.len() * std::mem::size_of::<AtomicU64>()
    }

    fn slot(&self, ip: IpAddr) -> &AtomicU64 {
        let (family, prefix) = match ip {
            IpAddr::V4(a) => (4u8, u128::from(u32::from(a) & 0xFFFF_FF00)),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => (4, u128::from(u32::from(v4) & 0xFFFF_FF00)),
                None => (6, u128::from(a) & (u128::MAX << 72)),
            },
        };
        let mut h = self.hasher.build_hasher();
        h.write_u8(family);
        h.write_u128(prefix);
        let i = (h.finish() as usize) & (self.slots.len() - 1);
        &self.slots[i]
    }

    /// `counter` is the caller's own (per worker) count of limited responses.
    pub fn check(&self, ip: IpAddr, counter: &mut u32) -> Verdict {
        self.check_at(ip, counter, self.start.elapsed().as_nanos() as u64)
    }

    fn check_at(&self, ip: IpAddr, counter: &mut u32, now: u64) -> Verdict {
        if self.exempt.iter().any(|c| c.contains(ip)) {
            return Verdict::Send;
        }
        let slot = self.slot(ip);
        // GCRA: the slot's theoretical arrival time may run at most `tolerance` ahead of now.
        let now = now.saturating_add(1);
        let mut cur = slot.load(Ordering::Relaxed);
        let allowed = loop {
            let tat = cur.max(now);
            if tat - now > self.tolerance {
                break false;
            }
            match slot.compare_exchange_weak(
                cur,
                tat + self.interval,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break true,
                Err(actual) => cur = actual,
            }
        };
        if allowed {
            return Verdict::Send;
        }
        *counter = counter.wrapping_add(1);
        if self.slip != 0 && *counter % self.slip == 0 {
            Verdict::Truncate
        } else {
            Verdict::Drop
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_above_the_clock_resolution_never_drops() {
        // Found by the benchmark: at 4 * 10^9/s the interval is 0, and a response whose
        // clock reading is a little behind another worker's was dropped.
        let rrl = Rrl::new(RrlConfig {
            responses_per_second: NonZeroU32::new(4_000_000_000).unwrap(),
            slip: 2,
            exempt: Vec::new(),
        });
        let mut c = 0;
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        for now in [1_000_000u64, 1_000_000, 999_000, 1_000_001, 500_000] {
            assert_eq!(rrl.check_at(a, &mut c, now), Verdict::Send, "at {now}");
        }
    }

    #[test]
    fn limits_per_prefix_and_slips() {
        let rrl = Rrl::new(RrlConfig {
            responses_per_second: NonZeroU32::new(5).unwrap(),
            slip: 2,
            exempt: Vec::new(),
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

    #[test]
    fn a_million_spoofed_prefixes_cannot_grow_the_table() {
        let rrl = Rrl::with_slots(RrlConfig::default(), 1 << 12);
        let bytes = rrl.table_bytes();
        let mut c = 0;
        let mut sent = 0u64;
        // 1,000,000 distinct /56s, one response each, all within the same instant.
        for i in 0..1_000_000u128 {
            let ip = std::net::Ipv6Addr::from((0x2001_0db8u128 << 96) | (i << 72));
            sent += u64::from(rrl.check_at(IpAddr::V6(ip), &mut c, 1_000) == Verdict::Send);
        }
        assert_eq!(rrl.table_bytes(), bytes, "fixed size");
        // Colliding prefixes share budgets: the flood is limited to about the table's
        // capacity in that instant (200 per slot), not let through.
        assert!(sent <= (1 << 12) * 200, "{sent}");
        assert!(sent > 0);
        // A real client in another prefix still gets answers a second later.
        let real: IpAddr = "198.51.100.7".parse().unwrap();
        assert_eq!(rrl.check_at(real, &mut c, 1_100_000_000), Verdict::Send);
    }

    #[test]
    fn loopback_is_exempt_by_default_and_the_rate_refills() {
        let rrl = Rrl::with_slots(RrlConfig::default(), 64);
        let mut c = 0;
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        assert!((0..10_000).all(|_| rrl.check_at(lo, &mut c, 5) == Verdict::Send));
        let a: IpAddr = "203.0.113.9".parse().unwrap();
        let sent = (0..1000)
            .filter(|_| rrl.check_at(a, &mut c, 10) == Verdict::Send)
            .count();
        assert_eq!(sent, 200, "a second's worth at once");
        // Half a second later, half a second's worth more.
        let more = (0..1000)
            .filter(|_| rrl.check_at(a, &mut c, 500_000_010) == Verdict::Send)
            .count();
        assert!((99..=101).contains(&more), "{more}");
    }
}
