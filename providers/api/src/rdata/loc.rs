//! LOC (RFC 1876): degrees, minutes, seconds and sizes in centimetres.

use super::*;

pub(super) fn parse_loc(t: &[Token], w: &mut Vec<u8>) -> Result<()> {
    let usage = "LOC needs: d1 [m1 [s1]] N|S d2 [m2 [s2]] E|W alt[m] [size[m] [hp[m] [vp[m]]]]";
    let mut i = 0;
    let mut angle = |hemis: [&str; 2], max_deg: u64| -> Result<(u32, bool)> {
        let mut parts: Vec<&Token> = Vec::new();
        loop {
            let Some(tok) = t.get(i) else {
                return err(usage);
            };
            i += 1;
            if let Some(h) = hemis.iter().position(|h| tok.text.eq_ignore_ascii_case(h)) {
                if parts.is_empty() {
                    return err(usage);
                }
                let deg = parse_uint(parts[0], "LOC degrees", max_deg)?;
                let min = match parts.get(1) {
                    Some(m) => parse_uint(m, "LOC minutes", 59)?,
                    None => 0,
                };
                let ms = match parts.get(2) {
                    Some(s) => parse_fixed(&s.text, 3, 59_999, "LOC seconds")?,
                    None => 0,
                };
                let v = ((deg * 60 + min) * 60_000 + ms) as u32;
                if deg == max_deg && v != (max_deg * 3_600_000) as u32 {
                    return err(format!("LOC angle beyond {max_deg} degrees"));
                }
                return Ok((v, h == 0));
            }
            if parts.len() == 3 {
                return err(usage);
            }
            parts.push(tok);
        }
    };
    let (lat, north) = angle(["N", "S"], 90)?;
    let (lon, east) = angle(["E", "W"], 180)?;
    let rest = &t[i..];
    if rest.is_empty() || rest.len() > 4 {
        return err(usage);
    }
    let alt_text = rest[0]
        .text
        .strip_suffix(['m', 'M'])
        .unwrap_or(&rest[0].text);
    let (neg, alt_abs) = match alt_text.strip_prefix('-') {
        Some(a) => (true, a),
        None => (false, alt_text),
    };
    let alt_cm = parse_fixed(alt_abs, 2, 4_284_967_295, "LOC altitude")? as i64;
    let alt = if neg {
        10_000_000 - alt_cm
    } else {
        10_000_000 + alt_cm
    };
    if !(0..=u32::MAX as i64).contains(&alt) {
        return err("LOC altitude out of range (-100000.00m to 42849672.95m)");
    }
    let mut sizes = [0x12u8, 0x16, 0x13]; // 1m, 10000m, 10m
    for (k, tok) in rest[1..].iter().enumerate() {
        let text = tok.text.strip_suffix(['m', 'M']).unwrap_or(&tok.text);
        let cm = parse_fixed(text, 2, 9_000_000_000, "LOC size/precision")?;
        sizes[k] = encode_loc_size(cm);
    }
    let lat = if north {
        (1u64 << 31) + lat as u64
    } else {
        (1u64 << 31) - lat as u64
    };
    let lon = if east {
        (1u64 << 31) + lon as u64
    } else {
        (1u64 << 31) - lon as u64
    };
    w.push(0);
    w.extend_from_slice(&sizes);
    w.extend_from_slice(&(lat as u32).to_be_bytes());
    w.extend_from_slice(&(lon as u32).to_be_bytes());
    w.extend_from_slice(&(alt as u32).to_be_bytes());
    Ok(())
}

/// A decimal with at most `frac` fraction digits, scaled by 10^frac.
pub(super) fn parse_fixed(s: &str, frac: u32, max: u64, what: &str) -> Result<u64> {
    let bad = || RdataError(format!("bad {what} {s:?}"));
    let (int, fr) = match s.split_once('.') {
        Some((a, b)) => (a, b),
        None => (s, ""),
    };
    if int.is_empty()
        || int.len() > 12
        || fr.len() > frac as usize
        || !int.bytes().chain(fr.bytes()).all(|b| b.is_ascii_digit())
        || (s.contains('.') && fr.is_empty())
    {
        return Err(bad());
    }
    let mut v: u64 = int.parse().map_err(|_| bad())?;
    for k in 0..frac as usize {
        v = v * 10 + fr.as_bytes().get(k).map_or(0, |d| (d - b'0') as u64);
    }
    if v > max {
        return Err(bad());
    }
    Ok(v)
}

/// Centimetres as RFC 1876 mantissa/exponent (rounded up to the next representable size).
pub(super) fn encode_loc_size(cm: u64) -> u8 {
    let mut exp = 0u8;
    let mut m = cm;
    while m > 9 {
        m = m.div_ceil(10);
        exp += 1;
    }
    // 9e9 cm (the largest) fits in exponent 9.
    ((m as u8) << 4) | exp.min(9)
}

pub(super) fn format_loc(r: &mut Reader<'_>, out: &mut String) -> Result<bool> {
    let version = r.u8()?;
    if version != 0 {
        // Only version 0 has a presentation form.
        let _ = r.take(r.remaining());
        return Ok(false);
    }
    let mut sizes = [0u64; 3];
    for s in &mut sizes {
        let b = r.u8()?;
        let (m, e) = (b >> 4, b & 0x0f);
        if m > 9 || e > 9 {
            return err("malformed LOC RDATA: bad size or precision");
        }
        *s = m as u64 * 10u64.pow(e as u32);
    }
    let lat = r.u32()? as i64 - (1i64 << 31);
    let lon = r.u32()? as i64 - (1i64 << 31);
    let alt = r.u32()? as i64 - 10_000_000;
    if lat.abs() > 90 * 3_600_000 || lon.abs() > 180 * 3_600_000 {
        return err("malformed LOC RDATA: latitude or longitude out of range");
    }
    let angle = |v: i64, pos: char, neg: char| {
        let h = if v < 0 { neg } else { pos };
        let a = v.unsigned_abs();
        format!(
            "{} {} {}.{:03} {h}",
            a / 3_600_000,
            a / 60_000 % 60,
            a / 1000 % 60,
            a % 1000
        )
    };
    let size = |cm: u64| format!("{}.{:02}m", cm / 100, cm % 100);
    let alt_text = format!(
        "{}{}.{:02}m",
        if alt < 0 { "-" } else { "" },
        alt.unsigned_abs() / 100,
        alt.unsigned_abs() % 100
    );
    let _ = write!(
        out,
        "{} {} {alt_text} {} {} {}",
        angle(lat, 'N', 'S'),
        angle(lon, 'E', 'W'),
        size(sizes[0]),
        size(sizes[1]),
        size(sizes[2])
    );
    Ok(true)
}
