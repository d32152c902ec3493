//! The diff engine and plans: existing vs desired record sets -> an ordered list of changes,
//! checked against capabilities and safety thresholds, with a checksum a reviewer can pin.
//!
//! Plans are values: computing one changes nothing. The application decides whether to apply.
//!
//! # Order of changes
//!
//! [`diff`] returns deletes first, then updates, then creates; within each group, record sets
//! in canonical key order (names in DNSSEC canonical order, the SOA before every other type at
//! a name, then by type number, then by set identifier; the same order as [`Zone::new`]).
//!
//! This order is safe for a provider that checks RFC 1034 CNAME exclusivity (a CNAME may not
//! share its name with other data) after every single change:
//! - an update never changes which types exist at a name (the type is part of the key);
//! - after all deletes, what is left at a name is only what both zones have there, a subset of
//!   the desired zone;
//! - every create then only adds a set of the desired zone.
//!
//! So every intermediate state at a name is a subset of the existing zone (while deleting) or
//! of the desired zone (while updating and creating): when neither has a CNAME beside other
//! data at that name, no step does. "A at www replaced by a CNAME" is `Delete A`, then
//! `Create CNAME`; the reverse is `Delete CNAME`, then `Create A`; a weighted pair of CNAMEs
//! (two set identifiers) replaced by a weighted pair of A sets deletes both CNAME sets before
//! the first A set is created. [`Plan::record_changes`] keeps this order for providers whose
//! unit is one record.

mod apply;
mod canonical;
mod checksum;
mod diff;
mod records;
mod select;

pub use apply::*;
use canonical::*;
pub use diff::*;
pub use records::*;
pub use select::*;

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    Capabilities, Change, Name, ProviderError, RType, RecordSet, RecordSetKey, RecordValue, Zone,
};

// ---------------------------------------------------------------------------------------------
// Plans
// ---------------------------------------------------------------------------------------------

/// A plan: the changes that make a provider's zone equal to the desired one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub provider: String,
    pub zone: Name,
    pub changes: Vec<Change>,
    /// Record sets in the existing zone (the base for the change percentage).
    pub existing_record_sets: usize,
    /// The existing zone held nothing but its apex SOA and NS sets (or nothing at all): a first
    /// import, which the change percentage never refuses.
    #[serde(default)]
    pub first_import: bool,
    /// How the provider will write it: from its `granularity`, `max_batch` and
    /// `atomic_batches` (see [`Capabilities::writes`]).
    #[serde(default)]
    pub writes: Writes,
}

/// Why a plan was refused before anything was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("provider {provider} cannot carry out this plan: {what}: {reason}")]
    Unsupported {
        provider: String,
        what: String,
        reason: String,
    },
    #[error("safety threshold: {0}")]
    Safety(String),
    #[error("the plan changed since it was reviewed: checksum {actual}, expected {expected}")]
    ChecksumMismatch { expected: String, actual: String },
}

/// Safety thresholds (DESIGN.md "Safety").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Safety {
    /// Refuse a plan that changes more than this share of the zone's record sets.
    pub max_change_percent: u32,
}

impl Default for Safety {
    fn default() -> Safety {
        Safety {
            max_change_percent: 30,
        }
    }
}

impl Change {
    /// The key of the record set this change touches.
    pub fn key(&self) -> RecordSetKey {
        self.record_set().key()
    }

    /// The set as it is after the change (`before` for a delete).
    pub fn record_set(&self) -> &RecordSet {
        match self {
            Change::Create { after } | Change::Update { after, .. } => after,
            Change::Delete { before } => before,
        }
    }

    /// The set before the change (`None` for a create).
    pub fn before(&self) -> Option<&RecordSet> {
        match self {
            Change::Update { before, .. } | Change::Delete { before } => Some(before),
            Change::Create { .. } => None,
        }
    }

    /// The set after the change (`None` for a delete).
    pub fn after(&self) -> Option<&RecordSet> {
        match self {
            Change::Create { after } | Change::Update { after, .. } => Some(after),
            Change::Delete { .. } => None,
        }
    }

    /// `"create"`, `"update"` or `"delete"` (as in the JSON form).
    pub fn op(&self) -> &'static str {
        match self {
            Change::Create { .. } => "create",
            Change::Update { .. } => "update",
            Change::Delete { .. } => "delete",
        }
    }
}

