//! The UPDATE target: any bytes as an RFC 2136 UPDATE sent to the built-in server (its TSIG
//! checked, the message read, its prerequisites and updates evaluated against a zone, the
//! answer written), and as a server's answer read by the `rfc2136` provider (AXFR records into
//! a zone). Properties: nothing panics; the diff from a zone to what an UPDATE makes of it
//! applies to that zone under the reference rules and gives the updated zone; every answer
//! echoes the id.

use std::sync::OnceLock;

use switchback_api::tsig;
use switchback_api::{Name, RType, RecordSet, Zone, plan};
use switchback_builtin::update::{self, UpdateAnswer};

/// The zone UPDATEs are evaluated against (example.com.: an apex, a plain set, a CNAME, a
/// weighted pair).
fn zone() -> &'static Zone {
    static Z: OnceLock<Zone> = OnceLock::new();
    Z.get_or_init(|| {
        let o: Name = "example.com.".parse().expect("a name");
        let n = |s: &str| -> Name { s.parse().expect("a name") };
        let mut sets = vec![
            RecordSet::new(
                o.clone(),
                RType::SOA,
                300,
                ["ns1.example.com. h.example.com. 1 7200 900 1209600 300".to_string()],
            ),
            RecordSet::new(o.clone(), RType::NS, 300, ["ns1.example.com.".to_string()]),
            RecordSet::new(
                n("ns1.example.com."),
                RType::A,
                300,
                ["192.0.2.53".to_string()],
            ),
            RecordSet::new(
                n("www.example.com."),
                RType::A,
                300,
                ["192.0.2.1".to_string(), "192.0.2.2".to_string()],
            ),
            RecordSet::new(
                n("alias.example.com."),
                RType::CNAME,
                300,
                ["www.example.com.".to_string()],
            ),
        ];
        for (id, w) in [("blue", 1), ("green", 0)] {
            let mut rs =
                RecordSet::new(n("w.example.com."), RType::A, 60, ["192.0.2.9".to_string()]);
            rs.set_identifier = Some(id.into());
            rs.weight = Some(w);
            sets.push(rs);
        }
        Zone::new(o, sets)
    })
}

fn keyring() -> &'static tsig::Keyring {
    static KEYS: OnceLock<tsig::Keyring> = OnceLock::new();
    KEYS.get_or_init(|| {
        tsig::Keyring::new([tsig::Key::new(
            &"xfr.example.com.".parse().expect("a key name"),
            tsig::Algorithm::HmacSha256,
            b"fuzz secret",
        )])
    })
}

pub fn run(data: &[u8]) {
    // As a request.
    let _ = tsig::verify_request(data, |n| keyring().get(n), 1_764_633_600);
    if update::is_update(data) {
        if let Ok(u) = update::parse(data) {
            let z = zone();
            if u.zone == z.origin {
                if let Ok(desired) = update::evaluate(z, &u) {
                    // The diff from the zone to the updated one applies to it and gives it.
                    let changes = plan::diff(z, &desired, &Default::default());
                    let mut applied = z.clone();
                    if let Err(e) = plan::apply_changes(&mut applied, &changes) {
                        panic!("the diff to an updated zone does not apply: {e:?}: {changes:?}");
                    }
                    assert!(
                        plan::diff(&applied, &desired, &Default::default()).is_empty(),
                        "the diff applied is not the updated zone: {changes:?}"
                    );
                }
            }
        }
        let mut out = Vec::new();
        update::answer(data, &UpdateAnswer::rcode(5), &mut out);
        assert!(
            out.len() >= 12 && out[0..2] == data[0..2],
            "the answer does not echo the id: {out:?}"
        );
    }
    // As a server's answer to the rfc2136 provider.
    if let Ok(m) = switchback_api::message::parse(data) {
        let _ = switchback_rfc2136::convert::to_zone(&zone().origin, &m.answers);
    }
    let _ = switchback_rfc2136::convert::parse(data);
}
