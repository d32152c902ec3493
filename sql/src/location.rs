//! Where the state store is: a SQLite file, or a PostgreSQL server named by a `postgres://` URL.
//!
//! The password of a URL comes, as libpq's does, from the URL itself, `PGPASSWORD`, or a
//! password file (`passfile=` in the URL, `PGPASSFILE`, or `~/.pgpass`; lines
//! `host:port:database:user:password` with `*` for any). It is never shown: a target displays
//! as `postgres://user@host:port/database`.
//!
//! TLS (`sslmode`): `disable`, `allow` and `prefer` connect in plain text; `require`,
//! `verify-ca` and `verify-full` connect over rustls and verify the server's certificate
//! against `sslrootcert` (a PEM file) or the system's roots. That is stricter than libpq's
//! `require`, which encrypts without verifying: an unverified server could be anyone.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use tokio_postgres::config::Host;

use crate::SqlError;

/// Where a state store lives.
#[derive(Debug, Clone)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(Box<PgTarget>),
}

impl Location {
    /// A `postgres://` or `postgresql://` URL, or a file path (relative ones are left as they
    /// are). `env` looks up environment variables (`PGPASSWORD`, `PGPASSFILE`, `HOME`).
    pub fn parse(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Location, SqlError> {
        if is_postgres_url(text) {
            PgTarget::parse(text, env).map(|t| Location::Postgres(Box::new(t)))
        } else {
            Ok(Location::Sqlite(PathBuf::from(text)))
        }
    }

    /// How to show it (no password).
    pub fn display(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres(t) => t.display.clone(),
        }
    }
}

impl From<&Path> for Location {
    fn from(p: &Path) -> Location {
        Location::Sqlite(p.to_path_buf())
    }
}

impl From<PathBuf> for Location {
    fn from(p: PathBuf) -> Location {
        Location::Sqlite(p)
    }
}

impl From<&PathBuf> for Location {
    fn from(p: &PathBuf) -> Location {
        Location::Sqlite(p.clone())
    }
}

impl From<&Location> for Location {
    fn from(l: &Location) -> Location {
        l.clone()
    }
}

/// Whether `text` names a PostgreSQL server rather than a file.
pub fn is_postgres_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

/// A PostgreSQL server to connect to.
#[derive(Clone)]
pub struct PgTarget {
    pub(crate) config: tokio_postgres::Config,
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
    display: String,
}

impl std::fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display)
    }
}

impl std::fmt::Display for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display)
    }
}

/// The URL's own parameters that tokio-postgres does not know.
const OURS: &[&str] = &["passfile", "sslmode", "sslrootcert"];

impl PgTarget {
    /// Parse a `postgres://` URL (see the module docs for the password and TLS).
    pub fn parse(url: &str, env: impl Fn(&str) -> Option<String>) -> Result<PgTarget, SqlError> {
        let bad = |m: String| SqlError::Config(format!("state: {m}"));
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut kept = Vec::new();
        let (mut passfile, mut sslmode, mut rootcert) = (None, None, None);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(v);
            match k {
                "passfile" => passfile = Some(PathBuf::from(value)),
                "sslmode" => sslmode = Some(value),
                "sslrootcert" => rootcert = Some(PathBuf::from(value)),
                _ if OURS.contains(&k) => {}
                _ => kept.push(pair),
            }
        }
        let rebuilt = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        let mut config = tokio_postgres::Config::from_str(&rebuilt).map_err(|e| {
            // The driver's message names the problem, not the URL; drop anything that could
            // still be the password all the same.
            bad(format!(
                "not a valid postgres:// URL: {}",
                scrub(&e.to_string(), url)
            ))
        })?;
        let user = config
            .get_user()
            .map(str::to_string)
            .or_else(|| env("PGUSER"))
            .or_else(|| env("USER"))
            .unwrap_or_else(|| "postgres".into());
        config.user(&user);
        let (host, port) = (
            config
                .get_hosts()
                .first()
                .map(|h| match h {
                    Host::Tcp(h) => h.clone(),
                    Host::Unix(p) => p.display().to_string(),
                })
                .unwrap_or_else(|| "localhost".into()),
            config.get_ports().first().copied().unwrap_or(5432),
        );
        let dbname = config
            .get_dbname()
            .map(str::to_string)
            .unwrap_or_else(|| user.clone());
        if config.get_password().is_none() {
            if let Some(p) = env("PGPASSWORD").filter(|p| !p.is_empty()) {
                config.password(p);
            } else {
                let file = passfile
                    .or_else(|| env("PGPASSFILE").map(PathBuf::from))
                    .or_else(|| env("HOME").map(|h| Path::new(&h).join(".pgpass")));
                if let Some(p) =
                    file.and_then(|f| password_from_file(&f, &host, port, &dbname, &user))
                {
                    config.password(p);
                }
            }
        }
        let tls = match sslmode.as_deref().unwrap_or("prefer") {
            "disable" | "allow" | "prefer" => None,
            "require" | "verify-ca" | "verify-full" => {
                config.ssl_mode(tokio_postgres::config::SslMode::Require);
                Some(Arc::new(tls_config(rootcert.as_deref())?))
            }
            other => return Err(bad(format!("unknown sslmode {other:?}"))),
        };
        if tls.is_none() {
            config.ssl_mode(tokio_postgres::config::SslMode::Disable);
        }
        Ok(PgTarget {
            config,
            tls,
            display: format!("postgres://{user}@{host}:{port}/{dbname}"),
        })
    }

    /// This target with another database name (the tests' fresh databases, `store migrate`).
    pub fn with_dbname(&self, dbname: &str) -> PgTarget {
        let mut t = self.clone();
        t.config.dbname(dbname);
        let user = t.config.get_user().unwrap_or("").to_string();
        let (_, rest) = self.display.split_once('@').unwrap_or(("", &self.display));
        let hostport = rest.split('/').next().unwrap_or("");
        t.display = format!("postgres://{user}@{hostport}/{dbname}");
        t
    }

    /// The same target, connecting as `name` (shown in `pg_stat_activity`).
    pub fn with_application_name(&self, name: &str) -> PgTarget {
        let mut t = self.clone();
        t.config.application_name(name);
        t
    }
}

