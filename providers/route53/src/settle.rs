//! After a change batch whose answer was lost (a 5xx, a timeout): what the live zone says it
//! did (all, nothing, or a mix), and a refused batch's error naming the record Route 53 names.

use switchback_api::{ProviderError, RecordSet, RecordSetKey, Zone};

use crate::client::{CallError, Unit};
use crate::convert;

pub(crate) enum BatchState {
    Applied,
    NotApplied,
    Mixed(RecordSetKey),
}

pub(crate) fn batch_state(live: &Zone, batch: &[Unit]) -> BatchState {
    let is = |key: &RecordSetKey, want: &Option<RecordSet>| {
        let got = live.get(key);
        match want {
            None => got.is_none(),
            Some(w) => {
                let mut w = w.clone();
                w.normalize();
                got == Some(&w)
            }
        }
    };
    let applied = batch.iter().all(|u| is(&u.key, &u.after));
    if applied {
        return BatchState::Applied;
    }
    let untouched = batch.iter().all(|u| is(&u.key, &u.before));
    if untouched {
        return BatchState::NotApplied;
    }
    let key = batch
        .iter()
        .find(|u| !is(&u.key, &u.after) && !is(&u.key, &u.before))
        .or_else(|| batch.first())
        .map(|u| u.key.clone());
    match key {
        Some(key) => BatchState::Mixed(key),
        // An empty batch changes nothing: trivially applied.
        None => BatchState::Applied,
    }
}

/// Route 53's refusal of a batch, naming the record set its message is about.
pub(crate) fn refused(e: CallError, batch: &[Unit]) -> ProviderError {
    let text = e.to_string();
    if let CallError::Service { code, message, .. } = &e {
        if code == "InvalidChangeBatch" || code == "InvalidInput" {
            let lower = message.to_ascii_lowercase();
            // Route 53 names the set as `[name='www.example.com.', type='A']`; else look for the
            // longest name of the batch that the message mentions.
            let quoted = |key: &str| {
                let start = lower.find(&format!("{key}='"))? + key.len() + 2;
                let end = lower[start..].find('\'')? + start;
                Some(lower[start..end].to_string())
            };
            let by_quote = quoted("name").and_then(|n| {
                let n = convert::name_from_r53(&n).ok()?;
                let t = quoted("type");
                batch.iter().find(|u| {
                    u.key.name == n
                        && t.as_deref()
                            .is_none_or(|t| t.eq_ignore_ascii_case(&u.key.rtype.to_string()))
                })
            });
            let named = by_quote.or_else(|| {
                batch
                    .iter()
                    .filter(|u| {
                        let n = u.key.name.to_string();
                        let r = convert::name_to_r53(&u.key.name).to_ascii_lowercase();
                        lower.contains(&n)
                            || lower.contains(&r)
                            || lower.contains(n.trim_end_matches('.'))
                    })
                    .max_by_key(|u| u.key.name.wire().len())
            });
            let record = match named {
                Some(u) => u.key.to_string(),
                None => format!(
                    "one of {} ({} record sets in the batch)",
                    batch[0].key,
                    batch.len()
                ),
            };
            return ProviderError::Invalid {
                record,
                message: format!("Route 53 refused the change batch: {code}: {message}"),
            };
        }
    }
    ProviderError::Other(text)
}
