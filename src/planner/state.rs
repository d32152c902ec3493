//! Where a cutover stands, as the engine reads and writes it: the states, the steps, what a
//! step intends, and the typed form of the stored row.
//!
//! ```text
//! idle --snapshot--> ready --failover--> failed-over --failback stage 1..n--> restored
//!                                   \--abort--> restored (from the snapshot)
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use switchback_api::{Name, RecordSet};

use super::error::CutoverError;
use crate::config::ZoneKey;
use crate::store::CutoverRow;

/// Where a cutover stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    Idle,
    Ready,
    FailedOver,
    FailingBack,
    Restored,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Idle => "idle",
            State::Ready => "ready",
            State::FailedOver => "failed-over",
            State::FailingBack => "failing-back",
            State::Restored => "restored",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        Some(match s {
            "idle" => State::Idle,
            "ready" => State::Ready,
            "failed-over" => State::FailedOver,
            "failing-back" => State::FailingBack,
            "restored" => State::Restored,
            _ => return None,
        })
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A step of a cutover (also the kind of its runs in the journal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    Failover,
    Failback,
    Abort,
}

impl StepKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Failover => "failover",
            StepKind::Failback => "failback",
            StepKind::Abort => "abort",
        }
    }
}

/// Which failback stage to go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StageSel {
    /// The stage after the current one.
    Next,
    /// Stage N (1-based); straight there, in one step.
    N(u32),
    /// The last stage (the exact restore), in one step.
    All,
}

impl std::str::FromStr for StageSel {
    type Err = String;
    fn from_str(s: &str) -> Result<StageSel, String> {
        match s.trim() {
            "next" => Ok(StageSel::Next),
            "all" => Ok(StageSel::All),
            n => n
                .parse::<u32>()
                .ok()
                .filter(|n| *n >= 1)
                .map(StageSel::N)
                .ok_or_else(|| {
                    format!("--stage {s:?}: expected next, all or a stage number (1, 2, ...)")
                }),
        }
    }
}

/// Recovery targets: `"NAME/TYPE"` -> values (canonical form).
pub type Targets = BTreeMap<String, Vec<String>>;

/// What to do.
#[derive(Debug, Clone)]
pub enum Action {
    /// Snapshot, then steer to the recovery targets. `targets` override the config's.
    Failover { targets: Targets },
    /// Walk traffic back to stage `stage`; the last stage restores the snapshot exactly.
    Failback { stage: StageSel },
    /// Restore the snapshot (from any state after the snapshot).
    Abort,
    /// Finish the step that was interrupted.
    Resume,
}

/// Who acts on a cutover (the lease names it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActorKind {
    #[default]
    Cli,
    Webhook,
    Automation,
    /// An RFC 2136 UPDATE into the built-in server, holding the cutovers whose record sets
    /// it changes while it applies.
    Update,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Cli => "cli",
            ActorKind::Webhook => "webhook",
            ActorKind::Automation => "automation",
            ActorKind::Update => "update",
        }
    }
}

/// Overrides and who asks. Each override means one thing.
#[derive(Debug, Clone, Default)]
pub struct StepOptions {
    /// Override a drift conflict and the safety thresholds (never the soak or the health).
    pub force: bool,
    /// Skip the soak wait between failback stages.
    pub skip_soak: bool,
    /// Override the health gate (loudly: stderr, log and journal).
    pub ignore_health: bool,
    /// `user@host`, `webhook:…`, `auto:health`.
    pub actor: String,
    pub actor_kind: ActorKind,
    /// How long to wait for the lease when another actor holds it (`None`: do not wait).
    pub wait: Option<std::time::Duration>,
    /// What started the step and when (default: the step's own start), for the RTO.
    pub trigger: Option<super::rto::Trigger>,
}

/// Record sets of one zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneSets {
    pub provider: String,
    pub zone: Name,
    pub record_sets: Vec<RecordSet>,
}

