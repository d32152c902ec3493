use std::fs;
use std::path::{Path, PathBuf};

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
        z.records.iter().map(|r| r.ttl).collect::<Vec<_>>(),
        [5, 3600]
    );
    // Without $TTL: the last explicit TTL.
    let z = parse_ok("a 5 A 192.0.2.1\nb A 192.0.2.2\n");
    assert_eq!(z.records.iter().map(|r| r.ttl).collect::<Vec<_>>(), [5, 5]);
    // Without any: the SOA minimum (for the SOA itself too).
    let z = parse_ok("@ SOA ns h 1 2 3 4 300\nb A 192.0.2.2\nc 7 A 192.0.2.3\nd A 192.0.2.4\n");
    assert_eq!(
        z.records.iter().map(|r| r.ttl).collect::<Vec<_>>(),
        [300, 300, 7, 7]
    );
}

#[test]
fn fields_in_either_order() {
    let z = parse_ok(
        "a 60 IN A 192.0.2.1\nb IN 60 A 192.0.2.1\nc IN A 192.0.2.1\nd 60 A 192.0.2.1\ne in a 192.0.2.1\nf CLASS1 A 192.0.2.1",
    );
    assert!(z.records.iter().all(|r| r.ttl == 60 && r.rtype == RType::A));
    assert_eq!(z.records.len(), 6);
    assert_eq!(z.records[4].name, n("e.example.com."));
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
        .records
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
        z.records[0].data,
        canon(RType::SOA, "ns1 hostmaster 1 2 3 4 5")
    );
    assert_eq!(z.records[4].data, canon(RType::TXT, "\"a;b(c\" \\(x"));
}

#[test]
fn origin_and_at() {
    let z = parse_ok(
        "$TTL 1\n$ORIGIN sub\nx A 192.0.2.1\n@ A 192.0.2.2\n$ORIGIN example.com.\n@ NS ns.sub\ny.example.com. A 192.0.2.3\n*.w A 192.0.2.4",
    );
    let names: Vec<String> = z.records.iter().map(|r| r.name.to_string()).collect();
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
    assert_eq!(z.records[2].data, "ns.sub.example.com.");
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
        .records
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
    assert_eq!(z.records.len(), 2);
    assert_eq!(z.records[1].data, canon(RType::TXT, "\"x\""));
    assert_eq!(z.records[1].line, 3);
}

#[test]
fn unknown_types_in_rfc3597_form() {
    let z = parse_ok("$TTL 1\na TYPE65280 \\# 2 abcd\n");
    assert_eq!(z.records[0].rtype, RType(65280));
    assert_eq!(z.records[0].wire, vec![0xab, 0xcd]);
}

// ---------------------------------------------------------------------------------------
// Semantic checks

#[test]
fn cname_and_other_data() {
    assert_eq!(
        load_errors(&format!(
            "{HEAD}www CNAME ns1\nwww A 192.0.2.1\nwww2 TXT x\nwww2 CNAME ns1\n"
        )),
        [
            "z.zone:6: CNAME and other data at www.example.com. (RFC 1034 §3.6.2)",
            "z.zone:8: CNAME and other data at www2.example.com. (RFC 1034 §3.6.2)",
        ]
    );
    // Apex CNAME collides with SOA and NS.
    assert_eq!(
        load_errors(&format!("{HEAD}@ CNAME ns1\n")),
        ["z.zone:5: CNAME and other data at example.com. (RFC 1034 §3.6.2)"]
    );
    // DNSSEC records may sit beside a CNAME.
    load_ok(&format!("{HEAD}www CNAME ns1\nwww NSEC \\# 1 00\n"));
}

#[test]
fn two_cnames() {
    assert_eq!(
        load_errors(&format!("{HEAD}www CNAME ns1\nwww CNAME ns2\n")),
        ["z.zone:6: more than one CNAME at www.example.com."]
    );
    // The same record twice is one record.
    load_ok(&format!(
        "{HEAD}www CNAME ns1\nwww CNAME NS1.example.com.\n"
    ));
}

#[test]
fn no_soa() {
    assert_eq!(
        load_errors("$TTL 1\n@ NS ns1\nns1 A 192.0.2.1\n"),
        ["z.zone:0: no SOA record at the zone apex example.com."]
    );
    assert_eq!(
        load_errors("$TTL 1\nns1 A 192.0.2.1\n"),
        [
            "z.zone:0: no SOA record at the zone apex example.com.",
            "z.zone:0: no NS records at the zone apex example.com.",
        ]
    );
}

