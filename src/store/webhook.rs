//! Webhook idempotency (schema migrations 3 and 5): each `event_id` is recorded, with the
//! digest of its request, in the transaction that takes the cutover's lease, before its work
//! starts; its first answer and its outcome are filled in after. Event ids are global across
//! hooks and cutovers.

use serde::Serialize;
use switchback_sql::{Tx, params};

use super::lease::{read_lease, upsert_lease};
use super::{LeaseRow, Store, StoreError, now, schema};

/// A webhook event as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebhookEvent {
    pub event_id: String,
    pub route: String,
    pub cutover: String,
    pub body_digest: String,
    /// The first answer's HTTP status (0 while none was given).
    pub status: u16,
    /// The first answer's body ("" while none was given).
    pub answer: String,
    pub created_at: String,
    /// `running`, `done` or `failed` (a failed event may be sent again).
    pub state: String,
    /// The cutover state's version when the work began.
    pub base_version: i64,
}

/// An event about to be worked on.
#[derive(Debug, Clone, Copy)]
pub struct EventStart<'a> {
    pub event_id: &'a str,
    pub route: &'a str,
    pub cutover: &'a str,
    pub body_digest: &'a str,
}

/// What the lease transaction found of the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventClaim {
    /// Never seen: recorded now, its work is this request's.
    New,
    /// Recorded by a request whose actor died before the outcome was stored (its lease was
    /// free): the work may have run, wholly or in part.
    Interrupted { base_version: i64 },
    /// It failed before: its work starts anew.
    Retry,
}

/// The outcome of [`Store::take_lease_for_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseForEvent {
    /// The lease is this request's, and so is the event's work.
    Taken(LeaseRow, EventClaim),
    /// A live actor holds the lease.
    Busy(LeaseRow),
    /// The event is known (done, in progress with an answer, or another request's): answer
    /// from it, take nothing.
    Known(WebhookEvent),
}

fn read_event(tx: &Tx<'_>, event_id: &str) -> Result<Option<WebhookEvent>, StoreError> {
    let sql = format!(
        "SELECT {} FROM webhook_events WHERE event_id = ?1",
        schema::WEBHOOK_EVENT_COLUMNS
    );
    let Some(r) = tx.query_opt(&sql, params![event_id])? else {
        return Ok(None);
    };
    Ok(Some(WebhookEvent {
        event_id: r.text(0)?,
        route: r.text(1)?,
        cutover: r.text(2)?,
        body_digest: r.text(3)?,
        status: u16::try_from(r.int(4)?).unwrap_or(500),
        answer: r.text(5)?,
        created_at: r.text(6)?,
        state: r.text(7)?,
        base_version: r.int(8)?,
    }))
}

impl Store {
    /// The stored event `event_id`, if any.
    pub fn webhook_event(&self, event_id: &str) -> Result<Option<WebhookEvent>, StoreError> {
        self.read(|tx| read_event(tx, event_id))
    }

    /// In one write transaction: look the event up, and unless it is known, take the
    /// cutover's lease for `me` (when nobody holds it or `replaceable` says its holder is
    /// gone) and record the event as running. See [`LeaseForEvent`].
    pub fn take_lease_for_event(
        &self,
        me: &LeaseRow,
        replaceable: impl Fn(&LeaseRow) -> bool,
        ev: &EventStart<'_>,
    ) -> Result<LeaseForEvent, StoreError> {
        let (_, at) = now();
        self.write(|tx| {
            let existing = read_event(tx, ev.event_id)?;
            if let Some(x) = &existing {
                if x.body_digest != ev.body_digest || x.state == "done" {
                    return Ok(LeaseForEvent::Known(x.clone()));
                }
            }
            if let Some(cur) = read_lease(tx, &me.name)? {
                if cur.token != me.token && !replaceable(&cur) {
                    return Ok(match existing {
                        // In progress, and answered (202): that answer again.
                        Some(x) if x.state == "running" && !x.answer.is_empty() => {
                            LeaseForEvent::Known(x)
                        }
                        _ => LeaseForEvent::Busy(cur),
                    });
                }
            }
            let version = match tx.query_opt(schema::CUTOVER_VERSION, params![ev.cutover])? {
                Some(r) => r.int(0)?,
                None => 0,
            };
            let claim = match &existing {
                None => {
                    tx.execute(
                        schema::INSERT_WEBHOOK_EVENT,
                        params![
                            ev.event_id,
                            ev.route,
                            ev.cutover,
                            ev.body_digest,
                            at,
                            version
                        ],
                    )?;
                    EventClaim::New
                }
                Some(x) if x.state == "running" => EventClaim::Interrupted {
                    base_version: x.base_version,
                },
                Some(_) => {
                    tx.execute(schema::RESTART_WEBHOOK_EVENT, params![ev.event_id, version])?;
                    EventClaim::Retry
                }
            };
            upsert_lease(tx, me, &at)?;
            let mut held = me.clone();
            held.acquired_at = at.clone();
            held.heartbeat_at = at;
            Ok(LeaseForEvent::Taken(held, claim))
        })
    }

    /// Store the event's first answer (its state stays as it is).
    pub fn answer_webhook_event(
        &self,
        event_id: &str,
        status: u16,
        answer: &str,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                schema::ANSWER_WEBHOOK_EVENT,
                params![event_id, i64::from(status), answer],
            )?;
            Ok(())
        })
    }

    /// Store the event's outcome: `done`, or `failed` (then it may be sent again); `status`
    /// and `answer` are its answer when none was given yet.
    pub fn finish_webhook_event(
        &self,
        event_id: &str,
        done: bool,
        status: u16,
        answer: &str,
    ) -> Result<(), StoreError> {
        let state = if done { "done" } else { "failed" };
        self.write(|tx| {
            tx.execute(
                schema::FINISH_WEBHOOK_EVENT,
                params![event_id, state, i64::from(status), answer],
            )?;
            Ok(())
        })
    }
}
