//! The three-way drift check, a pure function per zone: the snapshot, what the last step
//! wrote (or what an interrupted step meant to write), and what is live. A cutover record set
//! someone else changed is a conflict; a change outside the cutover is left alone.

use std::collections::BTreeSet;

use serde::Serialize;
use switchback_api::plan::{self, DiffOptions, Selector};
use switchback_api::{RType, RecordSet, RecordSetKey, Zone};

use crate::config::ZoneKey;

/// One cutover record set whose live version is not what the last step wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftEntry {
    /// `provider/zone`.
    pub zone: String,
    pub key: String,
    pub snapshot: Option<RecordSet>,
    pub written: Option<RecordSet>,
    pub live: Option<RecordSet>,
}

/// A record set outside the cutover that changed since the snapshot: never touched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeftAlone {
    pub zone: String,
    pub key: String,
    /// `added`, `changed` or `removed` since the snapshot.
    pub change: String,
    pub snapshot: Option<RecordSet>,
    pub live: Option<RecordSet>,
}

/// The three-way comparison before a failback step or an abort, over every zone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftReport {
    pub cutover: String,
    pub conflicts: Vec<DriftEntry>,
    pub left_alone: Vec<LeftAlone>,
}

fn describe(rs: Option<&RecordSet>) -> String {
    match rs {
        None => "(absent)".into(),
        Some(rs) => {
            let mut s = format!("ttl {}", rs.ttl);
            if let Some(id) = &rs.set_identifier {
                s.push_str(&format!(" [{id}]"));
            }
            if let Some(w) = rs.weight {
                s.push_str(&format!(" weight {w}"));
            }
            for (k, v) in &rs.fields {
                s.push_str(&format!(" {k}={v}"));
            }
            let vals: Vec<&str> = rs.values.iter().map(|v| v.data.as_str()).collect();
            s.push_str(&format!("  {}", vals.join(", ")));
            s
        }
    }
}

impl DriftReport {
    pub fn new(cutover: &str) -> DriftReport {
        DriftReport {
            cutover: cutover.to_string(),
            conflicts: Vec::new(),
            left_alone: Vec::new(),
        }
    }

    /// The report as text: each conflict as snapshot / written / live, then what is left alone.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for c in &self.conflicts {
            out.push_str(&format!("conflict {} (in {}):\n", c.key, c.zone));
            out.push_str(&format!("  snapshot: {}\n", describe(c.snapshot.as_ref())));
            out.push_str(&format!("  written:  {}\n", describe(c.written.as_ref())));
            out.push_str(&format!("  live:     {}\n", describe(c.live.as_ref())));
        }
        for l in &self.left_alone {
            out.push_str(&format!(
                "left alone: {} in {} ({} since the snapshot, outside the cutover; not touched)\n",
                l.key, l.zone, l.change
            ));
        }
        out
    }
}

fn selected<'z>(sels: &[Selector], zone: &'z Zone) -> impl Iterator<Item = &'z RecordSet> {
    zone.record_sets
        .iter()
        .filter(move |rs| sels.iter().any(|s| s.matches(&rs.key())))
}

fn normalized(rs: Option<&RecordSet>) -> Option<RecordSet> {
    rs.map(|r| {
        let mut r = r.clone();
        r.normalize();
        r
    })
}

fn find_key<'r>(sets: &'r [RecordSet], key: &RecordSetKey) -> Option<&'r RecordSet> {
    sets.iter().find(|rs| rs.key() == *key)
}

