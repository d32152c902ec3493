//! SVCB and HTTPS parameters (RFC 9460): keys, value lists, presentation <-> wire.

use super::*;

pub(super) const SVC_KEYS: &[(&str, u16)] = &[
    ("mandatory", 0),
    ("alpn", 1),
    ("no-default-alpn", 2),
    ("port", 3),
    ("ipv4hint", 4),
    ("ech", 5),
    ("ipv6hint", 6),
];

pub(super) fn svc_key_name(key: u16) -> String {
    match SVC_KEYS.iter().find(|(_, k)| *k == key) {
        Some((name, _)) => (*name).to_string(),
        None => format!("key{key}"),
    }
}

pub(super) fn parse_svc_key(s: &str) -> Result<u16> {
    if let Some(&(_, k)) = SVC_KEYS.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
        return Ok(k);
    }
    // Later registrations, accepted by name and shown in the generic form.
    if s.eq_ignore_ascii_case("dohpath") {
        return Ok(7);
    }
    if s.eq_ignore_ascii_case("ohttp") {
        return Ok(8);
    }
    let digits = s
        .strip_prefix("key")
        .or_else(|| s.strip_prefix("KEY"))
        .unwrap_or("");
    if !digits.is_empty() && digits.len() <= 5 && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(k) = digits.parse::<u32>() {
            if k == 65535 {
                return err("SvcParam key65535 is reserved");
            }
            if k < 65535 {
                return Ok(k as u16);
            }
        }
    }
    err(format!(
        "unknown SvcParam key {s:?} (expected mandatory, alpn, no-default-alpn, port, ipv4hint, ech, ipv6hint or keyNNNNN)"
    ))
}

pub(super) fn parse_svcb(rtype: RType, t: &[Token], origin: &Name, w: &mut Vec<u8>) -> Result<()> {
    if t.len() < 2 {
        return err(format!(
            "{rtype} needs at least 2 fields (priority target [params...]), got {}",
            t.len()
        ));
    }
    let priority = parse_uint(&t[0], "priority", u16::MAX as u64)? as u16;
    w.extend_from_slice(&priority.to_be_bytes());
    push_name(w, &t[1], origin, "target")?;

    let mut params: Vec<(u16, Vec<u8>)> = Vec::new();
    let mut i = 2;
    while i < t.len() {
        let tok = &t[i];
        if tok.quoted {
            return err(format!(
                "unexpected quoted string {:?} where a SvcParam (key=value) was expected",
                tok.text
            ));
        }
        let (key_text, value): (&str, Option<&str>) = match tok.text.find('=') {
            Some(eq) => {
                let v = &tok.text[eq + 1..];
                if v.is_empty() && t.get(i + 1).is_some_and(|n| n.quoted) {
                    i += 1;
                    (&tok.text[..eq], Some(t[i].text.as_str()))
                } else {
                    (&tok.text[..eq], Some(v))
                }
            }
            None => (tok.text.as_str(), None),
        };
        let key = parse_svc_key(key_text)?;
        let value = value.map(unescape_text).transpose()?;
        let wire_value = svc_value_to_wire(key, value)?;
        if wire_value.len() > u16::MAX as usize {
            return err(format!("SvcParam {} value is too long", svc_key_name(key)));
        }
        params.push((key, wire_value));
        i += 1;
    }
    params.sort_by_key(|(k, _)| *k);
    for pair in params.windows(2) {
        if pair[0].0 == pair[1].0 {
            return err(format!(
                "duplicate SvcParam key {}",
                svc_key_name(pair[0].0)
            ));
        }
    }
    if priority == 0 && !params.is_empty() {
        return err(format!(
            "{rtype} with priority 0 (AliasMode) cannot have SvcParams"
        ));
    }
    for (key, value) in params {
        w.extend_from_slice(&key.to_be_bytes());
        w.extend_from_slice(&(value.len() as u16).to_be_bytes());
        w.extend_from_slice(&value);
    }
    Ok(())
}

/// Split a decoded SvcParam value on commas; `\,` and `\\` escape a comma or backslash inside
/// an item (RFC 9460 Appendix A.1).
pub(super) fn split_value_list(v: &[u8]) -> Vec<Vec<u8>> {
    let mut items = Vec::new();
    let mut cur = Vec::new();
    let mut i = 0;
    while i < v.len() {
        match v[i] {
            b'\\' if i + 1 < v.len() => {
                cur.push(v[i + 1]);
                i += 2;
            }
            b',' => {
                items.push(std::mem::take(&mut cur));
                i += 1;
            }
            b => {
                cur.push(b);
                i += 1;
            }
        }
    }
    items.push(cur);
    items
}

