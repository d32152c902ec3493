//! The zone-file target: the bytes as master-file text for `example.`. An error names a line
//! of the text (or 0, the file as a whole) and says something; a zone read without error is
//! written out by `switchback zone export`'s writer and read back to the same zone.

use std::path::Path;

use switchback_api::Name;
use switchback_api::zonefile::{self, write_zone};

pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // `$INCLUDE` may read nothing: its root does not exist.
    let root = Path::new("/nonexistent/switchback-fuzz");
    let file = root.join("fuzz.zone");
    let origin: Name = "example.".parse().unwrap();
    let lines = text.lines().count() + 1;
    match zonefile::load_str(text, &file, &origin, root) {
        Err(errors) => {
            assert!(!errors.is_empty(), "an error with no message: {text:?}");
            for e in &errors {
                assert!(!e.message.is_empty(), "an empty error message: {text:?}");
                if e.file == file {
                    assert!(e.line <= lines, "{e} is past the end of {text:?}");
                }
            }
        }
        Ok(zone) => {
            let written = write_zone(&zone);
            let again = zonefile::load_str(&written, &file, &origin, root).unwrap_or_else(|e| {
                panic!("the written zone does not read back: {e:?}\nread: {text:?}\nwritten: {written:?}")
            });
            assert_eq!(
                zone, again,
                "the zone changed on its way through the writer: {text:?} -> {written:?}"
            );
        }
    }
}
