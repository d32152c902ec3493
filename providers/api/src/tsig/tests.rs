//! Sign and verify round trips per algorithm, every refusal (BADKEY, BADSIG, BADTIME,
//! BADTRUNC, malformed), the error answers' TSIG, and multi-message answers.

use super::*;

const NOW: u64 = 1_764_633_600;

fn key(alg: Algorithm) -> Key {
    Key::new(
        &"xfr.example.".parse().unwrap(),
        alg,
        b"a secret of thirty-two octets!!!",
    )
}

/// A query for `example.com. SOA` (id 0x1234), no additional records.
fn query() -> Vec<u8> {
    let mut m = vec![0x12, 0x34, 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(b"\x07example\x03com\x00");
    m.extend_from_slice(&[0, 6, 0, 1]);
    m
}

fn lookup<'k>(k: &'k Key) -> impl Fn(&[u8]) -> Option<&'k Key> {
    move |name: &[u8]| k.is_named(name).then_some(k)
}

fn failed(c: Check<'_>) -> u16 {
    match c {
        Check::Failed(f) => f.error,
        other => panic!("not refused: {other:?}"),
    }
}

#[test]
fn every_algorithm_round_trips() {
    for alg in Algorithm::ALL {
        let k = key(alg);
        let mut q = query();
        let mac = sign(&mut q, &k, NOW, None);
        assert_eq!(mac.len(), alg.mac_len(), "{alg}");
        assert_eq!(q.len(), query().len() + k.record_len(), "{alg}: record_len");
        assert_eq!(
            u16::from_be_bytes([q[10], q[11]]),
            1,
            "ARCOUNT counts the TSIG"
        );
        match verify_request(&q, lookup(&k), NOW + 10).unwrap() {
            Check::Valid {
                key,
                mac: m,
                message,
            } => {
                assert_eq!(key.algorithm(), alg);
                assert_eq!(m, mac);
                assert_eq!(message, query(), "the message without its TSIG");
            }
            other => panic!("{alg}: {other:?}"),
        }
        // The answer, signed over the request's MAC, verifies at the client.
        let mut answer = query();
        answer[2] |= 0x80;
        Signer::new(&k, NOW, &mac).sign(&mut answer);
        let mut v = Verifier::new(&k, &mac, NOW);
        assert!(v.check(&answer).is_ok(), "{alg}");
        assert!(v.finished_signed());
        // Another request MAC: the answer does not verify.
        let mut v = Verifier::new(&k, &[0u8; 32], NOW);
        assert_eq!(v.check(&answer), Err(AnswerError::BadMac));
    }
}

#[test]
fn refusals_in_the_order_of_rfc_8945() {
    let k = key(Algorithm::HmacSha256);
    let mut q = query();
    sign(&mut q, &k, NOW, None);
    // Unknown key name, or the key under another algorithm: BADKEY.
    let other = Key::new(&"other.".parse().unwrap(), Algorithm::HmacSha256, b"x");
    assert_eq!(
        failed(verify_request(&q, lookup(&other), NOW).unwrap()),
        error::BADKEY
    );
    let same_name_sha512 = key(Algorithm::HmacSha512);
    assert_eq!(
        failed(verify_request(&q, lookup(&same_name_sha512), NOW).unwrap()),
        error::BADKEY
    );
    // Another secret, or one byte of the message changed: BADSIG.
    let wrong = Key::new(k.name(), Algorithm::HmacSha256, b"another secret");
    assert_eq!(
        failed(verify_request(&q, lookup(&wrong), NOW).unwrap()),
        error::BADSIG
    );
    let mut tampered = q.clone();
    tampered[13] = b'E';
    assert_eq!(
        failed(verify_request(&tampered, lookup(&k), NOW).unwrap()),
        error::BADSIG
    );
    // Outside the fudge: BADTIME (a valid MAC first).
    assert_eq!(
        failed(verify_request(&q, lookup(&k), NOW + u64::from(FUDGE) + 1).unwrap()),
        error::BADTIME
    );
    assert!(matches!(
        verify_request(&q, lookup(&k), NOW - u64::from(FUDGE)).unwrap(),
        Check::Valid { .. }
    ));
    // Unsigned is unsigned.
    assert!(matches!(
        verify_request(&query(), lookup(&k), NOW).unwrap(),
        Check::Unsigned
    ));
}

