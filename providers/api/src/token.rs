//! Tokens of RFC 1035 presentation format, shared by the zone-file reader and the RDATA codec.

/// One token: its raw text (escapes not yet decoded; for a quoted token, without the quotes)
/// and whether it was quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    pub quoted: bool,
}

impl Token {
    pub fn plain(text: impl Into<String>) -> Token {
        Token {
            text: text.into(),
            quoted: false,
        }
    }
}

/// Split one line of presentation text (no parentheses, no line breaks) into tokens:
/// whitespace separates, `"…"` quotes (with `\"` inside), `;` starts a comment.
pub fn tokenize(line: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b';' => break,
            b'"' => {
                let start = i + 1;
                let mut j = start;
                loop {
                    match b.get(j) {
                        None => return Err("unterminated quoted string".into()),
                        Some(b'\\') => j = skip_escaped(line, j),
                        Some(b'"') => break,
                        Some(_) => j += 1,
                    }
                }
                let end = j.min(b.len());
                out.push(Token {
                    text: line[start..end].to_string(),
                    quoted: true,
                });
                i = end + 1;
            }
            _ => {
                let start = i;
                while i < b.len() && !matches!(b[i], b' ' | b'\t' | b'\r' | b'\n' | b';' | b'"') {
                    if b[i] == b'\\' {
                        i = skip_escaped(line, i);
                    } else {
                        i += 1;
                    }
                }
                let end = i.min(b.len());
                out.push(Token::plain(&line[start..end]));
            }
        }
    }
    Ok(out)
}

/// The index after a backslash at `i` and the character it escapes (kept on a char boundary).
fn skip_escaped(line: &str, i: usize) -> usize {
    match line[i + 1..].chars().next() {
        Some(c) => i + 1 + c.len_utf8(),
        None => line.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quotes_and_comments() {
        let t = tokenize(r#"10 mail "a \"b\" c" x\ y ; comment"#).unwrap();
        assert_eq!(
            t,
            vec![
                Token::plain("10"),
                Token::plain("mail"),
                Token {
                    text: r#"a \"b\" c"#.into(),
                    quoted: true
                },
                Token::plain(r"x\ y"),
            ]
        );
        assert!(tokenize("\"open").is_err());
        assert!(tokenize("\"a\\é\"").is_ok());
        assert_eq!(tokenize("x\\").unwrap(), vec![Token::plain("x\\")]);
    }
}
