//! RFC 1035 master files: reading (with `file:line` errors), semantic checks and writing.
//!
//! Reader: `$ORIGIN`, `$TTL` (with units such as `1h30m`), `$INCLUDE file [origin]` (confined
//! to a root folder, loops detected), `@`, relative names, blank owners, optional TTL and class
//! in either order (`IN` only), parenthesised groups over several lines, comments, quoted
//! strings, CRLF line ends. Every error carries the file and the line where its entry starts,
//! and all errors are collected, not only the first.
//!
//! TTL defaults: a record without a TTL takes `$TTL` when one is set, else the last explicit
//! TTL in the file (RFC 1035), else the MINIMUM of the last SOA read (BIND's fallback); with
//! none of those it is an error. Within an RRset the TTL of the first record wins
//! (RFC 2181 §5.2) without complaint.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::rdata;
use crate::token::Token;
use crate::{Name, RType, Zone};

mod check;
mod lexer;
mod parsed;
#[cfg(test)]
mod tests;
mod write;

pub use check::check;
pub use parsed::{ParsedRecord, ParsedZone};
pub use write::write_zone;

use lexer::{Entry, Lexer};

/// Longest physical line accepted.
pub const MAX_LINE_LEN: usize = 64 * 1024;
/// Largest zone accepted, counting every `$INCLUDE`d file.
pub const MAX_ZONE_BYTES: u64 = 256 * 1024 * 1024;
/// Deepest `$INCLUDE` nesting accepted.
pub const MAX_INCLUDE_DEPTH: usize = 16;
/// The reader stops after this many errors.
pub const MAX_ERRORS: usize = 1000;
/// Largest TTL (RFC 2181 §8).
pub const MAX_TTL: u32 = 0x7fff_ffff;

/// An error in a zone file: where and what. Line 0 means the file as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneError {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

