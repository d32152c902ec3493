//! The catalog zone (RFC 9432, version 2): with `[server] catalog = "catalog.switchback."`,
//! the built-in server serves one more zone that lists every other zone it serves, so a
//! secondary configured once (Knot's `catalog-role: interpret`, BIND's `catalog-zones`, NSD,
//! PowerDNS) follows the zones that are added and removed.
//!
//! - It is a live zone like any other, kept in the state store: its serial rises and its
//!   history (IXFR) grows by one change whenever the set of zones changes, and NOTIFY goes out
//!   as for any serial change; it is transferable under the same `allow_transfer`.
//! - Members are `<id>.zones.<catalog> PTR <zone>`, the id a stable hash of the zone's name
//!   (64-bit FNV-1a of its lower-case presentation form, in hex): the same zone keeps its id
//!   across restarts, versions and instances, so a consumer never sees a member "reset".
//! - `version.<catalog> TXT "2"`; SOA and `NS invalid.` as the RFC asks; TTL 0 everywhere.
//! - It is written by whoever reconciles the zone folder (start, SIGHUP), deterministically:
//!   several instances on one store compute the same catalog, and an unchanged one is not
//!   written again.

use switchback_api::{Name, RType, RecordSet, Zone};
use tracing::info;

use crate::history;
use crate::provider::Builtin;
use crate::seed::LoadError;
use crate::zone::CompiledZone;

/// The member label of `zone`: stable forever (see the module docs).
pub fn member_id(zone: &Name) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in zone.to_string().to_ascii_lowercase().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The catalog `catalog` listing `members`, at `serial`.
pub fn model(catalog: &Name, members: &[Name], serial: u32) -> Result<Zone, String> {
    let at = |label: &str| -> Result<Name, String> {
        format!("{label}.{catalog}")
            .parse()
            .map_err(|e| format!("catalog zone: bad name {label}.{catalog}: {e}"))
    };
    let mut sets = vec![
        RecordSet::new(
            catalog.clone(),
            RType::SOA,
            0,
            [format!("invalid. invalid. {serial} 60 10 3600 0")],
        ),
        RecordSet::new(catalog.clone(), RType::NS, 0, ["invalid.".to_string()]),
        RecordSet::new(at("version")?, RType::TXT, 0, ["\"2\"".to_string()]),
    ];
    for m in members {
        sets.push(RecordSet::new(
            at(&format!("{}.zones", member_id(m)))?,
            RType::PTR,
            0,
            [m.to_string()],
        ));
    }
    Ok(Zone::new(catalog.clone(), sets))
}

impl Builtin {
    /// Bring the catalog zone in the store up to date with the zones it holds (the caller
    /// holds the write lock). Nothing is written when the list is unchanged.
    pub(crate) fn sync_catalog_zone(&self) -> Result<(), LoadError> {
        let Some(catalog) = self.catalog_zone.clone() else {
            return Ok(());
        };
        let bad = |message: String| LoadError::Zone {
            zone: catalog.clone(),
            message,
        };
        self.store.write(|tx| {
            let mut members: Vec<Name> = tx
                .zones()?
                .into_iter()
                .map(|m| m.zone)
                .filter(|z| *z != catalog)
                .collect();
            members.sort();
            let mut model = model(&catalog, &members, 1).map_err(bad)?;
            let digest = history::model_digest(&model);
            let meta = tx.meta(&catalog)?;
            let Some(meta) = meta else {
                tx.put_zone(&model, 1, false, &digest, &digest)?;
                info!(zone = %catalog, members = members.len(), "catalog zone created");
                return Ok(());
            };
            if meta.live_digest == digest {
                return Ok(());
            }
            let old = tx.live(&catalog)?.ok_or_else(|| bad("vanished from the state store".into()))?;
            let old = CompiledZone::compile_with(&old, Some(&self.health))?;
            let to = meta.serial.wrapping_add(1).max(1);
            history::set_serial(&mut model, to).map_err(bad)?;
            let new = CompiledZone::compile_with(&model, Some(&self.health))?;
            let mut delta = history::diff(&old, &new, None);
            delta.from = meta.serial;
            let row = delta.to_row().map_err(bad)?;
            let generation = tx.put_zone(&model, to, false, &digest, &digest)?;
            tx.append_history(&catalog, &row, generation, None)?;
            info!(zone = %catalog, members = members.len(), from = meta.serial, to, "catalog zone changed");
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_ids_are_stable_and_case_blind() {
        let a: Name = "example.com.".parse().unwrap();
        let b: Name = "EXAMPLE.com.".parse().unwrap();
        assert_eq!(member_id(&a), member_id(&b));
        // Fixed forever: a consumer keys its members by it.
        assert_eq!(member_id(&a), "ad4482bdcc688638");
        let z = model(&"catalog.switchback.".parse().unwrap(), &[a], 7).unwrap();
        assert_eq!(z.record_sets.len(), 4);
    }
}
