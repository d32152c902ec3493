//! `GET /metrics`: Prometheus text format (0.0.4), written by hand.
//!
//! Unauthenticated, like `/healthz`: it is meant for the internal listener a scraper reaches
//! (DESIGN.md asks for authentication on `/v1` routes only). It holds no secret.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::ApiState;
use crate::planner::cutover;

/// Counters of the API itself.
#[derive(Debug, Default)]
pub struct ApiMetrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
}

impl ApiMetrics {
    pub fn count_request(&self, route: &str, status: u16) {
        let mut m = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry((route.to_string(), status)).or_default() += 1;
    }

    /// Requests so far with `route` and `status`.
    pub fn requests(&self, route: &str, status: u16) -> u64 {
        let m = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        m.get(&(route.to_string(), status)).copied().unwrap_or(0)
    }
}

/// Escape a label value.
pub fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

const CUTOVER_STATES: &[&str] = &["idle", "ready", "failed-over", "failing-back", "restored"];

/// The whole exposition.
pub fn render(s: &ApiState) -> String {
    let mut out = String::with_capacity(4096);
    if let Some(d) = &s.dns {
        d.render_prometheus(&mut out);
    }
    // Health checks.
    if let Some(m) = &s.monitor {
        let st = m.statuses();
        out.push_str("# HELP switchback_health_check_up Health check state: 1 up, 0 down, -1 unknown.\n# TYPE switchback_health_check_up gauge\n");
        for c in &st {
            let v = match c.state {
                crate::health::HealthState::Up => 1,
                crate::health::HealthState::Down => 0,
                crate::health::HealthState::Unknown => -1,
            };
            let _ = writeln!(
                out,
                "switchback_health_check_up{{check=\"{}\",target=\"{}\"}} {v}",
                label(&c.name),
                label(&c.check)
            );
        }
        out.push_str("# HELP switchback_health_check_latency_seconds Latency of the last probe.\n# TYPE switchback_health_check_latency_seconds gauge\n");
        for c in &st {
            if let Some(r) = c.last() {
                let _ = writeln!(
                    out,
                    "switchback_health_check_latency_seconds{{check=\"{}\",target=\"{}\"}} {}",
                    label(&c.name),
                    label(&c.check),
                    r.latency.as_secs_f64()
                );
            }
        }
        out.push_str("# HELP switchback_health_check_probes_total Probes run.\n# TYPE switchback_health_check_probes_total counter\n");
        for c in &st {
            let _ = writeln!(
                out,
                "switchback_health_check_probes_total{{check=\"{}\"}} {}",
                label(&c.name),
                c.probes
            );
        }
        out.push_str("# HELP switchback_health_check_local_errors_total Probes that failed on local trouble (no file descriptors, no memory, an overloaded runtime): not counted against the target.\n# TYPE switchback_health_check_local_errors_total counter\n");
        for c in &st {
            let _ = writeln!(
                out,
                "switchback_health_check_local_errors_total{{check=\"{}\"}} {}",
                label(&c.name),
                c.local_errors
            );
        }
    }
    // Cutovers.
    out.push_str("# HELP switchback_cutover_state 1 for the state each cutover is in.\n# TYPE switchback_cutover_state gauge\n");
    let mut stages = String::new();
    let mut rto = String::new();
    let mut drills = String::new();
    for c in s.cfg.all_cutovers().unwrap_or_default() {
        let now = cutover::summary(&s.cfg, &s.store, &c, 0).ok();
        let cur = now.as_ref().map(|st| st.state.as_str());
        for state in CUTOVER_STATES {
            let _ = writeln!(
                out,
                "switchback_cutover_state{{cutover=\"{}\",state=\"{state}\"}} {}",
                label(&c.name),
                u8::from(cur == Some(state))
            );
        }
        if let Some(st) = now {
            let _ = writeln!(
                stages,
                "switchback_cutover_stage{{cutover=\"{}\"}} {}",
                label(&c.name),
                st.stage
            );
            if let Some(secs) = st.last_rto.as_ref().and_then(|r| r.get("seconds")) {
                for phase in ["plan", "applied", "verified", "visible", "worst_case"] {
                    if let Some(v) = secs.get(phase).and_then(serde_json::Value::as_f64) {
                        let _ = writeln!(
                            rto,
                            "switchback_cutover_rto_seconds{{cutover=\"{}\",phase=\"{phase}\"}} {v}",
                            label(&c.name)
                        );
                    }
                }
            }
            if let Some(t) = st.rto_target_seconds {
                let _ = writeln!(
                    rto,
                    "switchback_cutover_rto_target_seconds{{cutover=\"{}\"}} {t}",
                    label(&c.name)
                );
            }
            if let Some(d) = &st.last_drill {
                let passed = d.get("result").and_then(serde_json::Value::as_str) == Some("passed");
                let _ = writeln!(
                    drills,
                    "switchback_drill_passed{{cutover=\"{}\"}} {}",
                    label(&c.name),
                    u8::from(passed)
                );
            }
        }
    }
    out.push_str("# HELP switchback_cutover_stage The failback stage each cutover is at.\n# TYPE switchback_cutover_stage gauge\n");
    out.push_str(&stages);
    out.push_str("# HELP switchback_cutover_rto_seconds The last step's measured RTO: seconds from its trigger to each phase (worst_case: visible + the old TTL).\n# TYPE switchback_cutover_rto_seconds gauge\n");
    out.push_str(&rto);
    out.push_str("# HELP switchback_drill_passed 1 when the cutover's last drill passed.\n# TYPE switchback_drill_passed gauge\n");
    out.push_str(&drills);
    out.push_str("# HELP switchback_notify_pending Events not yet delivered, per [[notify]] target.\n# TYPE switchback_notify_pending gauge\n");
    let stats = s.store.notify_stats(None).unwrap_or_default();
    for n in &stats {
        let _ = writeln!(
            out,
            "switchback_notify_pending{{target=\"{}\"}} {}",
            label(&n.target),
            n.pending
        );
    }
    out.push_str("# HELP switchback_notify_delivered_total Events delivered, per target.\n# TYPE switchback_notify_delivered_total counter\n");
    for n in &stats {
        let _ = writeln!(
            out,
            "switchback_notify_delivered_total{{target=\"{}\"}} {}",
            label(&n.target),
            n.delivered
        );
    }
    out.push_str("# HELP switchback_notify_failed_attempts_total Delivery attempts that failed, per target.\n# TYPE switchback_notify_failed_attempts_total counter\n");
    for n in &stats {
        let _ = writeln!(
            out,
            "switchback_notify_failed_attempts_total{{target=\"{}\"}} {}",
            label(&n.target),
            n.failed_attempts
        );
    }
    // The instances on the store: who leads, and what each one sees.
    let me = s.cfg.node();
    let leader = crate::planner::leader::current_leader(&s.store, &me);
    out.push_str("# HELP switchback_leader 1 for the node whose automation acts (the leader of the instances on this store).\n# TYPE switchback_leader gauge\n");
    let _ = writeln!(out, "switchback_leader{{node=\"{}\"}} 1", label(&leader));
    out.push_str("# HELP switchback_is_leader 1 when this instance is the leader.\n# TYPE switchback_is_leader gauge\n");
    let _ = writeln!(
        out,
        "switchback_is_leader{{node=\"{}\"}} {}",
        label(&me),
        u8::from(leader == me)
    );
    out.push_str("# HELP switchback_node_health_down 1 when the node sees the check down (each live instance's own view).\n# TYPE switchback_node_health_down gauge\n");
    for n in crate::planner::leader::live_nodes(&s.store) {
        for (check, state) in &n.health {
            let _ = writeln!(
                out,
                "switchback_node_health_down{{node=\"{}\",check=\"{}\"}} {}",
                label(&n.node),
                label(check),
                u8::from(state == "down")
            );
        }
    }
    // Provider API calls.
    render_providers(&s.providers.stats(), &mut out);
    // The API.
    out.push_str("# HELP switchback_api_requests_total HTTP API requests by route and status.\n# TYPE switchback_api_requests_total counter\n");
    {
        let m = s.metrics.requests.lock().unwrap_or_else(|p| p.into_inner());
        for ((route, status), n) in m.iter() {
            let _ = writeln!(
                out,
                "switchback_api_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                label(route)
            );
        }
    }
    out
}