impl ZoneError {
    pub fn new(file: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> ZoneError {
        ZoneError {
            file: file.into(),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for ZoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

impl std::error::Error for ZoneError {}

/// Parse a master file. `root` is the folder `$INCLUDE` may read from (anything resolving
/// outside it, including via symlinks or `..`, is an error). Collects all errors.
pub fn parse_file(path: &Path, origin: &Name, root: &Path) -> Result<ParsedZone, Vec<ZoneError>> {
    result(parse_file_inner(path, origin, root))
}

/// Parse master-file text read from `file` (used for error messages and as the base folder of
/// relative `$INCLUDE` paths).
pub fn parse_str(
    text: &str,
    file: &Path,
    origin: &Name,
    root: &Path,
) -> Result<ParsedZone, Vec<ZoneError>> {
    result(parse_str_inner(text, file, origin, root))
}

/// Parse, check and convert to the record model (sets grouped by name and type).
pub fn load_file(path: &Path, origin: &Name, root: &Path) -> Result<Zone, Vec<ZoneError>> {
    load(parse_file_inner(path, origin, root))
}

/// [`load_file`] for text already in memory.
pub fn load_str(
    text: &str,
    file: &Path,
    origin: &Name,
    root: &Path,
) -> Result<Zone, Vec<ZoneError>> {
    load(parse_str_inner(text, file, origin, root))
}

/// Parse and check a master file, without building the model: a caller that wants the
/// record sets one at a time takes them from [`ParsedZone::sets`].
pub fn checked_file(path: &Path, origin: &Name, root: &Path) -> Result<ParsedZone, Vec<ZoneError>> {
    checked(parse_file_inner(path, origin, root))
}

/// Group parsed records into record sets: one set per (name, type), with the TTL of its first
/// record (RFC 2181 §5.2) and its values as a set.
pub fn to_zone(parsed: &ParsedZone) -> Zone {
    into_zone(parsed.clone())
}

/// [`to_zone`], taking the parsed records.
pub fn into_zone(parsed: ParsedZone) -> Zone {
    parsed.into_zone()
}

/// Parse a TTL: seconds, or a duration of number-unit pairs (`w`, `d`, `h`, `m`, `s`, any case)
/// such as `1h30m` or `1w`. At most 2^31 - 1 (RFC 2181 §8).
pub fn parse_ttl(text: &str) -> Result<u32, String> {
    let bad = || format!("bad TTL {text:?}: expected seconds or a duration such as 1h30m");
    if text.is_empty() {
        return Err(bad());
    }
    let too_big = || format!("TTL {text} is larger than {MAX_TTL} (RFC 2181 §8)");
    let mut total: u64 = 0;
    let mut num: Option<u64> = None;
    let mut units = false;
    for c in text.chars() {
        if let Some(d) = c.to_digit(10) {
            let n = num.unwrap_or(0) * 10 + u64::from(d);
            if n > u64::from(MAX_TTL) {
                return Err(too_big());
            }
            num = Some(n);
        } else {
            let mult: u64 = match c.to_ascii_lowercase() {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                'w' => 604_800,
                _ => return Err(bad()),
            };
            total += num.take().ok_or_else(bad)? * mult;
            units = true;
        }
        if total > u64::from(MAX_TTL) {
            return Err(too_big());
        }
    }
    if let Some(n) = num {
        // Trailing digits after units count as seconds (BIND).
        total = if units { total + n } else { n };
    }
    if total > u64::from(MAX_TTL) {
        return Err(too_big());
    }
    Ok(total as u32)
}

fn result((zone, errors): (ParsedZone, Vec<ZoneError>)) -> Result<ParsedZone, Vec<ZoneError>> {
    if errors.is_empty() {
        Ok(zone)
    } else {
        Err(errors)
    }
}

fn load(read: (ParsedZone, Vec<ZoneError>)) -> Result<Zone, Vec<ZoneError>> {
    checked(read).map(ParsedZone::into_zone)
}

fn checked((zone, mut errors): (ParsedZone, Vec<ZoneError>)) -> Result<ParsedZone, Vec<ZoneError>> {
    // After read errors, records are missing: a "no SOA" or "no NS" would only mislead.
    let whole_zone = errors.is_empty();
    errors.extend(check::check_records(&zone, whole_zone));
    if errors.is_empty() {
        Ok(zone)
    } else {
        Err(errors)
    }
}

fn parse_file_inner(path: &Path, origin: &Name, root: &Path) -> (ParsedZone, Vec<ZoneError>) {
    let mut p = Reader::new(path, origin, root);
    match read_file(path) {
        Ok(text) => {
            p.bytes_total = text.len() as u64;
            let canon = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
            p.run(&text, path, canon, origin);
        }
        Err((line, message)) => p.error(path, line, message),
    }
    p.finish()
}

fn parse_str_inner(
    text: &str,
    file: &Path,
    origin: &Name,
    root: &Path,
) -> (ParsedZone, Vec<ZoneError>) {
    let mut p = Reader::new(file, origin, root);
    if text.len() as u64 > MAX_ZONE_BYTES {
        p.error(
            file,
            0,
            format!("zone is larger than {MAX_ZONE_BYTES} octets"),
        );
    } else {
        p.bytes_total = text.len() as u64;
        let canon = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
        p.run(text, file, canon, origin);
    }
    p.finish()
}

/// Read a zone file as text, refusing what is not a regular file, too big, or not UTF-8.
/// Errors come with a line (0 for the file as a whole).
fn read_file(path: &Path) -> Result<String, (usize, String)> {
    let file = std::fs::File::open(path).map_err(|e| (0, format!("cannot read file: {e}")))?;
    let meta = file
        .metadata()
        .map_err(|e| (0, format!("cannot read file: {e}")))?;
    if !meta.is_file() {
        return Err((0, "cannot read file: not a regular file".into()));
    }
    if meta.len() > MAX_ZONE_BYTES {
        return Err((0, format!("file is larger than {MAX_ZONE_BYTES} octets")));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_ZONE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| (0, format!("cannot read file: {e}")))?;
    if bytes.len() as u64 > MAX_ZONE_BYTES {
        return Err((0, format!("file is larger than {MAX_ZONE_BYTES} octets")));
    }
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
        (
            line,
            "invalid UTF-8 (write other octets as \\DDD escapes)".to_string(),
        )
    })
}

/// The owner that a line starting with white space refers to.
#[derive(Clone)]
enum Owner {
    None,
    Some(Name),
    /// The last owner was unreadable (already reported): skip records that inherit it.
    Poisoned,
}

/// Per-file state that `$INCLUDE` saves and restores.
struct FileState {
    origin: Name,
    owner: Owner,
}

struct Reader<'a> {
    zone: ParsedZone,
    errors: Vec<ZoneError>,
    root: &'a Path,
    root_canon: Option<Result<PathBuf, String>>,
    /// Canonical paths of the files being read (for loop detection).
    stack: Vec<PathBuf>,
    bytes_total: u64,
    /// `$TTL`.
    default_ttl: Option<u32>,
    /// The last TTL written on a record.
    last_ttl: Option<u32>,
    /// MINIMUM of the last SOA read.
    soa_minimum: Option<u32>,
    stopped: bool,
}

impl<'a> Reader<'a> {
    fn new(file: &Path, origin: &Name, root: &'a Path) -> Reader<'a> {
        Reader {
            zone: ParsedZone::new(origin.clone(), file.to_path_buf()),
            errors: Vec::new(),
            root,
            root_canon: None,
            stack: Vec::new(),
            bytes_total: 0,
            default_ttl: None,
            last_ttl: None,
            soa_minimum: None,
            stopped: false,
        }
    }

    fn finish(mut self) -> (ParsedZone, Vec<ZoneError>) {
        self.zone.shrink();
        (self.zone, self.errors)
    }

    fn error(&mut self, file: &Path, line: usize, message: impl Into<String>) {
        if self.stopped {
            return;
        }
        if self.errors.len() + 1 >= MAX_ERRORS {
            self.errors.push(ZoneError::new(
                file,
                line,
                format!("too many errors ({MAX_ERRORS}); stopped reading"),
            ));
            self.stopped = true;
            return;
        }
        self.errors.push(ZoneError::new(file, line, message));
    }

    fn run(&mut self, text: &str, file: &Path, canon: PathBuf, origin: &Name) {
        self.stack.push(canon);
        let mut st = FileState {
            origin: origin.clone(),
            owner: Owner::None,
        };
        self.text(text, file, &mut st);
        self.stack.pop();
    }

    fn text(&mut self, text: &str, file: &Path, st: &mut FileState) {
        for entry in Lexer::new(text) {
            if self.stopped {
                return;
            }
            self.entry(entry, file, st);
        }
    }

    fn entry(&mut self, e: Entry, file: &Path, st: &mut FileState) {
        let line = e.line;
        if let Some((l, message)) = e.error {
            if !e.blank_owner && !is_directive(&e.tokens) {
                st.owner = Owner::Poisoned;
            }
            self.error(file, l, message);
            return;
        }
        if e.tokens.is_empty() {
            return;
        }
        if !e.blank_owner && is_directive(&e.tokens) {
            return self.directive(&e.tokens, file, line, st);
        }
        if let Err(message) = self.record(&e.tokens, e.blank_owner, file, line, st) {
            self.error(file, line, message);
        }
    }

    fn directive(&mut self, tokens: &[Token], file: &Path, line: usize, st: &mut FileState) {
        let name = tokens[0].text.to_ascii_uppercase();
        let args = &tokens[1..];
        match name.as_str() {
            "$ORIGIN" => {
                if args.len() != 1 {
                    return self.error(file, line, "$ORIGIN takes one domain name");
                }
                match Name::parse(&args[0].text, Some(&st.origin)) {
                    Ok(n) if !args[0].text.is_empty() => st.origin = n,
                    Ok(_) => self.error(file, line, "bad $ORIGIN: empty name"),
                    Err(err) => self.error(file, line, format!("bad $ORIGIN: {err}")),
                }
            }
            "$TTL" => {
                if args.len() != 1 {
                    return self.error(file, line, "$TTL takes one TTL");
                }
                match parse_ttl(&args[0].text) {
                    Ok(t) => self.default_ttl = Some(t),
                    Err(err) => self.error(file, line, format!("$TTL: {err}")),
                }
            }
            "$INCLUDE" => {
                if args.is_empty() || args.len() > 2 {
                    return self.error(
                        file,
                        line,
                        "$INCLUDE takes a file name and an optional origin",
                    );
                }
                if let Err(message) = self.include(args, file, st) {
                    self.error(file, line, message);
                }
            }
            _ => self.error(file, line, format!("unknown directive {}", tokens[0].text)),
        }
    }

    fn include(&mut self, args: &[Token], file: &Path, st: &FileState) -> Result<(), String> {
        let arg = &args[0].text;
        let origin = match args.get(1) {
            Some(t) if t.text.is_empty() => return Err("bad $INCLUDE origin: empty name".into()),
            Some(t) => Name::parse(&t.text, Some(&st.origin))
                .map_err(|e| format!("bad $INCLUDE origin: {e}"))?,
            None => st.origin.clone(),
        };
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            return Err(format!(
                "$INCLUDE {arg}: nested more than {MAX_INCLUDE_DEPTH} deep"
            ));
        }
        let rel = unescape_path(arg).ok_or_else(|| format!("$INCLUDE {arg}: bad file name"))?;
        if rel.as_os_str().is_empty() {
            return Err("$INCLUDE: empty file name".into());
        }
        let base = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let target = base.join(&rel);
        let root = self
            .root_canonical()
            .map_err(|e| format!("$INCLUDE {arg}: {e}"))?;
        let outside = || format!("$INCLUDE {arg}: outside the folder {}", self.root.display());
        let canon = match std::fs::canonicalize(&target) {
            Ok(c) => c,
            Err(err) => {
                // Say "outside" rather than reveal whether a file outside the root exists.
                let parent_inside = target
                    .parent()
                    .and_then(|p| std::fs::canonicalize(p).ok())
                    .is_some_and(|p| p.starts_with(&root));
                if !parent_inside {
                    return Err(outside());
                }
                return Err(format!(
                    "$INCLUDE {arg}: cannot read {}: {err}",
                    target.display()
                ));
            }
        };
        if !canon.starts_with(&root) {
            return Err(outside());
        }
        if self.stack.contains(&canon) {
            return Err(format!(
                "$INCLUDE loop: {} is already being read",
                target.display()
            ));
        }
        let text = match read_file(&canon) {
            Ok(t) => t,
            Err((0, message)) => {
                return Err(format!("$INCLUDE {arg}: {}: {message}", target.display()));
            }
            Err((line, message)) => {
                self.error(&target, line, message);
                return Ok(());
            }
        };
        self.bytes_total += text.len() as u64;
        if self.bytes_total > MAX_ZONE_BYTES {
            return Err(format!(
                "$INCLUDE {arg}: zone is larger than {MAX_ZONE_BYTES} octets"
            ));
        }
        // RFC 1035 §5.1: the origin and current owner revert after the included file.
        let mut inner = FileState {
            origin,
            owner: st.owner.clone(),
        };
        self.stack.push(canon);
        self.text(&text, &target, &mut inner);
        self.stack.pop();
        Ok(())
    }

