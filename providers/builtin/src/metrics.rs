//! Counters of the answer path: relaxed atomics only (no lock, no allocation, no I/O when
//! counting), read by the application's `/metrics`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::answer::Catalog;

/// Upper bounds (seconds) of the answer-latency histogram buckets (then `+Inf`).
pub const LATENCY_BOUNDS: [f64; 10] = [
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.005, 0.025, 0.1,
];
const BOUNDS_NS: [u64; 10] = [
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    5_000_000,
    25_000_000,
    100_000_000,
];

/// Names of the 16 RCODEs of the header (`RCODE12`.. for unassigned ones).
pub const RCODE_NAMES: [&str; 16] = [
    "NOERROR",
    "FORMERR",
    "SERVFAIL",
    "NXDOMAIN",
    "NOTIMP",
    "REFUSED",
    "YXDOMAIN",
    "YXRRSET",
    "NXRRSET",
    "NOTAUTH",
    "NOTZONE",
    "DSOTYPENI",
    "RCODE12",
    "RCODE13",
    "RCODE14",
    "RCODE15",
];

/// The served catalog, whose zones hold the per-zone counters (set once by [`crate::serve`]).
#[derive(Default)]
pub struct CatalogSlot(OnceLock<Arc<ArcSwap<Catalog>>>);

impl std::fmt::Debug for CatalogSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "CatalogSlot(attached)"
        } else {
            "CatalogSlot(none)"
        })
    }
}

/// The server's counters (shared by every worker).
#[derive(Debug, Default)]
pub struct DnsMetrics {
    /// Responses by RCODE (the low 4 bits of the header).
    pub rcodes: [AtomicU64; 16],
    /// Queries that got no response (not a query, malformed beyond an answer).
    pub unanswered: AtomicU64,
    /// TCP connections refused (the client's share or the table full of busy connections).
    pub tcp_refused: AtomicU64,
    /// Idle TCP connections closed to make room for a new one.
    pub tcp_evicted: AtomicU64,
    /// TCP connections closed because the client did not read its answer.
    pub tcp_write_timeouts: AtomicU64,
    /// Answer latency, per query: bucket `i` counts answers at most `LATENCY_BOUNDS[i]`; the
    /// last one the rest.
    pub latency: [AtomicU64; 11],
    pub latency_sum_ns: AtomicU64,
    pub latency_count: AtomicU64,
    /// Responses response-rate-limiting dropped, and sent truncated.
    pub rrl_dropped: AtomicU64,
    pub rrl_truncated: AtomicU64,
    /// The catalog whose per-zone counters `/metrics` shows (read only when rendering).
    pub catalog: CatalogSlot,
}

impl DnsMetrics {
    /// Count a response (its wire bytes).
    #[inline]
    pub fn response(&self, out: &[u8]) {
        if out.len() >= 4 {
            self.rcodes[usize::from(out[3] & 0x0f)].fetch_add(1, Relaxed);
        }
    }

    /// Count the answer time of `n` queries that took `elapsed` together.
    #[inline]
    pub fn latency(&self, elapsed: Duration, n: u64) {
        if n == 0 {
            return;
        }
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let each = ns / n;
        let i = BOUNDS_NS.iter().position(|b| each <= *b).unwrap_or(10);
        self.latency[i].fetch_add(n, Relaxed);
        self.latency_sum_ns.fetch_add(ns, Relaxed);
        self.latency_count.fetch_add(n, Relaxed);
    }

    /// Show the per-zone counters of `catalog` (the first call wins; [`crate::serve`] makes
    /// it with the catalog it serves).
    pub fn attach_catalog(&self, catalog: Arc<ArcSwap<Catalog>>) {
        let _ = self.catalog.0.set(catalog);
    }

