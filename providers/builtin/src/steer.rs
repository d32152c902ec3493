//! Per-query steering on the built-in server: weighted variants of one (name, type) and the
//! health of their targets, read on the answer path without a lock or an allocation.
//!
//! A weighted set carries `weight` and, optionally, the name of a health check in its
//! `health_check` field. Each query picks one variant at random with the weights' odds among
//! the healthy ones (Route 53's rule for weight 0: chosen only when no healthy variant has a
//! weight); when every variant is down it fails open and answers with all of them.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};

/// The field of a record set naming the health check of its target.
pub const HEALTH_FIELD: &str = "health_check";

/// How many distinct health checks one process can steer by.
pub const CAPACITY: usize = 1024;

const UNKNOWN: u8 = 0;
const UP: u8 = 1;
const DOWN: u8 = 2;

/// Health of named checks, as the answer path reads it: a fixed table of atomics, slots
/// assigned by name when zones are compiled (never on the answer path).
#[derive(Debug)]
pub struct HealthTable {
    states: Box<[AtomicU8]>,
    slots: Mutex<HashMap<String, u16>>,
}

impl Default for HealthTable {
    fn default() -> HealthTable {
        HealthTable {
            states: (0..CAPACITY).map(|_| AtomicU8::new(UNKNOWN)).collect(),
            slots: Mutex::new(HashMap::new()),
        }
    }
}

impl HealthTable {
    /// The slot of check `name`, assigned on first use; `None` when the table is full (the
    /// target then counts as healthy).
    pub fn slot(&self, name: &str) -> Option<u16> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(&s) = slots.get(name) {
            return Some(s);
        }
        let next = slots.len();
        if next >= CAPACITY {
            return None;
        }
        slots.insert(name.to_string(), next as u16);
        Some(next as u16)
    }

    /// Record a check's state (the health monitor calls this on every transition). Queries
    /// answered after this returns see it.
    pub fn set(&self, name: &str, up: bool) {
        if let Some(s) = self.slot(name) {
            self.states[s as usize].store(if up { UP } else { DOWN }, Ordering::Release);
        }
    }

    /// Down only when a probe said so; unknown counts as up (fail open until we know).
    #[inline]
    pub fn is_down(&self, slot: u16) -> bool {
        self.states
            .get(slot as usize)
            .is_some_and(|s| s.load(Ordering::Acquire) == DOWN)
    }
}

thread_local! {
    static RNG: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    // Any non-zero start will do; rand's thread RNG gives a different one per thread.
    rand::random::<u64>() | 1
}

/// A uniform random number below `n` (xorshift64*, per thread: no lock, no allocation).
#[inline]
pub fn below(n: u64) -> u64 {
    RNG.with(|c| {
        let mut x = c.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        c.set(x);
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) % n.max(1)
    })
}

/// Which of `n` weighted variants answers this query: `Some(i)`, or `None` for all of them
/// (every variant down: fail open). `weight(i)` and `down(i)` describe variant i.
#[inline]
pub fn pick(
    n: usize,
    weight: impl Fn(usize) -> u32,
    down: impl Fn(usize) -> bool,
) -> Option<usize> {
    let mut total: u64 = 0;
    let mut healthy = 0u64;
    for i in 0..n {
        if !down(i) {
            total += weight(i) as u64;
            healthy += 1;
        }
    }
    if healthy == 0 {
        return None;
    }
    if total == 0 {
        // Only weight-0 variants are healthy: any of them.
        let mut k = below(healthy);
        for i in 0..n {
            if !down(i) {
                if k == 0 {
                    return Some(i);
                }
                k -= 1;
            }
        }
        return None;
    }
    let mut r = below(total);
    for i in 0..n {
        if down(i) {
            continue;
        }
        let w = weight(i) as u64;
        if r < w {
            return Some(i);
        }
        r -= w;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_and_health() {
        let table = HealthTable::default();
        let a = table.slot("a").unwrap();
        let b = table.slot("b").unwrap();
        assert_eq!(table.slot("a"), Some(a));
        let w = [90u32, 10];
        let slots = [a, b];
        let mut counts = [0u32; 2];
        for _ in 0..20_000 {
            let i = pick(2, |i| w[i], |i| table.is_down(slots[i])).unwrap();
            counts[i] += 1;
        }
        // 90/10 within a generous statistical bound (sd ~ 42).
        assert!((17_700..=18_300).contains(&counts[0]), "{counts:?}");
        table.set("a", false);
        for _ in 0..1000 {
            assert_eq!(pick(2, |i| w[i], |i| table.is_down(slots[i])), Some(1));
        }
        table.set("b", false);
        assert_eq!(
            pick(2, |i| w[i], |i| table.is_down(slots[i])),
            None,
            "all down: fail open"
        );
        table.set("a", true);
        // A healthy weight-0 variant is chosen when the weighted one is down.
        let w0 = [0u32, 100];
        for _ in 0..100 {
            assert_eq!(pick(2, |i| w0[i], |i| table.is_down(slots[i])), Some(0));
        }
    }
}
