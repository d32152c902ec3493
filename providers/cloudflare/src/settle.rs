//! Settling a write whose answer was lost: a POST answered 5xx, or not answered, may or may not
//! have been applied, so it is never resent blindly. The zone is read and says which (the
//! Route 53 adapter does the same with its change ids).

use tracing::warn;

use crate::client::ClientError;
use crate::convert::{self, Parsed};
use crate::{Cloudflare, Op, OpKind};

impl Cloudflare {
    /// [`Cloudflare::send_batch`]; when its answer leaves it unknown whether it was applied
    /// (a 5xx or no answer to the POST), the zone is read: applied (the batch is one
    /// transaction: all of it shows), done; not applied (none of it shows), sent once more;
    /// anything else is an error that says so. Never resent blindly.
    pub(crate) async fn send_batch_settled(
        &self,
        zone_id: &str,
        ops: &[Op],
    ) -> Result<(), ClientError> {
        let mut tries = 0;
        loop {
            let e = match self.send_batch(zone_id, ops).await {
                Ok(()) => return Ok(()),
                Err(e) if e.maybe_applied() && tries < 1 => e,
                Err(e) => return Err(e),
            };
            tries += 1;
            let live = self
                .list(zone_id)
                .await
                .map_err(|r| ClientError::MaybeApplied {
                    method: "POST".into(),
                    path: format!("/zones/{zone_id}/dns_records/batch"),
                    message: format!("{e}; and the zone could not be read to find out: {r}"),
                })?;
            match seen(ops, &live) {
                Seen::All => {
                    warn!(provider = %self.name, error = %e,
                        "the batch was applied after all (the zone shows all of it)");
                    return Ok(());
                }
                Seen::None => {
                    warn!(provider = %self.name, error = %e,
                        "the batch was not applied (the zone shows none of it); sending it again");
                }
                Seen::Part(n) => {
                    return Err(ClientError::MaybeApplied {
                        method: "POST".into(),
                        path: format!("/zones/{zone_id}/dns_records/batch"),
                        message: format!(
                            "{e}; the zone shows {n} of its {} operations: read the zone before \
                             trying again",
                            ops.len()
                        ),
                    });
                }
            }
        }
    }
}

/// How much of a write the zone shows.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Seen {
    All,
    None,
    /// Some of the operations, this many.
    Part(usize),
}

/// What the live objects show of `ops`: a delete by its object gone, a patch by its object
/// holding what was meant, a post by an object holding it.
pub(crate) fn seen(ops: &[Op], live: &[Parsed]) -> Seen {
    let applied = |op: &Op| match op.kind {
        OpKind::Delete => !live.iter().any(|p| Some(&p.id) == op.id.as_ref()),
        OpKind::Patch => live
            .iter()
            .find(|p| Some(&p.id) == op.id.as_ref())
            .is_some_and(|p| holds(op, p).is_ok()),
        OpKind::Post => live.iter().any(|p| holds(op, p).is_ok()),
    };
    match ops.iter().filter(|op| applied(op)).count() {
        0 => Seen::None,
        n if n == ops.len() => Seen::All,
        n => Seen::Part(n),
    }
}

/// The object `p` holds what `op` writes.
pub(crate) fn holds(op: &Op, p: &Parsed) -> Result<(), String> {
    let rs = &op.record;
    let v = &rs.values[0];
    let (ttl, fields) = convert::expected(rs, v)?;
    if p.name == rs.name
        && p.rtype == rs.rtype
        && p.data == v.data
        && p.ttl == ttl
        && p.fields == fields
    {
        Ok(())
    } else {
        Err(String::new())
    }
}
