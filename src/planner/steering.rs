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
                    p.fields.insert(field.into(), json!(c.check));
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::Config;
    use switchback_api::{Name, RType};

    /// The cutover `web` of a config holding `toml` (two records in example.com., one in
    /// corp.example.).
    pub(crate) fn cutover(steering: &str, extra_provider: &str) -> Cutover {
        let text = format!(
            "{extra_provider}\n[[cutover]]\nname = \"web\"\nprovider = \"builtin\"\nzone = \"example.com\"\n\
             steering = \"{steering}\"\nttl = 30\nfailback_stages = [10, 50, 100]\nsoak = \"5m\"\n\
             [[cutover.record]]\nname = \"www.example.com.\"\ntype = \"A\"\nrecovery = [\"198.51.100.1\"]\n\
             [[cutover.record]]\nname = \"app.corp.example.\"\ntype = \"A\"\nzone = \"corp.example\"\n\
             recovery = [\"10.9.9.9\", \"10.9.9.8\"]\n"
        );
        Config::parse(&text, std::path::Path::new("/x/switchback.toml"))
            .unwrap()
            .cutover("web")
            .unwrap()
            .unwrap()
    }

    pub(crate) fn zone(origin: &str, sets: &[(&str, &str)]) -> Zone {
        let origin: Name = origin.parse().unwrap();
        Zone::new(
            origin,
            sets.iter()
                .map(|(n, v)| RecordSet::new(n.parse().unwrap(), RType::A, 300, [v.to_string()]))
                .collect(),
        )
    }

    fn key(c: &Cutover, i: usize) -> ZoneKey {
        c.zones()[i].clone()
    }

    #[test]
    fn weights_per_stage() {
        let c = cutover("weighted", "");
        assert_eq!(stage_count(&c), 3);
        let w: Vec<Option<u32>> = (0..=3).map(|s| primary_weight(&c, s)).collect();
        assert_eq!(w, [Some(0), Some(10), Some(50), Some(100)]);
        let f = cutover("failover", "");
        assert_eq!(
            primary_weight(&f, 0),
            None,
            "failover steering: all on recovery"
        );
        assert_eq!(
            primary_weight(&f, 1),
            Some(10),
            "then staged where weights exist"
        );
    }

    #[test]
    fn a_record_on_a_provider_without_weights_makes_one_stage() {
        let c = cutover("failover", "[providers.cf]\ntype = \"cloudflare\"\n");
        assert_eq!(stage_count(&c), 3);
        let text = "[providers.cf]\ntype = \"cloudflare\"\n[[cutover]]\nname = \"web\"\n\
                    provider = \"builtin\"\nzone = \"example.com\"\n\
                    [[cutover.record]]\nname = \"www.example.com.\"\ntype = \"A\"\n\
                    [[cutover.record]]\nname = \"www.public.example.\"\ntype = \"A\"\n\
                    provider = \"cf\"\nzone = \"public.example\"\n";
        let c = Config::parse(text, std::path::Path::new("/x/s.toml"))
            .unwrap()
            .cutover("web")
            .unwrap()
            .unwrap();
        assert_eq!(stage_count(&c), 1);
        assert_eq!(primary_weight(&c, 1), Some(100));
        assert_eq!(c.zones().len(), 2);
    }

    #[test]
    fn steering_builds_from_the_snapshot_per_zone() {
        let c = cutover("weighted", "");
        let targets = super::super::targets::resolve_targets(&c, &Targets::new()).unwrap();
        let site = zone(
            "example.com.",
            &[
                ("www.example.com.", "192.0.2.1"),
                ("mail.example.com.", "192.0.2.2"),
            ],
        );
        let sets = steered(
            &c,
            &key(&c, 0),
            &site,
            &targets,
            Some(10),
            Some("health_check"),
        )
        .unwrap();
        assert_eq!(
            sets.len(),
            2,
            "one weighted pair, only the zone's own record: {sets:?}"
        );
        let p = &sets[0];
        assert_eq!(
            (p.set_identifier.as_deref(), p.weight, p.ttl),
            (Some(PRIMARY), Some(10), 30)
        );
        assert_eq!(p.values[0].data, "192.0.2.1");
        assert_eq!(p.fields.get("health_check"), Some(&json!("web")));
        let r = &sets[1];
        assert_eq!(
            (r.set_identifier.as_deref(), r.weight),
            (Some(RECOVERY), Some(90))
        );
        assert_eq!(r.values[0].data, "198.51.100.1");
        assert!(!r.fields.contains_key("health_check"));
        // Without a health field (a provider with no per-query health): weights alone.
        let sets = steered(&c, &key(&c, 0), &site, &targets, Some(0), None).unwrap();
        assert!(sets[0].fields.is_empty());
        // Failover steering: the values replaced, the set kept plain.
        let corp = zone("corp.example.", &[("app.corp.example.", "10.0.0.1")]);
        let sets = steered(&c, &key(&c, 1), &corp, &targets, None, None).unwrap();
        assert_eq!(sets.len(), 1);
        assert_eq!(sets[0].set_identifier, None);
        let vals: Vec<&str> = sets[0].values.iter().map(|v| v.data.as_str()).collect();
        assert_eq!(vals, ["10.9.9.8", "10.9.9.9"]);
        // A record missing from its zone is refused, naming it and the zone.
        let e = steered(&c, &key(&c, 1), &site, &targets, None, None).unwrap_err();
        assert!(
            e.to_string()
                .contains("app.corp.example./A is not in zone builtin/corp.example."),
            "{e}"
        );
    }
}
