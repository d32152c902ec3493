//! Durations, the one parser for all of them (`switchback.toml`'s `soak`, `hold_down`,
//! health `interval`/`timeout`, providers' keys such as Cloudflare's `throttle_budget`, the
//! CLI's `--wait`): `200ms`, `5s`, `10m`, `1h`, `7d`, or a sum
//! of those (`1m30s`).

use std::time::Duration;

/// Parse `200ms`, `5s`, `10m`, `1h`, `7d` (and sums such as `1m30s`). A bare number, an unknown unit,
/// a negative or fractional value are errors that say what is accepted.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad =
        || format!("invalid duration {text:?}: write a number and a unit (200ms, 5s, 10m, 1h, 7d)");
    let s = text.trim();
    if s.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let part = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => n.checked_mul(60).map(Duration::from_secs).ok_or_else(bad)?,
            "h" => n
                .checked_mul(3600)
                .map(Duration::from_secs)
                .ok_or_else(bad)?,
            "d" => n
                .checked_mul(86_400)
                .map(Duration::from_secs)
                .ok_or_else(bad)?,
            "" => return Err(bad()),
            other => {
                return Err(format!(
                    "invalid duration {text:?}: unknown unit {other:?} (ms, s, m, h, d)"
                ));
            }
        };
        total = total.checked_add(part).ok_or_else(bad)?;
    }
    Ok(total)
}

/// The shortest way to write `d` in the form [`parse_duration`] reads back.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 86_400_000 == 0 && ms > 0 {
        format!("{}d", ms / 86_400_000)
    } else if ms % 3_600_000 == 0 && ms > 0 {
        format!("{}h", ms / 3_600_000)
    } else if ms % 60_000 == 0 && ms > 0 {
        format!("{}m", ms / 60_000)
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// `#[serde(deserialize_with = "switchback_api::duration::from_text")]`: a duration written
/// as text (`"10m"`), refused with [`parse_duration`]'s message.
pub fn from_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = <String as serde::Deserialize>::deserialize(d)?;
    parse_duration(&text).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(parse_duration("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration(" 0s "), Ok(Duration::ZERO));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
    }

    #[test]
    fn errors() {
        for bad in [
            "",
            "5",
            "s",
            "-5s",
            "1.5s",
            "5 s",
            "5sec",
            "5w",
            "99999999999999999999h",
            "999999999999999999d",
        ] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.contains("invalid duration"), "{bad}: {e}");
        }
        assert!(
            parse_duration("5w")
                .unwrap_err()
                .contains("unknown unit \"w\"")
        );
    }

    #[test]
    fn round_trip() {
        for d in ["200ms", "5s", "10m", "1h", "1500ms", "7d"] {
            assert_eq!(format_duration(parse_duration(d).unwrap()), d);
        }
    }
}
