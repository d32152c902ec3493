//! End-to-end tests of `switchback serve` with real DNS clients: BIND's `dig` and Knot's
//! `kdig`. They check the zone shipped in `zones/`, TCP, EDNS buffer sizes, RD handling, zone
//! transfers allowed and refused, SIGHUP reloads (good and broken edits, zones added and
//! removed), queries during reloads, and a clean stop on SIGTERM.

mod common;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use common::servers::copy_dir;
use common::{Question, Switchback, SwitchbackOptions, repo_root, require_tool, test_data};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

/// The parts of a dig/kdig answer the tests look at.
#[derive(Debug, Default)]
struct DigAnswer {
    /// The whole output, for failure messages.
    text: String,
    status: String,
    flags: Vec<String>,
    /// The server's EDNS UDP size, when the answer had an OPT record.
    udp: Option<u16>,
    answer: Vec<String>,
    authority: Vec<String>,
    additional: Vec<String>,
}

impl DigAnswer {
    fn has_flag(&self, f: &str) -> bool {
        self.flags.iter().any(|x| x == f)
    }

    /// RDATA of the answer records of type `t` (whitespace collapsed), sorted.
    fn rdata(&self, t: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .answer
            .iter()
            .filter(|r| r.split(' ').nth(3) == Some(t))
            .map(|r| r.splitn(5, ' ').nth(4).unwrap_or("").to_string())
            .collect();
        v.sort();
        v
    }
}

/// Parses the default output of `dig` (BIND 9.18) and of `kdig` (Knot 3.2); both print a
/// `->>HEADER<<-` line with the status, a flags line, an OPT pseudo-section and the sections.
fn parse_dig(text: &str) -> DigAnswer {
    let mut a = DigAnswer {
        text: text.to_string(),
        ..DigAnswer::default()
    };
    let mut section = "";
    for line in text.lines() {
        let l = line.trim();
        if let Some(i) = l.find("status: ") {
            a.status = l[i + 8..]
                .split([',', ';'])
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
            continue;
        }
        let lower = l.to_ascii_lowercase();
        if lower.starts_with(";; flags:") {
            let rest = &l[9..];
            let flags = rest.split(';').next().unwrap_or("");
            a.flags = flags.split_whitespace().map(|s| s.to_string()).collect();
            continue;
        }
        // dig: "; EDNS: version: 0, flags:; udp: 1232"; kdig: ";; Version: 0; flags: ; UDP size: 1232 B; ..."
        if let Some(i) = lower.find("udp: ").or_else(|| lower.find("udp size: ")) {
            let start = if lower[i..].starts_with("udp: ") {
                i + 5
            } else {
                i + 10
            };
            a.udp = l[start..]
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|n| n.parse().ok());
            continue;
        }
        if l.starts_with(";;") && l.ends_with("SECTION:") {
            section = if l.contains("ANSWER") {
                "answer"
            } else if l.contains("AUTHORITY") {
                "authority"
            } else if l.contains("ADDITIONAL") {
                "additional"
            } else {
                ""
            };
            continue;
        }
        if l.is_empty() {
            section = "";
            continue;
        }
        if l.starts_with(';') {
            continue;
        }
        let rr = l.split_whitespace().collect::<Vec<_>>().join(" ");
        match section {
            "answer" => a.answer.push(rr),
            "authority" => a.authority.push(rr),
            "additional" => a.additional.push(rr),
            _ => {}
        }
    }
    a
}

/// The DNS clients of these tests; `None` when they are missing and skipping is allowed.
struct Clients {
    dig: std::path::PathBuf,
    kdig: std::path::PathBuf,
}

impl Clients {
    fn get() -> Option<Clients> {
        Some(Clients {
            dig: require_tool("dig")?,
            kdig: require_tool("kdig")?,
        })
    }

