//! Provider API calls and errors, per provider, as the planner sees them (reads of a zone,
//! applies with their `ApplyReport.api_calls`), for `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    calls: u64,
    errors: u64,
    applies: u64,
    reads: u64,
}

static STATS: Mutex<BTreeMap<String, Counts>> = Mutex::new(BTreeMap::new());

fn with(provider: &str, f: impl FnOnce(&mut Counts)) {
    let mut m = STATS.lock().unwrap_or_else(|p| p.into_inner());
    match m.get_mut(provider) {
        Some(c) => f(c),
        None => f(m.entry(provider.to_string()).or_default()),
    }
}

/// A zone read: one call (at least), and whether it failed.
pub fn read(provider: &str, ok: bool) {
    with(provider, |c| {
        c.reads += 1;
        c.calls += 1;
        c.errors += u64::from(!ok);
    });
}

/// An apply: `calls` API calls (from the report; 1 when it failed), and whether it failed.
pub fn apply(provider: &str, calls: usize, ok: bool) {
    with(provider, |c| {
        c.applies += 1;
        c.calls += calls.max(1) as u64;
        c.errors += u64::from(!ok);
    });
}

/// The counters in Prometheus text format.
pub fn render_prometheus(out: &mut String) {
    let m = STATS.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut section = |name: &str, help: &str, get: fn(&Counts) -> u64| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for (p, c) in &m {
            let _ = writeln!(
                out,
                "{name}{{provider=\"{}\"}} {}",
                p.replace('"', ""),
                get(c)
            );
        }
    };
    section(
        "switchback_provider_api_calls_total",
        "Provider API calls made by the planner (zone reads, apply batches).",
        |c| c.calls,
    );
    section(
        "switchback_provider_api_errors_total",
        "Provider operations that failed.",
        |c| c.errors,
    );
    section(
        "switchback_provider_applies_total",
        "Applies sent to a provider.",
        |c| c.applies,
    );
    section(
        "switchback_provider_reads_total",
        "Zone reads from a provider.",
        |c| c.reads,
    );
}
