//! The record model: record sets keyed by `(name, type, set_identifier)`, values in canonical
//! presentation form, provider-specific settable fields carried along so restore is exact.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Name, RType};

/// Provider-specific settable fields (e.g. Route 53 `alias`, `region`, `failover`; Cloudflare
/// `proxied`, `comment`, `tags`, `settings`). Kept verbatim, compared exactly.
pub type Fields = BTreeMap<String, serde_json::Value>;

/// The identity of a record set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecordSetKey {
    pub name: Name,
    #[serde(rename = "type")]
    pub rtype: RType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_identifier: Option<String>,
}

impl std::fmt::Display for RecordSetKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.name, self.rtype)?;
        if let Some(id) = &self.set_identifier {
            write!(f, "/{id}")?;
        }
        Ok(())
    }
}

/// One value of a record set: RDATA in canonical presentation form, plus per-value fields
/// (Cloudflare keeps one object per value, each with its own `proxied`, `comment`, `tags`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordValue {
    pub data: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: Fields,
}

impl RecordValue {
    pub fn new(data: impl Into<String>) -> RecordValue {
        RecordValue {
            data: data.into(),
            fields: Fields::new(),
        }
    }
}

/// The provider fields the model knows by name: set-level ([`RecordSet::fields`]) for routing,
/// value-level ([`RecordValue::fields`]) for per-record settings. Each needs a capability
/// ([`crate::Capabilities::check`] refuses a set that uses one its provider lacks).
pub mod field {
    /// Set-level: an alias target (Route 53 `AliasTarget`).
    pub const ALIAS: &str = "alias";
    /// Set-level: the region of latency-based routing (Route 53 `Region`).
    pub const REGION: &str = "region";
    /// Set-level: geolocation routing (Route 53 `GeoLocation`).
    pub const GEO: &str = "geo";
    /// Set-level: geoproximity routing (Route 53 `GeoProximityLocation`).
    pub const GEOPROXIMITY: &str = "geoproximity";
    /// Set-level: failover routing, PRIMARY or SECONDARY (Route 53 `Failover`).
    pub const FAILOVER: &str = "failover";
    /// Set-level: multivalue answer routing (Route 53 `MultiValueAnswer`).
    pub const MULTIVALUE: &str = "multivalue";
    /// Value-level: a comment on the record (Cloudflare `comment`).
    pub const COMMENT: &str = "comment";
    /// Value-level: tags on the record (Cloudflare `tags`).
    pub const TAGS: &str = "tags";
    /// Value-level: traffic proxied by the provider (Cloudflare `proxied`).
    pub const PROXIED: &str = "proxied";
}

/// A record set. Values form a set: [`RecordSet::normalize`] sorts and de-duplicates them so
/// that equality does not depend on order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordSet {
    pub name: Name,
    #[serde(rename = "type")]
    pub rtype: RType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_identifier: Option<String>,
    pub ttl: u32,
    /// Routing weight for weighted sets (Route 53 `Weight`, the built-in server's per-query
    /// choice). `None` for plain sets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    #[serde(deserialize_with = "tight_vec")]
    pub values: Vec<RecordValue>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: Fields,
}

impl RecordSet {
    /// A plain record set (no set identifier, weight or provider fields).
    pub fn new(
        name: Name,
        rtype: RType,
        ttl: u32,
        values: impl IntoIterator<Item = String>,
    ) -> RecordSet {
        let mut rs = RecordSet {
            name,
            rtype,
            set_identifier: None,
            ttl,
            weight: None,
            values: values.into_iter().map(RecordValue::new).collect(),
            fields: Fields::new(),
        };
        rs.normalize();
        rs
    }

    pub fn key(&self) -> RecordSetKey {
        RecordSetKey {
            name: self.name.clone(),
            rtype: self.rtype,
            set_identifier: self.set_identifier.clone(),
        }
    }

    /// Sort values and drop exact duplicates.
    pub fn normalize(&mut self) {
        self.values.sort_by(|a, b| {
            a.data
                .cmp(&b.data)
                .then_with(|| fields_key(&a.fields).cmp(&fields_key(&b.fields)))
        });
        self.values.dedup();
    }
}

fn fields_key(f: &Fields) -> String {
    if f.is_empty() {
        String::new()
    } else {
        serde_json::to_string(f).unwrap_or_default()
    }
}

/// A zone: its origin and its record sets, in canonical order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zone {
    pub origin: Name,
    #[serde(deserialize_with = "tight_vec")]
    pub record_sets: Vec<RecordSet>,
}

/// A list read without spare room: serde's `Vec` starts a list of unknown length at four
/// elements and doubles it, so a one-value record set would hold room for four (a big zone's
/// values took four times their size) and a zone's set list up to twice its own.
fn tight_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Tight<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Tight<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a list")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(4096));
            while let Some(v) = seq.next_element()? {
                out.push(v);
            }
            out.shrink_to_fit();
            Ok(out)
        }
    }
    d.deserialize_seq(Tight(std::marker::PhantomData))
}