/// The three-way comparison in zone `z` (its cutover selectors `sels`), added to `report`.
#[allow(clippy::too_many_arguments)]
pub fn drift_in(
    report: &mut DriftReport,
    z: &ZoneKey,
    sels: &[Selector],
    opts: &DiffOptions,
    snapshot: &Zone,
    written: &[RecordSet],
    intended: Option<&[RecordSet]>,
    live: &Zone,
) {
    let zone = z.to_string();
    let mut keys: BTreeSet<RecordSetKey> = BTreeSet::new();
    keys.extend(selected(sels, snapshot).map(RecordSet::key));
    keys.extend(selected(sels, live).map(RecordSet::key));
    keys.extend(written.iter().map(RecordSet::key));
    if let Some(i) = intended {
        keys.extend(i.iter().map(RecordSet::key));
    }
    for key in keys {
        let l = normalized(live.get(&key));
        let w = normalized(find_key(written, &key));
        if l == w {
            continue;
        }
        if let Some(i) = intended {
            if l == normalized(find_key(i, &key)) {
                continue;
            }
        }
        report.conflicts.push(DriftEntry {
            zone: zone.clone(),
            key: key.to_string(),
            snapshot: snapshot.get(&key).cloned(),
            written: w,
            live: l,
        });
    }
    report.left_alone.extend(
        plan::diff(snapshot, live, opts)
            .into_iter()
            .filter(|ch| !sels.iter().any(|s| s.matches(&ch.key())))
            .filter(|ch| {
                ch.key().rtype != RType::SOA || ch.before().is_none() || ch.after().is_none()
            })
            .map(|ch| LeftAlone {
                zone: zone.clone(),
                key: ch.key().to_string(),
                change: match ch.op() {
                    "create" => "added",
                    "delete" => "removed",
                    _ => "changed",
                }
                .into(),
                snapshot: ch.before().cloned(),
                live: ch.after().cloned(),
            }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planner::steering::tests::{cutover, zone};
    use crate::planner::targets::selectors;

    #[test]
    fn three_way() {
        let c = cutover("failover", "");
        let z = c.zones()[0].clone();
        let sels = selectors(&c, &z);
        let opts = DiffOptions::default();
        let snap = zone(
            "example.com.",
            &[
                ("www.example.com.", "192.0.2.1"),
                ("mail.example.com.", "192.0.2.2"),
            ],
        );
        let written = zone("example.com.", &[("www.example.com.", "198.51.100.1")]).record_sets;
        // Live as written: no conflict; mail changed by someone: left alone.
        let live = zone(
            "example.com.",
            &[
                ("www.example.com.", "198.51.100.1"),
                ("mail.example.com.", "192.0.2.9"),
            ],
        );
        let mut r = DriftReport::new("web");
        drift_in(&mut r, &z, &sels, &opts, &snap, &written, None, &live);
        assert!(r.conflicts.is_empty(), "{r:?}");
        assert_eq!(r.left_alone.len(), 1);
        assert_eq!(
            (
                r.left_alone[0].key.as_str(),
                r.left_alone[0].change.as_str()
            ),
            ("mail.example.com./A", "changed")
        );
        // www changed by someone else: a conflict showing all three.
        let live = zone(
            "example.com.",
            &[
                ("www.example.com.", "203.0.113.7"),
                ("mail.example.com.", "192.0.2.2"),
            ],
        );
        let mut r = DriftReport::new("web");
        drift_in(&mut r, &z, &sels, &opts, &snap, &written, None, &live);
        assert_eq!(r.conflicts.len(), 1, "{r:?}");
        let e = &r.conflicts[0];
        assert_eq!(e.zone, "builtin/example.com.");
        assert_eq!(e.snapshot.as_ref().unwrap().values[0].data, "192.0.2.1");
        assert_eq!(e.written.as_ref().unwrap().values[0].data, "198.51.100.1");
        assert_eq!(e.live.as_ref().unwrap().values[0].data, "203.0.113.7");
        assert!(
            r.render()
                .contains("conflict www.example.com./A (in builtin/example.com.)")
        );
        // An interrupted step that meant to write what is live: no conflict.
        let mut r = DriftReport::new("web");
        drift_in(
            &mut r,
            &z,
            &sels,
            &opts,
            &snap,
            &written,
            Some(&live.record_sets),
            &live,
        );
        assert!(r.conflicts.is_empty(), "{r:?}");
        // A cutover record deleted by someone: a conflict with live absent.
        let live = zone("example.com.", &[("mail.example.com.", "192.0.2.2")]);
        let mut r = DriftReport::new("web");
        drift_in(&mut r, &z, &sels, &opts, &snap, &written, None, &live);
        assert_eq!(r.conflicts.len(), 1);
        assert!(r.conflicts[0].live.is_none());
    }
}
