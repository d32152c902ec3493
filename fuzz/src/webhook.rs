//! The webhook target: the first byte picks the hook (pre-recovery, post-recovery, failback);
//! the rest is a signature header line and the body after the first newline. The body is read
//! or refused with a 4xx; the header is checked without a panic; a signature made for one
//! hook's path holds there and nowhere else.

use switchback::http::auth::{self, Secrets};
use switchback::http::webhook;

const ROUTES: [&str; 3] = ["pre-recovery", "post-recovery", "failback"];
const NOW: i64 = 1_800_000_000;

pub fn run(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let route = ROUTES[usize::from(sel) % ROUTES.len()];
    let (header, body) = match rest.iter().position(|b| *b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (&[][..], rest),
    };
    if let Err(e) = webhook::check_body(route, body) {
        assert!(
            e.status.is_client_error(),
            "{} for a body: {body:?}",
            e.status
        );
        assert!(!e.detail.is_empty(), "an error without detail: {body:?}");
    }
    let secrets = Secrets {
        token: None,
        webhook_secret: Some(b"fuzz-secret".to_vec()),
    };
    let path = format!("/v1/hooks/{route}");
    if let Ok(header) = std::str::from_utf8(header) {
        let _ = auth::check_signature(&secrets, header, &path, body, NOW);
    }
    let signed = auth::sign(b"fuzz-secret", NOW, &path, body);
    assert!(auth::check_signature(&secrets, &signed, &path, body, NOW).is_ok());
    let other = format!(
        "/v1/hooks/{}",
        ROUTES[(usize::from(sel) + 1) % ROUTES.len()]
    );
    assert!(
        auth::check_signature(&secrets, &signed, &other, body, NOW).is_err(),
        "a signature for {path} holds for {other}"
    );
}
