//! What a provider lacks is refused when planning; what changed under a plan is a conflict.

use super::*;

/// Every capability a record set can need, refused by a provider that lacks it: the plan
/// fails before anything is sent, naming the record set, the field and the provider's reason;
/// the same set plans when the provider has the capability.
#[test]
fn each_capability_is_enforced_when_planning() {
    use crate::field;
    type Lacks = fn(&mut Capabilities, Support);
    let cases: [(&str, bool, serde_json::Value, Lacks); 9] = [
        (
            field::ALIAS,
            true,
            serde_json::json!({"dns_name": "lb.example.net."}),
            |c, s| c.alias = s,
        ),
        (
            field::REGION,
            true,
            serde_json::json!("eu-west-1"),
            |c, s| c.latency = s,
        ),
        (
            field::GEO,
            true,
            serde_json::json!({"country": "DE"}),
            |c, s| c.geo = s,
        ),
        (
            field::GEOPROXIMITY,
            true,
            serde_json::json!({"region": "x"}),
            |c, s| c.geo = s,
        ),
        (
            field::FAILOVER,
            true,
            serde_json::json!("PRIMARY"),
            |c, s| c.failover = s,
        ),
        (field::MULTIVALUE, true, serde_json::json!(true), |c, s| {
            c.multivalue = s
        }),
        (
            field::COMMENT,
            false,
            serde_json::json!("a note"),
            |c, s| c.comments = s,
        ),
        (
            field::TAGS,
            false,
            serde_json::json!(["team:dns"]),
            |c, s| c.tags = s,
        ),
        (field::PROXIED, false, serde_json::json!(true), |c, s| {
            c.proxied = s
        }),
    ];
    let existing = zone(vec![soa(1, 300), ns()]);
    for (key, set_level, value, lacks) in cases {
        let mut www = rs("www.example.com.", RType::A, 300, &["192.0.2.1"]);
        if set_level {
            www.fields.insert(key.into(), value);
        } else {
            www.values[0].fields.insert(key.into(), value);
        }
        let desired = zone(vec![soa(1, 300), ns(), www]);
        let mut c = caps();
        lacks(
            &mut c,
            Support::cannot(format!("the test provider has no {key}")),
        );
        match plan("test", &c, &existing, &desired, &DiffOptions::default()) {
            Err(PlanError::Unsupported {
                provider,
                what,
                reason,
            }) => {
                assert_eq!(provider, "test");
                assert!(
                    what.contains(&format!("`{key}`")) && what.contains("www.example.com."),
                    "{key}: {what}"
                );
                assert_eq!(reason, format!("the test provider has no {key}"));
            }
            other => panic!("{key}: planned although the provider lacks it: {other:?}"),
        }
        let mut c = caps();
        lacks(&mut c, Support::Yes);
        assert!(
            plan("test", &c, &existing, &desired, &DiffOptions::default()).is_ok(),
            "{key}: refused although the provider has it"
        );
    }
}

/// The plan says how the provider writes it: per record set or per record (`granularity`), in
/// batches of at most `max_batch`, atomic only when the provider's batches are and there is one.
#[test]
fn writes_follow_granularity_max_batch_and_atomicity() {
    let existing = zone(vec![
        soa(1, 300),
        ns(),
        rs(
            "www.example.com.",
            RType::A,
            300,
            &["192.0.2.1", "192.0.2.2", "192.0.2.3"],
        ),
    ]);
    // www: one value kept, one replaced (remove + add); api and mail: created, two values each.
    let desired = zone(vec![
        soa(1, 300),
        ns(),
        rs(
            "www.example.com.",
            RType::A,
            300,
            &["192.0.2.1", "192.0.2.9", "192.0.2.3"],
        ),
        rs(
            "api.example.com.",
            RType::A,
            300,
            &["192.0.2.5", "192.0.2.6"],
        ),
        rs(
            "mail.example.com.",
            RType::A,
            300,
            &["192.0.2.7", "192.0.2.8"],
        ),
    ]);
    let plan_with = |c: &Capabilities| {
        plan("test", c, &existing, &desired, &DiffOptions::default())
            .unwrap()
            .writes
    };
    let mut c = caps();
    c.atomic_batches = Support::Yes;
    c.max_batch = None;
    assert_eq!(
        plan_with(&c),
        Writes {
            operations: 3,
            batches: 1,
            atomic: true
        },
        "record sets, no batch limit"
    );
    c.max_batch = Some(2);
    assert_eq!(
        plan_with(&c),
        Writes {
            operations: 3,
            batches: 2,
            atomic: false
        },
        "two batches are not atomic"
    );
    c.granularity = crate::Granularity::Record;
    c.max_batch = Some(100);
    assert_eq!(
        plan_with(&c),
        Writes {
            operations: 6,
            batches: 1,
            atomic: true
        },
        "per record: 1 remove + 1 add at www (2 kept), 4 adds"
    );
    c.atomic_batches = Support::cannot("one request per record");
    assert!(!plan_with(&c).atomic, "a provider without atomic batches");
    assert_eq!(
        plan("test", &c, &existing, &existing, &DiffOptions::default())
            .unwrap()
            .writes,
        Writes {
            operations: 0,
            batches: 0,
            atomic: false
        },
        "an empty plan writes nothing"
    );
}

/// A change planned against a zone someone changed since is a conflict (nothing applied,
/// re-plan); a change that is wrong in itself is invalid.
#[test]
fn stale_changes_are_conflicts_and_wrong_ones_invalid() {
    let a = zone(vec![
        soa(1, 300),
        ns(),
        rs("a.example.com.", RType::A, 60, &["192.0.2.1"]),
    ]);
    let stale = [Change::Delete {
        before: rs("a.example.com.", RType::A, 60, &["192.0.2.9"]),
    }];
    let e = check_live(&a, &stale).unwrap_err();
    assert!(e.stale, "{e}");
    assert!(matches!(
        ProviderError::from(e),
        ProviderError::Conflict { .. }
    ));
    let exists = [Change::Create {
        after: rs("a.example.com.", RType::A, 60, &["192.0.2.1"]),
    }];
    assert!(matches!(
        ProviderError::from(check_live(&a, &exists).unwrap_err()),
        ProviderError::Conflict { .. }
    ));
    let wrong = [Change::Update {
        before: rs("a.example.com.", RType::A, 60, &["192.0.2.1"]),
        after: rs("b.example.com.", RType::A, 60, &["192.0.2.1"]),
    }];
    let e = check_live(&a, &wrong).unwrap_err();
    assert!(!e.stale, "{e}");
    assert!(matches!(
        ProviderError::from(e),
        ProviderError::Invalid { .. }
    ));
    assert!(check_live(&a, &[]).is_ok());
}
