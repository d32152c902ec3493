//! [`HealthMonitor`]: runs many checks, each on its own timer in its own task, and publishes
//! their state.
//!
//! Reading a state is one atomic load ([`CheckHandle::state`]); the full status with history is
//! a `tokio::sync::watch` per check. Transitions are pushed, not polled: the task that records
//! the deciding result calls the synchronous listeners ([`HealthMonitor::on_transition`]) and
//! sends to every subscriber channel ([`HealthMonitor::subscribe`]) before it sleeps again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::probe::{Probe, build_probe, run_probe};
use super::spec::HealthSpec;
use super::state::{CheckStatus, HealthState, ProbeResult, Transition};

/// Errors setting up a monitor.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error("health check {0:?} is defined twice")]
    Duplicate(String),
    #[error("health check {name:?}: {message}")]
    Probe { name: String, message: String },
}

/// When and how often a check runs, and how many results decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub interval: Duration,
    pub timeout: Duration,
    pub fall: u32,
    pub rise: u32,
}

impl From<&HealthSpec> for Timing {
    fn from(s: &HealthSpec) -> Timing {
        Timing {
            interval: s.interval,
            timeout: s.timeout,
            fall: s.fall,
            rise: s.rise,
        }
    }
}

/// A check to run: what [`HealthMonitor::with_probes`] takes (tests use fake probes).
pub struct CheckDef {
    pub name: String,
    /// The check URL (or any label) shown in status.
    pub check: String,
    pub timing: Timing,
    pub probe: Arc<dyn Probe>,
}

type Listener = Arc<dyn Fn(&Transition) + Send + Sync>;

#[derive(Default)]
struct Hub {
    channels: Mutex<Vec<mpsc::UnboundedSender<Transition>>>,
    listeners: Mutex<Vec<Listener>>,
}

impl Hub {
    fn publish(&self, t: &Transition) {
        // Listeners first: they are the fast path (the DNS server's answer swap).
        let listeners: Vec<Listener> = lock(&self.listeners).clone();
        for l in &listeners {
            l(t);
        }
        lock(&self.channels).retain(|tx| tx.send(t.clone()).is_ok());
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct Check {
    name: Arc<str>,
    timing: Timing,
    probe: Arc<dyn Probe>,
    state: AtomicU8,
    status: watch::Sender<CheckStatus>,
}

impl Check {
    fn record(&self, result: ProbeResult, hub: &Hub) -> Option<Transition> {
        let mut transition = None;
        self.status.send_modify(|s| transition = s.record(result));
        if let Some(t) = &transition {
            self.state.store(t.to as u8, Ordering::Release);
            hub.publish(t);
        }
        transition
    }
}

/// A cheap, cloneable view of one check (keep one per DNS target).
#[derive(Clone)]
pub struct CheckHandle(Arc<Check>);

impl CheckHandle {
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The current state: one atomic load, no lock.
    pub fn state(&self) -> HealthState {
        HealthState::from_u8(self.0.state.load(Ordering::Acquire))
    }

    /// A copy of the full status (streaks, last transition, history).
    pub fn status(&self) -> CheckStatus {
        self.0.status.borrow().clone()
    }

    /// A receiver that wakes on every recorded result.
    pub fn watch(&self) -> watch::Receiver<CheckStatus> {
        self.0.status.subscribe()
    }

    pub fn timing(&self) -> Timing {
        self.0.timing
    }
}

impl std::fmt::Debug for CheckHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckHandle")
            .field("name", &self.name())
            .field("state", &self.state())
            .finish()
    }
}

