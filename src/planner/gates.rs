//! The health gate a failback stage must pass: one type for every actor. With a running
//! monitor (`serve`: the automation and the HTTP API) it reads the monitor's state; without
//! one (the command line) it probes the check once now. A cutover without a health check
//! passes.

use std::sync::Arc;

use crate::config::Cutover;
use crate::health::{HealthMonitor, HealthState};

/// Whether the primary of a cutover is healthy.
#[derive(Clone, Default)]
pub struct HealthGate {
    monitor: Option<Arc<HealthMonitor>>,
}

impl HealthGate {
    /// Probe the cutover's check once, now (the command line).
    pub fn probe() -> HealthGate {
        HealthGate { monitor: None }
    }

    /// Read `monitor`'s state (no extra probe).
    pub fn monitor(monitor: Arc<HealthMonitor>) -> HealthGate {
        HealthGate {
            monitor: Some(monitor),
        }
    }

    /// `Ok(true)` healthy, `Ok(false)` unhealthy, `Err` could not tell (counts as unhealthy).
    pub async fn primary_healthy(&self, c: &Cutover) -> Result<bool, String> {
        let Some(spec) = &c.health else {
            return Ok(true);
        };
        if let Some(m) = &self.monitor {
            return match m.state(&c.check) {
                Some(HealthState::Up) => Ok(true),
                Some(HealthState::Down) => Ok(false),
                Some(HealthState::Unknown) | None => {
                    Err(format!("{}: no health state yet", spec.check))
                }
            };
        }
        let r = crate::health::probe_once(spec).await;
        match (r.ok, r.error) {
            (true, _) => Ok(true),
            (false, Some(e)) => Err(format!("{}: {e}", spec.check)),
            (false, None) => Ok(false),
        }
    }
}
