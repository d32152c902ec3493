//! The record model -> Route 53's `ResourceRecordSet`, with every check Route 53 would make
//! (done before anything is sent).

use super::*;

/// A record set Route 53 would refuse (or that this provider cannot express), with a message
/// that names the record set.
pub fn invalid(rs: &RecordSet, message: impl Into<String>) -> ProviderError {
    ProviderError::Invalid {
        record: rs.key().to_string(),
        message: message.into(),
    }
}

pub(super) fn obj<'a>(
    rs: &RecordSet,
    key: &str,
    v: &'a Value,
) -> Result<&'a Map<String, Value>, ProviderError> {
    v.as_object()
        .ok_or_else(|| invalid(rs, format!("field `{key}` must be an object, not {v}")))
}

pub(super) fn string_in<'a>(
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

pub(super) fn only_members(
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

pub(super) fn is_uuid(s: &str) -> bool {
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
