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

/// The routing fields' JSON, as typed values: each field is read by serde (unknown members,
/// wrong types and missing members are refused with serde's message naming them), then checked
/// for what serde cannot say (non-empty strings, ranges, one-of rules).
mod fields {
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Alias {
        pub hosted_zone_id: String,
        pub dns_name: String,
        #[serde(default)]
        pub evaluate_target_health: bool,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Geo {
        pub continent_code: Option<String>,
        pub country_code: Option<String>,
        pub subdivision_code: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Geoproximity {
        pub aws_region: Option<String>,
        pub local_zone_group: Option<String>,
        pub coordinates: Option<Coordinates>,
        pub bias: Option<i64>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Coordinates {
        pub latitude: String,
        pub longitude: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct CidrRouting {
        pub collection_id: String,
        pub location_name: String,
    }

    #[derive(Deserialize)]
    pub enum Failover {
        #[serde(rename = "PRIMARY")]
        Primary,
        #[serde(rename = "SECONDARY")]
        Secondary,
    }

    impl Failover {
        pub fn as_str(&self) -> &'static str {
            match self {
                Failover::Primary => "PRIMARY",
                Failover::Secondary => "SECONDARY",
            }
        }
    }
}

/// Field `key` of `rs` as `T`, `None` when absent; serde's message names what is wrong.
fn typed<T: serde::de::DeserializeOwned>(
    rs: &RecordSet,
    key: &str,
    expected: &str,
) -> Result<Option<T>, ProviderError> {
    let Some(v) = rs.fields.get(key) else {
        return Ok(None);
    };
    serde_json::from_value(v.clone()).map(Some).map_err(|e| {
        invalid(
            rs,
            format!("field `{key}` must be {expected}, not {v}: {e}"),
        )
    })
}

/// `member` of field `key`, which must not be empty.
fn non_empty<'a>(
    rs: &RecordSet,
    key: &str,
    member: &str,
    s: Option<&'a String>,
) -> Result<Option<&'a str>, ProviderError> {
    match s {
        Some(s) if s.is_empty() => Err(invalid(
            rs,
            format!("field `{key}.{member}` must be a non-empty string"),
        )),
        other => Ok(other.map(String::as_str)),
    }
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
    let alias: Option<fields::Alias> = typed(
        rs,
        ALIAS,
        "an object {hosted_zone_id, dns_name, evaluate_target_health}",
    )?;
    if let Some(a) = alias {
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
        let hz = non_empty(rs, ALIAS, "hosted_zone_id", Some(&a.hosted_zone_id))?;
        let dns = non_empty(rs, ALIAS, "dns_name", Some(&a.dns_name))?.unwrap_or_default();
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
        b = b.alias_target(
            AliasTarget::builder()
                .set_hosted_zone_id(hz.map(str::to_string))
                .dns_name(name_to_r53(&dns_name))
                .evaluate_target_health(a.evaluate_target_health)
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

    let region: Option<String> = typed(rs, REGION, "an AWS region name")?;
    if let Some(r) = region {
        if r.is_empty() {
            return Err(invalid(
                rs,
                "field `region` must be an AWS region name, not \"\"",
            ));
        }
        b = b.region(ResourceRecordSetRegion::from(r.as_str()));
    }
    let geo: Option<fields::Geo> = typed(
        rs,
        GEO,
        "an object {continent_code | country_code [, subdivision_code]}",
    )?;
    if let Some(g) = geo {
        let cont = non_empty(rs, GEO, "continent_code", g.continent_code.as_ref())?;
        let country = non_empty(rs, GEO, "country_code", g.country_code.as_ref())?;
        let sub = non_empty(rs, GEO, "subdivision_code", g.subdivision_code.as_ref())?;
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
    let gp: Option<fields::Geoproximity> = typed(
        rs,
        GEOPROXIMITY,
        "an object {aws_region | local_zone_group | coordinates {latitude, longitude} [, bias]}",
    )?;
    if let Some(g) = gp {
        let region = non_empty(rs, GEOPROXIMITY, "aws_region", g.aws_region.as_ref())?;
        let lzg = non_empty(
            rs,
            GEOPROXIMITY,
            "local_zone_group",
            g.local_zone_group.as_ref(),
        )?;
        let coords = match &g.coordinates {
            None => None,
            Some(c) => {
                let key = "geoproximity.coordinates";
                let lat = non_empty(rs, key, "latitude", Some(&c.latitude))?;
                let lon = non_empty(rs, key, "longitude", Some(&c.longitude))?;
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
        let bias = match g.bias {
            None => None,
            Some(x) if (-99..=99).contains(&x) => Some(x as i32),
            Some(x) => {
                return Err(invalid(
                    rs,
                    format!("field `geoproximity.bias` must be an integer from -99 to 99, not {x}"),
                ));
            }
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
    let failover: Option<fields::Failover> = typed(rs, FAILOVER, "\"PRIMARY\" or \"SECONDARY\"")?;
    if let Some(f) = failover {
        b = b.failover(ResourceRecordSetFailover::from(f.as_str()));
    }
    if let Some(m) = typed::<bool>(rs, MULTIVALUE, "true or false")? {
        b = b.multi_value_answer(m);
    }
    let hc: Option<String> = typed(rs, HEALTH_CHECK_ID, "a Route 53 health check id")?;
    if let Some(h) = hc {
        if !is_uuid(&h) {
            return Err(invalid(
                rs,
                format!(
                    "field `health_check_id` must be a Route 53 health check id (a UUID \
                     such as 5e0f3c8a-1b2c-4d5e-8f90-0a1b2c3d4e5f), not {h:?}"
                ),
            ));
        }
        b = b.health_check_id(h);
    }
    let cidr: Option<fields::CidrRouting> =
        typed(rs, CIDR_ROUTING, "an object {collection_id, location_name}")?;
    if let Some(c) = cidr {
        let id = non_empty(rs, CIDR_ROUTING, "collection_id", Some(&c.collection_id))?;
        let loc = non_empty(rs, CIDR_ROUTING, "location_name", Some(&c.location_name))?;
        b = b.cidr_routing_config(
            CidrRoutingConfig::builder()
                .set_collection_id(id.map(str::to_string))
                .set_location_name(loc.map(str::to_string))
                .build()
                .map_err(|e| invalid(rs, e.to_string()))?,
        );
    }
    b.build().map_err(|e| invalid(rs, e.to_string()))
}
