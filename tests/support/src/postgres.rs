//! PostgreSQL for the tests: a fresh database per test on the private server `tests/run`
//! starts (`tests/peers/postgres.sh`), dropped when the test ends.
//!
//! The server is named by `SWITCHBACK_TEST_POSTGRES` (a `postgres://` URL without a password)
//! and its password is in `SWITCHBACK_TEST_PGPASSWORD`. Without them, a test fails unless
//! `SWITCHBACK_SKIP_PEERS` names `postgres`.

use std::sync::atomic::{AtomicU32, Ordering};

use switchback_sql::{Location, PgTarget};

/// The server, and its password.
pub const URL_VAR: &str = "SWITCHBACK_TEST_POSTGRES";
pub const PASSWORD_VAR: &str = "SWITCHBACK_TEST_PGPASSWORD";

/// A database of its own for one test.
pub struct TestDatabase {
    admin: PgTarget,
    name: String,
    /// `postgres://user@host:port/NAME`: no password (give [`TestDatabase::password`] as
    /// `PGPASSWORD`).
    pub url: String,
    pub password: String,
}

impl TestDatabase {
    /// A new empty database; `None` when PostgreSQL is skipped.
    pub fn create() -> Option<TestDatabase> {
        let (Ok(url), Ok(password)) = (std::env::var(URL_VAR), std::env::var(PASSWORD_VAR)) else {
            crate::peers::unavailable(
                "postgres",
                "run tests/run, which starts one, or set SWITCHBACK_TEST_POSTGRES and \
                 SWITCHBACK_TEST_PGPASSWORD",
            );
            return None;
        };
        let pw = password.clone();
        let admin = PgTarget::parse(&url, move |k| (k == "PGPASSWORD").then(|| pw.clone()))
            .expect("SWITCHBACK_TEST_POSTGRES is a postgres:// URL");
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "t_{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        );
        switchback_sql::run_once(&admin, &format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
        let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
        Some(TestDatabase {
            url: format!("{base}/{name}"),
            admin,
            name,
            password,
        })
    }

    /// The store's location, password included.
    pub fn location(&self) -> Location {
        let pw = self.password.clone();
        Location::parse(&self.url, move |k| (k == "PGPASSWORD").then(|| pw.clone()))
            .expect("a test database URL")
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Run `sql` outside a transaction as the server's administrator (on the admin database).
    pub fn admin(&self, sql: &str) {
        switchback_sql::run_once(&self.admin, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// End every connection to this database that `application_name` is `app` on
    /// (`pg_terminate_backend`): a node cut off from the store. How many were ended.
    pub fn cut_off(&self, app: &str) -> usize {
        let Location::Postgres(t) = self.location() else {
            unreachable!("a PostgreSQL location")
        };
        let db = switchback_sql::Db::postgres(&t.with_application_name("switchback-tests"))
            .expect("connect to the test database");
        db.write(|tx| {
            tx.query(
                "SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity \
                 WHERE datname = ?1 AND application_name = ?2",
                switchback_sql::params![self.name.as_str(), app],
            )
            .map(|rows| rows.len())
        })
        .expect("pg_terminate_backend")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = switchback_sql::run_once(
            &self.admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}