/// Rewrites the MAC of a signed message (same position) to its first `n` octets.
fn truncate_mac(msg: &[u8], n: usize) -> Vec<u8> {
    let rr = find(msg).unwrap().unwrap();
    let mut m = msg[..rr.start].to_vec();
    m[10..12].copy_from_slice(&0u16.to_be_bytes());
    let fields = RrFields {
        time_signed: rr.time_signed,
        mac: &rr.mac[..n],
        error: 0,
        other: &[],
    };
    append_rr(&mut m, &rr.key_name, &rr.algorithm, &fields);
    m
}

#[test]
fn truncated_and_oversized_macs() {
    let k = key(Algorithm::HmacSha256);
    let mut q = query();
    sign(&mut q, &k, NOW, None);
    assert_eq!(
        failed(verify_request(&truncate_mac(&q, 16), lookup(&k), NOW).unwrap()),
        error::BADTRUNC
    );
    assert_eq!(
        failed(verify_request(&truncate_mac(&q, 0), lookup(&k), NOW).unwrap()),
        error::BADSIG
    );
    // A MAC longer than SHA-256's: FORMERR.
    let mut long = query();
    let fields = RrFields {
        time_signed: NOW,
        mac: &[7u8; 40],
        error: 0,
        other: &[],
    };
    append_rr(&mut long, &k.name_wire, &k.algorithm.wire(), &fields);
    assert!(verify_request(&long, lookup(&k), NOW).is_err());
}

#[test]
fn malformed_messages_are_formerr_never_a_panic() {
    let k = key(Algorithm::HmacSha256);
    let mut q = query();
    sign(&mut q, &k, NOW, None);
    // The TSIG RR not last: an OPT after it.
    let mut not_last = q.clone();
    not_last.extend_from_slice(&[0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0]);
    not_last[11] = 2;
    assert!(find(&not_last).is_err());
    // Every truncation of a signed message.
    for n in 0..q.len() {
        let _ = verify_request(&q[..n], lookup(&k), NOW);
        let _ = Verifier::new(&k, &[], NOW).check(&q[..n]);
    }
    // A compression loop in the key name.
    let mut lp = query();
    lp[11] = 1;
    lp.extend_from_slice(&[0xC0, 29, 0, 250, 0, 255, 0, 0, 0, 0, 0, 0]);
    assert!(find(&lp).is_err());
}

#[test]
fn error_answers_follow_rfc_8945_section_5_3_2() {
    let k = key(Algorithm::HmacSha256);
    let mut q = query();
    let request_mac = sign(&mut q, &k, NOW, None);
    let answer = || {
        let mut a = query();
        a[2] |= 0x80;
        a[3] = (a[3] & 0xF0) | RCODE_NOTAUTH;
        a
    };
    // BADSIG: unsigned (empty MAC), the request's key and time; the client sees the error.
    let wrong = Key::new(k.name(), Algorithm::HmacSha256, b"another secret");
    let Check::Failed(f) = verify_request(&q, lookup(&wrong), NOW).unwrap() else {
        panic!()
    };
    assert_eq!(f.error_name(), "BADSIG");
    let mut a = answer();
    f.append_to(&mut a);
    let rr = find(&a).unwrap().unwrap();
    assert!(rr.mac.is_empty() && rr.error == error::BADSIG && rr.time_signed == NOW);
    assert_eq!(
        Verifier::new(&k, &request_mac, NOW).check(&a),
        Err(AnswerError::Refused("BADSIG"))
    );
    // BADTIME: signed with the key over the request's MAC, the request's time, and the
    // server's time in Other Data.
    let later = NOW + 3600;
    let Check::Failed(f) = verify_request(&q, lookup(&k), later).unwrap() else {
        panic!()
    };
    let mut a = answer();
    f.append_to(&mut a);
    let rr = find(&a).unwrap().unwrap();
    assert_eq!(rr.error, error::BADTIME);
    assert_eq!(rr.time_signed, NOW);
    assert_eq!(rr.other, later.to_be_bytes()[2..].to_vec());
    assert_eq!(rr.mac.len(), 32);
    assert_eq!(
        Verifier::new(&k, &request_mac, NOW).check(&a),
        Err(AnswerError::Refused("BADTIME")),
        "the BADTIME answer's MAC verifies, then the error is reported"
    );
    // BADKEY: unsigned, the name the request used.
    let other = Key::new(&"other.".parse().unwrap(), Algorithm::HmacSha256, b"x");
    let Check::Failed(f) = verify_request(&q, lookup(&other), NOW).unwrap() else {
        panic!()
    };
    assert_eq!(f.key_name(), "xfr.example.");
    let mut a = answer();
    f.append_to(&mut a);
    let rr = find(&a).unwrap().unwrap();
    assert!(rr.mac.is_empty() && rr.error == error::BADKEY);
}

