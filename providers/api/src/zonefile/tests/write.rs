//! Writing a zone back out, and reading any input without a panic.

use super::*;
use crate::RecordSet;

#[test]
fn realistic_round_trip() {
    let zone = load_ok(REALISTIC);
    let sets = |rtype: RType, name: &str| {
        zone.get(&crate::RecordSetKey {
            name: n(name),
            rtype,
            set_identifier: None,
        })
        .unwrap_or_else(|| panic!("no {name} {rtype}"))
        .clone()
    };
    assert_eq!(zone.record_sets[0].rtype, RType::SOA);
    assert_eq!(sets(RType::SOA, "example.com.").ttl, 3600);
    assert_eq!(
        sets(RType::SOA, "example.com.").values[0].data,
        canon(
            RType::SOA,
            "ns1 hostmaster 2024010101 7200 3600 1209600 300"
        )
    );
    assert_eq!(sets(RType::NS, "example.com.").values.len(), 2);
    assert_eq!(sets(RType::A, "mail.example.com.").ttl, 300);
    assert_eq!(sets(RType::A, "mail.example.com.").values.len(), 2);
    assert_eq!(sets(RType::A, "sip.example.com.").ttl, 600);
    assert_eq!(
        sets(RType::CNAME, "www.example.com.").values[0].data,
        "example.com."
    );
    assert_eq!(
        sets(RType::TXT, "txt.example.com.").values[0].data,
        canon(
            RType::TXT,
            "\"semi;colon (paren)\" \"quote\\\"d\" \"tab\\009x\" plain"
        )
    );
    assert_eq!(
        sets(RType::TXT, "long.example.com.").values[0].data,
        canon(RType::TXT, "\"part one\" \"part two\"")
    );
    assert_eq!(sets(RType::A, "host.other.example.com.").ttl, 3600);
    sets(RType::TXT, "other.example.com.");
    sets(RType::A, "*.wild.example.com.");

    let text = write_zone(&zone);
    assert!(
        text.starts_with("$ORIGIN example.com.\n$TTL 3600\n@ "),
        "{text}"
    );
    let soa_line = text.lines().nth(2).unwrap();
    assert!(soa_line.contains(" IN SOA "), "{text}");
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["mail", "300", "IN", "A", "192.0.2.2"]),
        "{text}"
    );
    let again = load_str(&text, Path::new("written.zone"), &origin(), nowhere())
        .unwrap_or_else(|e| panic!("{e:#?}\n{text}"));
    assert_eq!(again, zone, "{text}");
    // Writing is stable.
    assert_eq!(write_zone(&again), text);
}

#[test]
fn write_notes_model_only_fields() {
    let mut zone = load_ok(HEAD);
    let mut rs = RecordSet::new(n("w.example.com."), RType::A, 60, ["192.0.2.7".to_string()]);
    rs.set_identifier = Some("primary".into());
    rs.weight = Some(100);
    zone.record_sets.push(rs);
    let text = write_zone(&zone);
    assert!(
        text.contains("; set_identifier=\"primary\" weight=100\nw       60 IN A 192.0.2.7\n"),
        "{text}"
    );
    load_str(&text, Path::new("w.zone"), &origin(), nowhere()).unwrap();
}

fn any_input(text: &str) {
    // An empty folder of our own, so that random $INCLUDEs find nothing.
    static ROOT: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let root = ROOT.get_or_init(|| tempfile::tempdir().unwrap()).path();
    let file = root.join("random.zone");
    let _ = parse_str(text, &file, &origin(), root);
    if let Ok(z) = load_str(text, &file, &origin(), root) {
        let _ = load_str(&write_zone(&z), &file, &origin(), root);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn never_panics_on_random_text(chars in prop::collection::vec(any::<char>(), 0..400)) {
        any_input(&chars.into_iter().collect::<String>());
    }

    #[test]
    fn never_panics_on_zone_like_text(text in "([ \\t\\r\\n();\"\\\\$@.*a-zA-Z0-9-]|IN |SOA |A |TXT |NS |\\$TTL |\\$ORIGIN |\\$INCLUDE |CNAME |MX ){0,120}") {
        any_input(&text);
    }

    #[test]
    fn never_panics_on_mutations(ops in prop::collection::vec((any::<prop::sample::Index>(), 0u8..5, any::<char>(), 1usize..40), 1..8)) {
        let mut text: Vec<char> = REALISTIC.chars().collect();
        for (at, op, c, len) in ops {
            let i = at.index(text.len() + 1);
            match op {
                0 => text.insert(i, c),
                1 => { text.drain(i..(i + len).min(text.len())); }
                2 => if i < text.len() { text[i] = c },
                3 => { let piece: Vec<char> = text[i..(i + len).min(text.len())].to_vec(); text.splice(i..i, piece); }
                _ => text.insert(i, ['(', ')', '"', ';', '\\', '\n', ' '][len % 7]),
            }
        }
        any_input(&text.into_iter().collect::<String>());
    }
}