impl ZoneSets {
    pub fn key(&self) -> ZoneKey {
        ZoneKey {
            provider: self.provider.clone(),
            zone: self.zone.clone(),
        }
    }

    pub fn is(&self, z: &ZoneKey) -> bool {
        self.provider == z.provider && self.zone == z.zone
    }
}

/// One snapshot of the cutover's snapshot set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRef {
    pub provider: String,
    pub zone: Name,
    pub id: String,
}

/// The stored intent of a step in progress: what it writes, zone by zone, and which zones are
/// done (what `resume` skips).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    pub kind: StepKind,
    pub to_state: State,
    pub to_stage: u32,
    /// The cutover's record sets as the step makes them, per zone.
    pub desired: Vec<ZoneSets>,
    /// Zones already applied and verified.
    #[serde(default)]
    pub done: Vec<ZoneKey>,
    pub started_at: String,
    #[serde(default)]
    pub notes: Vec<String>,
    /// The kind of actor whose step it is (`automation`, `cli`, ...; older rows: unknown), so
    /// the leader finishes an automatic step even after someone else released its lease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// The stored row, typed.
#[derive(Debug, Clone)]
pub struct CutoverState {
    pub state: State,
    pub stage: u32,
    pub snapshots: Vec<SnapshotRef>,
    pub targets: Targets,
    /// What the last step wrote, per zone (the base of the next drift check).
    pub written: Vec<ZoneSets>,
    pub intent: Option<Intent>,
    pub stage_started_at: Option<String>,
    pub version: i64,
}

/// Rows written before many zones per cutover (schema 3) keep plain record-set lists.
#[derive(Deserialize)]
#[serde(untagged)]
enum Sets {
    Zones(Vec<ZoneSets>),
    One(Vec<RecordSet>),
}

#[derive(Deserialize)]
struct RawIntent {
    kind: StepKind,
    to_state: State,
    to_stage: u32,
    desired: Sets,
    #[serde(default)]
    done: Vec<ZoneKey>,
    started_at: String,
    #[serde(default)]
    notes: Vec<String>,
    #[serde(default)]
    by: Option<String>,
}

impl CutoverState {
    /// The typed form of `row` (`None`: never started, idle).
    pub fn from_row(
        name: &str,
        row: Option<&CutoverRow>,
    ) -> Result<Option<CutoverState>, CutoverError> {
        let Some(r) = row else { return Ok(None) };
        let bad =
            |what: &str, e: serde_json::Error| CutoverError::corrupt(name, format!("{what}: {e}"));
        let state = State::parse(&r.state)
            .ok_or_else(|| CutoverError::corrupt(name, format!("unknown state {:?}", r.state)))?;
        let one = |sets: Sets| match sets {
            Sets::Zones(z) => z,
            Sets::One(record_sets) => vec![ZoneSets {
                provider: r.provider.clone(),
                zone: r.zone.clone(),
                record_sets,
            }],
        };
        let mut snapshots: Vec<SnapshotRef> =
            serde_json::from_value(r.snapshots.clone()).map_err(|e| bad("snapshots", e))?;
        if snapshots.is_empty() {
            snapshots.push(SnapshotRef {
                provider: r.provider.clone(),
                zone: r.zone.clone(),
                id: r.snapshot_id.clone(),
            });
        }
        let written =
            one(serde_json::from_value(r.written.clone()).map_err(|e| bad("written", e))?);
        let intent = match &r.intent {
            None => None,
            Some(v) => {
                let i: RawIntent =
                    serde_json::from_value(v.clone()).map_err(|e| bad("intent", e))?;
                Some(Intent {
                    kind: i.kind,
                    to_state: i.to_state,
                    to_stage: i.to_stage,
                    desired: one(i.desired),
                    done: i.done,
                    started_at: i.started_at,
                    notes: i.notes,
                    by: i.by,
                })
            }
        };
        Ok(Some(CutoverState {
            state,
            stage: r.stage,
            snapshots,
            targets: serde_json::from_value(r.targets.clone()).map_err(|e| bad("targets", e))?,
            written,
            intent,
            stage_started_at: r.stage_started_at.clone(),
            version: r.version,
        }))
    }

