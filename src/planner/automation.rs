//! Automation in `serve`: health transitions drive automatic failover (`auto_failover`) and,
//! only when `auto_failback = true`, a stage-by-stage failback; no two automatic actions of a
//! cutover closer than its `hold_down` (flapping is damped, not followed).
//!
//! Only the leader acts ([`super::leader`]); the others watch. A failover also waits for the
//! quorum of health views when `[server] quorum` is set. An instance that becomes the leader
//! takes over what is due: every automatic cutover whose primary it sees down.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedReceiver;
use tracing::{Instrument, debug, info, info_span, warn};

use crate::config::{Config, Cutover};
use crate::health::{HealthMonitor, HealthState, Transition};
use crate::planner::cutover::{
    self, Action, ActorKind, Ctx, CutoverError, HealthGate, StageSel, State, StepOptions,
};
use crate::registry::Providers;
use crate::store::Store;

use super::leader::{Leadership, quorum_down};
use super::rto::Trigger;

/// How often a failed-over cutover with `auto_failback` is looked at (a stage still starts
/// only after its soak and when the primary is up).
const FAILBACK_TICK: Duration = Duration::from_secs(1);

/// Run until `shutdown`.
pub async fn run(
    providers: Arc<Providers>,
    store: Arc<Store>,
    monitor: Arc<HealthMonitor>,
    mut transitions: UnboundedReceiver<Transition>,
    leadership: Arc<Leadership>,
    shutdown: impl Future<Output = ()>,
) {
    let cfg: &Config = providers.config();
    let me = leadership.node().to_string();
    let quorum = cfg.server.quorum;
    let actor = format!("auto:health@{me}");
    let cutovers: Vec<Cutover> = match cfg.all_cutovers() {
        Ok(c) => c
            .into_iter()
            .filter(|c| c.auto_failover || c.auto_failback)
            .collect(),
        Err(e) => {
            warn!(error = %e, "automation off: cannot read the cutovers");
            return;
        }
    };
    if cutovers.is_empty() {
        return;
    }
    info!(cutovers = cutovers.len(), "automation on");
    let gate = HealthGate::monitor(monitor.clone());
    let mut last: HashMap<String, Instant> = HashMap::new();
    // Failovers another actor's lease, or a throttled or silent provider, kept from finishing:
    // tried again on every tick while the primary is still down (a health transition comes
    // only once).
    let mut pending: std::collections::HashSet<String> = std::collections::HashSet::new();
    // When each pending failover's trigger came (the transition that crossed `fall`).
    let mut triggers: HashMap<String, Trigger> = HashMap::new();
    let mut told = Told::default();
    let mut tick = tokio::time::interval(FAILBACK_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut was_leader = false;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            t = transitions.recv() => {
                let Some(t) = t else { break };
                if t.to != HealthState::Down {
                    continue;
                }
                if !leadership.is_leader() {
                    debug!(check = %t.name, "primary down; not the leader, not acting");
                    continue;
                }
                if let Some(c) = cutovers.iter().find(|c| *c.name == *t.name && c.auto_failover) {
                    triggers.insert(c.name.clone(), Trigger { kind: "health", at: t.at });
                    let state = state_of(cfg, &store, c);
                    if !matches!(state, Some(State::Idle | State::Ready | State::Restored)) {
                        debug!(cutover = %c.name, ?state, "primary down; already failed over");
                    } else if !quorum_down(&store, &me, true, &c.name, quorum) {
                        info!(cutover = %c.name, ?quorum, "primary down here; waiting for the quorum");
                        pending.insert(c.name.clone());
                    } else if step(&providers, &store, &gate, c, &actor, Action::Failover { targets: Default::default() }, &mut last, triggers.get(&c.name).copied(), &mut told).await == Tried::Later {
                        pending.insert(c.name.clone());
                    }
                }
            }
            _ = tick.tick() => {
                let leader = leadership.is_leader();
                if !leader {
                    was_leader = false;
                    continue;
                }
                if !was_leader {
                    // Newly elected: what the last leader left undone is this one's now.
                    was_leader = true;
                    for c in cutovers.iter().filter(|c| c.auto_failover) {
                        if monitor.state(&c.name) == Some(HealthState::Down) {
                            info!(cutover = %c.name, node = %me, "elected with the primary down: taking over its failover");
                            pending.insert(c.name.clone());
                            triggers.entry(c.name.clone()).or_insert_with(|| Trigger::now("health"));
                        }
                    }
                }
                // An automatic step whose actor died half-way (a leader killed, or cut off
                // past its lease's expiry) is finished by the leader now; a person's
                // interrupted step is left to `resume` or `abort`.
                for c in &cutovers {
                    if interrupted_automatic(&store, c, &me, &actor) {
                        info!(cutover = %c.name, node = %me, "resuming an interrupted automatic step");
                        step(&providers, &store, &gate, c, &actor, Action::Resume, &mut last, None, &mut told).await;
                    }
                }
                let waiting: Vec<&Cutover> = cutovers.iter().filter(|c| pending.contains(&c.name)).collect();
                for c in waiting {
                    let due = monitor.state(&c.name) == Some(HealthState::Down)
                        && matches!(state_of(cfg, &store, c), Some(State::Idle | State::Ready | State::Restored));
                    if !due {
                        pending.remove(&c.name);
                    } else if !quorum_down(&store, &me, true, &c.name, quorum) {
                        debug!(cutover = %c.name, "still waiting for the quorum");
                    } else if step(&providers, &store, &gate, c, &actor, Action::Failover { targets: Default::default() }, &mut last, triggers.get(&c.name).copied(), &mut told).await != Tried::Later {
                        pending.remove(&c.name);
                    }
                }
                for c in cutovers.iter().filter(|c| c.auto_failback) {
                    if monitor.state(&c.name) != Some(HealthState::Up) {
                        continue;
                    }
                    if matches!(state_of(cfg, &store, c), Some(State::FailedOver | State::FailingBack)) {
                        step(&providers, &store, &gate, c, &actor, Action::Failback { stage: StageSel::Next }, &mut last, None, &mut told).await;
                    }
                }
            }
        }
    }
}

