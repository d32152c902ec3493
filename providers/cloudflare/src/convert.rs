//! Cloudflare record objects <-> the record model.
//!
//! Cloudflare keeps one object per value. An object becomes one [`RecordValue`] of the set
//! `(name, type)`: its RDATA in canonical presentation form (from `content`, `priority` or the
//! structured `data`, through [`switchback_api::rdata`]) and its settable per-object fields in
//! [`RecordValue::fields`], each only when it differs from Cloudflare's default, so that a set
//! written without fields reads back equal:
//!
//! | field      | JSON          | default (not stored)                                      |
//! |------------|---------------|-----------------------------------------------------------|
//! | `proxied`  | `true`        | `false` (A, AAAA, CNAME only)                             |
//! | `comment`  | string        | none or `""`                                              |
//! | `tags`     | [string]      | `[]`                                                      |
//! | `settings` | object        | `{}` (e.g. `flatten_cname`, `ipv4_only`, `ipv6_only`)     |
//! | `ttl`      | number        | the set's TTL (only when the objects of one set differ)   |
//!
//! The set's TTL is the one most of its objects have (the smallest on a tie); `1` is
//! Cloudflare's "automatic". Object ids are not part of the model (they change on every
//! re-creation and would make every re-plan non-empty): see [`crate::RecordId`].
//!
//! TXT: written as zone-file text (`"…" "…"`, which Cloudflare accepts and keeps string
//! boundaries with); read back from either that form or a bare string (which Cloudflare splits
//! into 255-octet strings).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use switchback_api::rdata::codec;
use switchback_api::token::tokenize;
use switchback_api::{Fields, Name, RType, RecordSet, RecordValue, rdata};

/// Types Cloudflare serves through `dns_records` (and Switchback reads and writes).
pub const TYPES: &[RType] = &[
    RType::A,
    RType::AAAA,
    RType::CNAME,
    RType::MX,
    RType::TXT,
    RType::SRV,
    RType::CAA,
    RType::NS,
    RType::PTR,
    RType::DS,
    RType::DNSKEY,
    RType::HTTPS,
    RType::SVCB,
    RType::TLSA,
    RType::SSHFP,
    RType::URI,
    RType::NAPTR,
    RType::LOC,
    RType::CERT,
    RType::SMIMEA,
];

/// Fields a value may carry.
pub const FIELDS: &[&str] = &["proxied", "comment", "tags", "settings", "ttl"];

/// Types Cloudflare can proxy.
pub fn proxiable(t: RType) -> bool {
    matches!(t, RType::A | RType::AAAA | RType::CNAME)
}

/// One Cloudflare object, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub id: String,
    pub name: Name,
    pub rtype: RType,
    pub ttl: u32,
    pub data: String,
    /// `proxied`, `comment`, `tags`, `settings` when not default (never `ttl`).
    pub fields: Fields,
}

fn root() -> Name {
    Name::root()
}

fn canon(t: RType, text: &str) -> Result<String, String> {
    rdata::canonicalize(t, text, &root()).map_err(|e| format!("{t} {text:?}: {e}"))
}

/// `host` -> `host.` (Cloudflare writes names without the final dot).
fn dotted(s: &str) -> String {
    if s.ends_with('.') {
        s.to_string()
    } else {
        format!("{s}.")
    }
}

/// `host.` -> `host`; the root stays `.`.
pub fn undotted(s: &str) -> String {
    if s == "." {
        ".".into()
    } else {
        s.strip_suffix('.').unwrap_or(s).to_string()
    }
}

/// A name as Cloudflare writes it: no final dot, apex included.
pub fn cf_name(n: &Name) -> String {
    undotted(&n.to_string())
}

fn utf8(bytes: Vec<u8>, what: &str) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|_| {
        format!("{what} holds octets that are not UTF-8, which Cloudflare's JSON cannot carry")
    })
}

fn num(o: &Value, key: &str) -> Result<f64, String> {
    match o.get(key) {
        Some(Value::Number(n)) => n.as_f64().ok_or_else(|| format!("`{key}` is not a number")),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| format!("`{key}` is not a number")),
        _ => Err(format!("`{key}` is missing")),
    }
}

