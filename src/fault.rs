//! Fault injection for crash tests (DESIGN.md invariant 4): `SWITCHBACK_FAULT=a:b,c:d` makes
//! the process `abort()` (no unwinding, no destructors: as close to `kill -9` as a process can
//! do to itself) when it reaches one of the named points. Compiled only into debug builds: the
//! release build does not read the variable.

/// The environment variable naming the fault points.
pub const ENV: &str = "SWITCHBACK_FAULT";

/// Abort here when `SWITCHBACK_FAULT` names `point` (debug builds only).
#[inline]
pub fn point(point: &str) {
    #[cfg(debug_assertions)]
    {
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
