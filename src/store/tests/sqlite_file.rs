//! What only a SQLite file can suffer: it is created private and in WAL mode; a file that is
//! not a SQLite database, or a damaged one, is refused untouched.

use super::*;

#[test]
fn fresh_store_is_created_with_parents_in_wal_mode() {
    let dir = tmp();
    let path = dir.path().join("a/b/state.db");
    let store = Store::open(&path).unwrap();
    assert!(path.is_file());
    assert_eq!(store.path(), path.display().to_string());
    assert_eq!(store.schema_version().unwrap(), schema::SCHEMA_VERSION);
    assert!(store.list_snapshots(None, None).unwrap().is_empty());
    assert!(store.runs(10).unwrap().is_empty());
    assert!(store.unfinished_runs().unwrap().is_empty());
    assert!(store.audit_log(10).unwrap().is_empty());
    drop(store);
    let raw = rusqlite::Connection::open(&path).unwrap();
    let mode: String = raw
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "state file is private: {mode:o}");
    }
}

fn assert_untouched(path: &Path, before: &[u8]) {
    assert_eq!(
        fs::read(path).unwrap(),
        before,
        "{} was modified",
        path.display()
    );
}

#[test]
fn garbage_file_is_refused_untouched() {
    let dir = tmp();
    let path = dir.path().join("state.db");
    let garbage: Vec<u8> = (0..10_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    fs::write(&path, &garbage).unwrap();
    let e = Store::open(&path).unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("refusing to touch it"), "{msg}");
    assert_untouched(&path, &garbage);
    assert!(!dir.path().join("state.db-wal").exists());

    // A short text file.
    fs::write(&path, b"hello\n").unwrap();
    assert!(matches!(
        Store::open(&path),
        Err(StoreError::Corrupt { .. })
    ));
    assert_untouched(&path, b"hello\n");
}

#[test]
fn damaged_database_is_refused_untouched() {
    let dir = tmp();
    let path = dir.path().join("state.db");
    {
        let s = Store::open(&path).unwrap();
        s.create_snapshot("site", &rich_zone(), None).unwrap();
    }
    // Keep the SQLite header, ruin everything after it (the schema lives on page 1).
    let mut bytes = fs::read(&path).unwrap();
    for (i, b) in bytes.iter_mut().enumerate().skip(100) {
        *b = (i * 7 + 3) as u8;
    }
    fs::write(&path, &bytes).unwrap();
    let e = Store::open(&path).unwrap_err();
    eprintln!("{e}");
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}");
    assert!(e.to_string().contains(&path.display().to_string()));
    assert_untouched(&path, &bytes);
}

#[test]
fn damage_inside_a_snapshot_is_reported_as_corrupt() {
    let dir = tmp();
    let path = dir.path().join("state.db");
    let id = {
        let s = Store::open(&path).unwrap();
        s.check().unwrap();
        s.create_snapshot("site", &big_zone(3_000), None)
            .unwrap()
            .id
    };
    // Ruin the overflow pages holding the snapshot's JSON: from a record in its middle, 64 KiB
    // on (several pages, whatever the page size, with their links to the next page).
    let mut bytes = fs::read(&path).unwrap();
    let needle = b"host-1500.big.example.";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the snapshot's JSON is in the file");
    let end = (at + 64 * 1024).min(bytes.len());
    for (i, b) in bytes[at..end].iter_mut().enumerate() {
        *b = (i * 13 + 5) as u8;
    }
    fs::write(&path, &bytes).unwrap();
    match Store::open(&path) {
        Err(e) => assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}"),
        Ok(s) => {
            let e = s.snapshot(&id).unwrap_err();
            assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}");
            assert!(e.to_string().contains(&path.display().to_string()), "{e}");
            assert!(matches!(s.check(), Err(StoreError::Corrupt { .. })));
        }
    }
}