    /// `dig @127.0.0.1 -p PORT ARGS... +nocmd +nostats +time=2 +tries=2`.
    fn dig(&self, sb: &Switchback, args: &str) -> DigAnswer {
        let mut v = vec![
            "@127.0.0.1".to_string(),
            "-p".into(),
            sb.port.to_string(),
            "+nocmd".into(),
            "+nostats".into(),
            "+time=2".into(),
            "+tries=2".into(),
        ];
        v.extend(args.split_whitespace().map(|s| s.to_string()));
        parse_dig(&common::peers::run(&self.dig, &v))
    }

    /// `kdig @127.0.0.1 -p PORT ARGS... +nostats +time=2 +retry=1`.
    fn kdig(&self, sb: &Switchback, args: &str) -> DigAnswer {
        let mut v = vec![
            "@127.0.0.1".to_string(),
            "-p".into(),
            sb.port.to_string(),
            "+nostats".into(),
            "+time=2".into(),
            "+retry=1".into(),
        ];
        v.extend(args.split_whitespace().map(|s| s.to_string()));
        parse_dig(&common::peers::run(&self.kdig, &v))
    }

    /// The raw text of `dig ... AXFR`.
    fn dig_axfr(&self, sb: &Switchback, zone: &str) -> String {
        let v: Vec<String> = [
            "@127.0.0.1",
            "-p",
            &sb.port.to_string(),
            zone,
            "AXFR",
            "+nocmd",
            "+nostats",
            "+time=3",
            "+tries=1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        common::peers::run(&self.dig, &v)
    }

    fn kdig_axfr(&self, sb: &Switchback, zone: &str) -> String {
        let v: Vec<String> = [
            "@127.0.0.1",
            "-p",
            &sb.port.to_string(),
            zone,
            "AXFR",
            "+nostats",
            "+time=3",
            "+retry=0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        common::peers::run(&self.kdig, &v)
    }
}

fn shipped_zones() -> std::path::PathBuf {
    repo_root().join("zones")
}

/// Record lines of an AXFR listing (comments and blank lines dropped).
fn axfr_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with(';'))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn shipped_zone_answers_dig_and_kdig() {
    let Some(c) = Clients::get() else { return };
    let sb = Switchback::start(&shipped_zones());

    for (label, get) in [
        (
            "dig",
            Clients::dig as fn(&Clients, &Switchback, &str) -> DigAnswer,
        ),
        ("kdig", Clients::kdig),
    ] {
        let a = get(&c, &sb, "www.example.com A");
        assert_eq!(a.status, "NOERROR", "{label}: {}", a.text);
        assert!(a.has_flag("aa"), "{label}: {}", a.text);
        assert!(
            !a.has_flag("ra"),
            "{label}: an authoritative server offers no recursion: {}",
            a.text
        );
        assert_eq!(
            a.rdata("A"),
            ["192.0.2.80", "192.0.2.81"],
            "{label}: {}",
            a.text
        );
        assert!(
            a.answer.iter().all(|r| r.split(' ').nth(1) == Some("300")),
            "{label}: TTL: {}",
            a.text
        );

        let a = get(&c, &sb, "www.example.com AAAA");
        assert_eq!(a.rdata("AAAA"), ["2001:db8:80::80"], "{label}: {}", a.text);

        let a = get(&c, &sb, "example.com MX");
        assert_eq!(
            a.rdata("MX"),
            ["10 mail1.example.com.", "20 mail2.example.com."],
            "{label}: {}",
            a.text
        );

        let a = get(&c, &sb, "example.com NS");
        assert_eq!(
            a.rdata("NS"),
            ["ns1.example.com.", "ns2.example.com."],
            "{label}: {}",
            a.text
        );

        let a = get(&c, &sb, "example.com SOA");
        let soa = a.rdata("SOA");
        assert_eq!(soa.len(), 1, "{label}: {}", a.text);
        assert!(
            soa[0].starts_with("ns1.example.com. hostmaster.example.com. "),
            "{label}: {}",
            a.text
        );

        let a = get(&c, &sb, "example.com TXT");
        assert!(
            a.rdata("TXT").iter().any(|t| t.starts_with("\"v=spf1 ")),
            "{label}: SPF: {}",
            a.text
        );
        let a = get(&c, &sb, "_dmarc.example.com TXT");
        assert!(
            a.rdata("TXT").iter().any(|t| t.starts_with("\"v=DMARC1;")),
            "{label}: DMARC: {}",
            a.text
        );

        let a = get(&c, &sb, "example.com CAA");
        assert!(
            a.rdata("CAA")
                .contains(&"0 issue \"letsencrypt.org\"".to_string()),
            "{label}: {}",
            a.text
        );

        let a = get(&c, &sb, "_submission._tcp.example.com SRV");
        assert_eq!(
            a.rdata("SRV"),
            ["0 1 587 mail1.example.com."],
            "{label}: {}",
            a.text
        );

        // A CNAME inside the zone is followed.
        let a = get(&c, &sb, "api.example.com A");
        assert_eq!(
            a.rdata("CNAME"),
            ["api-primary.example.com."],
            "{label}: {}",
            a.text
        );
        assert_eq!(a.rdata("A"), ["192.0.2.90"], "{label}: {}", a.text);

        // Wildcard.
        let a = get(&c, &sb, "pr-42.preview.example.com A");
        assert_eq!(a.rdata("A"), ["192.0.2.200"], "{label}: {}", a.text);
        assert!(
            a.answer[0].starts_with("pr-42.preview.example.com. "),
            "{label}: {}",
            a.text
        );

        // NXDOMAIN and NODATA: SOA in authority with the negative TTL min(3600, 300).
        let a = get(&c, &sb, "nope.example.com A");
        assert_eq!(a.status, "NXDOMAIN", "{label}: {}", a.text);
        assert!(a.has_flag("aa"), "{label}: {}", a.text);
        assert_eq!(a.authority.len(), 1, "{label}: {}", a.text);
        assert!(
            a.authority[0].starts_with("example.com. 300 IN SOA "),
            "{label}: {}",
            a.text
        );
        let a = get(&c, &sb, "www.example.com MX");
        assert_eq!(a.status, "NOERROR", "{label}: {}", a.text);
        assert!(a.answer.is_empty(), "{label}: {}", a.text);
        assert!(
            a.authority[0].starts_with("example.com. 300 IN SOA "),
            "{label}: {}",
            a.text
        );

        // Delegation: a referral, no AA, glue.
        let a = get(&c, &sb, "host.lab.example.com A");
        assert_eq!(a.status, "NOERROR", "{label}: {}", a.text);
        assert!(!a.has_flag("aa"), "{label}: {}", a.text);
        assert!(a.answer.is_empty(), "{label}: {}", a.text);
        assert_eq!(
            a.authority,
            ["lab.example.com. 3600 IN NS ns1.lab.example.com."],
            "{label}: {}",
            a.text
        );
        assert!(
            a.additional
                .contains(&"ns1.lab.example.com. 3600 IN A 192.0.2.153".to_string()),
            "{label}: glue: {}",
            a.text
        );

        // Outside our zones.
        let a = get(&c, &sb, "www.example.net A");
        assert_eq!(a.status, "REFUSED", "{label}: {}", a.text);
        assert!(!a.has_flag("aa"), "{label}: {}", a.text);

        // 0x20: the case of the query name comes back.
        let a = get(&c, &sb, "WwW.ExAmPlE.CoM A");
        assert_eq!(
            a.rdata("A"),
            ["192.0.2.80", "192.0.2.81"],
            "{label}: {}",
            a.text
        );
    }
    // dig prints names as received: the owner keeps the query's case.
    let a = c.dig(&sb, "WwW.ExAmPlE.CoM A");
    assert!(a.answer[0].starts_with("WwW.ExAmPlE.CoM. "), "{}", a.text);
}

#[test]
fn dig_tcp_bufsize_and_norec() {
    let Some(c) = Clients::get() else { return };
    // The differential-test zones have answers of every size.
    let sb = Switchback::start(&test_data("diff"));

    // +tcp, both clients.
    let a = c.dig(&sb, "www.example.com A +tcp");
    assert_eq!(a.rdata("A"), ["192.0.2.80"], "{}", a.text);
    let a = c.kdig(&sb, "www.example.com A +tcp");
    assert_eq!(a.rdata("A"), ["192.0.2.80"], "{}", a.text);

    // RD is copied, RA never set; +norec clears RD.
    let a = c.dig(&sb, "www.example.com A");
    assert!(a.has_flag("rd") && !a.has_flag("ra"), "{}", a.text);
    let a = c.dig(&sb, "www.example.com A +norec");
    assert!(!a.has_flag("rd") && a.has_flag("aa"), "{}", a.text);
    let a = c.kdig(&sb, "www.example.com A +norec");
    assert!(!a.has_flag("rd") && a.has_flag("aa"), "{}", a.text);

    // big.example.com TXT is ~2.8 kB: truncated over UDP at 512 and 1232 bytes.
    for size in [512, 1232] {
        let a = c.dig(&sb, &format!("big.example.com TXT +bufsize={size} +ignore"));
        assert!(a.has_flag("tc"), "bufsize {size}: {}", a.text);
        assert!(
            a.udp.is_some(),
            "bufsize {size}: no OPT in a truncated answer: {}",
            a.text
        );
        let a = c.kdig(&sb, &format!("big.example.com TXT +bufsize={size} +ignore"));
        assert!(a.has_flag("tc"), "kdig bufsize {size}: {}", a.text);
    }
    // Without +ignore, dig retries over TCP and gets the whole RRset.
    let a = c.dig(&sb, "big.example.com TXT +bufsize=512");
    assert!(!a.has_flag("tc"), "{}", a.text);
    assert_eq!(a.rdata("TXT").len(), 25, "{}", a.text);
    let a = c.kdig(&sb, "big.example.com TXT +tcp");
    assert_eq!(a.rdata("TXT").len(), 25, "{}", a.text);
    // No EDNS: a 512-byte limit.
    let a = c.dig(&sb, "medium.example.com TXT +noedns +ignore");
    assert!(a.has_flag("tc"), "{}", a.text);
    assert!(a.udp.is_none(), "{}", a.text);
    // medium (~900 bytes) fits in 1232.
    let a = c.dig(&sb, "medium.example.com TXT +bufsize=1232 +ignore");
    assert!(!a.has_flag("tc"), "{}", a.text);
    assert_eq!(a.rdata("TXT").len(), 12, "{}", a.text);
    assert!(a.udp.is_some_and(|u| u >= 512), "{}", a.text);

    // EDNS version 1: BADVERS.
    let a = c.dig(&sb, "www.example.com A +edns=1 +noednsnegotiation");
    assert_eq!(a.status, "BADVERS", "{}", a.text);
}

#[test]
fn axfr_allowed_from_loopback() {
    let Some(c) = Clients::get() else { return };
    let sb = Switchback::start(&shipped_zones());

    for (label, text) in [
        ("dig", c.dig_axfr(&sb, "example.com")),
        ("kdig", c.kdig_axfr(&sb, "example.com")),
    ] {
        assert!(!text.contains("failed"), "{label}: {text}");
        let lines = axfr_lines(&text);
        assert!(lines.len() > 20, "{label}: {text}");
        let soa = |l: &String| l.split(' ').nth(3) == Some("SOA");
        assert!(soa(lines.first().unwrap()), "{label}: SOA first: {text}");
        assert!(soa(lines.last().unwrap()), "{label}: SOA last: {text}");
        assert_eq!(
            lines.iter().filter(|l| soa(l)).count(),
            2,
            "{label}: {text}"
        );
        assert!(
            lines.contains(&"www.example.com. 300 IN A 192.0.2.80".to_string()),
            "{label}: {text}"
        );
        assert!(
            lines.contains(&"ns1.lab.example.com. 3600 IN A 192.0.2.153".to_string()),
            "{label}: glue is part of the zone: {text}"
        );
    }
    // Not over UDP.
    let r = sb
        .query(&Question::new("example.com.", RecordType::AXFR))
        .unwrap();
    assert_ne!(r.rcode(), ResponseCode::NoError);
    assert!(r.msg.answers.is_empty());
}

#[test]
fn axfr_refused_outside_allow_transfer() {
    let Some(c) = Clients::get() else { return };
    let mut opts = SwitchbackOptions::new(&shipped_zones());
    opts.allow_transfer = vec!["192.0.2.0/24".into(), "2001:db8::/32".into()];
    let sb = Switchback::start_with(opts);

    let text = c.dig_axfr(&sb, "example.com");
    assert!(text.contains("Transfer failed"), "dig: {text}");
    assert!(axfr_lines(&text).is_empty(), "dig got records: {text}");
    let text = c.kdig_axfr(&sb, "example.com");
    assert!(text.contains("REFUSED"), "kdig: {text}");

    let msgs = common::axfr(sb.addr, "example.com.").unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].rcode(), ResponseCode::Refused);
    assert!(msgs[0].msg.answers.is_empty());

    // Ordinary queries still work.
    let a = c.dig(&sb, "www.example.com A");
    assert_eq!(a.rdata("A"), ["192.0.2.80", "192.0.2.81"], "{}", a.text);
}

