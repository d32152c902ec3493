//! Whole-file lexer for master files: splits the text into entries (one logical line each,
//! joining the physical lines of a parenthesised group), keeping tokens raw.

use crate::token::Token;

use super::MAX_LINE_LEN;

/// One logical entry (a directive or a record, possibly spread over several physical lines).
#[derive(Debug)]
pub(super) struct Entry {
    /// The physical line (1-based) where the entry starts.
    pub line: usize,
    /// The entry's first line starts with white space (owner left blank).
    pub blank_owner: bool,
    pub tokens: Vec<Token>,
    /// The first lexical error in the entry, with the line to report it on.
    pub error: Option<(usize, String)>,
    /// Inside `( … )`.
    open: bool,
}

impl Entry {
    fn fail(&mut self, line: usize, message: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some((line, message.into()));
        }
    }
}

/// Iterator over the entries of a text.
pub(super) struct Lexer<'t> {
    lines: std::iter::Enumerate<std::str::Split<'t, char>>,
}

impl<'t> Lexer<'t> {
    pub fn new(text: &'t str) -> Lexer<'t> {
        Lexer {
            lines: text.split('\n').enumerate(),
        }
    }
}

impl Iterator for Lexer<'_> {
    type Item = Entry;

    /// The next entry; blank and comment-only lines come back as entries with no tokens.
    fn next(&mut self) -> Option<Entry> {
        let mut entry: Option<Entry> = None;
        loop {
            let Some((idx, raw)) = self.lines.next() else {
                // End of text: an entry still open has an unclosed '('.
                return entry.map(|mut e| {
                    let start = e.line;
                    e.fail(start, "unbalanced parentheses: '(' is never closed");
                    e
                });
            };
            let lineno = idx + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            let e = entry.get_or_insert_with(|| Entry {
                line: lineno,
                blank_owner: line.starts_with([' ', '\t']),
                tokens: Vec::new(),
                error: None,
                open: false,
            });
            if line.len() > MAX_LINE_LEN {
                e.fail(lineno, format!("line is longer than {MAX_LINE_LEN} octets"));
                // The rest of the group cannot be trusted; end the entry here.
                e.open = false;
                return entry;
            }
            scan_line(line, e);
            if !e.open {
                return entry;
            }
        }
    }
}

fn is_delimiter(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b';' | b'(' | b')' | b'"')
}

/// The index after a backslash at `i` and the character it escapes (on a char boundary).
fn skip_escaped(line: &str, i: usize) -> usize {
    match line[i + 1..].chars().next() {
        Some(c) => i + 1 + c.len_utf8(),
        None => line.len(),
    }
}

/// Add the tokens of one physical line to `e`, tracking parentheses.
fn scan_line(line: &str, e: &mut Entry) {
    let lineno = e.line;
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' | b'\r' => i += 1,
            b';' => break,
            b'(' => {
                if e.open {
                    e.fail(lineno, "nested parentheses");
                }
                e.open = true;
                i += 1;
            }
            b')' => {
                if !e.open {
                    e.fail(lineno, "unbalanced parentheses: ')' without '('");
                }
                e.open = false;
                i += 1;
            }
            b'"' => {
                let start = i + 1;
                let mut j = start;
                let mut closed = false;
                while j < b.len() {
                    match b[j] {
                        b'\\' => j = skip_escaped(line, j),
                        b'"' => {
                            closed = true;
                            break;
                        }
                        _ => j += 1,
                    }
                }
                if !closed {
                    e.fail(lineno, "unterminated quoted string");
                    return;
                }
                e.tokens.push(Token {
                    text: line[start..j].to_string(),
                    quoted: true,
                });
                i = j + 1;
            }
            _ => {
                let start = i;
                while i < b.len() && !is_delimiter(b[i]) {
                    if b[i] == b'\\' {
                        i = skip_escaped(line, i);
                    } else {
                        i += 1;
                    }
                }
                e.tokens.push(Token::plain(&line[start..i]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(text: &str) -> Vec<(usize, bool, Vec<String>, Option<String>)> {
        Lexer::new(text)
            .filter(|e| !e.tokens.is_empty() || e.error.is_some())
            .map(|e| {
                (
                    e.line,
                    e.blank_owner,
                    e.tokens
                        .iter()
                        .map(|t| {
                            if t.quoted {
                                format!("\"{}\"", t.text)
                            } else {
                                t.text.clone()
                            }
                        })
                        .collect(),
                    e.error.map(|(l, m)| format!("{l}: {m}")),
                )
            })
            .collect()
    }

    #[test]
    fn groups_and_quotes() {
        let got =
            entries("a IN SOA ns h (\r\n 1 ; serial\n 2 3 4 5 )\n\tTXT \"x;(y\\\"\" z\\;w\nb A(1)");
        assert_eq!(
            got,
            vec![
                (
                    1,
                    false,
                    vec!["a", "IN", "SOA", "ns", "h", "1", "2", "3", "4", "5"]
                        .into_iter()
                        .map(String::from)
                        .collect(),
                    None
                ),
                (
                    4,
                    true,
                    vec!["TXT".to_string(), "\"x;(y\\\"\"".into(), "z\\;w".into()],
                    None
                ),
                (
                    5,
                    false,
                    vec!["b".to_string(), "A".into(), "1".into()],
                    None
                ),
            ]
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            entries("a (\nb")[0].3.as_deref(),
            Some("1: unbalanced parentheses: '(' is never closed")
        );
        assert_eq!(
            entries("x\na )")[1].3.as_deref(),
            Some("2: unbalanced parentheses: ')' without '('")
        );
        assert_eq!(
            entries("a ( (\n)")[0].3.as_deref(),
            Some("1: nested parentheses")
        );
        assert_eq!(
            entries("a \"b")[0].3.as_deref(),
            Some("1: unterminated quoted string")
        );
        assert_eq!(entries("a \\").len(), 1);
    }
}