/// The providers' counters (planner counts and their clients' own), in Prometheus text.
fn render_providers(stats: &[(String, crate::registry::ProviderStats)], out: &mut String) {
    type Get = fn(&crate::registry::ProviderStats) -> Option<u64>;
    let sections: [(&str, &str, Get); 7] = [
        (
            "switchback_provider_api_calls_total",
            "Provider API calls made by the planner (zone reads, apply batches).",
            |c| Some(c.calls),
        ),
        (
            "switchback_provider_api_errors_total",
            "Provider operations that failed.",
            |c| Some(c.errors),
        ),
        (
            "switchback_provider_applies_total",
            "Applies sent to a provider.",
            |c| Some(c.applies),
        ),
        (
            "switchback_provider_reads_total",
            "Zone reads from a provider.",
            |c| Some(c.reads),
        ),
        (
            "switchback_provider_http_requests_total",
            "HTTP requests the provider's client sent (every attempt, retries included).",
            |c| c.client.map(|s| s.calls),
        ),
        (
            "switchback_provider_http_retries_total",
            "HTTP requests the provider's client sent again (included in the requests).",
            |c| c.client.map(|s| s.retries),
        ),
        (
            "switchback_provider_http_errors_total",
            "Provider client operations that failed after their retries.",
            |c| c.client.map(|s| s.errors),
        ),
    ];
    for (name, help, get) in sections {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for (p, c) in stats {
            if let Some(v) = get(c) {
                let _ = writeln!(out, "{name}{{provider=\"{}\"}} {v}", label(p));
            }
        }
    }
}

pub async fn handler(State(s): State<Arc<ApiState>>) -> impl IntoResponse {
    // The store reads run on the blocking pool, never on the runtime that serves TCP DNS.
    let body = super::off_runtime(move || render(&s))
        .await
        .unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
}