    /// The counters in Prometheus text format, with the per-zone ones of `catalog`.
    pub fn render_prometheus_with(&self, out: &mut String, catalog: Option<&Catalog>) {
        out.push_str("# HELP switchback_dns_responses_total DNS responses by RCODE.\n# TYPE switchback_dns_responses_total counter\n");
        for (i, n) in self.rcodes.iter().enumerate() {
            let n = n.load(Relaxed);
            if n > 0 || i == 0 || i == 3 || i == 5 {
                let _ = writeln!(
                    out,
                    "switchback_dns_responses_total{{rcode=\"{}\"}} {n}",
                    RCODE_NAMES[i]
                );
            }
        }
        // Labels {zone, rcode}: `zone` is the served zone's origin ("example.com."), or ""
        // for queries no served zone took (REFUSED outside our zones, FORMERR, NOTIMP…).
        // UDP and TCP queries alike (zone transfers included); RRL does not change them (it
        // acts after the answer). NOERROR is always shown per zone, other RCODEs once seen.
        out.push_str("# HELP switchback_dns_queries_total DNS queries answered, by zone and RCODE (zone=\"\" when no served zone took the query).\n# TYPE switchback_dns_queries_total counter\n");
        if let Some(cat) = catalog {
            let (zones, other) = cat.query_counts();
            let mut series = |zone: &str, counts: &[u64; 16], always: bool| {
                for (i, n) in counts.iter().enumerate() {
                    if *n > 0 || (always && i == 0) {
                        let _ = writeln!(
                            out,
                            "switchback_dns_queries_total{{zone=\"{}\",rcode=\"{}\"}} {n}",
                            escape_label(zone),
                            RCODE_NAMES[i]
                        );
                    }
                }
            };
            for (zone, counts) in &zones {
                series(zone, counts, true);
            }
            series("", &other, false);
        }
        out.push_str("# HELP switchback_dns_unanswered_total Datagrams that got no response.\n# TYPE switchback_dns_unanswered_total counter\n");
        let _ = writeln!(
            out,
            "switchback_dns_unanswered_total {}",
            self.unanswered.load(Relaxed)
        );
        for (name, help, v) in [
            (
                "switchback_dns_tcp_refused_total",
                "TCP connections refused (the client's share used up, or every slot busy).",
                &self.tcp_refused,
            ),
            (
                "switchback_dns_tcp_evicted_total",
                "Idle TCP connections closed to make room for a new one.",
                &self.tcp_evicted,
            ),
            (
                "switchback_dns_tcp_write_timeouts_total",
                "TCP connections closed because the client did not read its answer.",
                &self.tcp_write_timeouts,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Relaxed)
            );
        }
        out.push_str("# HELP switchback_dns_answer_seconds Time to compute an answer (UDP: per query, measured per batch; TCP: per query).\n# TYPE switchback_dns_answer_seconds histogram\n");
        let mut cum = 0;
        for (i, b) in LATENCY_BOUNDS.iter().enumerate() {
            cum += self.latency[i].load(Relaxed);
            let _ = writeln!(
                out,
                "switchback_dns_answer_seconds_bucket{{le=\"{b}\"}} {cum}"
            );
        }
        cum += self.latency[10].load(Relaxed);
        let _ = writeln!(
            out,
            "switchback_dns_answer_seconds_bucket{{le=\"+Inf\"}} {cum}"
        );
        let _ = writeln!(
            out,
            "switchback_dns_answer_seconds_sum {}",
            self.latency_sum_ns.load(Relaxed) as f64 / 1e9
        );
        let _ = writeln!(
            out,
            "switchback_dns_answer_seconds_count {}",
            self.latency_count.load(Relaxed)
        );
        out.push_str("# HELP switchback_dns_rrl_dropped_total Responses dropped by response rate limiting.\n# TYPE switchback_dns_rrl_dropped_total counter\n");
        let _ = writeln!(
            out,
            "switchback_dns_rrl_dropped_total {}",
            self.rrl_dropped.load(Relaxed)
        );
        out.push_str("# HELP switchback_dns_rrl_truncated_total Responses sent truncated by response rate limiting.\n# TYPE switchback_dns_rrl_truncated_total counter\n");
        let _ = writeln!(
            out,
            "switchback_dns_rrl_truncated_total {}",
            self.rrl_truncated.load(Relaxed)
        );
    }

    /// [`DnsMetrics::render_prometheus_with`] with the attached catalog (if any).
    pub fn render_prometheus(&self, out: &mut String) {
        let cat = self.catalog.0.get().map(|c| c.load_full());
        self.render_prometheus_with(out, cat.as_deref());
    }
}

/// Escape a Prometheus label value.
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