fn uint(o: &Value, key: &str) -> Result<u64, String> {
    let f = num(o, key)?;
    if f < 0.0 || f.fract() != 0.0 {
        return Err(format!("`{key}` = {f} is not a whole number"));
    }
    Ok(f as u64)
}

fn string(o: &Value, key: &str) -> Result<String, String> {
    match o.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Null) | None => Err(format!("`{key}` is missing")),
        Some(v) => Ok(v.to_string()),
    }
}

fn string_or_empty(o: &Value, key: &str) -> String {
    o.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

// ---------------------------------------------------------------------------------------------
// Native -> model
// ---------------------------------------------------------------------------------------------

/// Read one Cloudflare record object.
pub fn from_native(o: &Value) -> Result<Parsed, String> {
    let name_text = string(o, "name")?;
    let what = |m: String| format!("record {name_text}: {m}");
    let type_text = string(o, "type").map_err(what)?;
    let rtype = RType::parse(&type_text)
        .filter(|t| TYPES.contains(t))
        .ok_or_else(|| {
            what(format!(
                "type {type_text} is not one Switchback reads from Cloudflare"
            ))
        })?;
    let name = Name::parse(&dotted(&name_text.to_ascii_lowercase()), None)
        .map_err(|e| what(format!("bad name: {e}")))?;
    let ttl = uint(o, "ttl").map_err(what)?;
    let ttl = u32::try_from(ttl).map_err(|_| what(format!("ttl {ttl} out of range")))?;
    let data = native_data(rtype, o).map_err(|e| what(format!("{type_text}: {e}")))?;
    let mut fields = Fields::new();
    if o.get("proxied") == Some(&Value::Bool(true)) {
        fields.insert("proxied".into(), Value::Bool(true));
    }
    if let Some(Value::String(c)) = o.get("comment") {
        if !c.is_empty() {
            fields.insert("comment".into(), Value::String(c.clone()));
        }
    }
    if let Some(Value::Array(t)) = o.get("tags") {
        if !t.is_empty() {
            fields.insert("tags".into(), Value::Array(t.clone()));
        }
    }
    if let Some(Value::Object(s)) = o.get("settings") {
        if !s.is_empty() {
            fields.insert("settings".into(), Value::Object(s.clone()));
        }
    }
    Ok(Parsed {
        id: string_or_empty(o, "id"),
        name,
        rtype,
        ttl,
        data,
        fields,
    })
}

fn data_obj(o: &Value) -> Result<&Value, String> {
    match o.get("data") {
        Some(d @ Value::Object(_)) => Ok(d),
        _ => Err("the structured `data` object is missing".into()),
    }
}

/// The canonical presentation form of an object's RDATA.
fn native_data(t: RType, o: &Value) -> Result<String, String> {
    let content = || string(o, "content");
    let text = match t {
        RType::A | RType::AAAA => content()?,
        RType::CNAME | RType::NS | RType::PTR => dotted(&content()?),
        RType::MX => format!("{} {}", uint(o, "priority")?, dotted(&content()?)),
        RType::TXT => return txt_from_native(&content()?),
        RType::URI => {
            let d = data_obj(o)?;
            format!(
                "{} {} {}",
                uint(o, "priority")?,
                uint(d, "weight")?,
                codec::quote(string(d, "target")?.as_bytes())
            )
        }
        RType::SRV => {
            let d = data_obj(o)?;
            format!(
                "{} {} {} {}",
                uint(d, "priority")?,
                uint(d, "weight")?,
                uint(d, "port")?,
                dotted(&string(d, "target")?)
            )
        }
        RType::CAA => {
            let d = data_obj(o)?;
            format!(
                "{} {} {}",
                uint(d, "flags")?,
                string(d, "tag")?,
                codec::quote(string(d, "value")?.as_bytes())
            )
        }
        RType::DS => {
            let d = data_obj(o)?;
            format!(
                "{} {} {} {}",
                uint(d, "key_tag")?,
                uint(d, "algorithm")?,
                uint(d, "digest_type")?,
                string(d, "digest")?
            )
        }
        RType::DNSKEY => {
            let d = data_obj(o)?;
            format!(
                "{} {} {} {}",
                uint(d, "flags")?,
                uint(d, "protocol")?,
                uint(d, "algorithm")?,
                string(d, "public_key")?
            )
        }
        RType::HTTPS | RType::SVCB => {
            let d = data_obj(o)?;
            let value = string_or_empty(d, "value");
            format!(
                "{} {} {}",
                uint(d, "priority")?,
                dotted(&string(d, "target")?),
                value
            )
        }
        RType::TLSA | RType::SMIMEA => {
            let d = data_obj(o)?;
            format!(
                "{} {} {} {}",
                uint(d, "usage")?,
                uint(d, "selector")?,
                uint(d, "matching_type")?,
                string(d, "certificate")?
            )
        }
        RType::SSHFP => {
            let d = data_obj(o)?;
            format!(
                "{} {} {}",
                uint(d, "algorithm")?,
                uint(d, "type")?,
                string(d, "fingerprint")?
            )
        }
        RType::NAPTR => {
            let d = data_obj(o)?;
            format!(
                "{} {} {} {} {} {}",
                uint(d, "order")?,
                uint(d, "preference")?,
                codec::quote(string_or_empty(d, "flags").as_bytes()),
                codec::quote(string_or_empty(d, "service").as_bytes()),
                codec::quote(string_or_empty(d, "regex").as_bytes()),
                dotted(&string(d, "replacement")?)
            )
        }
        RType::LOC => loc_from_native(data_obj(o)?)?,
        RType::CERT => {
            let d = data_obj(o)?;
            let mut w = Vec::new();
            w.extend_from_slice(&(uint(d, "type")? as u16).to_be_bytes());
            w.extend_from_slice(&(uint(d, "key_tag")? as u16).to_be_bytes());
            w.push(uint(d, "algorithm")? as u8);
            w.extend(codec::unbase64(&string(d, "certificate")?).map_err(|e| e.to_string())?);
            format!("\\# {} {}", w.len(), codec::hex(&w))
        }
        _ => return Err(format!("type {t} is not read from Cloudflare")),
    };
    canon(t, &text)
}

fn txt_from_native(content: &str) -> Result<String, String> {
    let trimmed = content.trim();
    if trimmed.starts_with('"') {
        if let Ok(c) = canon(RType::TXT, trimmed) {
            return Ok(c);
        }
    }
    // A bare string: Cloudflare splits it into strings of at most 255 octets.
    let bytes = content.as_bytes();
    if bytes.is_empty() {
        return canon(RType::TXT, "\"\"");
    }
    let parts: Vec<String> = bytes.chunks(255).map(codec::quote).collect();
    canon(RType::TXT, &parts.join(" "))
}

fn loc_from_native(d: &Value) -> Result<String, String> {
    let f = |k: &str| {
        num(d, k).or_else(|e| {
            if k.ends_with("minutes")
                || k.ends_with("seconds")
                || k.starts_with("precision")
                || k == "size"
            {
                Ok(0.0)
            } else {
                Err(e)
            }
        })
    };
    let dir = |k: &str| string(d, k);
    let text = format!(
        "{} {} {:.3} {} {} {} {:.3} {} {:.2}m {:.2}m {:.2}m {:.2}m",
        f("lat_degrees")? as u64,
        f("lat_minutes")? as u64,
        f("lat_seconds")?,
        dir("lat_direction")?,
        f("long_degrees")? as u64,
        f("long_minutes")? as u64,
        f("long_seconds")?,
        dir("long_direction")?,
        f("altitude")?,
        f("size")?,
        f("precision_horz")?,
        f("precision_vert")?,
    );
    Ok(text)
}

/// Group objects into record sets: per `(name, type)`, the TTL most objects have (the smallest
/// on a tie), a per-value `ttl` field on objects that differ.
pub fn group(objects: &[Parsed]) -> Vec<RecordSet> {
    let mut by_key: BTreeMap<(String, u16), Vec<&Parsed>> = BTreeMap::new();
    for p in objects {
        by_key
            .entry((p.name.to_string(), p.rtype.0))
            .or_default()
            .push(p);
    }
    let mut out = Vec::new();
    for (_, ps) in by_key {
        let ttl = set_ttl(ps.iter().map(|p| p.ttl));
        let values = ps
            .iter()
            .map(|p| {
                let mut fields = p.fields.clone();
                if p.ttl != ttl {
                    fields.insert("ttl".into(), json!(p.ttl));
                }
                RecordValue {
                    data: p.data.clone(),
                    fields,
                }
            })
            .collect();
        let mut rs = RecordSet {
            name: ps[0].name.clone(),
            rtype: ps[0].rtype,
            set_identifier: None,
            ttl,
            weight: None,
            values,
            fields: Fields::new(),
        };
        rs.normalize();
        out.push(rs);
    }
    out
}

fn set_ttl(ttls: impl Iterator<Item = u32>) -> u32 {
    let mut counts: BTreeMap<u32, usize> = BTreeMap::new();
    for t in ttls {
        *counts.entry(t).or_default() += 1;
    }
    // Most common; BTreeMap order makes the smallest win a tie.
    let mut best = (0u32, 0usize);
    for (t, n) in counts {
        if n > best.1 {
            best = (t, n);
        }
    }
    best.0
}

// ---------------------------------------------------------------------------------------------
// Model -> native
// ---------------------------------------------------------------------------------------------

/// The TTL Cloudflare gets for `value` of `rs`: its own `ttl` field or the set's.
pub fn effective_ttl(rs: &RecordSet, value: &RecordValue) -> Result<u32, String> {
    match value.fields.get("ttl") {
        None => Ok(rs.ttl),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| format!("the value's `ttl` field {v} is not a TTL")),
    }
}

