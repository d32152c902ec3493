//! The provider conformance battery on the built-in provider, on both state stores: a SQLite
//! file in a temp dir, and a fresh database on the PostgreSQL server `tests/run` starts.

use switchback_api::testkit::Fixture;
use switchback_builtin::Builtin;
use switchback_testsupport::postgres::TestDatabase;

switchback_api::conformance_battery!(builtin);
switchback_api::conformance_battery!(builtin_on_postgres, builtin_postgres);

const ZONE: &str = "$ORIGIN example.test.\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\nns A 192.0.2.53\n";

fn zones(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let zones = dir.path().join("zones");
    std::fs::create_dir(&zones).unwrap();
    std::fs::write(zones.join("example.test.zone"), ZONE).unwrap();
    zones
}

async fn builtin() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let b = Builtin::open("builtin", zones(&dir), dir.path().join("state.db")).unwrap();
    Fixture::new(b, "example.test.".parse().unwrap()).with_guard(dir)
}

async fn builtin_postgres() -> Option<Fixture> {
    let pg = TestDatabase::create()?;
    let dir = tempfile::tempdir().unwrap();
    let b = Builtin::open("builtin", zones(&dir), pg.location()).unwrap();
    Some(Fixture::new(b, "example.test.".parse().unwrap()).with_guard((dir, pg)))
}
