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

mod names;
mod rules;
mod to_native;

pub use names::*;
pub(crate) use rules::check_zone_rules;
pub use to_native::*;

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
mod tests;