/// Diff and check the result against the provider's capabilities: every created or updated set
/// must be one the provider can hold, and lie inside the zone. Nothing is sent.
pub fn plan(
    provider: &str,
    caps: &Capabilities,
    existing: &Zone,
    desired: &Zone,
    opts: &DiffOptions,
) -> Result<Plan, PlanError> {
    let changes = diff(existing, desired, opts);
    let origin = &existing.origin;
    for c in &changes {
        let Some(after) = c.after() else { continue };
        if !after.name.is_subdomain_of(origin) {
            return Err(PlanError::Unsupported {
                provider: provider.to_string(),
                what: format!("record set {}", after.key()),
                reason: format!("the name is outside the zone {origin}"),
            });
        }
        caps.check(after)
            .map_err(|e| unsupported(provider, &after.key(), e))?;
    }
    let first_import = existing
        .record_sets
        .iter()
        .all(|rs| rs.name == *origin && matches!(rs.rtype, RType::SOA | RType::NS));
    let writes = caps.writes(&changes);
    Ok(Plan {
        provider: provider.to_string(),
        zone: origin.clone(),
        changes,
        existing_record_sets: existing.record_sets.len(),
        first_import,
        writes,
    })
}

fn unsupported(provider: &str, key: &RecordSetKey, e: ProviderError) -> PlanError {
    match e {
        ProviderError::Unsupported { what, reason } => PlanError::Unsupported {
            provider: provider.to_string(),
            what,
            reason,
        },
        other => PlanError::Unsupported {
            provider: provider.to_string(),
            what: format!("record set {key}"),
            reason: other.to_string(),
        },
    }
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// `(creates, updates, deletes)`.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut n = (0, 0, 0);
        for c in &self.changes {
            match c {
                Change::Create { .. } => n.0 += 1,
                Change::Update { .. } => n.1 += 1,
                Change::Delete { .. } => n.2 += 1,
            }
        }
        n
    }

    /// Refuse when the plan's checksum is not `expected` (compared without regard to case or
    /// surrounding white space): the plan changed since it was reviewed.
    pub fn verify_checksum(&self, expected: &str) -> Result<(), PlanError> {
        let actual = self.checksum();
        if expected.trim().eq_ignore_ascii_case(&actual) {
            Ok(())
        } else {
            Err(PlanError::ChecksumMismatch {
                expected: expected.trim().to_string(),
                actual,
            })
        }
    }

    /// Refuse when the plan crosses a threshold: it changes (creates + updates + deletes) more
    /// than `max_change_percent` of the existing record sets (never for a first import into an
    /// empty zone), or it deletes the apex SOA or apex NS set (updating them is fine).
    pub fn check_safety(&self, safety: &Safety) -> Result<(), PlanError> {
        for c in &self.changes {
            if let Change::Delete { before } = c {
                if before.name == self.zone && matches!(before.rtype, RType::SOA | RType::NS) {
                    return Err(PlanError::Safety(format!(
                        "would delete the apex {} set of {} ({})",
                        before.rtype,
                        self.zone,
                        before.key()
                    )));
                }
            }
        }
        let changed = self.changes.len() as u64;
        let base = self.existing_record_sets as u64;
        let max = safety.max_change_percent as u64;
        if base > 0 && !self.first_import && changed * 100 > max * base {
            let whole = changed * 100 / base;
            let shown = if whole > max {
                format!("{whole}%")
            } else {
                // Just above the limit: show a decimal so the numbers visibly disagree.
                format!("{:.1}%", changed as f64 * 100.0 / base as f64)
            };
            return Err(PlanError::Safety(format!(
                "would change {changed} of {base} record sets ({shown}), more than \
                 max_change_percent = {max}"
            )));
        }
        Ok(())
    }

    /// The plan for a provider whose unit is one record (e.g. Cloudflare): every change as
    /// record-level changes, in plan order. Each record is a [`RecordSet`] holding exactly one
    /// value (with the set's name, type, set identifier, TTL, weight and set-level fields).
    ///
    /// A create adds every value; a delete removes every value; an update pairs the values of
    /// both sides by their RDATA: a value only before is removed, a value only after is added,
    /// a value on both sides is kept when nothing about its record changed (neither its own
    /// fields nor the set's TTL, weight or fields), else updated. Within an update, removes
    /// come first, then updates, keeps and adds.
    pub fn record_changes(&self) -> Vec<RecordChange> {
        record_changes(&self.changes)
    }
}

#[cfg(test)]
mod tests;