#[test]
fn duplicate_soa() {
    assert_eq!(
        load_errors(&format!(
            "{HEAD}@ SOA ns1 hostmaster 2 7200 3600 1209600 300\n"
        )),
        ["z.zone:5: duplicate SOA record at example.com."]
    );
}

#[test]
fn soa_not_at_apex() {
    assert_eq!(
        load_errors(&format!(
            "{HEAD}www SOA ns1 hostmaster 2 7200 3600 1209600 300\n"
        )),
        ["z.zone:5: SOA record at www.example.com. is not at the zone apex example.com."]
    );
}

#[test]
fn no_ns_at_apex() {
    assert_eq!(
        load_errors("$TTL 1\n\n@ SOA ns1 hostmaster 1 2 3 4 5\nns1 A 192.0.2.1\n"),
        ["z.zone:3: no NS records at the zone apex example.com."]
    );
}

#[test]
fn out_of_zone() {
    assert_eq!(
        load_errors(&format!(
            "{HEAD}www.example.net. A 192.0.2.1\n$ORIGIN com.\nexample2 A 192.0.2.2\n"
        )),
        [
            "z.zone:5: www.example.net. is outside the zone example.com.",
            "z.zone:7: example2.com. is outside the zone example.com.",
        ]
    );
}

#[test]
fn occluded_below_delegation() {
    assert_eq!(
        load_errors(&format!(
            "{HEAD}sub NS ns.sub\nsub DS 1 8 2 {}\nns.sub A 192.0.2.5\nns.sub AAAA 2001:db8::5\nx.sub TXT hidden\ny.x.sub MX 1 mail\nsub TXT at-cut\n",
            "ab".repeat(32)
        )),
        [
            "z.zone:9: x.sub.example.com. TXT is below the delegation at sub.example.com. (only A/AAAA glue may be there)",
            "z.zone:10: y.x.sub.example.com. MX is below the delegation at sub.example.com. (only A/AAAA glue may be there)",
            "z.zone:11: sub.example.com. TXT is at the delegation point sub.example.com. (only NS, DS and A/AAAA glue may be there)",
        ]
    );
}

#[test]
fn occluded_below_dname() {
    assert_eq!(
        load_errors(&format!(
            "{HEAD}old DNAME new.example.net.\nold TXT fine\nwww.old A 192.0.2.1\n"
        )),
        ["z.zone:7: www.old.example.com. A is occluded by the DNAME at old.example.com."]
    );
}

#[test]
fn differing_ttls_in_a_set_take_the_first() {
    let z = load_ok(&format!("{HEAD}www 600 A 192.0.2.1\nwww 60 A 192.0.2.2\n"));
    let rs = z
        .get(&crate::RecordSetKey {
            name: n("www.example.com."),
            rtype: RType::A,
            set_identifier: None,
        })
        .unwrap();
    assert_eq!(rs.ttl, 600);
    assert_eq!(rs.values.len(), 2);
}

#[test]
fn check_errors_point_into_included_files() {
    let t = tree(&[
        ("main.zone", &format!("{HEAD}$INCLUDE inc/hosts.zone\n")),
        ("inc/hosts.zone", "www CNAME ns1\nwww A 192.0.2.1\n"),
    ]);
    let errs: Vec<String> = load_file(&t.root.join("main.zone"), &origin(), &t.root)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errs,
        [format!(
            "{}:2: CNAME and other data at www.example.com. (RFC 1034 §3.6.2)",
            t.root.join("inc/hosts.zone").display()
        )]
    );
}

#[test]
fn read_errors_suppress_zone_wide_checks() {
    // The broken SOA is reported; "no SOA" would only repeat it.
    let errs = load_errors("$TTL 1\n@ SOA ns1\n@ NS ns1\nwww CNAME ns1\nwww A 192.0.2.1\n");
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs[0].starts_with("z.zone:2: bad SOA data: "), "{errs:?}");
    assert_eq!(
        errs[1],
        "z.zone:5: CNAME and other data at www.example.com. (RFC 1034 §3.6.2)"
    );
}

// ---------------------------------------------------------------------------------------
// Writing

