//! Changes swapped in without recompiling the zone: the names a change touched and the record
//! sets it left there ([`Touched`]), applied to the served version by
//! [`CompiledZone::updated`] — by the process that made the change, and by every `serve`
//! that picks it up from the store's history ([`Step`]s).

use std::sync::Arc;

use switchback_api::{Change, Name, Zone};
use tracing::debug;

use crate::answer::ServedZone;
use crate::history::{self, Delta};
use crate::steer::HealthTable;
use crate::store::{HISTORY_KEEP, Step, Touched, ZoneMeta};
use crate::zone::{CompiledZone, FxMap};

/// Up to how many names a change is patched in (and kept in the history for the readers):
/// at least this many, or a quarter of the zone's record sets. A bigger change (a whole-zone
/// failover, a new zone file) is compiled whole, which costs about the same then.
pub const PATCH_MIN: usize = 1024;

/// Whether a change of `names` names in a zone of `sets` record sets is patched in.
pub fn worth_patching(names: usize, sets: usize) -> bool {
    names <= PATCH_MIN.max(sets / 4)
}

/// The names `changes` touch (the apex first: its SOA serial changes with every change),
/// each once.
pub fn touched_names(zone: &Name, changes: &[Change]) -> Vec<Name> {
    let sides = changes
        .iter()
        .flat_map(|c| c.before().into_iter().chain(c.after()));
    let mut seen: FxMap<&[u8], ()> = FxMap::default();
    seen.reserve(changes.len() + 1);
    let mut names = Vec::with_capacity(changes.len() + 1);
    for name in std::iter::once(zone).chain(sides.map(|rs| &rs.name)) {
        if seen.insert(name.wire(), ()).is_none() {
            names.push(name.clone());
        }
    }
    names
}

/// `names` with every record set `model` holds at them.
pub fn touched(model: &Zone, names: Vec<Name>) -> Touched {
    let wanted: FxMap<&[u8], ()> = names.iter().map(|n| (n.wire(), ())).collect();
    let sets = model
        .record_sets
        .iter()
        .filter(|rs| wanted.contains_key(rs.name.wire()))
        .cloned()
        .collect();
    Touched { names, sets }
}

/// The next version of `zone` with `touched` patched in; `None` when it needs a full compile.
pub fn patched(
    zone: &CompiledZone,
    touched: &Touched,
    health: &Arc<HealthTable>,
) -> Option<CompiledZone> {
    match zone.updated(&touched.names, &touched.sets, Some(health)) {
        Ok(z) => z,
        Err(e) => {
            debug!(zone = %zone.origin, error = %e, "change not patched in; compiling the zone");
            None
        }
    }
}

/// `current` brought to `meta`'s generation by the `steps` the store holds after it, when
/// they join it to `meta` without a gap and each says what it touched; `None` otherwise (the
/// caller reads the whole zone).
pub fn follow(
    current: &ServedZone,
    steps: &[Step],
    meta: &ZoneMeta,
    health: &Arc<HealthTable>,
    serving: bool,
) -> Option<ServedZone> {
    let (first, last) = (steps.first()?, steps.last()?);
    let joined = first.row.from_serial == current.zone.serial
        && steps
            .windows(2)
            .all(|w| w[0].row.to_serial == w[1].row.from_serial)
        && last.generation == meta.generation
        && last.row.to_serial == meta.serial;
    if !joined {
        return None;
    }
    let mut zone = current.zone.clone();
    let mut history = current.history.clone();
    for step in steps {
        zone = patched(&zone, step.touched.as_ref()?, health)?;
        if serving {
            let delta = Delta::from_row(&step.row, &meta.zone).ok()?;
            history = history::appended(&history, Arc::new(delta), HISTORY_KEEP);
        }
    }
    (zone.serial == meta.serial)
        .then(|| ServedZone::with_history(zone, history, meta.generation, serving))
}
