use std::fs;
use std::path::{Path, PathBuf};

mod check;
mod write;

use proptest::prelude::*;

use super::*;
use crate::token::tokenize;

fn origin() -> Name {
    "example.com.".parse().unwrap()
}

fn nowhere() -> &'static Path {
    Path::new("/nonexistent-switchback-root")
}

/// Read errors of `text` as `file:line: message` lines (file "z.zone").
fn read_errors(text: &str) -> Vec<String> {
    match parse_str(text, Path::new("z.zone"), &origin(), nowhere()) {
        Ok(z) => panic!("expected errors, got {z:?}"),
        Err(errs) => errs.iter().map(ToString::to_string).collect(),
    }
}

/// All errors (read and check) of `text` as `file:line: message` lines.
fn load_errors(text: &str) -> Vec<String> {
    match load_str(text, Path::new("z.zone"), &origin(), nowhere()) {
        Ok(z) => panic!("expected errors, got {z:?}"),
        Err(errs) => errs.iter().map(ToString::to_string).collect(),
    }
}

fn parse_ok(text: &str) -> ParsedZone {
    parse_str(text, Path::new("z.zone"), &origin(), nowhere()).unwrap_or_else(|e| panic!("{e:#?}"))
}

fn load_ok(text: &str) -> Zone {
    load_str(text, Path::new("z.zone"), &origin(), nowhere()).unwrap_or_else(|e| panic!("{e:#?}"))
}

fn n(s: &str) -> Name {
    s.parse().unwrap()
}

/// Canonical form of `text` according to the RDATA codec.
fn canon(rtype: RType, text: &str) -> String {
    let wire = rdata::parse(rtype, &tokenize(text).unwrap(), &origin()).unwrap();
    rdata::format(rtype, &wire).unwrap()
}

const HEAD: &str =
    "$TTL 3600\n@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n  IN NS ns1\nns1 IN A 192.0.2.1\n";

const REALISTIC: &str = "; example.com, as an operator would write it\r
$ORIGIN example.com.\r
$TTL 1h\r
@   IN SOA ns1 hostmaster (\r
        2024010101 ; serial\r
        2h         ; refresh\r
        1h         ; retry\r
        2w         ; expire\r
        300 )      ; minimum\r
    IN NS ns1\r
    IN NS ns2.example.net.\r
    IN MX 10 mail\r
    IN MX 20 mail.example.net.\r
    IN TXT \"v=spf1 mx -all\"\r
ns1 IN A 192.0.2.1\r
    IN AAAA 2001:db8::1\r
mail 300 IN A 192.0.2.2\r
     IN 300 A 192.0.2.3\r