impl Zone {
    /// Build a zone, normalizing every set and sorting sets by key (canonical name order,
    /// SOA first at the apex).
    pub fn new(origin: Name, mut record_sets: Vec<RecordSet>) -> Zone {
        for rs in &mut record_sets {
            rs.normalize();
        }
        record_sets.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
        Zone {
            origin,
            record_sets,
        }
    }

    pub fn get(&self, key: &RecordSetKey) -> Option<&RecordSet> {
        self.record_sets.iter().find(|rs| rs.key() == *key)
    }

    /// The apex SOA set, if any.
    pub fn soa(&self) -> Option<&RecordSet> {
        self.record_sets
            .iter()
            .find(|rs| rs.rtype == RType::SOA && rs.name == self.origin)
    }
}

/// A zone's JSON written one record set at a time, for a caller that makes the sets one at a
/// time ([`crate::zonefile::ParsedZone::sets`]) and never holds the model: the same text as
/// `serde_json::to_writer(out, &zone)` for the zone of those sets, given in the model's order.
pub struct ZoneJson<W: std::io::Write> {
    out: W,
    empty: bool,
}

impl<W: std::io::Write> ZoneJson<W> {
    pub fn start(mut out: W, origin: &Name) -> serde_json::Result<ZoneJson<W>> {
        out.write_all(br#"{"origin":"#)
            .map_err(serde_json::Error::io)?;
        serde_json::to_writer(&mut out, origin)?;
        out.write_all(br#","record_sets":["#)
            .map_err(serde_json::Error::io)?;
        Ok(ZoneJson { out, empty: true })
    }

    pub fn push(&mut self, rs: &RecordSet) -> serde_json::Result<()> {
        if !std::mem::take(&mut self.empty) {
            self.out.write_all(b",").map_err(serde_json::Error::io)?;
        }
        serde_json::to_writer(&mut self.out, rs)
    }

    pub fn finish(mut self) -> serde_json::Result<W> {
        self.out.write_all(b"]}").map_err(serde_json::Error::io)?;
        Ok(self.out)
    }
}

fn sort_key(rs: &RecordSet) -> (&Name, u32, Option<&String>) {
    // SOA sorts before every other type at a name.
    let t = if rs.rtype == RType::SOA {
        0
    } else {
        rs.rtype.0 as u32 + 1
    };
    (&rs.name, t, rs.set_identifier.as_ref())
}

#[cfg(test)]
mod tests {

    #[test]
    fn zone_json_is_the_zone_serialized() {
        let origin: Name = "example.com.".parse().unwrap();
        let mut weighted = RecordSet::new(
            "w.example.com.".parse().unwrap(),
            RType::A,
            60,
            ["192.0.2.1".to_string()],
        );
        weighted.weight = Some(3);
        weighted.set_identifier = Some("east".into());
        weighted
            .fields
            .insert("health".into(), serde_json::json!("web"));
        weighted.values[0]
            .fields
            .insert("comment".into(), serde_json::json!("a \"quoted\" note"));
        let sets = [
            RecordSet::new(
                origin.clone(),
                RType::SOA,
                300,
                ["ns h 1 2 3 4 5".to_string()],
            ),
            RecordSet::new(
                origin.clone(),
                RType::NS,
                300,
                ["ns".to_string(), "ns2".to_string()],
            ),
            weighted,
        ];
        for n in 0..=sets.len() {
            let zone = Zone::new(origin.clone(), sets[..n].to_vec());
            let mut w = ZoneJson::start(Vec::new(), &origin).unwrap();
            for rs in &zone.record_sets {
                w.push(rs).unwrap();
            }
            let text = String::from_utf8(w.finish().unwrap()).unwrap();
            assert_eq!(text, serde_json::to_string(&zone).unwrap());
        }
    }
    use super::*;

    #[test]
    fn values_are_a_set() {
        let n: Name = "a.example.".parse().unwrap();
        let a = RecordSet::new(
            n.clone(),
            RType::A,
            300,
            ["192.0.2.2".into(), "192.0.2.1".into()],
        );
        let b = RecordSet::new(
            n,
            RType::A,
            300,
            ["192.0.2.1".into(), "192.0.2.2".into(), "192.0.2.1".into()],
        );
        assert_eq!(a, b);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(
            json,
            r#"{"name":"a.example.","type":"A","ttl":300,"values":[{"data":"192.0.2.1"},{"data":"192.0.2.2"}]}"#
        );
        let back: RecordSet = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn zone_order_puts_soa_first() {
        let o: Name = "example.".parse().unwrap();
        let z = Zone::new(
            o.clone(),
            vec![
                RecordSet::new(
                    "www.example.".parse().unwrap(),
                    RType::A,
                    1,
                    ["192.0.2.1".into()],
                ),
                RecordSet::new(o.clone(), RType::NS, 1, ["ns.example.".into()]),
                RecordSet::new(
                    o.clone(),
                    RType::SOA,
                    1,
                    ["ns.example. h.example. 1 2 3 4 5".into()],
                ),
            ],
        );
        let types: Vec<RType> = z.record_sets.iter().map(|r| r.rtype).collect();
        assert_eq!(types, [RType::SOA, RType::NS, RType::A]);
        assert!(z.soa().is_some());
    }
}
