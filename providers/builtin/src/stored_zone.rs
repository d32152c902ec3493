//! A live zone compiled straight from the store's JSON (the record model's serde form), one
//! record set at a time as the text is read: the zone's model is never built, and on SQLite
//! the text is never held whole, so a restart or a whole-zone pickup holds the compiled zone
//! and a read buffer.

use std::fmt;
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use switchback_api::{Name, RecordSet};

use crate::steer::HealthTable;
use crate::zone::{Builder, CompileError, CompiledZone};

/// Bytes of JSON per record set, about: the shard count is chosen from it.
const JSON_PER_SET: usize = 120;

/// Compile the zone whose JSON (as [`crate::store::Tx::put_zone`] writes it) is `text`.
pub fn compile_json(
    text: &str,
    health: Option<&Arc<HealthTable>>,
) -> Result<CompiledZone, CompileError> {
    compile_reader(&mut text.as_bytes(), text.len(), health)
}

/// [`compile_json`] of a zone's JSON read from `reader` as it is compiled (the text is never
/// held whole).
pub fn compile_reader(
    reader: &mut dyn std::io::Read,
    size_hint: usize,
    health: Option<&Arc<HealthTable>>,
) -> Result<CompiledZone, CompileError> {
    let mut state = State {
        builder: None,
        failed: None,
        health,
        hint: size_hint / JSON_PER_SET,
    };
    let mut de =
        serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(1 << 16, reader));
    let parsed = ZoneSeed(&mut state)
        .deserialize(&mut de)
        .and_then(|()| de.end());
    finish(state, parsed)
}

fn finish(
    mut state: State<'_>,
    parsed: serde_json::Result<()>,
) -> Result<CompiledZone, CompileError> {
    if let Some(e) = state.failed.take() {
        return Err(e);
    }
    parsed.map_err(|e| CompileError::Stored(e.to_string()))?;
    match state.builder {
        Some(b) => b.finish(),
        None => Err(CompileError::Stored("no record_sets".into())),
    }
}

struct State<'h> {
    builder: Option<Builder<'h>>,
    /// The compile error that stopped the parse (the parser's own error says only "stopped").
    failed: Option<CompileError>,
    health: Option<&'h Arc<HealthTable>>,
    hint: usize,
}

struct ZoneSeed<'s, 'h>(&'s mut State<'h>);

impl<'de> DeserializeSeed<'de> for ZoneSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_struct("Zone", &["origin", "record_sets"], self)
    }
}

impl<'de> Visitor<'de> for ZoneSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a zone")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut origin: Option<Name> = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match &*key {
                "origin" => origin = Some(map.next_value()?),
                "record_sets" => {
                    // serde writes the fields in their order: the origin comes first.
                    let o = origin
                        .clone()
                        .ok_or_else(|| de::Error::custom("record_sets before origin"))?;
                    self.0.builder = Some(Builder::new(o, self.0.hint, self.0.health));
                    map.next_value_seed(SetsSeed(self.0))?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct SetsSeed<'s, 'h>(&'s mut State<'h>);

impl<'de> DeserializeSeed<'de> for SetsSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for SetsSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of record sets")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some(b) = self.0.builder.as_mut() else {
            return Err(de::Error::custom("no zone to add to"));
        };
        while let Some(rs) = seq.next_element::<RecordSet>()? {
            if let Err(e) = b.add(&rs) {
                self.0.failed = Some(e);
                return Err(de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchback_api::zonefile;

    const ZONE: &str = "$ORIGIN example.\n$TTL 300\n@ SOA ns h 7 3600 600 86400 60\n@ NS ns\nns A 192.0.2.1\nw 60 A 192.0.2.2\nw A 192.0.2.3\nc CNAME w\n";

    #[test]
    fn the_same_zone_as_from_the_model() {
        let origin: Name = "example.".parse().unwrap();
        let model = zonefile::load_str(ZONE, "z".as_ref(), &origin, ".".as_ref()).unwrap();
        let json = serde_json::to_string(&model).unwrap();
        let a = compile_json(&json, None).unwrap();
        let b = CompiledZone::compile(&model).unwrap();
        assert_eq!(a.serial, 7);
        assert_eq!(a.nodes.len(), b.nodes.len());
        for (k, n) in b.nodes.iter() {
            let m = a.nodes.get(k).unwrap();
            assert_eq!(
                n.rrsets().collect::<Vec<_>>(),
                m.rrsets().collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn bad_json_and_bad_records_are_errors() {
        assert!(matches!(
            compile_json("{", None),
            Err(CompileError::Stored(_))
        ));
        assert!(matches!(
            compile_json(r#"{"record_sets": [], "origin": "example."}"#, None),
            Err(CompileError::Stored(_))
        ));
        let bad = r#"{"origin": "example.", "record_sets": [{"name": "a.example.", "type": "A", "ttl": 1, "values": [{"data": "nope"}]}]}"#;
        assert!(matches!(
            compile_json(bad, None),
            Err(CompileError::BadRecord { .. })
        ));
        let no_soa = r#"{"origin": "example.", "record_sets": []}"#;
        assert!(matches!(
            compile_json(no_soa, None),
            Err(CompileError::NoSoa(_))
        ));
    }
}