/// `s` with every occurrence of the URL's password part replaced.
fn scrub(s: &str, url: &str) -> String {
    let secret = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(auth, _)| auth.split_once(':'))
        .map(|(_, p)| p)
        .filter(|p| !p.is_empty());
    match secret {
        Some(p) => s.replace(p, "***"),
        None => s.to_string(),
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The password for (host, port, database, user) in a libpq password file. A file others may
/// read is ignored, as libpq does.
fn password_from_file(
    file: &Path,
    host: &str,
    port: u16,
    dbname: &str,
    user: &str,
) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                file = %file.display(),
                "password file has group or world access; ignored (chmod 0600 it)"
            );
            return None;
        }
    }
    let text = std::fs::read_to_string(file).ok()?;
    let port = port.to_string();
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .find_map(|line| {
            let f = split_pgpass(line);
            if f.len() != 5 {
                return None;
            }
            let hit = |field: &str, want: &str| field == "*" || field == want;
            let host_hit = hit(&f[0], host)
                || (f[0] == "localhost" && (host.starts_with('/') || host == "127.0.0.1"));
            (host_hit && hit(&f[1], &port) && hit(&f[2], dbname) && hit(&f[3], user))
                .then(|| f[4].clone())
        })
}

/// A password file line's fields (`:` separates, `\` escapes).
fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    if let Some(f) = fields.last_mut() {
                        f.push(n);
                    }
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            _ => {
                if let Some(f) = fields.last_mut() {
                    f.push(c)
                }
            }
        }
    }
    fields
}

fn tls_config(rootcert: Option<&Path>) -> Result<rustls::ClientConfig, SqlError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let bad = |m: String| SqlError::Config(format!("state: sslrootcert: {m}"));
    let mut roots = rustls::RootCertStore::empty();
    match rootcert {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| bad(format!("{}: {e}", path.display())))?;
            for c in certs {
                let c = c.map_err(|e| bad(format!("{}: {e}", path.display())))?;
                roots
                    .add(c)
                    .map_err(|e| bad(format!("{}: {e}", path.display())))?;
            }
        }
        None => {
            for c in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(c);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SqlError::Config(format!("state: TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn a_url_shows_without_its_password() {
        let t = PgTarget::parse("postgres://sb:s3cret@db.example:6543/state", none).unwrap();
        assert_eq!(t.to_string(), "postgres://sb@db.example:6543/state");
        assert!(!format!("{t:?}").contains("s3cret"));
        assert_eq!(t.config.get_password(), Some(&b"s3cret"[..]));
    }

    #[test]
    fn the_password_comes_from_pgpassword_then_the_passfile() {
        let env = |k: &str| (k == "PGPASSWORD").then(|| "fromenv".to_string());
        let t = PgTarget::parse("postgres://sb@127.0.0.1:5432/state", env).unwrap();
        assert_eq!(t.config.get_password(), Some(&b"fromenv"[..]));

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(
            &file,
            "# comment\nother:*:*:*:no\n127.0.0.1:5432:state:sb:pa\\:ss\n",
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let url = format!(
            "postgres://sb@127.0.0.1:5432/state?passfile={}",
            file.display()
        );
        let t = PgTarget::parse(&url, none).unwrap();
        assert_eq!(t.config.get_password(), Some(&b"pa:ss"[..]));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
            let t = PgTarget::parse(&url, none).unwrap();
            assert_eq!(
                t.config.get_password(),
                None,
                "a readable passfile is ignored"
            );
        }
    }

    #[test]
    fn bad_urls_are_refused_without_the_password() {
        let e = PgTarget::parse("postgres://sb:hunter2@h:notaport/db", none)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("state: "), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let e = PgTarget::parse("postgres://h/db?sslmode=sometimes", none)
            .unwrap_err()
            .to_string();
        assert!(e.contains("sslmode"), "{e}");
    }

    #[test]
    fn paths_are_sqlite() {
        assert!(matches!(
            Location::parse(".switchback/state.db", none).unwrap(),
            Location::Sqlite(_)
        ));
        assert!(matches!(
            Location::parse("postgresql://h/db", none).unwrap(),
            Location::Postgres(_)
        ));
    }
}
