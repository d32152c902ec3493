//! Fault injection for crash tests (DESIGN.md invariant 4): `SWITCHBACK_FAULT=a:b,c:d` makes
//! the process `abort()` (no unwinding, no destructors: as close to `kill -9` as a process can
//! do to itself) when it reaches one of the named points. Compiled only into debug builds: the
//! release build does not read the variable.
//!
//! `SWITCHBACK_FAULT_DELAY_MS=N` makes every point sleep N ms instead, so that a `kill -9`
//! sent at a random moment lands between any two points of a step (the random-kill tests).

/// The environment variable naming the fault points.
pub const ENV: &str = "SWITCHBACK_FAULT";

/// The environment variable that slows every fault point down (milliseconds).
pub const DELAY_ENV: &str = "SWITCHBACK_FAULT_DELAY_MS";

/// Abort here when `SWITCHBACK_FAULT` names `point` (debug builds only).
#[inline]
pub fn point(point: &str) {
    #[cfg(debug_assertions)]
    {
        if let Some(ms) = std::env::var(DELAY_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        if let Ok(v) = std::env::var(ENV) {
            if v.split(',').any(|p| p.trim() == point) {
                eprintln!("switchback: fault injected at {point}: aborting");
                std::process::abort();
            }
        }
    }
    #[cfg(not(debug_assertions))]
    {
        let _ = point;
    }
}