/// What reading back the object written for `value` of `rs` must give.
pub fn expected(rs: &RecordSet, value: &RecordValue) -> Result<(u32, Fields), String> {
    let ttl = effective_ttl(rs, value)?;
    let mut f = value.fields.clone();
    f.remove("ttl");
    Ok((ttl, f))
}

/// Check a record set before anything is sent: a Cloudflare type, no weight or set identifier,
/// fields Cloudflare has, TTLs Cloudflare accepts, RDATA Cloudflare can carry.
pub fn check_set(rs: &RecordSet) -> Result<(), String> {
    if rs.weight.is_some() {
        return Err("Cloudflare DNS has no weighted records".into());
    }
    if rs.set_identifier.is_some() {
        return Err("Cloudflare DNS has no set identifiers (routing policies)".into());
    }
    if !rs.fields.is_empty() {
        let keys: Vec<&String> = rs.fields.keys().collect();
        return Err(format!(
            "set-level fields {keys:?}: Cloudflare keeps proxied/comment/tags/settings per \
             record; put them in each value's fields"
        ));
    }
    for v in &rs.values {
        to_native(rs, v, false)?;
    }
    Ok(())
}

/// The request body for `value` of `rs` (every settable field: PATCH bodies are full objects,
/// see `client` and the contract tests). `clear` adds empty `comment`, `tags` and `settings`
/// so that a PATCH removes what the old object had.
pub fn to_native(rs: &RecordSet, value: &RecordValue, clear: bool) -> Result<Value, String> {
    let t = rs.rtype;
    if !TYPES.contains(&t) {
        return Err(format!("Cloudflare does not serve {t} records"));
    }
    for k in value.fields.keys() {
        if !FIELDS.contains(&k.as_str()) {
            return Err(format!(
                "unknown Cloudflare field {k:?} (known: {})",
                FIELDS.join(", ")
            ));
        }
    }
    let ttl = effective_ttl(rs, value)?;
    if !(ttl == 1 || (30..=86400).contains(&ttl)) {
        return Err(format!(
            "TTL {ttl}: Cloudflare accepts 1 (automatic) or 30..86400 (60 below Enterprise)"
        ));
    }
    let proxied = match value.fields.get("proxied") {
        None | Some(Value::Bool(false)) => false,
        Some(Value::Bool(true)) => true,
        Some(v) => return Err(format!("`proxied` must be true or false, not {v}")),
    };
    if proxied && !proxiable(t) {
        return Err(format!(
            "{t} records cannot be proxied (only A, AAAA and CNAME)"
        ));
    }
    if proxied && ttl != 1 {
        return Err(format!(
            "a proxied record has TTL 1 (automatic) on Cloudflare, not {ttl}"
        ));
    }
    let mut o = Map::new();
    o.insert("type".into(), json!(t.to_string()));
    o.insert("name".into(), json!(cf_name(&rs.name)));
    o.insert("ttl".into(), json!(ttl));
    native_rdata(t, &value.data, &mut o)?;
    if proxiable(t) {
        o.insert("proxied".into(), json!(proxied));
    }
    match value.fields.get("comment") {
        Some(Value::String(c)) => {
            o.insert("comment".into(), json!(c));
        }
        None if clear => {
            o.insert("comment".into(), json!(""));
        }
        None => {}
        Some(v) => return Err(format!("`comment` must be a string, not {v}")),
    }
    match value.fields.get("tags") {
        Some(Value::Array(tags)) if tags.iter().all(Value::is_string) => {
            o.insert("tags".into(), Value::Array(tags.clone()));
        }
        None if clear => {
            o.insert("tags".into(), json!([]));
        }
        None => {}
        Some(v) => return Err(format!("`tags` must be a list of strings, not {v}")),
    }
    match value.fields.get("settings") {
        Some(Value::Object(s)) => {
            o.insert("settings".into(), Value::Object(s.clone()));
        }
        None if clear => {
            o.insert("settings".into(), json!({}));
        }
        None => {}
        Some(v) => return Err(format!("`settings` must be an object, not {v}")),
    }
    Ok(Value::Object(o))
}

