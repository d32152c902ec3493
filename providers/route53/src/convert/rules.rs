//! Zone-level rules Route 53 enforces that no single record set shows.

use std::collections::BTreeMap;

use switchback_api::plan::apply_changes;
use switchback_api::{Change, Name, ProviderError, RType, RecordSet, Zone};

/// Zone-level rules Route 53 enforces (the emulators do not): no CNAME beside other data at a
/// name, and no mix of routing policies (or of plain and routed sets) within a name and type.
/// Checked on the zone as the last read saw it with the changes applied when that read still
/// matches the changes' `before`s, else on the changed sets alone.
pub(crate) fn check_zone_rules(
    origin: &Name,
    last: Option<&Zone>,
    changes: &[Change],
) -> Result<(), ProviderError> {
    let simulated = last.and_then(|z| {
        let mut z = z.clone();
        apply_changes(&mut z, changes).ok().map(|_| z)
    });
    let after_sets: Vec<RecordSet> = match &simulated {
        Some(z) => z.record_sets.clone(),
        None => changes.iter().filter_map(|c| c.after().cloned()).collect(),
    };
    let touched: Vec<&RecordSet> = changes.iter().filter_map(|c| c.after()).collect();
    let mut by_name: BTreeMap<&Name, Vec<&RecordSet>> = BTreeMap::new();
    for rs in &after_sets {
        by_name.entry(&rs.name).or_default().push(rs);
    }
    for t in &touched {
        let Some(here) = by_name.get(&t.name) else {
            continue;
        };
        let cname = here.iter().find(|r| r.rtype == RType::CNAME);
        let other = here.iter().find(|r| r.rtype != RType::CNAME);
        if let (Some(c), Some(o)) = (cname, other) {
            let (subject, beside) = if t.rtype == RType::CNAME {
                (c, o)
            } else {
                (o, c)
            };
            return Err(super::invalid(
                subject,
                format!(
                    "a CNAME cannot share its name with other data (RFC 1034 §3.6.2): {} is \
                     beside {}{}",
                    subject.key(),
                    beside.key(),
                    if t.name == *origin {
                        " (and the apex always holds SOA and NS)"
                    } else {
                        ""
                    }
                ),
            ));
        }
        let same_type: Vec<&&RecordSet> = here.iter().filter(|r| r.rtype == t.rtype).collect();
        if same_type.len() > 1 {
            let kinds: Vec<String> = same_type
                .iter()
                .map(|r| super::routing_policies(r).join("+"))
                .collect();
            if let Some(plain) = same_type.iter().find(|r| r.set_identifier.is_none()) {
                return Err(super::invalid(
                    t,
                    format!(
                        "{} without a set identifier is beside routed sets of the same name \
                         and type; Route 53 allows either one plain set or only routed sets",
                        plain.key()
                    ),
                ));
            }
            if kinds.iter().any(|k| *k != kinds[0]) {
                return Err(super::invalid(
                    t,
                    format!(
                        "record sets of one name and type must share one routing policy; \
                         found {}",
                        kinds.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}