/// Whether cutover `c` has a step in progress whose actor was automation and is gone: its
/// lease is held by a dead automation holder, or by no one (another actor that was refused
/// released it) while the stored intent says automation started it.
fn interrupted_automatic(store: &Store, c: &Cutover, me: &str, actor: &str) -> bool {
    let Ok(Some(st)) = store
        .cutover_state(&c.name)
        .map_err(CutoverError::from)
        .and_then(|row| super::state::CutoverState::from_row(&c.name, row.as_ref()))
    else {
        return false;
    };
    let Some(intent) = st.intent else {
        return false;
    };
    let automatic = ActorKind::Automation.as_str();
    match store.lease(&c.name) {
        Ok(Some(lease)) => {
            let holder = super::lease::Holder::me(me, ActorKind::Automation, actor);
            lease.actor == automatic
                && super::lease::replaceable(&lease, &holder, std::time::SystemTime::now())
        }
        Ok(None) => intent.by.as_deref() == Some(automatic),
        Err(_) => false,
    }
}

fn state_of(cfg: &Config, store: &Store, c: &Cutover) -> Option<State> {
    cutover::status(cfg, store, c).ok().map(|s| s.state)
}

/// What an automatic step came to.
#[derive(Debug, PartialEq, Eq)]
enum Tried {
    Done,
    /// Not now, but due again on the next tick: another actor held the cutover's lease, or
    /// the provider throttled the step or did not answer (a disaster is when providers are
    /// slow: a failover waits for the next tick, not for `hold_down`).
    Later,
    /// Not due, held down, refused or failed.
    Other,
}

/// The refusals already told to `[[notify]]` targets, per cutover: automation tries again
/// every tick, and a drift or a busy cutover is told once until a step of it succeeds.
#[derive(Default)]
struct Told(std::collections::HashSet<(String, &'static str)>);

impl Told {
    fn refused(&mut self, ctx: &Ctx, opts: &StepOptions, e: &cutover::CutoverError) {
        let kind = match e {
            cutover::CutoverError::Drift(_) => "drift",
            cutover::CutoverError::Busy { .. } => "busy",
            _ => return,
        };
        if self.0.insert((ctx.cutover.name.clone(), kind)) {
            cutover::refused(ctx, opts, e);
        }
    }

    fn done(&mut self, name: &str) {
        self.0.retain(|(n, _)| n != name);
    }
}

/// One automatic step, unless the cutover's last one is closer than `hold_down`.
#[allow(clippy::too_many_arguments)]
async fn step(
    providers: &Arc<Providers>,
    store: &Arc<Store>,
    gate: &HealthGate,
    c: &Cutover,
    actor: &str,
    action: Action,
    last: &mut HashMap<String, Instant>,
    trigger: Option<Trigger>,
    told: &mut Told,
) -> Tried {
    if let Some(t) = last.get(&c.name) {
        if t.elapsed() < c.hold_down {
            debug!(cutover = %c.name, ?action, "held down");
            return Tried::Other;
        }
    }
    let ctx = match Ctx::open(providers, store, &c.name, gate.clone()) {
        Ok(ctx) => ctx,
        Err(e) => {
            warn!(cutover = %c.name, error = %e, "automatic step not started");
            return Tried::Other;
        }
    };
    let opts = StepOptions {
        actor: actor.to_string(),
        actor_kind: ActorKind::Automation,
        trigger: trigger.or_else(|| Some(Trigger::now("health"))),
        ..StepOptions::default()
    };
    let span = info_span!("automation", cutover = %c.name, action = ?action);
    let r = cutover::run(&ctx, &action, &opts).instrument(span).await;
    match &r {
        Ok(o) => {
            told.done(&c.name);
            super::rto::spawn_observe(&ctx, o);
        }
        Err(e) => told.refused(&ctx, &opts, e),
    }
    match r {
        Ok(_) => {
            info!(cutover = %c.name, ?action, "automatic step done");
            last.insert(c.name.clone(), Instant::now());
            Tried::Done
        }
        // A stage whose soak has not elapsed, or a gate not open yet: try again later.
        Err(cutover::CutoverError::Refused { message, .. }) => {
            debug!(cutover = %c.name, %message, "automatic step not due");
            Tried::Other
        }
        Err(cutover::CutoverError::Soak { .. } | cutover::CutoverError::Unhealthy { .. }) => {
            debug!(cutover = %c.name, "automatic failback not due yet");
            Tried::Other
        }
        // Another actor (a person, a webhook, another node) is acting on it: not now.
        Err(cutover::CutoverError::Busy { holder, .. }) => {
            info!(cutover = %c.name, %holder, "automatic step not started: the cutover is busy");
            Tried::Later
        }
        // Throttled or no answer: not the step's fault; again on the next tick, no hold-down.
        Err(e) if e.is_transient() => {
            warn!(cutover = %c.name, error = %e, "automatic step failed for now; trying again");
            Tried::Later
        }
        Err(e) => {
            warn!(cutover = %c.name, error = %e, "automatic step failed");
            // Failed steps count too: no retry storm inside hold_down.
            last.insert(c.name.clone(), Instant::now());
            Tried::Other
        }
    }
}
