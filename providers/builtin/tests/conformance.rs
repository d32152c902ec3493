//! The provider conformance battery on the built-in provider (state file in a temp dir).

use switchback_api::testkit::Fixture;
use switchback_builtin::Builtin;

switchback_api::conformance_battery!(builtin);

async fn builtin() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let zones = dir.path().join("zones");
    std::fs::create_dir(&zones).unwrap();
    std::fs::write(
        zones.join("example.test.zone"),
        "$ORIGIN example.test.\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\nns A 192.0.2.53\n",
    )
    .unwrap();
    let b = Builtin::open("builtin", &zones, dir.path().join("state.db")).unwrap();
    Fixture::new(b, "example.test.".parse().unwrap()).with_guard(dir)
}
