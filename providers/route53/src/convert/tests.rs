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

/// The routing fields are read as typed values: an unknown member, a wrong type, a missing
/// member, an empty string or an out-of-range number is refused naming the field.
#[test]
fn routing_fields_are_typed() {
    let weighted = |key: &str, value: serde_json::Value| {
        let mut rs = RecordSet::new(
            n("www.example.com."),
            RType::A,
            300,
            ["192.0.2.1".to_string()],
        );
        rs.set_identifier = Some("blue".into());
        rs.fields.insert(key.into(), value);
        rs
    };
    let alias = |value: serde_json::Value| {
        let mut rs = RecordSet::new(n("www.example.com."), RType::A, 0, Vec::<String>::new());
        rs.fields.insert(ALIAS.into(), value);
        rs
    };
    for (rs, want) in [
        (
            alias(json!({"hosted_zone_id": "Z1", "dns_name": "x.example.net.", "ttl": 5})),
            "unknown field `ttl`",
        ),
        (
            alias(json!({"dns_name": "x.example.net."})),
            "missing field `hosted_zone_id`",
        ),
        (
            alias(json!({"hosted_zone_id": "", "dns_name": "x.example.net."})),
            "`alias.hosted_zone_id` must be a non-empty string",
        ),
        (
            alias(
                json!({"hosted_zone_id": "Z1", "dns_name": "x.example.net.", "evaluate_target_health": "yes"}),
            ),
            "field `alias`",
        ),
        (
            weighted(GEO, json!({"country": "DE"})),
            "unknown field `country`",
        ),
        (
            weighted(GEO, json!({"continent_code": "EU", "country_code": "DE"})),
            "needs either",
        ),
        (
            weighted(
                GEOPROXIMITY,
                json!({"aws_region": "eu-west-1", "bias": 100}),
            ),
            "-99 to 99",
        ),
        (
            weighted(GEOPROXIMITY, json!({"coordinates": {"latitude": "1"}})),
            "missing field `longitude`",
        ),
        (
            weighted(FAILOVER, json!("TERTIARY")),
            "\"PRIMARY\" or \"SECONDARY\"",
        ),
        (
            weighted(MULTIVALUE, json!("true")),
            "field `multivalue` must be true or false",
        ),
        (
            weighted(REGION, json!(5)),
            "field `region` must be an AWS region name",
        ),
        (
            weighted(CIDR_ROUTING, json!({"collection_id": "c"})),
            "missing field `location_name`",
        ),
    ] {
        let m = msg(&rs);
        assert!(
            m.contains(want) && m.contains("www.example.com./A"),
            "want {want:?}: {m}"
        );
    }
    // And the well-formed ones build.
    let ok = weighted(
        GEOPROXIMITY,
        json!({"coordinates": {"latitude": "49.22", "longitude": "-74.01"}, "bias": -20}),
    );
    to_native(&ok, &n("example.com.")).unwrap();
}
