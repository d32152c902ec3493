//! The snapshot set of a failover: one snapshot per (provider, zone), taken together from the
//! zones the plan was made from, each read back before anything is written.

use switchback_api::Zone;
use tracing::info;

use super::error::CutoverError;
use super::state::SnapshotRef;
use crate::store::Store;

/// Store a snapshot of each `(provider, live zone)`, labelled for cutover `name`, and check
/// that each reads back exactly as taken.
pub fn take(
    store: &Store,
    name: &str,
    lives: &[(&str, &Zone)],
) -> Result<Vec<SnapshotRef>, CutoverError> {
    let mut out = Vec::new();
    for (provider, live) in lives {
        let meta = store.create_snapshot(
            provider,
            live,
            Some(&format!("cutover {name}: before failover")),
        )?;
        // Refuse to go on without the snapshot just taken, read back.
        let snap = store.snapshot(&meta.id)?;
        if snap.zone != **live {
            return Err(CutoverError::refused(
                name,
                format!(
                    "snapshot {} does not read back as taken; not failing over",
                    meta.id
                ),
            ));
        }
        info!(snapshot = %meta.id, provider, zone = %live.origin, "snapshot taken before failover");
        out.push(SnapshotRef {
            provider: provider.to_string(),
            zone: live.origin.clone(),
            id: meta.id,
        });
    }
    Ok(out)
}