#[test]
fn realistic_round_trip() {
    let zone = load_ok(REALISTIC);
    let sets = |rtype: RType, name: &str| {
        zone.get(&crate::RecordSetKey {
            name: n(name),
            rtype,
            set_identifier: None,
        })
        .unwrap_or_else(|| panic!("no {name} {rtype}"))
        .clone()
    };
    assert_eq!(zone.record_sets[0].rtype, RType::SOA);
    assert_eq!(sets(RType::SOA, "example.com.").ttl, 3600);
    assert_eq!(
        sets(RType::SOA, "example.com.").values[0].data,
        canon(
            RType::SOA,
            "ns1 hostmaster 2024010101 7200 3600 1209600 300"
        )
    );
    assert_eq!(sets(RType::NS, "example.com.").values.len(), 2);
    assert_eq!(sets(RType::A, "mail.example.com.").ttl, 300);
    assert_eq!(sets(RType::A, "mail.example.com.").values.len(), 2);
    assert_eq!(sets(RType::A, "sip.example.com.").ttl, 600);
    assert_eq!(
        sets(RType::CNAME, "www.example.com.").values[0].data,
        "example.com."
    );
    assert_eq!(
        sets(RType::TXT, "txt.example.com.").values[0].data,
        canon(
            RType::TXT,
            "\"semi;colon (paren)\" \"quote\\\"d\" \"tab\\009x\" plain"
        )
    );
    assert_eq!(
        sets(RType::TXT, "long.example.com.").values[0].data,
        canon(RType::TXT, "\"part one\" \"part two\"")
    );
    assert_eq!(sets(RType::A, "host.other.example.com.").ttl, 3600);
    sets(RType::TXT, "other.example.com.");
    sets(RType::A, "*.wild.example.com.");

    let text = write_zone(&zone);
    assert!(
        text.starts_with("$ORIGIN example.com.\n$TTL 3600\n@ "),
        "{text}"
    );
    let soa_line = text.lines().nth(2).unwrap();
    assert!(soa_line.contains(" IN SOA "), "{text}");
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["mail", "300", "IN", "A", "192.0.2.2"]),
        "{text}"
    );
    let again = load_str(&text, Path::new("written.zone"), &origin(), nowhere())
        .unwrap_or_else(|e| panic!("{e:#?}\n{text}"));
    assert_eq!(again, zone, "{text}");
    // Writing is stable.
    assert_eq!(write_zone(&again), text);
}

#[test]
fn write_notes_model_only_fields() {
    let mut zone = load_ok(HEAD);
    let mut rs = RecordSet::new(n("w.example.com."), RType::A, 60, ["192.0.2.7".to_string()]);
    rs.set_identifier = Some("primary".into());
    rs.weight = Some(100);
    zone.record_sets.push(rs);
    let text = write_zone(&zone);
    assert!(
        text.contains("; set_identifier=\"primary\" weight=100\nw       60 IN A 192.0.2.7\n"),
        "{text}"
    );
    load_str(&text, Path::new("w.zone"), &origin(), nowhere()).unwrap();
}

// ---------------------------------------------------------------------------------------
// Never panic

fn any_input(text: &str) {
    // An empty folder of our own, so that random $INCLUDEs find nothing.
    static ROOT: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let root = ROOT.get_or_init(|| tempfile::tempdir().unwrap()).path();
    let file = root.join("random.zone");
    let _ = parse_str(text, &file, &origin(), root);
    if let Ok(z) = load_str(text, &file, &origin(), root) {
        let _ = load_str(&write_zone(&z), &file, &origin(), root);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn never_panics_on_random_text(chars in prop::collection::vec(any::<char>(), 0..400)) {
        any_input(&chars.into_iter().collect::<String>());
    }

    #[test]
    fn never_panics_on_zone_like_text(text in "([ \\t\\r\\n();\"\\\\$@.*a-zA-Z0-9-]|IN |SOA |A |TXT |NS |\\$TTL |\\$ORIGIN |\\$INCLUDE |CNAME |MX ){0,120}") {
        any_input(&text);
    }

    #[test]
    fn never_panics_on_mutations(ops in prop::collection::vec((any::<prop::sample::Index>(), 0u8..5, any::<char>(), 1usize..40), 1..8)) {
        let mut text: Vec<char> = REALISTIC.chars().collect();
        for (at, op, c, len) in ops {
            let i = at.index(text.len() + 1);
            match op {
                0 => text.insert(i, c),
                1 => { text.drain(i..(i + len).min(text.len())); }
                2 => if i < text.len() { text[i] = c },
                3 => { let piece: Vec<char> = text[i..(i + len).min(text.len())].to_vec(); text.splice(i..i, piece); }
                _ => text.insert(i, ['(', ')', '"', ';', '\\', '\n', ' '][len % 7]),
            }
        }
        any_input(&text.into_iter().collect::<String>());
    }
}
