//! The plan checksum: a SHA-256 over a length-prefixed feed of the plan's fields.

use super::*;

impl Plan {
    /// A stable hex digest (16 hex digits, the first 64 bits of a SHA-256) of what the plan
    /// does: provider, zone and changes. It depends only on content: values are compared as
    /// sets and object keys are sorted, so the same plan always gives the same checksum.
    pub fn checksum(&self) -> String {
        let mut feed = Feed(Sha256::new());
        feed.bytes(b"switchback-plan-v1");
        feed.bytes(self.provider.as_bytes());
        feed.bytes(self.zone.wire());
        feed.u64(self.changes.len() as u64);
        for c in &self.changes {
            feed.bytes(c.op().as_bytes());
            if let Some(before) = c.before() {
                feed.set(&norm(before));
            }
            if let Some(after) = c.after() {
                feed.set(&norm(after));
            }
        }
        let digest = feed.0.finalize();
        let mut hex = String::with_capacity(16);
        for b in &digest[..8] {
            hex.push_str(&format!("{b:02x}"));
        }
        hex
    }
}

/// The checksum's input: every field length-prefixed, so that no two plans feed the same
/// octets; JSON objects in provider fields with their keys sorted.
struct Feed(Sha256);

impl Feed {
    fn u64(&mut self, n: u64) {
        self.0.update(n.to_be_bytes());
    }

    fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.0.update(b);
    }

    fn opt_u64(&mut self, n: Option<u64>) {
        match n {
            None => self.0.update([0u8]),
            Some(n) => {
                self.0.update([1u8]);
                self.u64(n);
            }
        }
    }

    fn fields(&mut self, f: &crate::Fields) {
        if f.is_empty() {
            self.bytes(b"");
        } else {
            let mut text = String::new();
            canonical_json(
                &serde_json::Value::Object(f.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
                &mut text,
            );
            self.bytes(text.as_bytes());
        }
    }

    fn set(&mut self, rs: &RecordSet) {
        self.bytes(rs.name.wire());
        self.u64(rs.rtype.0 as u64);
        match &rs.set_identifier {
            None => self.0.update([0u8]),
            Some(id) => {
                self.0.update([1u8]);
                self.bytes(id.as_bytes());
            }
        }
        self.u64(rs.ttl as u64);
        self.opt_u64(rs.weight.map(u64::from));
        self.u64(rs.values.len() as u64);
        for v in &rs.values {
            self.bytes(v.data.as_bytes());
            self.fields(&v.fields);
        }
        self.fields(&rs.fields);
    }
}

/// JSON with object keys sorted at every level, no white space.
fn canonical_json(v: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical_json(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}