    fn root_canonical(&mut self) -> Result<PathBuf, String> {
        let root = self.root;
        self.root_canon
            .get_or_insert_with(|| {
                std::fs::canonicalize(root)
                    .map_err(|e| format!("cannot resolve the folder {}: {e}", root.display()))
            })
            .clone()
    }

    fn record(
        &mut self,
        tokens: &[Token],
        blank_owner: bool,
        file: &Path,
        line: usize,
        st: &mut FileState,
    ) -> Result<(), String> {
        let mut rest = tokens;
        if !blank_owner {
            let t = &tokens[0];
            rest = &tokens[1..];
            let parsed = if t.text.is_empty() {
                Err("empty name".to_string())
            } else {
                Name::parse(&t.text, Some(&st.origin)).map_err(|e| e.to_string())
            };
            match parsed {
                Ok(n) => st.owner = Owner::Some(n),
                Err(err) => {
                    st.owner = Owner::Poisoned;
                    return Err(format!("bad owner name: {err}"));
                }
            }
        }
        let owner = match &st.owner {
            Owner::Some(n) => n,
            Owner::Poisoned => return Ok(()),
            Owner::None => {
                return Err("line starts with white space but no owner name precedes it".into());
            }
        };

        // [TTL] [class] in either order.
        let mut ttl = None;
        let mut class = false;
        loop {
            let Some(t) = rest.first() else {
                return Err("missing record type".into());
            };
            if t.quoted {
                break;
            }
            if ttl.is_none() && t.text.starts_with(|c: char| c.is_ascii_digit()) {
                ttl = Some(parse_ttl(&t.text)?);
                rest = &rest[1..];
                continue;
            }
            if !class {
                if let Some(c) = class_of(&t.text) {
                    // ANY is also a type: read it as the class only when a type follows.
                    let is_class = c != "ANY"
                        || rest.get(1).is_some_and(|n| {
                            !n.quoted
                                && (RType::parse(&n.text).is_some()
                                    || n.text.starts_with(|c: char| c.is_ascii_digit()))
                        });
                    if is_class {
                        if c != "IN" {
                            return Err(format!("class {c} is not supported (only IN)"));
                        }
                        class = true;
                        rest = &rest[1..];
                        continue;
                    }
                }
            }
            break;
        }
        let t = &rest[0];
        let rtype = match RType::parse(&t.text) {
            Some(r) if !t.quoted => r,
            _ => return Err(format!("unknown record type {:?}", t.text)),
        };
        if rtype.is_meta() {
            return Err(format!("record type {rtype} cannot appear in a zone"));
        }
        let wire = rdata::parse(rtype, &rest[1..], &st.origin)
            .map_err(|e| format!("bad {rtype} data: {e}"))?;
        let data = rdata::format(rtype, &wire).map_err(|e| format!("bad {rtype} data: {e}"))?;
        if rtype == RType::SOA && wire.len() >= 4 {
            let m = &wire[wire.len() - 4..];
            self.soa_minimum = Some(u32::from_be_bytes([m[0], m[1], m[2], m[3]]).min(MAX_TTL));
        }
        let ttl = match ttl {
            Some(t) => {
                self.last_ttl = Some(t);
                t
            }
            None => self
                .default_ttl
                .or(self.last_ttl)
                .or(self.soa_minimum)
                .ok_or("no TTL: give one on the record or set $TTL")?,
        };
        self.zone.push(owner, rtype, ttl, &data, file, line)
    }
}

fn is_directive(tokens: &[Token]) -> bool {
    tokens
        .first()
        .is_some_and(|t| !t.quoted && t.text.starts_with('$'))
}

/// The class a token names (upper case), if it names one.
fn class_of(text: &str) -> Option<String> {
    let up = text.to_ascii_uppercase();
    match up.as_str() {
        "IN" | "CH" | "HS" | "CS" | "NONE" | "ANY" => return Some(up),
        _ => {}
    }
    let digits = up.strip_prefix("CLASS")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match digits.parse::<u16>().ok()? {
        1 => Some("IN".into()),
        _ => Some(up),
    }
}

/// Decode RFC 1035 escapes in a file name.
fn unescape_path(text: &str) -> Option<PathBuf> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            let (v, used) = crate::name::unescape(&b[i + 1..])?;
            out.push(v);
            i += 1 + used;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok().map(PathBuf::from)
}
