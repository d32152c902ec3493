//! Semantic checks of a zone read (SOA, NS, CNAME rules, limits).

use super::*;

#[test]
fn cname_and_other_data() {
    assert_eq!(
        load_errors(&format!(
            "{HEAD}www CNAME ns1\nwww A 192.0.2.1\nwww2 TXT x\nwww2 CNAME ns1\n"
        )),
        [
            "z.zone:6: CNAME and other data at www.example.com. (RFC 1034 §3.6.2)",
            "z.zone:8: CNAME and other data at www2.example.com. (RFC 1034 §3.6.2)",
        ]
    );
    // Apex CNAME collides with SOA and NS.
    assert_eq!(
        load_errors(&format!("{HEAD}@ CNAME ns1\n")),
        ["z.zone:5: CNAME and other data at example.com. (RFC 1034 §3.6.2)"]
    );
    // DNSSEC records may sit beside a CNAME.
    load_ok(&format!("{HEAD}www CNAME ns1\nwww NSEC \\# 1 00\n"));
}

#[test]
fn two_cnames() {
    assert_eq!(
        load_errors(&format!("{HEAD}www CNAME ns1\nwww CNAME ns2\n")),
        ["z.zone:6: more than one CNAME at www.example.com."]
    );
    // The same record twice is one record.
    load_ok(&format!(
        "{HEAD}www CNAME ns1\nwww CNAME NS1.example.com.\n"
    ));
}

#[test]
fn no_soa() {
    assert_eq!(
        load_errors("$TTL 1\n@ NS ns1\nns1 A 192.0.2.1\n"),
        ["z.zone:0: no SOA record at the zone apex example.com."]
    );
    assert_eq!(
        load_errors("$TTL 1\nns1 A 192.0.2.1\n"),
        [
            "z.zone:0: no SOA record at the zone apex example.com.",
            "z.zone:0: no NS records at the zone apex example.com.",
        ]
    );
}

#[test]
fn duplicate_soa() {
    assert_eq!(
        load_errors(&format!(
            "{HEAD}@ SOA ns1 hostmaster 2 7200 3600 1209600 300\n"
        )),
        ["z.zone:5: duplicate SOA record at example.com."]
    );
}

#[test]
fn soa_not_at_apex() {
    assert_eq!(
        load_errors(&format!(
            "{HEAD}www SOA ns1 hostmaster 2 7200 3600 1209600 300\n"
        )),
        ["z.zone:5: SOA record at www.example.com. is not at the zone apex example.com."]
    );
}

#[test]
fn no_ns_at_apex() {
    assert_eq!(
        load_errors("$TTL 1\n\n@ SOA ns1 hostmaster 1 2 3 4 5\nns1 A 192.0.2.1\n"),
        ["z.zone:3: no NS records at the zone apex example.com."]
    );
}

#[test]
fn out_of_zone() {
    assert_eq!(
        load_errors(&format!(
            "{HEAD}www.example.net. A 192.0.2.1\n$ORIGIN com.\nexample2 A 192.0.2.2\n"
        )),
        [
            "z.zone:5: www.example.net. is outside the zone example.com.",
            "z.zone:7: example2.com. is outside the zone example.com.",
        ]
    );
}

#[test]
fn occluded_below_delegation() {
    assert_eq!(
        load_errors(&format!(
            "{HEAD}sub NS ns.sub\nsub DS 1 8 2 {}\nns.sub A 192.0.2.5\nns.sub AAAA 2001:db8::5\nx.sub TXT hidden\ny.x.sub MX 1 mail\nsub TXT at-cut\n",
            "ab".repeat(32)
        )),
        [
            "z.zone:9: x.sub.example.com. TXT is below the delegation at sub.example.com. (only A/AAAA glue may be there)",
            "z.zone:10: y.x.sub.example.com. MX is below the delegation at sub.example.com. (only A/AAAA glue may be there)",
            "z.zone:11: sub.example.com. TXT is at the delegation point sub.example.com. (only NS, DS and A/AAAA glue may be there)",
        ]
    );
}

#[test]
fn occluded_below_dname() {
    assert_eq!(
        load_errors(&format!(
            "{HEAD}old DNAME new.example.net.\nold TXT fine\nwww.old A 192.0.2.1\n"
        )),
        ["z.zone:7: www.old.example.com. A is occluded by the DNAME at old.example.com."]
    );
}

#[test]
fn differing_ttls_in_a_set_take_the_first() {
    let z = load_ok(&format!("{HEAD}www 600 A 192.0.2.1\nwww 60 A 192.0.2.2\n"));
    let rs = z
        .get(&crate::RecordSetKey {
            name: n("www.example.com."),
            rtype: RType::A,
            set_identifier: None,
        })
        .unwrap();
    assert_eq!(rs.ttl, 600);
    assert_eq!(rs.values.len(), 2);
}

#[test]
fn check_errors_point_into_included_files() {
    let t = tree(&[
        ("main.zone", &format!("{HEAD}$INCLUDE inc/hosts.zone\n")),
        ("inc/hosts.zone", "www CNAME ns1\nwww A 192.0.2.1\n"),
    ]);
    let errs: Vec<String> = load_file(&t.root.join("main.zone"), &origin(), &t.root)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errs,
        [format!(
            "{}:2: CNAME and other data at www.example.com. (RFC 1034 §3.6.2)",
            t.root.join("inc/hosts.zone").display()
        )]
    );
}

#[test]
fn read_errors_suppress_zone_wide_checks() {
    // The broken SOA is reported; "no SOA" would only repeat it.
    let errs = load_errors("$TTL 1\n@ SOA ns1\n@ NS ns1\nwww CNAME ns1\nwww A 192.0.2.1\n");
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs[0].starts_with("z.zone:2: bad SOA data: "), "{errs:?}");
    assert_eq!(
        errs[1],
        "z.zone:5: CNAME and other data at www.example.com. (RFC 1034 §3.6.2)"
    );
}
