//! Route 53 record sets <-> the record model, losslessly, and the checks of everything Route 53
//! would refuse, made before anything is sent.
//!
//! Record-set fields other than the weight travel in [`RecordSet::fields`] under these keys
//! (absent when Route 53 has no such element):
//!
//! | key | Route 53 element | JSON value |
//! |---|---|---|
//! | `alias` | `AliasTarget` | `{"hosted_zone_id", "dns_name", "evaluate_target_health"}` |
//! | `region` | `Region` (latency) | `"eu-west-1"` |
//! | `geo` | `GeoLocation` | `{"continent_code"}` or `{"country_code", "subdivision_code"?}` |
//! | `geoproximity` | `GeoProximityLocation` | `{"aws_region" \| "local_zone_group" \| "coordinates": {"latitude", "longitude"}, "bias"?}` |
//! | `failover` | `Failover` | `"PRIMARY"` or `"SECONDARY"` |
//! | `multivalue` | `MultiValueAnswer` | `true` / `false` |
//! | `health_check_id` | `HealthCheckId` | `"<uuid>"` |
//! | `cidr_routing` | `CidrRoutingConfig` | `{"collection_id", "location_name"}` |
//! | `traffic_policy_instance_id` | `TrafficPolicyInstanceId` (read only) | `"<id>"` |
//!
//! An alias record set has no values and TTL 0 (it takes the target's TTL).
//!
//! Route 53 writes names and values in presentation form with `\ooo` **octal** escapes (`\052`
//! is `*`); the record model uses RFC 1035 decimal `\DDD`. Reading converts octal to decimal and
//! canonicalizes ([`switchback_api::rdata::canonicalize`]); writing converts back.

use aws_sdk_route53::types::{
    AliasTarget, CidrRoutingConfig, Coordinates, GeoLocation, GeoProximityLocation, ResourceRecord,
    ResourceRecordSet, ResourceRecordSetFailover, ResourceRecordSetRegion, RrType,
};
use serde_json::{Map, Value, json};
use switchback_api::{Fields, Name, ProviderError, RType, RecordSet, RecordValue, rdata};

pub use switchback_api::field::{ALIAS, FAILOVER, GEO, GEOPROXIMITY, MULTIVALUE, REGION};
pub const HEALTH_CHECK_ID: &str = "health_check_id";
pub const CIDR_ROUTING: &str = "cidr_routing";
pub const TRAFFIC_POLICY_INSTANCE_ID: &str = "traffic_policy_instance_id";

/// Every field key this provider knows.
pub const FIELD_KEYS: &[&str] = &[
    ALIAS,
    REGION,
    GEO,
    GEOPROXIMITY,
    FAILOVER,
    MULTIVALUE,
    HEALTH_CHECK_ID,
    CIDR_ROUTING,
    TRAFFIC_POLICY_INSTANCE_ID,
];

/// The record types Route 53 holds.
pub fn record_types() -> Vec<RType> {
    let mut v = vec![
        RType::A,
        RType::AAAA,
        RType::CAA,
        RType::CNAME,
        RType::DS,
        RType::HTTPS,
        RType::MX,
        RType::NAPTR,
        RType::NS,
        RType::PTR,
        RType::SOA,
        RType::SPF,
        RType::SRV,
        RType::SSHFP,
        RType::SVCB,
        RType::TLSA,
        RType::TXT,
    ];
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------------
// Escapes and names
// ---------------------------------------------------------------------------------------------

/// Route 53 text (`\ooo` octal escapes) -> RFC 1035 text (`\DDD` decimal). Other escapes
/// (`\"`, `\\`, `\.`) are kept. Three digits that are not octal are left as they are.
pub fn octal_to_decimal(text: &str) -> String {
    convert_escapes(text, |d| {
        if d.iter().all(|c| (b'0'..=b'7').contains(c)) {
            let v = (d[0] - b'0') as u32 * 64 + (d[1] - b'0') as u32 * 8 + (d[2] - b'0') as u32;
            (v <= 255).then(|| format!("\\{v:03}"))
        } else {
            None
        }
    })
}

/// RFC 1035 text (`\DDD` decimal) -> Route 53 text (`\ooo` octal).
pub fn decimal_to_octal(text: &str) -> String {
    convert_escapes(text, |d| {
        let v = (d[0] - b'0') as u32 * 100 + (d[1] - b'0') as u32 * 10 + (d[2] - b'0') as u32;
        (v <= 255).then(|| format!("\\{v:03o}"))
    })
}

fn convert_escapes(text: &str, digits: impl Fn(&[u8; 3]) -> Option<String>) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut plain = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        out.push_str(&text[plain..i]);
        if b.len() >= i + 4 && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            let d = [b[i + 1], b[i + 2], b[i + 3]];
            match digits(&d) {
                Some(s) => out.push_str(&s),
                None => out.push_str(&text[i..i + 4]),
            }
            i += 4;
        } else if i + 1 < b.len() {
            // `\X`: keep both characters (X may be multi-byte UTF-8: copy up to the next char).
            let mut end = i + 2;
            while !text.is_char_boundary(end) {
                end += 1;
            }
            out.push_str(&text[i..end]);
            i = end;
        } else {
            out.push('\\');
            i += 1;
        }
        plain = i;
    }
    out.push_str(&text[plain..]);
    out
}

