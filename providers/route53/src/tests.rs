use super::*;

fn unit(name: &str, t: RType) -> Unit {
    let v = if t == RType::AAAA {
        "2001:db8::1"
    } else {
        "192.0.2.1"
    };
    let rs = RecordSet::new(name.parse().unwrap(), t, 60, [v.to_string()]);
    let n = convert::to_native(&rs, &"example.com.".parse().unwrap()).unwrap();
    Unit::new(rs.key(), None, Some(rs), vec![(ChangeAction::Create, n)]).unwrap()
}

#[test]
fn refusal_names_the_record_route53_names() {
    let batch = vec![
        unit("www.example.com.", RType::A),
        unit("w.example.com.", RType::A),
        unit("w.example.com.", RType::AAAA),
    ];
    let e = CallError::Service {
        op: "ChangeResourceRecordSets",
        code: "InvalidChangeBatch".into(),
        message: "[Tried to create resource record set [name='W.example.com.', type='AAAA'] \
                  but it already exists]"
            .into(),
    };
    match refused(e, &batch) {
        ProviderError::Invalid { record, message } => {
            assert_eq!(record, "w.example.com./AAAA");
            assert!(message.contains("already exists"), "{message}");
        }
        other => panic!("{other}"),
    }
    // Without quotes (ministack's wording for CREATE): the longest name mentioned.
    let e = CallError::Service {
        op: "ChangeResourceRecordSets",
        code: "InvalidChangeBatch".into(),
        message: "Tried to create resource record set www.example.com. type A but it \
                  already exists."
            .into(),
    };
    match refused(e, &batch) {
        ProviderError::Invalid { record, .. } => assert_eq!(record, "www.example.com./A"),
        other => panic!("{other}"),
    }
    // Throttling that ran out of budget is not an Invalid error.
    let e = CallError::GaveUp {
        op: "ChangeResourceRecordSets",
        attempts: 3,
        elapsed: std::time::Duration::from_secs(1),
        last: "Throttling: Rate exceeded".into(),
    };
    assert!(matches!(refused(e, &batch), ProviderError::Other(_)));
}

#[test]
fn call_errors_are_classified() {
    use std::time::Duration;
    use switchback_api::ProviderError as P;
    let service = |code: &str| CallError::Service {
        op: "ListResourceRecordSets",
        code: code.into(),
        message: "m".into(),
    };
    let gave_up = |last: &str| CallError::GaveUp {
        op: "ChangeResourceRecordSets",
        attempts: 5,
        elapsed: Duration::from_secs(30),
        last: last.into(),
    };
    assert!(matches!(P::from(service("AccessDenied")), P::Auth(_)));
    assert!(matches!(
        P::from(service("InvalidClientTokenId")),
        P::Auth(_)
    ));
    assert!(matches!(
        P::from(service("Throttling")),
        P::RateLimited { .. }
    ));
    assert!(matches!(
        P::from(gave_up("Throttling: Rate exceeded")),
        P::RateLimited { .. }
    ));
    assert!(matches!(
        P::from(gave_up("HTTP 429")),
        P::RateLimited { .. }
    ));
    let t = P::from(gave_up("timed out"));
    assert!(matches!(t, P::Transport(_)) && t.is_transient(), "{t:?}");
    let o = P::from(service("InvalidChangeBatch"));
    assert!(matches!(o, P::Other(_)) && !o.is_transient(), "{o:?}");
    // The text is the call's own.
    assert_eq!(
        P::from(service("AccessDenied")).to_string(),
        service("AccessDenied").to_string()
    );
}