www IN CNAME @\r
txt IN TXT \"semi;colon (paren)\" \"quote\\\"d\" \"tab\\009x\" plain\r
long IN TXT ( \"part one\"\r
              \"part two\" )\r
_sip._tcp 600 IN SRV 10 60 5060 sip\r
sip 600 A 192.0.2.10\r
sub IN NS ns.sub\r
ns.sub IN A 192.0.2.53\r
caa IN CAA 0 issue \"letsencrypt.org\"\r
*.wild IN A 192.0.2.9\r
$ORIGIN other.example.com.\r
host IN A 192.0.2.77\r
@ IN TXT \"at other\"";

// ---------------------------------------------------------------------------------------
// Lexing and reading (no RDATA needed)

#[test]
fn unknown_type() {
    assert_eq!(
        read_errors("$TTL 300\nwww IN BOGUS x\n"),
        ["z.zone:2: unknown record type \"BOGUS\""]
    );
}

#[test]
fn class_other_than_in() {
    assert_eq!(
        read_errors("www CH A 192.0.2.1"),
        ["z.zone:1: class CH is not supported (only IN)"]
    );
    assert_eq!(
        read_errors("www 300 hs A 192.0.2.1"),
        ["z.zone:1: class HS is not supported (only IN)"]
    );
    assert_eq!(
        read_errors("www CLASS3 A 192.0.2.1"),
        ["z.zone:1: class CLASS3 is not supported (only IN)"]
    );
    assert_eq!(
        read_errors("www ANY A 192.0.2.1"),
        ["z.zone:1: class ANY is not supported (only IN)"]
    );
}

#[test]
fn bad_ttl() {
    assert_eq!(
        read_errors("www 1x IN A 192.0.2.1"),
        ["z.zone:1: bad TTL \"1x\": expected seconds or a duration such as 1h30m"]
    );
    assert_eq!(
        read_errors("www 2147483648 IN A 192.0.2.1"),
        ["z.zone:1: TTL 2147483648 is larger than 2147483647 (RFC 2181 §8)"]
    );
    assert_eq!(
        read_errors("$TTL h\n"),
        ["z.zone:1: $TTL: bad TTL \"h\": expected seconds or a duration such as 1h30m"]
    );
}

#[test]
fn ttl_units() {
    assert_eq!(parse_ttl("3600"), Ok(3600));
    assert_eq!(parse_ttl("1h30m"), Ok(5400));
    assert_eq!(parse_ttl("1W"), Ok(604_800));
    assert_eq!(parse_ttl("1d2h3m4s"), Ok(93_784));
    assert_eq!(parse_ttl("1h30"), Ok(3630));
    assert_eq!(parse_ttl("0"), Ok(0));
    assert_eq!(parse_ttl("2147483647"), Ok(MAX_TTL));
    assert!(parse_ttl("").is_err());
    assert!(parse_ttl("m").is_err());
    assert!(parse_ttl("1hh").is_err());
    assert!(parse_ttl("99999999999999999999").is_err());
    assert!(parse_ttl("4000w").is_err());
}

#[test]
fn bad_owner() {
    assert_eq!(
        read_errors("$TTL 1\na..b IN A 192.0.2.1"),
        ["z.zone:2: bad owner name: empty label in name \"a..b\""]
    );
}

#[test]
fn blank_owner_without_previous() {
    assert_eq!(
        read_errors("$TTL 1\n  IN A 192.0.2.1"),
        ["z.zone:2: line starts with white space but no owner name precedes it"]
    );
}

#[test]
fn missing_type() {
    assert_eq!(
        read_errors("www 300 IN ; nothing else"),
        ["z.zone:1: missing record type"]
    );
    assert_eq!(read_errors("www"), ["z.zone:1: missing record type"]);
}

#[test]
fn meta_type() {
    assert_eq!(
        read_errors("www IN ANY x"),
        ["z.zone:1: record type ANY cannot appear in a zone"]
    );
    assert_eq!(
        read_errors("www AXFR"),
        ["z.zone:1: record type AXFR cannot appear in a zone"]
    );
}

#[test]
fn unterminated_quote() {
    assert_eq!(
        read_errors("$TTL 1\nwww TXT \"abc\n"),
        ["z.zone:2: unterminated quoted string"]
    );
}

#[test]
fn parentheses_errors() {
    assert_eq!(
        read_errors("$TTL 1\n@ SOA ns h (\n 1 2 3\n 4 5\n"),
        ["z.zone:2: unbalanced parentheses: '(' is never closed"]
    );
    assert_eq!(
        read_errors("$TTL 1\nwww A 192.0.2.1 )\n"),
        ["z.zone:2: unbalanced parentheses: ')' without '('"]
    );
    assert_eq!(
        read_errors("$TTL 1\n@ SOA ns h ( 1\n ( 2 3 4 5 ))\n"),
        ["z.zone:2: nested parentheses"]
    );
}

#[test]
fn long_line() {
    let text = format!("$TTL 1\nwww TXT \"{}\"\n", "x".repeat(MAX_LINE_LEN));
    assert_eq!(
        read_errors(&text),
        ["z.zone:2: line is longer than 65536 octets"]
    );
}

#[test]
fn directives() {
    assert_eq!(
        read_errors("$GENERATE 1-2 a$ A 192.0.2.$"),
        ["z.zone:1: unknown directive $GENERATE"]
    );
    assert_eq!(
        read_errors("$ORIGIN"),
        ["z.zone:1: $ORIGIN takes one domain name"]
    );
    assert_eq!(
        read_errors("$ORIGIN a..b."),
        ["z.zone:1: bad $ORIGIN: empty label in name \"a..b.\""]
    );
    assert_eq!(read_errors("$TTL 1 2"), ["z.zone:1: $TTL takes one TTL"]);
    assert_eq!(
        read_errors("$INCLUDE"),
        ["z.zone:1: $INCLUDE takes a file name and an optional origin"]
    );
}

#[test]
fn file_not_found() {
    let errs = parse_file(Path::new("/nonexistent/z.zone"), &origin(), nowhere()).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].line, 0);
    assert!(
        errs[0]
            .to_string()
            .starts_with("/nonexistent/z.zone:0: cannot read file: "),
        "{}",
        errs[0]
    );
    let dir = tempfile::tempdir().unwrap();
    let errs = parse_file(dir.path(), &origin(), dir.path()).unwrap_err();
    assert_eq!(
        errs[0].to_string(),
        format!(
            "{}:0: cannot read file: not a regular file",
            dir.path().display()
        )
    );
}

