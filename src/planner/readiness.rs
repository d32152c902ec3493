//! Readiness (`switchback check NAME`): is this cutover ready to fail over now? The recovery
//! targets' check, every zone read from its provider, a dry run of the next step (plan only),
//! the TTLs against `rto_target`, and the last drill's age and result.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::cutover::{Ctx, StepOptions, next_action, prepare};
use crate::config::Cutover;
use crate::store::Store;

/// A drill older than this is reported as stale.
pub const DRILL_STALE: Duration = Duration::from_secs(30 * 24 * 3600);

/// One check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    /// `ok`, `warn` (ready, with a finding) or `fail` (not ready).
    pub status: &'static str,
    pub detail: String,
}

/// The TTL and drill warnings a failover plan carries (no probe, no provider call).
pub fn warnings(store: &Store, c: &Cutover, live_ttls: &[(String, u32)]) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(t) = c.rto_target {
        for (key, ttl) in live_ttls
            .iter()
            .filter(|(_, ttl)| u64::from(*ttl) > t.as_secs())
        {
            out.push(format!(
                "{key} has TTL {ttl}s, longer than rto_target {}s: clients may keep the old answer that long",
                t.as_secs()
            ));
        }
    }
    match store
        .drills(Some(&c.name), 1)
        .ok()
        .and_then(|d| d.into_iter().next())
    {
        None => out.push(format!(
            "cutover {} has never been drilled (`switchback drill {}`)",
            c.name, c.name
        )),
        Some(d) if d.result != "passed" => out.push(format!(
            "the last drill of {} ({}, {}) {}",
            c.name, d.id, d.started_at, d.result
        )),
        Some(d) => {
            let age = humantime::parse_rfc3339(&d.started_at)
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok());
            if age.is_some_and(|a| a > DRILL_STALE) {
                out.push(format!(
                    "the last drill of {} passed, but {} ago",
                    c.name,
                    humantime::format_duration(Duration::from_secs(age.map_or(0, |a| a.as_secs())))
                ));
            }
        }
    }
    out
}

/// Every readiness check of the context's cutover.
pub async fn check(ctx: &Ctx) -> Vec<Check> {
    let c = &ctx.cutover;
    let mut out = Vec::new();
    let mut push = |name: &str, status: &'static str, detail: String| {
        out.push(Check {
            name: name.to_string(),
            status,
            detail,
        })
    };
    for (role, spec) in [("primary", &c.health), ("recovery", &c.recovery_health)] {
        match spec {
            None if role == "recovery" => push(
                "recovery target",
                "warn",
                "no recovery_health check configured: the recovery site is not checked".into(),
            ),
            None => {}
            Some(spec) => {
                let r = crate::health::probe_once(spec).await;
                let (status, detail) = match (role, r.ok) {
                    (_, true) => ("ok", format!("{} is up", spec.check)),
                    ("recovery", false) => (
                        "fail",
                        format!("{} is DOWN: {}", spec.check, r.error.unwrap_or_default()),
                    ),
                    _ => (
                        "ok",
                        format!(
                            "{} is down (a failover is what it is for): {}",
                            spec.check,
                            r.error.unwrap_or_default()
                        ),
                    ),
                };
                push(&format!("{role} health"), status, detail);
            }
        }
    }
    let mut ttls = Vec::new();
    let mut reachable = true;
    for z in c.zones() {
        let name = format!("read {z}");
        match ctx.providers.get(&z.provider) {
            Err(e) => {
                reachable = false;
                push(&name, "fail", e.to_string());
            }
            Ok(p) => match p.read_zone(&z.zone).await {
                Ok(live) => {
                    let sels = super::targets::selectors(c, &z);
                    let sets = super::prepare::selected(&sels, &live);
                    for s in &sets {
                        ttls.push((s.key().to_string(), s.ttl));
                    }
                    push(
                        &name,
                        "ok",
                        format!(
                            "{} record set(s), {} of the cutover's",
                            live.record_sets.len(),
                            sets.len()
                        ),
                    );
                }
                Err(e) => {
                    reachable = false;
                    push(&name, "fail", e.to_string());
                }
            },
        }
    }
    if reachable {
        let opts = StepOptions {
            actor: "check".into(),
            ..StepOptions::default()
        };
        let dry = match next_action(&ctx.store, c) {
            Ok(a) => prepare(ctx, &a, &opts).await.map(|p| {
                format!(
                    "{} would change {} record set(s) in {} zone(s)",
                    p.kind.as_str(),
                    p.changes(),
                    p.zones.len()
                )
            }),
            Err(e) => Err(e),
        };
        match dry {
            Ok(d) => push("dry run", "ok", d),
            Err(e) => push("dry run", "fail", e.to_string()),
        }
    }
    for w in warnings(&ctx.store, c, &ttls) {
        push("finding", "warn", w);
    }
    out
}
