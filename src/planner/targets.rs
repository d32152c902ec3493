//! A cutover's record sets and their recovery targets: lookup by name, `--target` parsing,
//! and the selectors that restrict every diff to the cutover's own sets (invariant 3).

use switchback_api::plan::Selector;

use super::error::CutoverError;
use super::state::Targets;
use crate::config::{Config, Cutover, ZoneKey};

/// The resolved cutover called `name`.
pub fn find(cfg: &Config, name: &str) -> Result<Cutover, CutoverError> {
    cfg.cutover(name)?.ok_or_else(|| CutoverError::Unknown {
        name: name.to_string(),
        known: if cfg.cutovers.is_empty() {
            "none".into()
        } else {
            cfg.cutovers
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        },
    })
}

/// The selectors of a cutover's record sets in zone `z` (`NAME/TYPE`, every set identifier).
pub fn selectors(c: &Cutover, z: &ZoneKey) -> Vec<Selector> {
    c.records_in(z)
        .map(|r| Selector::name_type(r.name.clone(), r.rtype))
        .collect()
}

/// Parse `--target NAME/TYPE=V1,V2` against the cutover; values canonicalized in the record's
/// own zone.
pub fn parse_target(c: &Cutover, text: &str) -> Result<(String, Vec<String>), CutoverError> {
    let bad = |m: String| CutoverError::refused(&c.name, format!("--target {text:?}: {m}"));
    let (key, values) = text
        .split_once('=')
        .ok_or_else(|| bad("expected NAME/TYPE=V1,V2".into()))?;
    let sel: Selector = key.parse().map_err(|e| bad(format!("{e}")))?;
    let rtype = sel
        .rtype
        .ok_or_else(|| bad("the type is missing (NAME/TYPE=...)".into()))?;
    let Some(rec) = c
        .records
        .iter()
        .find(|r| r.name == sel.name && r.rtype == rtype)
    else {
        return Err(bad(format!(
            "{}/{rtype} is not a record of this cutover",
            sel.name
        )));
    };
    let mut out = Vec::new();
    for v in values.split(',').map(str::trim).filter(|v| !v.is_empty()) {
        let canon = switchback_api::rdata::canonicalize(rtype, v, &rec.at.zone)
            .map_err(|e| bad(format!("{v:?} is not a valid {rtype} value: {e}")))?;
        out.push(canon);
    }
    if out.is_empty() {
        return Err(bad("no values".into()));
    }
    Ok((format!("{}/{rtype}", sel.name), out))
}

/// The targets of a failover: the config's, overridden per record set by `overrides`. Every
/// record set must have some.
pub fn resolve_targets(c: &Cutover, overrides: &Targets) -> Result<Targets, CutoverError> {
    let mut out = Targets::new();
    for r in &c.records {
        let key = format!("{}/{}", r.name, r.rtype);
        let v = overrides
            .get(&key)
            .cloned()
            .unwrap_or_else(|| r.recovery.clone());
        if v.is_empty() {
            return Err(CutoverError::refused(
                &c.name,
                format!(
                    "no recovery target for {key}: set recovery = [...] in its [[cutover.record]] \
                     or pass --target {key}=VALUE"
                ),
            ));
        }
        out.insert(key, v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planner::steering::tests::cutover;

    #[test]
    fn targets_name_records_in_any_zone_of_the_cutover() {
        let c = cutover("weighted", "");
        let (k, v) = parse_target(&c, "app.corp.example/A=10.1.1.1, 10.1.1.2").unwrap();
        assert_eq!(k, "app.corp.example./A");
        assert_eq!(v, ["10.1.1.1", "10.1.1.2"]);
        let e = parse_target(&c, "mail.example.com/A=192.0.2.9").unwrap_err();
        assert!(
            e.to_string().contains("not a record of this cutover"),
            "{e}"
        );
        let e = parse_target(&c, "app.corp.example/A=not-an-address").unwrap_err();
        assert!(e.to_string().contains("not a valid A value"), "{e}");
        // Overrides per record; the others from the config.
        let mut o = Targets::new();
        o.insert("app.corp.example./A".into(), vec!["10.1.1.1".into()]);
        let t = resolve_targets(&c, &o).unwrap();
        assert_eq!(t["app.corp.example./A"], ["10.1.1.1"]);
        assert_eq!(t["www.example.com./A"], ["198.51.100.1"]);
        // The selectors of a zone are that zone's records only.
        let z = c.zones()[1].clone();
        assert_eq!(selectors(&c, &z).len(), 1);
    }
}