#[test]
fn multi_message_answers_chain_their_macs() {
    let k = key(Algorithm::HmacSha384);
    let mut q = query();
    let request_mac = sign(&mut q, &k, NOW, None);
    let messages: Vec<Vec<u8>> = (0..5u8)
        .map(|i| {
            let mut m = query();
            m[1] = i; // distinct messages
            m[2] |= 0x80;
            m
        })
        .collect();
    // Every message signed: the first over the request MAC and the variables, each later one
    // over the prior MAC and the timers only.
    let mut s = Signer::new(&k, NOW, &request_mac);
    let mut prior = request_mac.clone();
    let mut v = Verifier::new(&k, &request_mac, NOW);
    for (i, plain) in messages.iter().enumerate() {
        let mut m = plain.clone();
        s.sign(&mut m);
        let rr = find(&m).unwrap().unwrap();
        let mut d = Digest::new(&k, Some(&prior));
        d.ctx.update(plain);
        if i == 0 {
            d.variables(NOW, FUDGE, 0, &[]);
        } else {
            d.timers(NOW, FUDGE);
        }
        assert_eq!(d.finish(), rr.mac, "message {i}");
        prior = rr.mac;
        assert_eq!(&v.check(&m).unwrap(), plain, "message {i}");
    }
    assert!(v.finished_signed());
}

#[test]
fn a_verifier_accepts_unsigned_messages_between_signed_ones() {
    let k = key(Algorithm::HmacSha256);
    let mut q = query();
    let request_mac = sign(&mut q, &k, NOW, None);
    let msg = |i: u8| {
        let mut m = query();
        m[0] = i;
        m[2] |= 0x80;
        m
    };
    // Message 0 signed, 1 and 2 unsigned, 3 signed over the prior MAC and 1..=3.
    let mut first = msg(0);
    let mac0 = sign(&mut first, &k, NOW, Some(&request_mac));
    let mut d = Digest::new(&k, Some(&mac0));
    d.ctx.update(&msg(1));
    d.ctx.update(&msg(2));
    d.ctx.update(&msg(3));
    d.timers(NOW, FUDGE);
    let mac3 = d.finish();
    let mut last = msg(3);
    let fields = RrFields {
        time_signed: NOW,
        mac: &mac3,
        error: 0,
        other: &[],
    };
    append_rr(&mut last, &k.name_wire, &k.algorithm.wire(), &fields);
    let mut v = Verifier::new(&k, &request_mac, NOW);
    assert_eq!(v.check(&first).unwrap(), msg(0));
    assert_eq!(v.check(&msg(1)).unwrap(), msg(1));
    assert!(!v.finished_signed());
    assert_eq!(v.check(&msg(2)).unwrap(), msg(2));
    assert_eq!(v.check(&last).unwrap(), msg(3));
    assert!(v.finished_signed());
    // The first message must be signed.
    assert_eq!(
        Verifier::new(&k, &request_mac, NOW).check(&msg(0)),
        Err(AnswerError::Unsigned)
    );
    // More than 99 unsigned in a row: refused.
    let mut v = Verifier::new(&k, &request_mac, NOW);
    v.check(&first).unwrap();
    for _ in 0..MAX_UNSIGNED_RUN {
        v.check(&msg(1)).unwrap();
    }
    assert_eq!(v.check(&msg(1)), Err(AnswerError::TooManyUnsigned));
}

#[test]
fn algorithm_names_and_debug_hide_the_secret() {
    assert_eq!(
        Algorithm::from_name("HMAC-SHA512."),
        Some(Algorithm::HmacSha512)
    );
    assert_eq!(Algorithm::from_name("hmac-md5"), None);
    let k = key(Algorithm::HmacSha1);
    let d = format!("{k:?}");
    assert!(d.contains("xfr.example.") && d.contains("HmacSha1"), "{d}");
    assert!(!d.contains("thirty-two"), "{d}");
}