/// Runs health checks concurrently and publishes their state.
///
/// Build it, subscribe, then [`start`](HealthMonitor::start) inside a tokio runtime. Dropping
/// it (or [`stop`](HealthMonitor::stop)) ends the probe tasks.
pub struct HealthMonitor {
    checks: Vec<CheckHandle>,
    by_name: HashMap<Arc<str>, usize>,
    hub: Arc<Hub>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl HealthMonitor {
    /// Checks from configuration (`Config::health_checks`). Builds every probe (and HTTP
    /// client) now; nothing runs until [`start`](Self::start).
    pub fn new(checks: Vec<(String, HealthSpec)>) -> Result<HealthMonitor, HealthError> {
        let defs = checks
            .into_iter()
            .map(|(name, spec)| {
                let probe = build_probe(&spec).map_err(|message| HealthError::Probe {
                    name: name.clone(),
                    message,
                })?;
                Ok(CheckDef {
                    timing: Timing::from(&spec),
                    check: spec.check,
                    name,
                    probe,
                })
            })
            .collect::<Result<Vec<_>, HealthError>>()?;
        HealthMonitor::with_probes(defs)
    }

    /// Checks with any probes (fakes in tests).
    pub fn with_probes(defs: Vec<CheckDef>) -> Result<HealthMonitor, HealthError> {
        let mut checks = Vec::with_capacity(defs.len());
        let mut by_name = HashMap::with_capacity(defs.len());
        for d in defs {
            let name: Arc<str> = d.name.into();
            if by_name.insert(name.clone(), checks.len()).is_some() {
                return Err(HealthError::Duplicate(name.to_string()));
            }
            let status = CheckStatus::new(name.clone(), d.check, d.timing.fall, d.timing.rise);
            checks.push(CheckHandle(Arc::new(Check {
                name,
                timing: d.timing,
                probe: d.probe,
                state: AtomicU8::new(HealthState::Unknown as u8),
                status: watch::Sender::new(status),
            })));
        }
        Ok(HealthMonitor {
            checks,
            by_name,
            hub: Arc::new(Hub::default()),
            tasks: Mutex::new(Vec::new()),
        })
    }

    /// Start one task per check (the first probe runs at once, then every `interval`; a probe
    /// is bounded by `timeout`, and a late tick is delayed, not bunched). Idempotent. Must be
    /// called inside a tokio runtime.
    pub fn start(&self) {
        let mut tasks = lock(&self.tasks);
        if !tasks.is_empty() {
            return;
        }
        for c in &self.checks {
            let check = c.0.clone();
            let hub = self.hub.clone();
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(check.timing.interval);
                tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    let result = run_probe(&*check.probe, check.timing.timeout).await;
                    if result.local {
                        // Invariant 7: loudly, and never toward `fall`.
                        tracing::warn!(
                            check = %check.name,
                            error = result.error.as_deref().unwrap_or(""),
                            "health probe failed on local trouble: not counted against the target"
                        );
                    }
                    if let Some(t) = check.record(result, &hub) {
                        tracing::info!(
                            check = %t.name,
                            from = %t.from,
                            to = %t.to,
                            error = t.result.error.as_deref().unwrap_or(""),
                            "health check changed state"
                        );
                    }
                }
            }));
        }
    }

    /// Stop every probe task (states keep their last value).
    pub fn stop(&self) {
        for t in lock(&self.tasks).drain(..) {
            t.abort();
        }
    }

    /// Every transition from now on, in order, on an unbounded channel (transitions are rare;
    /// a subscriber that falls behind loses nothing). Subscribe before `start` to see the
    /// first ones.
    pub fn subscribe(&self) -> mpsc::UnboundedReceiver<Transition> {
        let (tx, rx) = mpsc::unbounded_channel();
        lock(&self.hub.channels).push(tx);
        rx
    }

    /// Call `f` synchronously, on the probe task, for every transition (after the state is
    /// stored, before subscribers' channels). Keep it short and non-blocking: the fastest path
    /// from a decision to its effect (e.g. swapping the DNS answers).
    pub fn on_transition(&self, f: impl Fn(&Transition) + Send + Sync + 'static) {
        lock(&self.hub.listeners).push(Arc::new(f));
    }

    /// The current state of `name` (a map lookup and an atomic load).
    pub fn state(&self, name: &str) -> Option<HealthState> {
        self.handle(name).map(CheckHandle::state)
    }

    /// The handle of `name`, to keep and read without the map lookup.
    pub fn handle(&self, name: &str) -> Option<&CheckHandle> {
        self.by_name.get(name).map(|&i| &self.checks[i])
    }

    /// Every check, in the order given.
    pub fn checks(&self) -> &[CheckHandle] {
        &self.checks
    }

    /// A copy of every check's status, in the order given.
    pub fn statuses(&self) -> Vec<CheckStatus> {
        self.checks.iter().map(CheckHandle::status).collect()
    }

    /// Record a result for `name` as if a probe had returned it (tests, and a push from an
    /// external monitor). The transition, if any, is published as usual.
    pub fn record(&self, name: &str, result: ProbeResult) -> Option<Transition> {
        let c = self.handle(name)?;
        c.0.record(result, &self.hub)
    }
}

impl Drop for HealthMonitor {
    fn drop(&mut self) {
        self.stop();
    }
}
