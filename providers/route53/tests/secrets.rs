//! AWS secret keys never reach logs (at every level, the SDK's included), error messages or
//! Debug output.
//!
//! The secret access key is redacted by the SDK everywhere. A session token is not: aws-sigv4
//! logs the canonical request and the SDK's orchestrator the request headers,
//! `x-amz-security-token` included, at TRACE. So the application's log filter must keep those
//! targets at INFO ([`switchback_route53::LOG_FILTER`]); with that filter, no token reaches the
//! logs.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use aws_sdk_route53::config::Credentials;
use common::Kind;
use switchback_api::{Change, Name, Provider, RType, RecordSet};
use switchback_route53::{Route53, Tuning};

const SECRET: &str = "Sb5ecretKEYdoNotLog0123456789abcdefghij";
const SESSION: &str = "Sb5essionTOKENdoNotLog0123456789";

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_in_logs_or_errors() {
    use tracing_subscriber::prelude::*;
    let all = Buf::default();
    let app = Buf::default();
    let (w1, w2) = (all.clone(), app.clone());
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || w1.clone())
                .with_filter(tracing_subscriber::filter::LevelFilter::TRACE),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || w2.clone())
                .with_filter(tracing_subscriber::EnvFilter::new(format!(
                    "trace,{}",
                    switchback_route53::LOG_FILTER
                ))),
        )
        .init();

    let Some(emu) = common::Emulator::start(Kind::Ministack) else {
        return;
    };
    let zone = common::unique_zone("secret");
    common::create_zone(&common::sdk(&emu.endpoint()), &zone, None).await;
    let creds = Credentials::new(
        "AKIDSWITCHBACKTEST",
        SECRET,
        Some(SESSION.into()),
        None,
        "test",
    );
    let p = Route53::with_credentials("r53", common::config(&emu.endpoint(), 200), creds.clone())
        .unwrap()
        .with_tuning(common::fast_tuning());
    let mut texts = vec![format!("{p:?}")];

    // Success, a refusal by Route 53, a refusal before sending, a missing zone.
    let rs = RecordSet::new(
        Name::parse("x", Some(&zone)).unwrap(),
        RType::A,
        60,
        ["192.0.2.1".to_string()],
    );
    p.apply(&zone, &[Change::Create { after: rs.clone() }])
        .await
        .unwrap();
    texts.push(
        p.apply(&zone, &[Change::Create { after: rs.clone() }])
            .await
            .unwrap_err()
            .to_string(),
    );
    let mut bad = rs.clone();
    bad.values[0].data = "300.1.1.1".into();
    texts.push(
        p.apply(&zone, &[Change::Create { after: bad }])
            .await
            .unwrap_err()
            .to_string(),
    );
    texts.push(
        p.read_zone(&"nowhere.test.".parse().unwrap())
            .await
            .unwrap_err()
            .to_string(),
    );
    // A dead endpoint: retried until the budget runs out.
    let dead = Route53::with_credentials(
        "dead",
        common::config(&format!("http://127.0.0.1:{}", common::free_port()), 200),
        creds,
    )
    .unwrap()
    .with_tuning(Tuning {
        retry_budget: std::time::Duration::from_millis(300),
        ..common::fast_tuning()
    });
    texts.push(dead.read_zone(&zone).await.unwrap_err().to_string());

    let all = String::from_utf8_lossy(&all.0.lock().unwrap()).to_string();
    let app = String::from_utf8_lossy(&app.0.lock().unwrap()).to_string();
    assert!(
        app.len() > 1000,
        "the SDK's trace logs were captured ({} bytes)",
        app.len()
    );
    assert!(
        !all.contains(SECRET),
        "the secret key leaked into the logs (unfiltered)"
    );
    if all.contains(SESSION) {
        eprintln!("note: the SDK logs the session token at TRACE; LOG_FILTER keeps it out");
    }
    let line = |t: &str, s: &str| {
        t.lines()
            .find(|l| l.contains(s))
            .unwrap_or("")
            .chars()
            .take(400)
            .collect::<String>()
    };
    for t in texts.iter().chain([&app]) {
        assert!(
            !t.contains(SECRET),
            "the secret key leaked: {}",
            line(t, SECRET)
        );
        assert!(
            !t.contains(SESSION),
            "the session token leaked: {}",
            line(t, SESSION)
        );
    }
    for t in &texts {
        assert!(
            !t.contains("AKIDSWITCHBACKTEST"),
            "an error shows the access key id: {t}"
        );
    }
}