    /// The row to store for cutover `name`.
    pub fn to_row(&self, name: &str) -> Result<CutoverRow, CutoverError> {
        let first = self
            .snapshots
            .first()
            .ok_or_else(|| CutoverError::corrupt(name, "no snapshot in the snapshot set"))?;
        let json = |v: serde_json::Result<serde_json::Value>| {
            v.map_err(|e| CutoverError::Store(crate::store::StoreError::Json(e)))
        };
        Ok(CutoverRow {
            name: name.to_string(),
            state: self.state.as_str().into(),
            stage: self.stage,
            provider: first.provider.clone(),
            zone: first.zone.clone(),
            snapshot_id: first.id.clone(),
            snapshots: json(serde_json::to_value(&self.snapshots))?,
            targets: json(serde_json::to_value(&self.targets))?,
            written: json(serde_json::to_value(&self.written))?,
            intent: self
                .intent
                .as_ref()
                .map(|i| json(serde_json::to_value(i)))
                .transpose()?,
            stage_started_at: self.stage_started_at.clone(),
            created_at: String::new(),
            updated_at: String::new(),
            version: self.version,
        })
    }

    /// The snapshot of zone `z`.
    pub fn snapshot_of(&self, z: &ZoneKey) -> Option<&SnapshotRef> {
        self.snapshots
            .iter()
            .find(|s| s.provider == z.provider && s.zone == z.zone)
    }

    /// What the last step wrote in zone `z`.
    pub fn written_in(&self, z: &ZoneKey) -> &[RecordSet] {
        self.written
            .iter()
            .find(|w| w.is(z))
            .map_or(&[], |w| w.record_sets.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A row written before many zones per cutover (schema 3): one zone, its record sets as a
    /// plain list, no snapshot set; read as one zone, the snapshot set from `snapshot_id`.
    #[test]
    fn rows_of_schema_3_read_as_one_zone() {
        let rs = json!({"name": "www.example.com.", "type": "A", "ttl": 60,
                        "values": [{"data": "198.51.100.1"}]});
        let row = CutoverRow {
            name: "web".into(),
            state: "failed-over".into(),
            stage: 0,
            provider: "builtin".into(),
            zone: "example.com.".parse().unwrap(),
            snapshot_id: "s-1".into(),
            snapshots: json!([]),
            targets: json!({"www.example.com./A": ["198.51.100.1"]}),
            written: json!([rs.clone()]),
            intent: Some(
                json!({"kind": "failback", "to_state": "failing-back", "to_stage": 1,
                                "desired": [rs], "started_at": "2026-11-30T10:00:00Z"}),
            ),
            stage_started_at: None,
            created_at: String::new(),
            updated_at: String::new(),
            version: 0,
        };
        let st = CutoverState::from_row("web", Some(&row)).unwrap().unwrap();
        let z = ZoneKey {
            provider: "builtin".into(),
            zone: "example.com.".parse().unwrap(),
        };
        assert_eq!(st.snapshot_of(&z).map(|s| s.id.as_str()), Some("s-1"));
        assert_eq!(st.written_in(&z).len(), 1);
        let i = st.intent.as_ref().unwrap();
        assert_eq!(i.desired.len(), 1);
        assert!(i.desired[0].is(&z) && i.done.is_empty());
        // And written back in the current form, it reads the same.
        let again = CutoverState::from_row("web", Some(&st.to_row("web").unwrap()))
            .unwrap()
            .unwrap();
        assert_eq!(again.snapshots, st.snapshots);
        assert_eq!(again.written, st.written);
    }
}