/// A name as Route 53 returns it (`\052` for `*`, with or without the trailing dot).
pub fn name_from_r53(text: &str) -> Result<Name, String> {
    let mut t = octal_to_decimal(text);
    if !t.ends_with('.') || t.ends_with("\\.") {
        t.push('.');
    }
    Name::parse(&t, None).map_err(|e| format!("Route 53 returned a bad name {text:?}: {e}"))
}

/// A name as Route 53 takes it: letters, digits, `-` and `_` as they are, a whole-label `*`
/// as is, every other octet as `\ooo` (octal).
pub fn name_to_r53(name: &Name) -> String {
    if name.is_root() {
        return ".".into();
    }
    let mut out = String::with_capacity(name.wire().len() + 4);
    for label in name.labels() {
        if label == b"*" {
            out.push('*');
        } else {
            for &b in label {
                match b {
                    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => out.push(b as char),
                    _ => out.push_str(&format!("\\{b:03o}")),
                }
            }
        }
        out.push('.');
    }
    out
}

/// A value as Route 53 returns it -> canonical presentation form.
pub fn value_from_r53(rtype: RType, text: &str) -> Result<String, String> {
    rdata::canonicalize(rtype, &octal_to_decimal(text), &Name::root()).map_err(|e| e.to_string())
}

/// A canonical value -> Route 53's form.
pub fn value_to_r53(rtype: RType, canonical: &str) -> Result<String, String> {
    let c = rdata::canonicalize(rtype, canonical, &Name::root()).map_err(|e| e.to_string())?;
    Ok(decimal_to_octal(&c))
}

fn rtype_from_r53(t: &RrType) -> Result<RType, String> {
    RType::parse(t.as_str()).ok_or_else(|| format!("unknown record type {:?}", t.as_str()))
}

// ---------------------------------------------------------------------------------------------
// Native -> model
// ---------------------------------------------------------------------------------------------