#[test]
fn invalid_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("z.zone");
    fs::write(&p, b"$TTL 1\nwww TXT \"caf\xe9\"\n").unwrap();
    let errs = parse_file(&p, &origin(), dir.path()).unwrap_err();
    assert_eq!(
        errs[0].to_string(),
        format!(
            "{}:2: invalid UTF-8 (write other octets as \\DDD escapes)",
            p.display()
        )
    );
}

#[test]
fn collects_all_errors_and_stops_at_the_limit() {
    assert_eq!(
        read_errors("$TTL 1\na BOGUS 1\nb CH A 192.0.2.1\n\"unterminated\n$FOO\n"),
        [
            "z.zone:2: unknown record type \"BOGUS\"",
            "z.zone:3: class CH is not supported (only IN)",
            "z.zone:4: unterminated quoted string",
            "z.zone:5: unknown directive $FOO",
        ]
    );
    let many = "x BOGUS\n".repeat(MAX_ERRORS * 2);
    let errs = read_errors(&many);
    assert_eq!(errs.len(), MAX_ERRORS);
    assert_eq!(
        errs[MAX_ERRORS - 1],
        format!("z.zone:{MAX_ERRORS}: too many errors ({MAX_ERRORS}); stopped reading")
    );
}

#[test]
fn skips_records_that_inherit_a_bad_owner() {
    assert_eq!(
        read_errors("$TTL 1\na..b A 192.0.2.1\n  A 192.0.2.2\n  BOGUS\n"),
        ["z.zone:2: bad owner name: empty label in name \"a..b\""]
    );
}

// ---------------------------------------------------------------------------------------
// $INCLUDE

struct Tree {
    _dir: tempfile::TempDir,
    top: PathBuf,
    root: PathBuf,
}

/// tmp/root/... with `files`, and tmp/secret.zone outside the root.
fn tree(files: &[(&str, &str)]) -> Tree {
    let dir = tempfile::tempdir().unwrap();
    let top = dir.path().canonicalize().unwrap();
    let root = top.join("root");
    fs::create_dir_all(root.join("inc")).unwrap();
    fs::write(top.join("secret.zone"), "$TTL 1\nsecret A 192.0.2.66\n").unwrap();
    for (name, text) in files {
        fs::write(root.join(name), text).unwrap();
    }
    Tree {
        _dir: dir,
        top,
        root,
    }
}

