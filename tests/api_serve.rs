//! The HTTP API as `switchback serve` runs it: on `[server] api`, next to DNS, with the DNS
//! counters in `/metrics`; refused on a non-loopback address without a token.

mod common;

use std::time::Duration;

use common::{Question, Switchback, SwitchbackOptions, free_port, test_data};
use hickory_proto::rr::RecordType;

fn zones() -> std::path::PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    std::fs::write(
        dir.join("example.com.zone"),
        "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.80\n",
    )
    .unwrap();
    let _ = test_data;
    dir
}

#[test]
fn serve_runs_the_api_with_dns_metrics() {
    let port = free_port();
    let mut opts = SwitchbackOptions::new(&zones());
    opts.extra_server_toml = format!("api = \"127.0.0.1:{port}\"");
    let sb = Switchback::start_with(opts);
    for name in ["www.example.com.", "nope.example.com."] {
        sb.query(&Question::new(name, RecordType::A)).unwrap();
    }
    // Over TCP too: counted with the UDP ones, per zone.
    sb.query(&Question::new("www.example.com.", RecordType::A).tcp())
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let get = |p: &str| {
        rt.block_on(async {
            let r = client.get(format!("{base}{p}")).send().await?;
            let s = r.status().as_u16();
            Ok::<_, reqwest::Error>((s, r.text().await?))
        })
    };
    let mut ok = false;
    for _ in 0..50 {
        if let Ok((s, _)) = get("/healthz") {
            ok = s == 200;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(ok, "no /healthz\n{}", sb.log_text());
    let (_, m) = get("/metrics").unwrap();
    for needle in [
        "switchback_dns_responses_total{rcode=\"NOERROR\"}",
        "switchback_dns_responses_total{rcode=\"NXDOMAIN\"} 1",
        "switchback_dns_answer_seconds_count",
        "switchback_dns_rrl_dropped_total 0",
        "switchback_dns_queries_total{zone=\"example.com.\",rcode=\"NXDOMAIN\"} 1",
    ] {
        assert!(m.contains(needle), "{needle} not in\n{m}");
    }
    // Per zone: the UDP and the TCP query for www (and the start-up probe of the harness).
    let value = |series: &str| -> u64 {
        m.lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{series} not in\n{m}"))
    };
    let zone_ok = value("switchback_dns_queries_total{zone=\"example.com.\",rcode=\"NOERROR\"}");
    assert!(zone_ok >= 2, "{m}");
    assert_eq!(
        zone_ok,
        value("switchback_dns_responses_total{rcode=\"NOERROR\"}"),
        "every NOERROR was for example.com.\n{m}"
    );
    // No token configured: /v1 says so.
    let (s, body) = get("/v1/cutovers").unwrap();
    assert_eq!(s, 401);
    assert!(body.contains("no API token is configured"), "{body}");
}

#[test]
fn serve_refuses_a_public_api_without_a_token() {
    let port = free_port();
    let mut opts = SwitchbackOptions::new(&zones());
    opts.extra_server_toml = format!("api = \"0.0.0.0:{port}\"");
    let e = Switchback::try_start(&opts).err().expect("serve started");
    assert!(e.contains("no API token"), "{e}");
}