/// A Route 53 record set in the record model, keeping every field.
pub fn from_native(n: &ResourceRecordSet) -> Result<RecordSet, String> {
    let name = name_from_r53(n.name())?;
    let rtype = rtype_from_r53(n.r#type())?;
    let what = || format!("{}/{}", name, rtype);
    let mut values = Vec::with_capacity(n.resource_records().len());
    for rr in n.resource_records() {
        let v = value_from_r53(rtype, rr.value())
            .map_err(|e| format!("{}: value {:?}: {e}", what(), rr.value()))?;
        values.push(RecordValue::new(v));
    }
    let mut fields = Fields::new();
    if let Some(a) = n.alias_target() {
        let dns = name_from_r53(a.dns_name()).map_err(|e| format!("{}: alias: {e}", what()))?;
        fields.insert(
            ALIAS.into(),
            json!({
                "hosted_zone_id": a.hosted_zone_id(),
                "dns_name": dns.to_string(),
                "evaluate_target_health": a.evaluate_target_health(),
            }),
        );
    }
    if let Some(r) = n.region() {
        fields.insert(REGION.into(), json!(r.as_str()));
    }
    if let Some(g) = n.geo_location() {
        let mut m = Map::new();
        if let Some(c) = g.continent_code() {
            m.insert("continent_code".into(), json!(c));
        }
        if let Some(c) = g.country_code() {
            m.insert("country_code".into(), json!(c));
        }
        if let Some(c) = g.subdivision_code() {
            m.insert("subdivision_code".into(), json!(c));
        }
        fields.insert(GEO.into(), Value::Object(m));
    }
    if let Some(g) = n.geo_proximity_location() {
        let mut m = Map::new();
        if let Some(r) = g.aws_region() {
            m.insert("aws_region".into(), json!(r));
        }
        if let Some(l) = g.local_zone_group() {
            m.insert("local_zone_group".into(), json!(l));
        }
        if let Some(c) = g.coordinates() {
            m.insert(
                "coordinates".into(),
                json!({"latitude": c.latitude(), "longitude": c.longitude()}),
            );
        }
        if let Some(b) = g.bias() {
            m.insert("bias".into(), json!(b));
        }
        fields.insert(GEOPROXIMITY.into(), Value::Object(m));
    }
    if let Some(f) = n.failover() {
        fields.insert(FAILOVER.into(), json!(f.as_str()));
    }
    if let Some(m) = n.multi_value_answer() {
        fields.insert(MULTIVALUE.into(), json!(m));
    }
    if let Some(h) = n.health_check_id() {
        fields.insert(HEALTH_CHECK_ID.into(), json!(h));
    }
    if let Some(c) = n.cidr_routing_config() {
        fields.insert(
            CIDR_ROUTING.into(),
            json!({"collection_id": c.collection_id(), "location_name": c.location_name()}),
        );
    }
    if let Some(t) = n.traffic_policy_instance_id() {
        fields.insert(TRAFFIC_POLICY_INSTANCE_ID.into(), json!(t));
    }
    let ttl = match n.ttl() {
        None => 0,
        Some(t) => u32::try_from(t).map_err(|_| format!("{}: TTL {t} out of range", what()))?,
    };
    let weight = match n.weight() {
        None => None,
        Some(w) => {
            Some(u32::try_from(w).map_err(|_| format!("{}: weight {w} out of range", what()))?)
        }
    };
    let mut rs = RecordSet {
        name,
        rtype,
        set_identifier: n.set_identifier().map(str::to_string),
        ttl,
        weight,
        values,
        fields,
    };
    rs.normalize();
    Ok(rs)
}

// ---------------------------------------------------------------------------------------------
// Model -> native, with the checks
// ---------------------------------------------------------------------------------------------

/// A record set Route 53 would refuse (or that this provider cannot express), with a message
/// that names the record set.
pub fn invalid(rs: &RecordSet, message: impl Into<String>) -> ProviderError {
    ProviderError::Invalid {
        record: rs.key().to_string(),
        message: message.into(),
    }
}

fn obj<'a>(
    rs: &RecordSet,
    key: &str,
    v: &'a Value,
) -> Result<&'a Map<String, Value>, ProviderError> {
    v.as_object()
        .ok_or_else(|| invalid(rs, format!("field `{key}` must be an object, not {v}")))
}

fn string_in<'a>(
    rs: &RecordSet,
    key: &str,
    m: &'a Map<String, Value>,
    member: &str,
    required: bool,
) -> Result<Option<&'a str>, ProviderError> {
    match m.get(member) {
        None if required => Err(invalid(rs, format!("field `{key}` needs `{member}`"))),
        None => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s)),
        Some(other) => Err(invalid(
            rs,
            format!("field `{key}.{member}` must be a non-empty string, not {other}"),
        )),
    }
}