fn file_errors(t: &Tree, file: &str) -> Vec<String> {
    match parse_file(&t.root.join(file), &origin(), &t.root) {
        Ok(z) => panic!("expected errors, got {z:?}"),
        Err(errs) => errs.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn include_outside_root() {
    let t = tree(&[(
        "main.zone",
        "$INCLUDE ../secret.zone\n$INCLUDE inc/../../secret.zone\n",
    )]);
    let main = t.root.join("main.zone");
    assert_eq!(
        file_errors(&t, "main.zone"),
        [
            format!(
                "{}:1: $INCLUDE ../secret.zone: outside the folder {}",
                main.display(),
                t.root.display()
            ),
            format!(
                "{}:2: $INCLUDE inc/../../secret.zone: outside the folder {}",
                main.display(),
                t.root.display()
            ),
        ]
    );
    // Absolute paths, and files that do not exist outside the root: same answer.
    let text = format!(
        "$INCLUDE {}\n$INCLUDE ../missing.zone\n",
        t.top.join("secret.zone").display()
    );
    let errs: Vec<String> = parse_str(&text, &main, &origin(), &t.root)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errs,
        [
            format!(
                "{}:1: $INCLUDE {}: outside the folder {}",
                main.display(),
                t.top.join("secret.zone").display(),
                t.root.display()
            ),
            format!(
                "{}:2: $INCLUDE ../missing.zone: outside the folder {}",
                main.display(),
                t.root.display()
            ),
        ]
    );
}

#[cfg(unix)]
#[test]
fn include_symlink_out_of_root() {
    let t = tree(&[(
        "main.zone",
        "$INCLUDE link.zone\n$INCLUDE dirlink/secret.zone\n",
    )]);
    std::os::unix::fs::symlink(t.top.join("secret.zone"), t.root.join("link.zone")).unwrap();
    std::os::unix::fs::symlink(&t.top, t.root.join("dirlink")).unwrap();
    let main = t.root.join("main.zone");
    assert_eq!(
        file_errors(&t, "main.zone"),
        [
            format!(
                "{}:1: $INCLUDE link.zone: outside the folder {}",
                main.display(),
                t.root.display()
            ),
            format!(
                "{}:2: $INCLUDE dirlink/secret.zone: outside the folder {}",
                main.display(),
                t.root.display()
            ),
        ]
    );
}

#[test]
fn include_loop() {
    let t = tree(&[
        ("a.zone", "$TTL 1\n$INCLUDE b.zone\n"),
        ("b.zone", "\n$INCLUDE a.zone\n"),
    ]);
    assert_eq!(
        file_errors(&t, "a.zone"),
        [format!(
            "{}:2: $INCLUDE loop: {} is already being read",
            t.root.join("b.zone").display(),
            t.root.join("a.zone").display()
        )]
    );
    let t = tree(&[("self.zone", "$INCLUDE ./self.zone\n")]);
    assert_eq!(
        file_errors(&t, "self.zone"),
        [format!(
            "{}:1: $INCLUDE loop: {} is already being read",
            t.root.join("self.zone").display(),
            t.root.join("./self.zone").display()
        )]
    );
}

#[test]
fn include_missing_file() {
    let t = tree(&[("main.zone", "$INCLUDE inc/none.zone\n")]);
    let errs = file_errors(&t, "main.zone");
    let want = format!(
        "{}:1: $INCLUDE inc/none.zone: cannot read {}: ",
        t.root.join("main.zone").display(),
        t.root.join("inc/none.zone").display()
    );
    assert!(errs.len() == 1 && errs[0].starts_with(&want), "{errs:?}");
}

#[test]
fn errors_in_included_files_name_that_file() {
    let t = tree(&[
        ("main.zone", "$TTL 1\n$INCLUDE inc/a.zone\nwww BOGUS2\n"),
        ("inc/a.zone", "; included\nx BOGUS1\n"),
    ]);
    assert_eq!(
        file_errors(&t, "main.zone"),
        [
            format!(
                "{}:2: unknown record type \"BOGUS1\"",
                t.root.join("inc/a.zone").display()
            ),
            format!(
                "{}:3: unknown record type \"BOGUS2\"",
                t.root.join("main.zone").display()
            ),
        ]
    );
}

#[test]
fn include_depth_is_bounded() {
    // Two files including each other through distinct paths is a loop; a long chain is a depth.
    let mut files: Vec<(String, String)> = Vec::new();
    for i in 0..MAX_INCLUDE_DEPTH + 2 {
        files.push((format!("d{i}.zone"), format!("$INCLUDE d{}.zone\n", i + 1)));
    }
    files.push((format!("d{}.zone", MAX_INCLUDE_DEPTH + 2), String::new()));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let t = tree(&refs);
    let errs = file_errors(&t, "d0.zone");
    assert_eq!(
        errs,
        [format!(
            "{}:1: $INCLUDE d{}.zone: nested more than {MAX_INCLUDE_DEPTH} deep",
            t.root
                .join(format!("d{}.zone", MAX_INCLUDE_DEPTH - 1))
                .display(),
            MAX_INCLUDE_DEPTH
        )]
    );
}

// ---------------------------------------------------------------------------------------
// Reading with RDATA

#[test]
fn bad_rdata() {
    let err = rdata::parse(RType::A, &tokenize("192.0.2.300").unwrap(), &origin()).unwrap_err();
    assert_eq!(
        read_errors("$TTL 1\nwww A 192.0.2.300\n"),
        [format!("z.zone:2: bad A data: {err}")]
    );
    let err = rdata::parse(RType::MX, &tokenize("10").unwrap(), &origin()).unwrap_err();
    assert_eq!(
        read_errors("$TTL 1\n@ MX (\n 10\n )\n"),
        [format!("z.zone:2: bad MX data: {err}")]
    );
}

#[test]
fn no_ttl() {
    assert_eq!(
        read_errors("www A 192.0.2.1\n"),
        ["z.zone:1: no TTL: give one on the record or set $TTL"]
    );
}

#[test]
fn ttl_defaults() {
    // $TTL wins over the last explicit TTL.
    let z = parse_ok("$TTL 1h\na 5 A 192.0.2.1\nb A 192.0.2.2\n");
    assert_eq!(
        z.records().iter().map(|r| r.ttl).collect::<Vec<_>>(),
        [5, 3600]
    );
    // Without $TTL: the last explicit TTL.
    let z = parse_ok("a 5 A 192.0.2.1\nb A 192.0.2.2\n");
    assert_eq!(
        z.records().iter().map(|r| r.ttl).collect::<Vec<_>>(),
        [5, 5]
    );
    // Without any: the SOA minimum (for the SOA itself too).
    let z = parse_ok("@ SOA ns h 1 2 3 4 300\nb A 192.0.2.2\nc 7 A 192.0.2.3\nd A 192.0.2.4\n");
    assert_eq!(
        z.records().iter().map(|r| r.ttl).collect::<Vec<_>>(),
        [300, 300, 7, 7]
    );
}

#[test]
fn fields_in_either_order() {
    let z = parse_ok(
        "a 60 IN A 192.0.2.1\nb IN 60 A 192.0.2.1\nc IN A 192.0.2.1\nd 60 A 192.0.2.1\ne in a 192.0.2.1\nf CLASS1 A 192.0.2.1",
    );
    assert!(
        z.records()
            .iter()
            .all(|r| r.ttl == 60 && r.rtype == RType::A)
    );
    assert_eq!(z.records().len(), 6);
    assert_eq!(z.records()[4].name, n("e.example.com."));
}

#[test]
fn parentheses_and_blank_owner() {
    let text = "$TTL 300\n\
                @ IN SOA ns1 hostmaster ( ; comment\n\
                \t1 ; serial\n\
                \t2 3 ; (unbalanced inside a comment\n\
                \t4\n\
                \t5 )\n\
                \tIN NS ns1\n\
                www A 192.0.2.1\n\
                \t   AAAA 2001:db8::1\n\
                \n\
                ; comment line\n\
                \tTXT \"a;b(c\" \\(x\n";
    let z = parse_ok(text);
    let got: Vec<(String, RType, usize)> = z
        .records()
        .iter()
        .map(|r| (r.name.to_string(), r.rtype, r.line))
        .collect();
    assert_eq!(
        got,
        [
            ("example.com.".to_string(), RType::SOA, 2),
            ("example.com.".to_string(), RType::NS, 7),
            ("www.example.com.".to_string(), RType::A, 8),
            ("www.example.com.".to_string(), RType::AAAA, 9),
            ("www.example.com.".to_string(), RType::TXT, 12),
        ]
    );
    assert_eq!(
        z.records()[0].data,
        canon(RType::SOA, "ns1 hostmaster 1 2 3 4 5")
    );
    assert_eq!(z.records()[4].data, canon(RType::TXT, "\"a;b(c\" \\(x"));
}

#[test]
fn origin_and_at() {
    let z = parse_ok(
        "$TTL 1\n$ORIGIN sub\nx A 192.0.2.1\n@ A 192.0.2.2\n$ORIGIN example.com.\n@ NS ns.sub\ny.example.com. A 192.0.2.3\n*.w A 192.0.2.4",
    );
    let names: Vec<String> = z.records().iter().map(|r| r.name.to_string()).collect();
    assert_eq!(
        names,
        [
            "x.sub.example.com.",
            "sub.example.com.",
            "example.com.",
            "y.example.com.",
            "*.w.example.com."
        ]
    );
    assert_eq!(z.records()[2].data, "ns.sub.example.com.");
}

#[test]
fn include_with_origin_and_revert() {
    let t = tree(&[
        (
            "main.zone",
            "$TTL 1\nwww A 192.0.2.1\n$INCLUDE inc/sub.zone sub\n  AAAA 2001:db8::1\nafter A 192.0.2.3\n",
        ),
        (
            "inc/sub.zone",
            "  TXT inherits\nhost A 192.0.2.2\n@ TXT apex\n$ORIGIN elsewhere.example.com.\nz TXT z\n",
        ),
    ]);
    let z = parse_file(&t.root.join("main.zone"), &origin(), &t.root)
        .unwrap_or_else(|e| panic!("{e:#?}"));
    let got: Vec<(String, RType, String)> = z
        .records()
        .iter()
        .map(|r| {
            (
                r.name.to_string(),
                r.rtype,
                format!(
                    "{}:{}",
                    r.file.strip_prefix(&t.root).unwrap().display(),
                    r.line
                ),
            )
        })
        .collect();
    let want = [
        ("www.example.com.", RType::A, "main.zone:2"),
        ("www.example.com.", RType::TXT, "inc/sub.zone:1"),
        ("host.sub.example.com.", RType::A, "inc/sub.zone:2"),
        ("sub.example.com.", RType::TXT, "inc/sub.zone:3"),
        ("z.elsewhere.example.com.", RType::TXT, "inc/sub.zone:5"),
        ("www.example.com.", RType::AAAA, "main.zone:4"),
        ("after.example.com.", RType::A, "main.zone:5"),
    ];
    let want: Vec<(String, RType, String)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), *b, c.to_string()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn crlf_and_no_final_newline() {
    let z = parse_ok("$TTL 1\r\na A 192.0.2.1\r\nb TXT \"x\"");
    assert_eq!(z.records().len(), 2);
    assert_eq!(z.records()[1].data, canon(RType::TXT, "\"x\""));
    assert_eq!(z.records()[1].line, 3);
}

#[test]
fn unknown_types_in_rfc3597_form() {
    let z = parse_ok("$TTL 1\na TYPE65280 \\# 2 abcd\n");
    assert_eq!(z.records()[0].rtype, RType(65280));
    assert_eq!(z.records()[0].data, "\\# 2 ABCD");
}

/// The grouping the packed records replaced: a map of (name, type) to the first TTL and the
/// values, in file order.
fn grouped_by_map(parsed: &ParsedZone) -> Zone {
    let mut sets: std::collections::BTreeMap<(Name, RType), (u32, Vec<String>)> =
        std::collections::BTreeMap::new();
    for r in parsed.records() {
        sets.entry((r.name, r.rtype))
            .or_insert_with(|| (r.ttl, Vec::new()))
            .1
            .push(r.data);
    }
    let sets = sets
        .into_iter()
        .map(|((name, rtype), (ttl, values))| crate::RecordSet::new(name, rtype, ttl, values))
        .collect();
    Zone::new(parsed.origin.clone(), sets)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Records in any order, with repeated values, TTLs that differ inside a set and owners
    /// in runs or apart, make the same sets as grouping them by name and type.
    #[test]
    fn sets_are_the_grouped_records(
        lines in proptest::collection::vec(
            (0usize..6, 0usize..5, 1u32..5, 0u8..4, any::<bool>()),
            0..40,
        )
    ) {
        const OWNERS: [&str; 6] = ["@", "a", "b.a", "*.a", "z", "A"];
        const TYPES: [&str; 5] = ["A", "AAAA", "TXT", "MX", "SOA"];
        let mut text = String::from("$TTL 1\n");
        for (owner, rtype, ttl, value, blank) in lines {
            let owner = if blank && !text.ends_with("$TTL 1\n") { " " } else { OWNERS[owner] };
            let data = match TYPES[rtype] {
                "A" => format!("192.0.2.{value}"),
                "AAAA" => format!("2001:db8::{value}"),
                "TXT" => format!("\"v{value}\""),
                "MX" => format!("{value} mx{value}"),
                _ => format!("ns h {value} 2 3 4 5"),
            };
            text.push_str(&format!("{owner} {ttl} {} {data}\n", TYPES[rtype]));
        }
        let parsed = parse_ok(&text);
        let want = grouped_by_map(&parsed);
        let sets: Vec<_> = parsed.sets().collect();
        prop_assert_eq!(&sets, &want.record_sets, "{}", text);
        prop_assert_eq!(parsed.into_zone(), want);
    }
}
