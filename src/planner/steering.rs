//! Steering as pure functions: the record sets a cutover writes at each stage, from the
//! original sets of the snapshot.

use serde_json::json;
use switchback_api::{RecordSet, RecordValue, Zone};

use super::error::CutoverError;
use super::state::Targets;
use crate::config::{Cutover, Steering, ZoneKey};

/// The `set_identifier` of the primary side of a weighted pair.
pub const PRIMARY: &str = "primary";
/// The `set_identifier` of the recovery side of a weighted pair.
pub const RECOVERY: &str = "recovery";

/// How many failback stages the cutover has (one when some record's provider has no weights).
pub fn stage_count(c: &Cutover) -> u32 {
    if c.staged {
        c.failback_stages.len() as u32
    } else {
        1
    }
}

/// The primary's traffic share after `stage` (0 = failed over; `None`: not weighted, all on
/// the recovery targets).
pub fn primary_weight(c: &Cutover, stage: u32) -> Option<u32> {
    let n = stage_count(c);
    if stage >= n {
        Some(100)
    } else if stage == 0 {
        match c.steering {
            Steering::Weighted => Some(0),
            Steering::Failover => None,
        }
    } else {
        c.failback_stages.get(stage as usize - 1).copied()
    }
}

/// The cutover's record sets in zone `z` steered with the primary at `weight` (`None`: the
/// recovery targets replace the values), built from the original sets in `base` (the
/// snapshot). `health_field`: the provider's per-query health field (the primary side names
/// the cutover's check in it).
pub fn steered(
    c: &Cutover,
    z: &ZoneKey,
    base: &Zone,
    targets: &Targets,
    weight: Option<u32>,
    health_field: Option<&str>,
) -> Result<Vec<RecordSet>, CutoverError> {
    let mut out = Vec::new();
    for r in c.records_in(z) {
        let key = format!("{}/{}", r.name, r.rtype);
        let orig: Vec<&RecordSet> = base
            .record_sets
            .iter()
            .filter(|rs| rs.name == r.name && rs.rtype == r.rtype)
            .collect();
        let o = match orig.as_slice() {
            [o] if o.set_identifier.is_none() && o.weight.is_none() => *o,
            [] => {
                return Err(CutoverError::refused(
                    &c.name,
                    format!("{key} is not in zone {z}"),
                ));
            }
            _ => {
                return Err(CutoverError::refused(
                    &c.name,
                    format!(
                        "{key} must be one plain record set before a failover (found {} set(s) \
                         with set identifiers or weights)",
                        orig.len()
                    ),
                ));
            }
        };
        let tv = targets.get(&key).filter(|v| !v.is_empty()).ok_or_else(|| {
            CutoverError::refused(&c.name, format!("no recovery target for {key}"))
        })?;
        let recovery_values: Vec<RecordValue> =
            tv.iter().map(|v| RecordValue::new(v.clone())).collect();
        match weight {
            None => {
                let mut rs = o.clone();
                rs.values = recovery_values;
                rs.ttl = c.ttl;
                rs.normalize();
                out.push(rs);
            }
            Some(w) => {
                let mut p = o.clone();
                p.set_identifier = Some(PRIMARY.into());
                p.weight = Some(w);
                p.ttl = c.ttl;
                if let Some(field) = health_field {
                    p.fields.insert(field.into(), json!(c.name));
                }
                let mut rec = o.clone();
                rec.set_identifier = Some(RECOVERY.into());
                rec.weight = Some(100 - w.min(100));
                rec.ttl = c.ttl;
                rec.values = recovery_values;
                rec.normalize();
                out.push(p);
                out.push(rec);
            }
        }
    }
    Ok(out)
}
