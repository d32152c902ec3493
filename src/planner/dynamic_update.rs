//! RFC 2136 UPDATE into the built-in server, decided here (the core decides; the server crate
//! only reads the message and evaluates it): an UPDATE touching a record set of a cutover that
//! is not idle is REFUSED (with an EDE text); every other one is applied as one plan through
//! the path every change takes (the run journal, the serial bump, IXFR, NOTIFY, the audit log
//! naming the key), so snapshots, `diff` and rollback see it like any other change.

use std::sync::Arc;

use async_trait::async_trait;
use switchback_api::{Name, Provider, ProviderError, RecordSetKey, plan};
use switchback_builtin::Builtin;
use switchback_builtin::update::{self, UpdateAnswer, UpdateHandler, UpdateRequest, rcodes};
use switchback_builtin::wire::rcode;
use tracing::{info, warn};

use super::RunInfo;
use super::lease::{Holder, Lease};
use super::state::{ActorKind, State};
use crate::config::{Config, Cutover, CutoverRecord};
use crate::store::Store;

/// EDE "Prohibited" (RFC 8914 §4.19).
const EDE_PROHIBITED: u16 = 18;
/// EDE "Other".
const EDE_OTHER: u16 = 0;
/// How long an UPDATE waits for a cutover's lease another actor holds.
const LEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The application's UPDATE handler for `serve`.
pub struct UpdateGate {
    pub cfg: Arc<Config>,
    pub store: Arc<Store>,
    pub builtin: Arc<Builtin>,
    /// UPDATEs one at a time: two in flight would race on the same live zone.
    one: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for UpdateGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateGate")
            .field("provider", &self.builtin.name())
            .finish_non_exhaustive()
    }
}

impl UpdateGate {
    pub fn new(cfg: Arc<Config>, store: Arc<Store>, builtin: Arc<Builtin>) -> UpdateGate {
        UpdateGate {
            cfg,
            store,
            builtin,
            one: tokio::sync::Mutex::new(()),
        }
    }

    /// The cutovers with a record set among `keys` on this provider and zone.
    fn touched(&self, zone: &Name, keys: &[RecordSetKey]) -> Vec<(Cutover, CutoverRecord)> {
        let mut v = Vec::new();
        for c in &self.cfg.cutovers {
            let Ok(Some(cut)) = self.cfg.cutover(&c.name) else {
                continue;
            };
            let hit = cut
                .records
                .iter()
                .find(|r| {
                    r.at.provider == self.builtin.name()
                        && r.at.zone == *zone
                        && keys.iter().any(|k| k.name == r.name && k.rtype == r.rtype)
                })
                .cloned();
            if let Some(r) = hit {
                v.push((cut, r));
            }
        }
        v
    }

    /// Why one of `touched` may not be changed now: its cutover is not idle.
    fn busy(&self, touched: &[(Cutover, CutoverRecord)]) -> Option<String> {
        for (cut, r) in touched {
            let state = super::status::status(&self.cfg, &self.store, cut)
                .map(|s| s.state)
                .ok();
            if !matches!(state, Some(State::Idle | State::Restored)) {
                let shown = state.map_or("in an unknown state", State::as_str);
                return Some(format!(
                    "{}/{} belongs to cutover {}, which is {shown}: change it through the cutover",
                    r.name, r.rtype, cut.name
                ));
            }
        }
        None
    }
}

#[async_trait]
impl UpdateHandler for UpdateGate {
    async fn update(&self, req: UpdateRequest<'_>) -> UpdateAnswer {
        let _one = self.one.lock().await;
        let zone = &req.update.zone;
        let actor = match req.key {
            Some(k) => format!("update:key:{k}"),
            None => format!("update:{}", req.peer),
        };
        let live = match self.builtin.read_zone(zone).await {
            Ok(z) => z,
            // RFC 2136 §3.1.2: not authoritative for the zone.
            Err(ProviderError::ZoneNotFound(_)) => return UpdateAnswer::rcode(rcodes::NOTAUTH),
            Err(e) => {
                warn!(%zone, error = %e, "UPDATE: cannot read the zone");
                return UpdateAnswer::rcode(rcode::SERVFAIL);
            }
        };
        let desired = match update::evaluate(&live, req.update) {
            Ok(z) => z,
            Err(rc) => {
                info!(%zone, %actor, rcode = rc, "UPDATE not applied (prerequisite or format)");
                return UpdateAnswer::rcode(rc);
            }
        };
        // From the live zone to the updated one: the shared diff and capability checks.
        let provider: &dyn Provider = self.builtin.as_ref();
        let opts = super::diff_options(provider, Vec::new());
        let p = match plan::plan(
            provider.name(),
            provider.capabilities(),
            &live,
            &desired,
            &opts,
        ) {
            Ok(p) => p,
            Err(e) => {
                return UpdateAnswer {
                    rcode: rcode::REFUSED,
                    ede: Some((EDE_OTHER, e.to_string())),
                };
            }
        };
        if p.is_empty() {
            return UpdateAnswer::rcode(rcode::NOERROR);
        }
        let keys: Vec<RecordSetKey> = p
            .changes
            .iter()
            .filter_map(|c| c.after().or(c.before()).map(|rs| rs.key()))
            .collect();
        let touched = self.touched(zone, &keys);
        let refuse = |why: String| {
            info!(%zone, %actor, %why, "UPDATE refused: a cutover is in progress");
            UpdateAnswer {
                rcode: rcode::REFUSED,
                ede: Some((EDE_PROHIBITED, why)),
            }
        };
        if let Some(why) = self.busy(&touched) {
            return refuse(why);
        }
        // Hold those cutovers' leases while the update applies (invariant 6): a step that
        // starts meanwhile waits or is busy, instead of planning against a record set this
        // update is about to change. Then look again under the leases.
        let holder = Holder::me(&self.cfg.node(), ActorKind::Update, &actor);
        let mut leases = Vec::with_capacity(touched.len());
        for (cut, _) in &touched {
            match Lease::acquire(&self.store, &cut.name, &holder, Some(LEASE_WAIT)).await {
                Ok(l) => leases.push(l),
                Err(e) => return refuse(format!("cutover {} is busy: {e}", cut.name)),
            }
        }
        if let Some(why) = self.busy(&touched) {
            return refuse(why);
        }
        let info = RunInfo {
            kind: "update",
            subject: "rfc2136",
            actor: &actor,
        };
        match super::apply(&self.store, provider, &p, &desired, Vec::new(), info).await {
            Ok(_) => {
                drop(leases);
                info!(%zone, %actor, changes = p.changes.len(), "UPDATE applied");
                UpdateAnswer::rcode(rcode::NOERROR)
            }
            Err(e) => {
                warn!(%zone, %actor, error = %e, "UPDATE failed");
                UpdateAnswer::rcode(rcode::SERVFAIL)
            }
        }
    }
}
