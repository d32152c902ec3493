//! Sample values of every record type, in canonical presentation form.

use super::*;

pub(super) const HEX32: &str = "E2D3C916F6DEEAC73294E8268FB5885044A833FC5459588F4A9184CFC41A5766";
pub(super) const KEY64: &str =
    "mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==";

/// Where the battery puts a sample of type `t` (relative to the zone; `@` is the apex) and its
/// values in canonical presentation form. `None` for a type the battery has no sample for.
pub fn sample(t: RType) -> Option<(&'static str, Vec<&'static str>)> {
    let (label, values): (&str, Vec<&str>) = match t {
        RType::A => ("sb-a", vec!["192.0.2.1", "192.0.2.2"]),
        RType::AAAA => ("sb-aaaa", vec!["2001:db8::1", "2001:db8::2"]),
        RType::CNAME => ("sb-cname", vec!["target.example.net."]),
        RType::MX => ("sb-mx", vec!["10 mx1.example.net.", "20 mx2.example.net."]),
        RType::TXT => ("sb-txt", vec!["\"v=sample1\"", "\"hello\" \"world\""]),
        RType::SPF => ("sb-spf", vec!["\"v=spf1 -all\""]),
        RType::SRV => (
            "_sip._tcp.sb-srv",
            vec![
                "10 60 5060 sip1.example.net.",
                "20 0 5060 sip2.example.net.",
            ],
        ),
        RType::CAA => (
            "sb-caa",
            vec![
                "0 issue \"letsencrypt.org\"",
                "0 iodef \"mailto:security@example.net\"",
            ],
        ),
        RType::PTR => ("sb-ptr", vec!["host.example.net."]),
        RType::NAPTR => (
            "sb-naptr",
            vec!["100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:info@example.net!\" ."],
        ),
        RType::DS => ("sb-deleg", vec![ds_sample()]),
        RType::CDS => ("@", vec![ds_sample()]),
        RType::DNSKEY => ("sb-dnskey", vec![dnskey_sample()]),
        RType::CDNSKEY => ("@", vec![dnskey_sample()]),
        RType::SSHFP => ("sb-sshfp", vec![sshfp_sample()]),
        RType::TLSA => ("_443._tcp.sb-tlsa", vec![tlsa_sample()]),
        RType::SMIMEA => ("sb-smimea", vec![tlsa_sample()]),
        RType::SVCB => (
            "_dns.sb-svcb",
            vec!["1 dns.example.net. alpn=\"dot\" port=853"],
        ),
        RType::HTTPS => ("sb-https", vec!["1 . alpn=\"h3,h2\""]),
        RType::NS => ("sb-deleg", vec!["ns1.example.net.", "ns2.example.net."]),
        RType::HINFO => ("sb-hinfo", vec!["\"PC-Intel-700mhz\" \"NetBSD-1.4\""]),
        RType::URI => ("_http._tcp.sb-uri", vec!["10 1 \"https://example.net/\""]),
        RType::RP => ("sb-rp", vec!["admin.example.net. ."]),
        RType::AFSDB => ("sb-afsdb", vec!["1 afs.example.net."]),
        RType::KX => ("sb-kx", vec!["10 kx.example.net."]),
        RType::DNAME => ("sb-dname", vec!["example.net."]),
        RType::EUI48 => ("sb-eui48", vec!["00-00-5e-00-53-2a"]),
        RType::EUI64 => ("sb-eui64", vec!["00-00-5e-ef-10-00-00-2a"]),
        _ => return None,
    };
    Some((label, values))
}

pub(super) fn ds_sample() -> &'static str {
    static DS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DS.get_or_init(|| format!("12345 13 2 {HEX32}"))
}

pub(super) fn dnskey_sample() -> &'static str {
    static K: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    K.get_or_init(|| format!("257 3 13 {KEY64}"))
}

pub(super) fn sshfp_sample() -> &'static str {
    static S: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    S.get_or_init(|| format!("4 2 {HEX32}"))
}

pub(super) fn tlsa_sample() -> &'static str {
    static T: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    T.get_or_init(|| format!("3 1 1 {HEX32}"))
}

/// TXT values a provider must keep exactly, in canonical presentation form.
pub fn txt_edge_values() -> Vec<(&'static str, String)> {
    let long: String = "0123456789abcdefghijklmnopqrstuvwxyz"
        .chars()
        .cycle()
        .take(255)
        .collect();
    vec![
        ("sb-txt-long", format!("\"{long}\"")),
        (
            "sb-txt-several",
            "\"first string\" \"second\" \"third\"".to_string(),
        ),
        (
            "sb-txt-escapes",
            r#""say \"hi\" to C:\\dir\\ ; not a comment""#.to_string(),
        ),
        (
            "sb-txt-nonascii",
            r#""caf\195\169 \226\130\172 tab\009end""#.to_string(),
        ),
        ("sb-txt-empty", "\"\"".to_string()),
        (
            "sb-txt-long-several",
            format!("\"{long}\" \"{long}\" \"{long}\""),
        ),
        ("sb-txt-spaces", "\"  leading and trailing  \"".to_string()),
    ]
}