fn soa_serial(sb: &Switchback, zone: &str) -> Option<u32> {
    let r = sb.query(&Question::new(zone, RecordType::SOA)).ok()?;
    r.msg.answers.iter().find_map(|a| match &a.data {
        hickory_proto::rr::RData::SOA(s) => Some(s.serial),
        _ => None,
    })
}

fn a_records(sb: &Switchback, name: &str) -> Vec<String> {
    let mut v = sb
        .query(&Question::new(name, RecordType::A))
        .map(|r| r.answer_rdata(RecordType::A))
        .unwrap_or_default();
    v.sort();
    v
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} has no {from:?}", path.display());
    fs::write(path, text.replace(from, to)).unwrap();
}

#[test]
fn sighup_reloads_and_a_broken_edit_keeps_the_old_zone() {
    let Some(c) = Clients::get() else { return };
    let dir = tempfile::tempdir().unwrap();
    let zones = dir.path().join("zones");
    copy_dir(&shipped_zones(), &zones);
    let file = zones.join("example.com.zone");
    let sb = Switchback::start(&zones);

    let serial0 = soa_serial(&sb, "example.com.").expect("SOA");
    assert_eq!(
        a_records(&sb, "www.example.com."),
        ["192.0.2.80", "192.0.2.81"]
    );

    // 1. A good edit: new address, new serial.
    edit(&file, "192.0.2.81", "192.0.2.99");
    edit(&file, &serial0.to_string(), &(serial0 + 1).to_string());
    sb.hup();
    let q = Question::new("www.example.com.", RecordType::A);
    sb.wait_for(&q, Duration::from_secs(5), |r| {
        let mut v = r.answer_rdata(RecordType::A);
        v.sort();
        v == ["192.0.2.80", "192.0.2.99"]
    });
    assert_eq!(soa_serial(&sb, "example.com."), Some(serial0 + 1));
    let a = c.dig(&sb, "www.example.com A");
    assert_eq!(a.rdata("A"), ["192.0.2.80", "192.0.2.99"], "{}", a.text);

    // 2. A broken edit: the old zone keeps being served, and the error is logged.
    let good = fs::read_to_string(&file).unwrap();
    fs::write(
        &file,
        good.replace("192.0.2.99", "192.0.2.300")
            .replace(&(serial0 + 1).to_string(), &(serial0 + 2).to_string()),
    )
    .unwrap();
    let log_before = sb.log_text().len();
    sb.hup();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && sb.log_text().len() == log_before {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..5 {
        assert_eq!(
            a_records(&sb, "www.example.com."),
            ["192.0.2.80", "192.0.2.99"]
        );
        assert_eq!(soa_serial(&sb, "example.com."), Some(serial0 + 1));
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = sb.log_text();
    let new_log = &log[log_before.min(log.len())..];
    assert!(
        new_log.contains("example.com.zone"),
        "the reload error should name the file:\n{new_log}"
    );

    // 3. Fixed again: the next HUP loads it.
    fs::write(
        &file,
        good.replace("192.0.2.99", "192.0.2.77")
            .replace(&(serial0 + 1).to_string(), &(serial0 + 3).to_string()),
    )
    .unwrap();
    sb.hup();
    sb.wait_for(&q, Duration::from_secs(5), |r| {
        r.answer_rdata(RecordType::A)
            .contains(&"192.0.2.77".to_string())
    });
    assert_eq!(soa_serial(&sb, "example.com."), Some(serial0 + 3));
}

#[test]
fn sighup_adds_and_removes_zones() {
    let dir = tempfile::tempdir().unwrap();
    let zones = dir.path().join("zones");
    copy_dir(&shipped_zones(), &zones);
    let sb = Switchback::start(&zones);

    let q = Question::new("www.example.net.", RecordType::A);
    assert_eq!(sb.query(&q).unwrap().rcode(), ResponseCode::Refused);

    fs::write(
        zones.join("example.net.zone"),
        "$ORIGIN example.net.\n$TTL 600\n\
         @ SOA ns1.example.net. hostmaster.example.net. 1 3600 900 604800 300\n\
         @ NS ns1.example.net.\nns1 A 203.0.113.53\nwww A 203.0.113.80\n",
    )
    .unwrap();
    sb.hup();
    let r = sb.wait_for(&q, Duration::from_secs(5), |r| {
        r.rcode() == ResponseCode::NoError
    });
    assert_eq!(r.answer_rdata(RecordType::A), ["203.0.113.80"]);
    assert!(r.msg.metadata.authoritative);
    // The other zone is untouched.
    assert_eq!(
        a_records(&sb, "www.example.com."),
        ["192.0.2.80", "192.0.2.81"]
    );

    fs::remove_file(zones.join("example.net.zone")).unwrap();
    sb.hup();
    sb.wait_for(&q, Duration::from_secs(5), |r| {
        r.rcode() == ResponseCode::Refused
    });
    assert_eq!(
        a_records(&sb, "www.example.com."),
        ["192.0.2.80", "192.0.2.81"]
    );
}

/// Reloads swap in a new snapshot without blocking or dropping queries.
#[test]
fn queries_keep_being_answered_during_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let zones = dir.path().join("zones");
    copy_dir(&test_data("diff"), &zones);
    let sb = Switchback::start(&zones);
    let addr = sb.addr;

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..2)
        .map(|i| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let q = Question::new(
                    if i == 0 {
                        "www.example.com."
                    } else {
                        "host3.example."
                    },
                    if i == 0 {
                        RecordType::A
                    } else {
                        RecordType::MX
                    },
                );
                let (mut sent, mut lost, mut bad) = (0u32, 0u32, Vec::new());
                let mut id = 0u16;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    id = id.wrapping_add(1);
                    sent += 1;
                    match common::dns::exchange_udp_with(
                        addr,
                        &q.to_wire(id),
                        1,
                        Duration::from_secs(2),
                    ) {
                        Ok(Some(raw)) => match common::Response::parse(raw) {
                            Ok(r)
                                if r.rcode() == ResponseCode::NoError
                                    && !r.msg.answers.is_empty() => {}
                            Ok(r) => bad.push(format!("{}", r.rcode())),
                            Err(e) => bad.push(e),
                        },
                        _ => lost += 1,
                    }
                }
                (sent, lost, bad)
            })
        })
        .collect();
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(100));
        sb.hup();
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        let (sent, lost, bad) = w.join().unwrap();
        assert!(sent > 20, "only {sent} queries sent");
        assert_eq!(
            lost, 0,
            "{lost} of {sent} queries unanswered during reloads"
        );
        assert!(bad.is_empty(), "bad answers during reloads: {bad:?}");
    }
}

#[test]
fn sigterm_stops_cleanly() {
    let mut sb = Switchback::start(&shipped_zones());
    assert!(sb.is_running());
    let status = sb
        .terminate(Duration::from_secs(5))
        .expect("switchback did not exit within 5 s of SIGTERM");
    assert!(status.success(), "exit status {status}\n{}", sb.log_text());
}
