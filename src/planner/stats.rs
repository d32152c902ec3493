//! Provider API calls and errors, per provider, as the planner sees them (reads of a zone,
//! applies with their `ApplyReport.api_calls`), for `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use switchback_api::Provider;
use switchback_api::provider::ApiStats;

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    calls: u64,
    errors: u64,
    applies: u64,
    reads: u64,
    /// The provider client's own counts (`Provider::api_stats`), summed over the steps of
    /// every instance opened in this process; `None` for providers that report none.
    client: Option<ApiStats>,
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

/// A step's client traffic: `provider.api_stats()` now less `before` (taken just before the
/// step), added to the provider's totals. Providers are opened per request/run, so the
/// process-wide totals are the sum of these deltas (a step running concurrently on the same
/// instance may be counted in both deltas).
pub fn client(provider: &dyn Provider, before: Option<ApiStats>) {
    if let Some(after) = provider.api_stats() {
        add_client(provider.name(), before, after);
    }
}

fn add_client(provider: &str, before: Option<ApiStats>, after: ApiStats) {
    let b = before.unwrap_or_default();
    with(provider, |c| {
        let t = c.client.get_or_insert_with(ApiStats::default);
        t.calls += after.calls.saturating_sub(b.calls);
        t.errors += after.errors.saturating_sub(b.errors);
        t.retries += after.retries.saturating_sub(b.retries);
    });
}

/// The client counts of `provider` so far (tests).
pub fn client_stats(provider: &str) -> Option<ApiStats> {
    let m = STATS.lock().unwrap_or_else(|p| p.into_inner());
    m.get(provider).and_then(|c| c.client)
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
    // The clients' own counts (Route 53, Cloudflare): only providers that report them.
    let mut client = |name: &str, help: &str, get: fn(&ApiStats) -> u64| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for (p, c) in &m {
            if let Some(s) = &c.client {
                let _ = writeln!(
                    out,
                    "{name}{{provider=\"{}\"}} {}",
                    crate::api::metrics::label(p),
                    get(s)
                );
            }
        }
    };
    client(
        "switchback_provider_http_requests_total",
        "HTTP requests the provider's client sent (every attempt, retries included).",
        |s| s.calls,
    );
    client(
        "switchback_provider_http_retries_total",
        "HTTP requests the provider's client sent again (included in the requests).",
        |s| s.retries,
    );
    client(
        "switchback_provider_http_errors_total",
        "Provider client operations that failed after their retries.",
        |s| s.errors,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_counts_add_up_across_instances() {
        let name = "stats-test-provider";
        // Two instances (the API opens one per request), one step each; the second instance's
        // counts start at 0 again.
        let s = |calls, errors, retries| ApiStats {
            calls,
            errors,
            retries,
        };
        add_client(name, Some(s(0, 0, 0)), s(3, 1, 2));
        add_client(name, Some(s(0, 0, 0)), s(3, 1, 2));
        // A step on the first instance again: only the delta counts.
        add_client(name, Some(s(3, 1, 2)), s(4, 1, 2));
        let c = client_stats(name).unwrap();
        assert_eq!((c.calls, c.errors, c.retries), (7, 2, 4));
        let mut out = String::new();
        render_prometheus(&mut out);
        assert!(
            out.contains(
                "switchback_provider_http_retries_total{provider=\"stats-test-provider\"} 4"
            ),
            "{out}"
        );
    }
}