fn only_members(
    rs: &RecordSet,
    key: &str,
    m: &Map<String, Value>,
    allowed: &[&str],
) -> Result<(), ProviderError> {
    for k in m.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(invalid(
                rs,
                format!(
                    "field `{key}` has an unknown member `{k}` (expected {})",
                    allowed.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The routing policies a record set uses (by field name; `weight` for the weight).
pub fn routing_policies(rs: &RecordSet) -> Vec<&'static str> {
    let mut v = Vec::new();
    if rs.weight.is_some() {
        v.push("weight");
    }
    for k in [
        REGION,
        GEO,
        GEOPROXIMITY,
        FAILOVER,
        MULTIVALUE,
        CIDR_ROUTING,
    ] {
        if rs.fields.contains_key(k) {
            v.push(k);
        }
    }
    v
}

/// Check one record set against everything Route 53 would refuse, and build its native form.
/// `zone` is the hosted zone's name.
pub fn to_native(rs: &RecordSet, zone: &Name) -> Result<ResourceRecordSet, ProviderError> {
    if !rs.name.is_subdomain_of(zone) {
        return Err(invalid(rs, format!("the name is outside the zone {zone}")));
    }
    if !record_types().contains(&rs.rtype) {
        return Err(invalid(
            rs,
            format!("Route 53 does not hold {} records", rs.rtype),
        ));
    }
    for k in rs.fields.keys() {
        if !FIELD_KEYS.contains(&k.as_str()) {
            return Err(invalid(
                rs,
                format!(
                    "unknown Route 53 field `{k}` (Route 53 fields: {})",
                    FIELD_KEYS.join(", ")
                ),
            ));
        }
    }
    if let Some(v) = rs.values.iter().find(|v| !v.fields.is_empty()) {
        return Err(invalid(
            rs,
            format!(
                "value {:?} carries per-value fields; Route 53 has none (per-record comments \
                 and tags are not supported)",
                v.data
            ),
        ));
    }
    if rs.fields.contains_key(TRAFFIC_POLICY_INSTANCE_ID) {
        return Err(invalid(
            rs,
            "the record set belongs to a traffic policy instance; change it through the \
             traffic policy, not ChangeResourceRecordSets",
        ));
    }
    if rs.ttl > i32::MAX as u32 {
        return Err(invalid(
            rs,
            format!("TTL {} is larger than Route 53 allows (2147483647)", rs.ttl),
        ));
    }

    // Routing policy and set identifier.
    let policies = routing_policies(rs);
    match (&rs.set_identifier, policies.as_slice()) {
        (None, []) => {}
        (Some(id), []) => {
            return Err(invalid(
                rs,
                format!(
                    "set identifier {id:?} without a routing policy: a weighted set needs a \
                     weight (or give it a region, geo, geoproximity, failover, multivalue or \
                     cidr_routing field)"
                ),
            ));
        }
        (None, [p, ..]) => {
            return Err(invalid(
                rs,
                format!("routing policy `{p}` without a set identifier"),
            ));
        }
        (Some(_), [_]) => {}
        (Some(_), many) => {
            return Err(invalid(
                rs,
                format!(
                    "more than one routing policy ({}); Route 53 allows one per record set",
                    many.join(", ")
                ),
            ));
        }
    }
    if let Some(id) = &rs.set_identifier {
        if id.is_empty() || id.chars().count() > 128 {
            return Err(invalid(
                rs,
                "the set identifier must be 1 to 128 characters",
            ));
        }
    }
    if let Some(w) = rs.weight {
        if w > 255 {
            return Err(invalid(
                rs,
                format!("weight {w} is out of range (0 to 255)"),
            ));
        }
    }

    let mut b = ResourceRecordSet::builder()
        .name(name_to_r53(&rs.name))
        .r#type(RrType::from(rs.rtype.to_string().as_str()))
        .set_set_identifier(rs.set_identifier.clone())
        .set_weight(rs.weight.map(i64::from));

    // Alias or values.
    if let Some(a) = rs.fields.get(ALIAS) {
        let m = obj(rs, ALIAS, a)?;
        only_members(
            rs,
            ALIAS,
            m,
            &["hosted_zone_id", "dns_name", "evaluate_target_health"],
        )?;
        if rs.ttl != 0 {
            return Err(invalid(
                rs,
                format!(
                    "an alias record set takes its TTL from the target; set ttl = 0, not {}",
                    rs.ttl
                ),
            ));
        }
        if !rs.values.is_empty() {
            return Err(invalid(
                rs,
                "an alias record set has no values (it answers with the target's)",
            ));
        }
        if matches!(rs.rtype, RType::SOA | RType::NS) {
            return Err(invalid(
                rs,
                format!("{} record sets cannot be aliases", rs.rtype),
            ));
        }
        let hz = string_in(rs, ALIAS, m, "hosted_zone_id", true)?.unwrap_or_default();
        let dns = string_in(rs, ALIAS, m, "dns_name", true)?.unwrap_or_default();
        let dns_name = Name::parse(dns, None)
            .map_err(|e| invalid(rs, format!("alias dns_name {dns:?}: {e}")))?;
        if dns_name.to_string() != dns {
            return Err(invalid(
                rs,
                format!(
                    "alias dns_name {dns:?} is not in canonical form (absolute, lower case): \
                     write {:?}",
                    dns_name.to_string()
                ),
            ));
        }
        let eval = match m.get("evaluate_target_health") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(invalid(
                    rs,
                    format!(
                        "field `alias.evaluate_target_health` must be true or false, not {other}"
                    ),
                ));
            }
        };
        b = b.alias_target(
            AliasTarget::builder()
                .hosted_zone_id(hz)
                .dns_name(name_to_r53(&dns_name))
                .evaluate_target_health(eval)
                .build()
                .map_err(|e| invalid(rs, format!("alias: {e}")))?,
        );
    } else {
        if rs.values.is_empty() {
            return Err(invalid(
                rs,
                "a record set needs at least one value (or an alias field)",
            ));
        }
        if rs.rtype == RType::CNAME && rs.values.len() > 1 {
            return Err(invalid(
                rs,
                format!(
                    "a CNAME record set holds exactly one value, not {}",
                    rs.values.len()
                ),
            ));
        }
        if rs.rtype == RType::SOA && rs.values.len() > 1 {
            return Err(invalid(rs, "an SOA record set holds exactly one value"));
        }
        b = b.ttl(i64::from(rs.ttl));
        for v in &rs.values {
            let text = value_to_r53(rs.rtype, &v.data)
                .map_err(|e| invalid(rs, format!("bad {} value {:?}: {e}", rs.rtype, v.data)))?;
            b = b.resource_records(
                ResourceRecord::builder()
                    .value(text)
                    .build()
                    .map_err(|e| invalid(rs, e.to_string()))?,
            );
        }
    }

    if let Some(v) = rs.fields.get(REGION) {
        match v {
            Value::String(s) if !s.is_empty() => {
                b = b.region(ResourceRecordSetRegion::from(s.as_str()));
            }
            other => {
                return Err(invalid(
                    rs,
                    format!("field `region` must be an AWS region name, not {other}"),
                ));
            }
        }
    }
    if let Some(v) = rs.fields.get(GEO) {
        let m = obj(rs, GEO, v)?;
        only_members(
            rs,
            GEO,
            m,
            &["continent_code", "country_code", "subdivision_code"],
        )?;
        let cont = string_in(rs, GEO, m, "continent_code", false)?;
        let country = string_in(rs, GEO, m, "country_code", false)?;
        let sub = string_in(rs, GEO, m, "subdivision_code", false)?;
        match (cont, country, sub) {
            (Some(_), None, None) | (None, Some(_), _) => {}
            _ => {
                return Err(invalid(
                    rs,
                    "field `geo` needs either continent_code, or country_code (with an \
                     optional subdivision_code)",
                ));
            }
        }
        b = b.geo_location(
            GeoLocation::builder()
                .set_continent_code(cont.map(str::to_string))
                .set_country_code(country.map(str::to_string))
                .set_subdivision_code(sub.map(str::to_string))
                .build(),
        );
    }
    if let Some(v) = rs.fields.get(GEOPROXIMITY) {
        let m = obj(rs, GEOPROXIMITY, v)?;
        only_members(
            rs,
            GEOPROXIMITY,
            m,
            &["aws_region", "local_zone_group", "coordinates", "bias"],
        )?;
        let region = string_in(rs, GEOPROXIMITY, m, "aws_region", false)?;
        let lzg = string_in(rs, GEOPROXIMITY, m, "local_zone_group", false)?;
        let coords = match m.get("coordinates") {
            None => None,
            Some(c) => {
                let cm = obj(rs, "geoproximity.coordinates", c)?;
                only_members(
                    rs,
                    "geoproximity.coordinates",
                    cm,
                    &["latitude", "longitude"],
                )?;
                let lat = string_in(rs, "geoproximity.coordinates", cm, "latitude", true)?;
                let lon = string_in(rs, "geoproximity.coordinates", cm, "longitude", true)?;
                Some(
                    Coordinates::builder()
                        .set_latitude(lat.map(str::to_string))
                        .set_longitude(lon.map(str::to_string))
                        .build()
                        .map_err(|e| invalid(rs, e.to_string()))?,
                )
            }
        };
        let n = region.is_some() as u8 + lzg.is_some() as u8 + coords.is_some() as u8;
        if n != 1 {
            return Err(invalid(
                rs,
                "field `geoproximity` needs exactly one of aws_region, local_zone_group, \
                 coordinates",
            ));
        }
        let bias = match m.get("bias") {
            None => None,
            Some(v) => match v.as_i64() {
                Some(x) if (-99..=99).contains(&x) => Some(x as i32),
                _ => {
                    return Err(invalid(
                        rs,
                        format!(
                            "field `geoproximity.bias` must be an integer from -99 to 99, not {v}"
                        ),
                    ));
                }
            },
        };
        b = b.geo_proximity_location(
            GeoProximityLocation::builder()
                .set_aws_region(region.map(str::to_string))
                .set_local_zone_group(lzg.map(str::to_string))
                .set_coordinates(coords)
                .set_bias(bias)
                .build(),
        );
    }
    if let Some(v) = rs.fields.get(FAILOVER) {
        match v.as_str() {
            Some(s @ ("PRIMARY" | "SECONDARY")) => {
                b = b.failover(ResourceRecordSetFailover::from(s));
            }
            _ => {
                return Err(invalid(
                    rs,
                    format!("field `failover` must be \"PRIMARY\" or \"SECONDARY\", not {v}"),
                ));
            }
        }
    }
    if let Some(v) = rs.fields.get(MULTIVALUE) {
        match v {
            Value::Bool(m) => b = b.multi_value_answer(*m),
            other => {
                return Err(invalid(
                    rs,
                    format!("field `multivalue` must be true or false, not {other}"),
                ));
            }
        }
    }
    if let Some(v) = rs.fields.get(HEALTH_CHECK_ID) {
        match v.as_str() {
            Some(h) if is_uuid(h) => b = b.health_check_id(h),
            _ => {
                return Err(invalid(
                    rs,
                    format!(
                        "field `health_check_id` must be a Route 53 health check id (a UUID \
                         such as 5e0f3c8a-1b2c-4d5e-8f90-0a1b2c3d4e5f), not {v}"
                    ),
                ));
            }
        }
    }
    if let Some(v) = rs.fields.get(CIDR_ROUTING) {
        let m = obj(rs, CIDR_ROUTING, v)?;
        only_members(rs, CIDR_ROUTING, m, &["collection_id", "location_name"])?;
        let c = string_in(rs, CIDR_ROUTING, m, "collection_id", true)?;
        let l = string_in(rs, CIDR_ROUTING, m, "location_name", true)?;
        b = b.cidr_routing_config(
            CidrRoutingConfig::builder()
                .set_collection_id(c.map(str::to_string))
                .set_location_name(l.map(str::to_string))
                .build()
                .map_err(|e| invalid(rs, e.to_string()))?,
        );
    }
    b.build().map_err(|e| invalid(rs, e.to_string()))
}

/// ResourceRecord elements a record set holds (an alias counts as one).
pub fn record_count(n: &ResourceRecordSet) -> usize {
    n.resource_records().len().max(1)
}

/// Characters of all the Value elements of a record set.
pub fn value_chars(n: &ResourceRecordSet) -> usize {
    n.resource_records()
        .iter()
        .map(|r| r.value().chars().count())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Name {
        s.parse().unwrap()
    }

    #[test]
    fn octal_escapes() {
        assert_eq!(octal_to_decimal(r"\052.example.com."), r"\042.example.com.");
        assert_eq!(decimal_to_octal(r"\042"), r"\052");
        assert_eq!(
            octal_to_decimal(r#""a\\052 \"q\" \351""#),
            r#""a\\052 \"q\" \233""#
        );
        assert_eq!(decimal_to_octal(r#""caf\195\169""#), r#""caf\303\251""#);
        // Not octal: left alone.
        assert_eq!(octal_to_decimal(r"\195"), r"\195");
        assert_eq!(octal_to_decimal(r"end\"), r"end\");
        assert_eq!(octal_to_decimal("é\\é"), "é\\é");
        for s in [r#""x\009y\255\000""#, r#""\\\\\"""#] {
            assert_eq!(octal_to_decimal(&decimal_to_octal(s)), s);
        }
    }

    #[test]
    fn names() {
        assert_eq!(
            name_from_r53(r"\052.example.com.").unwrap(),
            n("*.example.com.")
        );
        assert_eq!(
            name_from_r53("WWW.Example.com").unwrap(),
            n("www.example.com.")
        );
        assert_eq!(name_to_r53(&n("*.example.com.")), "*.example.com.");
        assert_eq!(
            name_to_r53(&n("_sip._tcp.example.com.")),
            "_sip._tcp.example.com."
        );
        let odd = n(r"a\.b\032c.example.com.");
        let text = name_to_r53(&odd);
        assert_eq!(text, r"a\056b\040c.example.com.");
        assert_eq!(name_from_r53(&text).unwrap(), odd);
    }

    #[test]
    fn values() {
        assert_eq!(
            value_from_r53(RType::TXT, r#""caf\303\251" "x""#).unwrap(),
            r#""caf\195\169" "x""#
        );
        assert_eq!(
            value_to_r53(RType::TXT, r#""caf\195\169" "x""#).unwrap(),
            r#""caf\303\251" "x""#
        );
        assert_eq!(
            value_from_r53(RType::CNAME, "Target.Example.NET").unwrap(),
            "target.example.net."
        );
        assert_eq!(
            value_from_r53(RType::AAAA, "2001:DB8:0::1").unwrap(),
            "2001:db8::1"
        );
    }

    fn full_native() -> Vec<ResourceRecordSet> {
        let base = |name: &str, t: &str| {
            ResourceRecordSet::builder()
                .name(name)
                .r#type(RrType::from(t))
        };
        let rr = |v: &str| ResourceRecord::builder().value(v).build().unwrap();
        vec![
            base(r"\052.example.com.", "A")
                .ttl(60)
                .resource_records(rr("192.0.2.1"))
                .build()
                .unwrap(),
            base("w.example.com.", "A")
                .set_identifier("blue")
                .weight(10)
                .ttl(60)
                .resource_records(rr("192.0.2.2"))
                .health_check_id("5e0f3c8a-1b2c-4d5e-8f90-0a1b2c3d4e5f")
                .build()
                .unwrap(),
            base("lat.example.com.", "AAAA")
                .set_identifier("eu")
                .region(ResourceRecordSetRegion::EuWest1)
                .ttl(60)
                .resource_records(rr("2001:db8::1"))
                .build()
                .unwrap(),
            base("geo.example.com.", "A")
                .set_identifier("us-wa")
                .geo_location(
                    GeoLocation::builder()
                        .country_code("US")
                        .subdivision_code("WA")
                        .build(),
                )
                .ttl(60)
                .resource_records(rr("192.0.2.3"))
                .build()
                .unwrap(),
            base("gp.example.com.", "A")
                .set_identifier("gp")
                .geo_proximity_location(
                    GeoProximityLocation::builder()
                        .coordinates(
                            Coordinates::builder()
                                .latitude("49.22")
                                .longitude("-74.01")
                                .build()
                                .unwrap(),
                        )
                        .bias(10)
                        .build(),
                )
                .ttl(60)
                .resource_records(rr("192.0.2.4"))
                .build()
                .unwrap(),
            base("fo.example.com.", "A")
                .set_identifier("p")
                .failover(ResourceRecordSetFailover::Primary)
                .alias_target(
                    AliasTarget::builder()
                        .hosted_zone_id("Z2FDTNDATAQYW2")
                        .dns_name("D111.cloudfront.net")
                        .evaluate_target_health(true)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
            base("mv.example.com.", "A")
                .set_identifier("m1")
                .multi_value_answer(true)
                .ttl(60)
                .resource_records(rr("192.0.2.5"))
                .resource_records(rr("192.0.2.6"))
                .build()
                .unwrap(),
            base("cidr.example.com.", "A")
                .set_identifier("c1")
                .cidr_routing_config(
                    CidrRoutingConfig::builder()
                        .collection_id("c-1")
                        .location_name("office")
                        .build()
                        .unwrap(),
                )
                .ttl(60)
                .resource_records(rr("192.0.2.7"))
                .build()
                .unwrap(),
            base("txt.example.com.", "TXT")
                .ttl(300)
                .resource_records(rr(r#""caf\303\251" "two""#))
                .build()
                .unwrap(),
        ]
    }

    #[test]
    fn every_field_round_trips() {
        let zone = n("example.com.");
        for native in full_native() {
            let rs = from_native(&native).unwrap();
            let back = to_native(&rs, &zone).unwrap_or_else(|e| panic!("{e}"));
            let again = from_native(&back).unwrap();
            assert_eq!(rs, again, "{native:?}");
        }
        let fo = from_native(&full_native()[5]).unwrap();
        assert_eq!(fo.ttl, 0);
        assert!(fo.values.is_empty());
        assert_eq!(fo.fields[ALIAS]["dns_name"], "d111.cloudfront.net.");
        assert_eq!(fo.fields[FAILOVER], "PRIMARY");
        assert_eq!(
            from_native(&full_native()[0]).unwrap().name,
            n("*.example.com.")
        );
    }

    fn msg(rs: &RecordSet) -> String {
        to_native(rs, &n("example.com.")).unwrap_err().to_string()
    }

    #[test]
    fn refusals_name_the_record() {
        let base = RecordSet::new(
            n("www.example.com."),
            RType::A,
            300,
            ["192.0.2.1".to_string()],
        );
        let mut bad = base.clone();
        bad.values[0].data = "192.0.2.300".into();
        assert!(msg(&bad).contains("www.example.com./A"), "{}", msg(&bad));
        let mut w = base.clone();
        w.set_identifier = Some("blue".into());
        assert!(msg(&w).contains("needs a weight"), "{}", msg(&w));
        let mut w = base.clone();
        w.weight = Some(5);
        assert!(msg(&w).contains("without a set identifier"), "{}", msg(&w));
        let mut a = base.clone();
        a.values.clear();
        a.fields.insert(
            ALIAS.into(),
            json!({"hosted_zone_id": "Z1", "dns_name": "x.example.net."}),
        );
        assert!(msg(&a).contains("ttl = 0"), "{}", msg(&a));
        let mut t = RecordSet::new(
            n("t.example.com."),
            RType::TXT,
            300,
            [format!("\"{}\"", "x".repeat(256))],
        );
        assert!(msg(&t).contains("255"), "{}", msg(&t));
        t.values[0].data = "\"ok\"".into();
        t.fields.insert("proxied".into(), json!(false));
        assert!(
            msg(&t).contains("unknown Route 53 field `proxied`"),
            "{}",
            msg(&t)
        );
        let mut h = base.clone();
        h.fields.insert(HEALTH_CHECK_ID.into(), json!("hc-1"));
        assert!(msg(&h).contains("health_check_id"), "{}", msg(&h));
        let out = RecordSet::new(
            n("www.example.org."),
            RType::A,
            300,
            ["192.0.2.1".to_string()],
        );
        assert!(msg(&out).contains("outside the zone"), "{}", msg(&out));
    }
}
