//! The PostgreSQL state store over TLS with the one TLS stack (rustls on aws-lc-rs): with
//! `sslmode=verify-full` and the server's CA (`sslrootcert`), the connection is encrypted and
//! the server verified; a server the roots do not vouch for is refused, naming the server and
//! never the password.

use switchback::store::Store;
use switchback_sql::Location;
use switchback_testsupport::postgres::TestDatabase;

fn location(url: &str, password: &str) -> Location {
    let pw = password.to_string();
    Location::parse(url, move |k| (k == "PGPASSWORD").then(|| pw.clone())).unwrap()
}

#[test]
fn the_store_connects_over_verified_tls_and_refuses_an_unverified_server() {
    let Some(pg) = TestDatabase::create() else {
        return;
    };
    let Ok(ca) = std::env::var("SWITCHBACK_TEST_PG_CA") else {
        switchback_testsupport::peers::unavailable(
            "postgres",
            "SWITCHBACK_TEST_PG_CA names the CA of the test server's certificate (tests/run)",
        );
        return;
    };
    let verified = format!("{}?sslmode=verify-full&sslrootcert={ca}", pg.url);
    let store = Store::open(location(&verified, &pg.password)).unwrap();
    let ssl = store
        .db()
        .read(|tx| {
            tx.query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                switchback_sql::params![],
            )?
            .int(0)
        })
        .unwrap();
    assert_eq!(ssl, 1, "the connection is encrypted");
    let meta = store
        .create_snapshot(
            "builtin",
            &switchback_api::Zone::new("example.com.".parse().unwrap(), vec![]),
            Some("over tls"),
        )
        .unwrap();
    assert_eq!(store.snapshot(&meta.id).unwrap().meta, meta);

    // The system's roots do not know the test CA.
    let unverified = format!("{}?sslmode=verify-full", pg.url);
    let e = Store::open(location(&unverified, &pg.password))
        .unwrap_err()
        .to_string();
    eprintln!("{e}");
    assert!(e.contains("127.0.0.1"), "{e}");
    assert!(e.to_ascii_lowercase().contains("certificate"), "{e}");
    assert!(!e.contains(&pg.password), "{e}");
    // A CA file that is not there: refused before any connection, naming the key.
    let missing = format!(
        "{}?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
        pg.url
    );
    let e = Location::parse(&missing, |_| None).unwrap_err().to_string();
    assert!(e.contains("sslrootcert"), "{e}");
}