pub(super) fn svc_value_to_wire(key: u16, value: Option<Vec<u8>>) -> Result<Vec<u8>> {
    let name = svc_key_name(key);
    let needs_value = matches!(key, 0 | 1 | 3 | 4 | 5 | 6);
    let value = match value {
        None if needs_value => return err(format!("SvcParam {name} needs a value")),
        None => Vec::new(),
        Some(v) if v.is_empty() && needs_value => {
            return err(format!("SvcParam {name} needs a value, got an empty one"));
        }
        Some(v) => v,
    };
    let text = || String::from_utf8_lossy(&value).into_owned();
    let mut w = Vec::new();
    match key {
        0 => {
            let mut keys = Vec::new();
            for item in split_value_list(&value) {
                let k = parse_svc_key(&String::from_utf8_lossy(&item))?;
                if k == 0 {
                    return err("mandatory cannot list mandatory itself");
                }
                keys.push(k);
            }
            keys.sort_unstable();
            for pair in keys.windows(2) {
                if pair[0] == pair[1] {
                    return err(format!(
                        "mandatory lists key {} twice",
                        svc_key_name(pair[0])
                    ));
                }
            }
            for k in keys {
                w.extend_from_slice(&k.to_be_bytes());
            }
        }
        1 => {
            for item in split_value_list(&value) {
                if item.is_empty() {
                    return err(format!("empty protocol id in alpn={:?}", text()));
                }
                if item.len() > 255 {
                    return err("alpn protocol id longer than 255 octets");
                }
                w.push(item.len() as u8);
                w.extend_from_slice(&item);
            }
        }
        2 => {
            if !value.is_empty() {
                return err("SvcParam no-default-alpn takes no value");
            }
        }
        3 => {
            let tok = Token::plain(text());
            w.extend_from_slice(&(parse_uint(&tok, "port", u16::MAX as u64)? as u16).to_be_bytes());
        }
        4 => {
            for item in text().split(',') {
                w.extend_from_slice(&parse_ipv4(item)?.octets());
            }
        }
        5 => w.extend_from_slice(&base64_decode(&text(), "ech")?),
        6 => {
            for item in text().split(',') {
                w.extend_from_slice(&parse_ipv6(item)?.octets());
            }
        }
        _ => w = value,
    }
    Ok(w)
}

/// One SvcParam in presentation form, checking its wire value.
pub(super) fn svc_param_text(key: u16, v: &[u8]) -> Result<String> {
    let name = svc_key_name(key);
    let bad = |why: &str| RdataError(format!("malformed SvcParam {name}: {why}"));
    let mut out = String::new();
    match key {
        0 => {
            if v.is_empty() || v.len() % 2 != 0 {
                return Err(bad("length is not a non-zero multiple of 2"));
            }
            let keys: Vec<u16> = v
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            if keys.contains(&0) {
                return Err(bad("lists mandatory itself"));
            }
            if keys.windows(2).any(|p| p[0] >= p[1]) {
                return Err(bad("keys are not in strictly increasing order"));
            }
            if keys.contains(&65535) {
                return Err(bad("lists the reserved key65535"));
            }
            let names: Vec<String> = keys.into_iter().map(svc_key_name).collect();
            out = format!("mandatory={}", names.join(","));
        }
        1 => {
            let mut r = Reader::new(RType::SVCB, v);
            let mut list = Vec::new();
            while !r.done() {
                let id = r.string().map_err(|_| bad("truncated protocol id"))?;
                if id.is_empty() {
                    return Err(bad("empty protocol id"));
                }
                let mut item = Vec::new();
                for &b in id {
                    if b == b',' || b == b'\\' {
                        item.push(b'\\');
                    }
                    item.push(b);
                }
                list.push(item);
            }
            if list.is_empty() {
                return Err(bad("no protocol ids"));
            }
            out.push_str("alpn=");
            quote(&mut out, &list.join(&b','));
        }
        2 => {
            if !v.is_empty() {
                return Err(bad("must have no value"));
            }
            out.push_str("no-default-alpn");
        }
        3 => {
            if v.len() != 2 {
                return Err(bad("length is not 2"));
            }
            out = format!("port={}", u16::from_be_bytes([v[0], v[1]]));
        }
        4 => {
            if v.is_empty() || v.len() % 4 != 0 {
                return Err(bad("length is not a non-zero multiple of 4"));
            }
            let addrs: Vec<String> = v
                .chunks(4)
                .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]).to_string())
                .collect();
            out = format!("ipv4hint={}", addrs.join(","));
        }
        5 => {
            if v.is_empty() {
                return Err(bad("empty"));
            }
            out = format!("ech={}", base64_encode(v));
        }
        6 => {
            if v.is_empty() || v.len() % 16 != 0 {
                return Err(bad("length is not a non-zero multiple of 16"));
            }
            let addrs: Vec<String> = v
                .chunks(16)
                .map(|c| {
                    let mut a = [0u8; 16];
                    a.copy_from_slice(c);
                    Ipv6Addr::from(a).to_string()
                })
                .collect();
            out = format!("ipv6hint={}", addrs.join(","));
        }
        65535 => return Err(bad("key65535 is reserved")),
        _ => {
            out.push_str(&name);
            if !v.is_empty() {
                out.push('=');
                quote(&mut out, v);
            }
        }
    }
    Ok(out)
}

pub(super) fn format_svcb(r: &mut Reader<'_>, out: &mut String) -> Result<()> {
    let priority = r.u16()?;
    let target = r.name()?;
    let _ = write!(out, "{priority} {target}");
    let mut keys = Vec::new();
    let mut mandatory: Vec<u16> = Vec::new();
    while !r.done() {
        let key = r.u16()?;
        let len = r.u16()? as usize;
        let value = r.take(len)?;
        if keys.last().is_some_and(|&last| last >= key) {
            return err(format!(
                "malformed {} RDATA: SvcParam keys not in strictly increasing order",
                r.rtype
            ));
        }
        keys.push(key);
        if key == 0 {
            mandatory = value
                .chunks(2)
                .filter(|c| c.len() == 2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
        }
        out.push(' ');
        out.push_str(&svc_param_text(key, value)?);
    }
    if priority == 0 && !keys.is_empty() {
        return err(format!(
            "{} with priority 0 (AliasMode) cannot have SvcParams",
            r.rtype
        ));
    }
    for k in mandatory {
        if !keys.contains(&k) {
            return err(format!(
                "mandatory lists {} but the record has no such SvcParam",
                svc_key_name(k)
            ));
        }
    }
    Ok(())
}