fn toks(t: RType, data: &str) -> Result<Vec<switchback_api::token::Token>, String> {
    let c = canon(t, data)?;
    tokenize(&c).map_err(|e| format!("{t} {data:?}: {e}"))
}

fn n(tok: &switchback_api::token::Token) -> Result<u64, String> {
    tok.text
        .parse()
        .map_err(|_| format!("{:?} is not a number", tok.text))
}

fn need(ts: &[switchback_api::token::Token], k: usize, t: RType) -> Result<(), String> {
    if ts.len() < k {
        Err(format!("{t} RDATA needs {k} fields"))
    } else {
        Ok(())
    }
}

fn text_of(tok: &switchback_api::token::Token, what: &str) -> Result<String, String> {
    utf8(codec::unescape(&tok.text).map_err(|e| e.to_string())?, what)
}

fn native_rdata(t: RType, data: &str, o: &mut Map<String, Value>) -> Result<(), String> {
    let c = canon(t, data)?;
    let ts = toks(t, data)?;
    let mut put = |k: &str, v: Value| {
        o.insert(k.to_string(), v);
    };
    match t {
        RType::A | RType::AAAA => put("content", json!(c)),
        RType::CNAME | RType::NS | RType::PTR => put("content", json!(undotted(&c))),
        RType::TXT => put("content", json!(c)),
        RType::MX => {
            need(&ts, 2, t)?;
            put("priority", json!(n(&ts[0])?));
            put("content", json!(undotted(&ts[1].text)));
        }
        RType::URI => {
            need(&ts, 3, t)?;
            put("priority", json!(n(&ts[0])?));
            put(
                "data",
                json!({"weight": n(&ts[1])?, "target": text_of(&ts[2], "the URI target")?}),
            );
        }
        RType::SRV => {
            need(&ts, 4, t)?;
            put(
                "data",
                json!({"priority": n(&ts[0])?, "weight": n(&ts[1])?, "port": n(&ts[2])?,
                       "target": undotted(&ts[3].text)}),
            );
        }
        RType::CAA => {
            need(&ts, 3, t)?;
            put(
                "data",
                json!({"flags": n(&ts[0])?, "tag": ts[1].text,
                       "value": text_of(&ts[2], "the CAA value")?}),
            );
        }
        RType::DS => {
            need(&ts, 4, t)?;
            put(
                "data",
                json!({"key_tag": n(&ts[0])?, "algorithm": n(&ts[1])?, "digest_type": n(&ts[2])?,
                       "digest": ts[3].text}),
            );
        }
        RType::DNSKEY => {
            need(&ts, 4, t)?;
            put(
                "data",
                json!({"flags": n(&ts[0])?, "protocol": n(&ts[1])?, "algorithm": n(&ts[2])?,
                       "public_key": ts[3].text}),
            );
        }
        RType::HTTPS | RType::SVCB => {
            let mut parts = c.splitn(3, ' ');
            let prio = parts.next().unwrap_or_default();
            let target = parts
                .next()
                .ok_or_else(|| format!("{t} RDATA needs a target"))?;
            let value = parts.next().unwrap_or("");
            put(
                "data",
                json!({"priority": prio.parse::<u64>().map_err(|_| format!("bad {t} priority"))?,
                       "target": undotted(target), "value": value}),
            );
        }
        RType::TLSA | RType::SMIMEA => {
            need(&ts, 4, t)?;
            put(
                "data",
                json!({"usage": n(&ts[0])?, "selector": n(&ts[1])?, "matching_type": n(&ts[2])?,
                       "certificate": ts[3].text}),
            );
        }
        RType::SSHFP => {
            need(&ts, 3, t)?;
            put(
                "data",
                json!({"algorithm": n(&ts[0])?, "type": n(&ts[1])?, "fingerprint": ts[2].text}),
            );
        }
        RType::NAPTR => {
            need(&ts, 6, t)?;
            put(
                "data",
                json!({"order": n(&ts[0])?, "preference": n(&ts[1])?,
                       "flags": text_of(&ts[2], "the NAPTR flags")?,
                       "service": text_of(&ts[3], "the NAPTR service")?,
                       "regex": text_of(&ts[4], "the NAPTR regexp")?,
                       "replacement": undotted(&ts[5].text)}),
            );
        }
        RType::LOC => put("data", loc_to_native(&ts)?),
        RType::CERT => {
            // Canonical form is RFC 3597 `\# len HEX` (rdata has no CERT text codec).
            need(&ts, 3, t)?;
            let w = codec::unhex(&ts[2..].iter().map(|t| t.text.as_str()).collect::<String>())
                .map_err(|e| e.to_string())?;
            if w.len() < 5 {
                return Err("CERT RDATA is shorter than 5 octets".into());
            }
            put(
                "data",
                json!({"type": u16::from_be_bytes([w[0], w[1]]),
                       "key_tag": u16::from_be_bytes([w[2], w[3]]),
                       "algorithm": w[4], "certificate": codec::base64(&w[5..])}),
            );
        }
        _ => return Err(format!("Cloudflare does not serve {t} records")),
    }
    Ok(())
}

fn loc_to_native(ts: &[switchback_api::token::Token]) -> Result<Value, String> {
    // Canonical: d m s.sss N|S d m s.sss E|W alt.m size.m hp.m vp.m
    if ts.len() != 12 {
        return Err(format!("LOC RDATA has {} fields, expected 12", ts.len()));
    }
    let f = |i: usize| -> Result<f64, String> {
        ts[i]
            .text
            .trim_end_matches('m')
            .parse::<f64>()
            .map_err(|_| format!("bad LOC field {:?}", ts[i].text))
    };
    Ok(json!({
        "lat_degrees": f(0)? as u64, "lat_minutes": f(1)? as u64, "lat_seconds": f(2)?,
        "lat_direction": ts[3].text,
        "long_degrees": f(4)? as u64, "long_minutes": f(5)? as u64, "long_seconds": f(6)?,
        "long_direction": ts[7].text,
        "altitude": f(8)?, "size": f(9)?, "precision_horz": f(10)?, "precision_vert": f(11)?,
    }))
}

#[cfg(test)]
mod tests;
