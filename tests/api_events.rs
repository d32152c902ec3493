//! Webhook events are recorded before their work, in the transaction that takes the
//! cutover's lease (DESIGN.md "HTTP API"): `serve` killed between the work and the answer
//! (at every point where a crash can fall), then the same event sent again to a new `serve`,
//! finishes the step instead of repeating it; a failback event never advances two stages; one
//! event id sent for two cutovers at once runs once.

mod common;

use common::api::{ApiServe, post};
use common::cli::CliEnv;
use serde_json::Value;

const ZONE: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.80\napi A 192.0.2.90\n";
const TOKEN: &str = "events-test-token-3b9d";

fn rest() -> String {
    let cutover = |name: &str, record: &str| {
        format!(
            "[[cutover]]\nname = \"{name}\"\nprovider = \"builtin\"\nzone = \"example.com\"\n\
             steering = \"weighted\"\nsoak = \"0s\"\nfailback_stages = [10, 50, 100]\n\
             [[cutover.record]]\nname = \"{record}.example.com.\"\ntype = \"A\"\nrecovery = [\"198.51.100.1\"]\n"
        )
    };
    format!(
        // A crash must come before the answer: on a loaded machine the work can outlast
        // the default second, and a 202 would be the answer.
        "[api]\ntoken_env = \"SB_EVENTS_TOKEN\"\nhook_wait = \"30s\"\n\n{}\n{}",
        cutover("web", "www"),
        cutover("api", "api")
    )
}

fn serve(dir: &std::path::Path, fault: Option<&str>) -> ApiServe {
    let mut env = vec![("SB_EVENTS_TOKEN", TOKEN)];
    if let Some(f) = fault {
        env.push(("SWITCHBACK_FAULT", f));
    }
    ApiServe::start(dir, &rest(), &env)
}

fn hook(s: &ApiServe, route: &str, body: &str) -> (u16, Value, bool) {
    post(s.api_port, &format!("/v1/hooks/{route}"), TOKEN, body)
}

#[test]
fn a_crash_between_the_work_and_the_answer_is_finished_not_repeated() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("zones")).unwrap();
    std::fs::write(dir.path().join("zones/example.com.zone"), ZONE).unwrap();
    // The config is written by the first serve.
    drop(serve(dir.path(), None));
    let cli = CliEnv::at(
        common::BIN,
        tempfile::tempdir().unwrap(),
        dir.path().join("switchback.toml"),
    );
    let stage = |cli: &CliEnv| cli.status("web")["stage"].as_u64().unwrap();
    let mut next_stage = 0;
    // Each crash point of a step, for failovers and failback stages.
    for (i, (route, fault)) in [
        ("post-recovery", "failover:after-snapshot"),
        ("post-recovery", "failover:after-apply"),
        ("post-recovery", "hook:after-work"),
        ("failback", "failback:after-intent"),
        ("failback", "failback:after-apply"),
        ("failback", "hook:after-work"),
    ]
    .into_iter()
    .enumerate()
    {
        let body = format!(r#"{{"event_id": "e-{i}", "cutover": "web"}}"#);
        if route == "post-recovery" && cli.status("web")["state"] == "failed-over" {
            // A failover event needs a restored cutover: restore it (another event).
            let s = serve(dir.path(), None);
            let (st, v, _) = hook(
                &s,
                "failback",
                &format!(r#"{{"event_id": "e-restore-{i}", "cutover": "web", "stage": "all"}}"#),
            );
            assert_eq!(st, 200, "{v}");
            drop(s);
        }
        let before_snaps = cli.json(&["snapshot", "list"]).as_array().unwrap().len();
        let before_stage = if route == "failback" { stage(&cli) } else { 0 };
        // The first request: serve dies at `fault`, no answer.
        let s = serve(dir.path(), Some(fault));
        let (st, v, _) = hook(&s, route, &body);
        assert_eq!(st, 0, "{fault}: serve should have died: {st} {v}");
        drop(s);
        // The same event again, to a new serve: finished, once.
        let s = serve(dir.path(), None);
        let (st, v, replay) = hook(&s, route, &body);
        assert_eq!(st, 200, "{fault}: {v}\n{}", s.log_text());
        assert!(!replay, "{fault}: the first answer was never given");
        let status = cli.status("web");
        if route == "post-recovery" {
            assert_eq!(status["state"], "failed-over", "{fault}: {status}");
            // The cutover's snapshot is of the records before the failover (a crash right
            // after the snapshot, before any state, leaves that one aside: nothing used it).
            let id = status["snapshots"][0]["id"].as_str().unwrap().to_string();
            assert_eq!(
                cli.snapshot_values(&id, "www.example.com.", "A"),
                ["192.0.2.80"],
                "{fault}"
            );
            let snaps = cli.json(&["snapshot", "list"]).as_array().unwrap().len();
            assert!(snaps <= before_snaps + 2, "{fault}: {snaps} snapshots");
        } else {
            next_stage = before_stage + 1;
            assert_eq!(
                stage(&cli),
                next_stage,
                "{fault}: one stage per event: {status}"
            );
        }
        // And again: the stored answer, nothing done.
        let (st2, v2, replay) = hook(&s, route, &body);
        assert_eq!(st2, 200, "{v2}");
        assert!(replay, "{fault}: {v2}");
        if route == "failback" {
            assert_eq!(stage(&cli), next_stage);
        }
        // Nothing half-done is left behind.
        assert!(cli.status("web")["intent"].is_null());
        drop(s);
    }
}

#[test]
fn one_event_id_for_two_cutovers_at_once_runs_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("zones")).unwrap();
    std::fs::write(dir.path().join("zones/example.com.zone"), ZONE).unwrap();
    let s = serve(dir.path(), None);
    for round in 0..5 {
        let port = s.api_port;
        let send = |cutover: &'static str| {
            std::thread::spawn(move || {
                post(
                    port,
                    "/v1/hooks/pre-recovery",
                    TOKEN,
                    &format!(r#"{{"event_id": "same-{round}", "cutover": "{cutover}"}}"#),
                )
            })
        };
        let (a, b) = (send("web"), send("api"));
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        let ok = [&a, &b].iter().filter(|r| r.0 == 200 || r.0 == 202).count();
        assert_eq!(ok, 1, "round {round}: {a:?} {b:?}");
        let other = if a.0 == 409 { &a } else { &b };
        assert_eq!(other.0, 409, "round {round}: {a:?} {b:?}");
        let d = other.1["detail"].as_str().unwrap_or("");
        assert!(
            d.contains("another body") || d.starts_with("held by"),
            "round {round}: {other:?}"
        );
    }
}
