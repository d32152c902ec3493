//! Webhook idempotency (schema migration 3): the first answer to each `event_id`, with the
//! digest of the request it answered.

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use super::{Store, StoreError, now, schema};

/// A webhook event as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebhookEvent {
    pub event_id: String,
    pub route: String,
    pub cutover: String,
    pub body_digest: String,
    pub status: u16,
    pub answer: String,
    pub created_at: String,
}

impl Store {
    /// The stored event `event_id`, if any.
    pub fn webhook_event(&self, event_id: &str) -> Result<Option<WebhookEvent>, StoreError> {
        let sql = format!(
            "SELECT {} FROM webhook_events WHERE event_id = ?1",
            schema::WEBHOOK_EVENT_COLUMNS
        );
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            Ok(stmt
                .query_row(params![event_id], |r| {
                    Ok(WebhookEvent {
                        event_id: r.get(0)?,
                        route: r.get(1)?,
                        cutover: r.get(2)?,
                        body_digest: r.get(3)?,
                        status: u16::try_from(r.get::<_, i64>(4)?).unwrap_or(500),
                        answer: r.get(5)?,
                        created_at: r.get(6)?,
                    })
                })
                .optional()?)
        })
    }

    /// Store the first answer to an event. When the id is already there (a concurrent first
    /// request), the stored row wins and is returned; else `None`.
    pub fn put_webhook_event(
        &self,
        event_id: &str,
        route: &str,
        cutover: &str,
        body_digest: &str,
        status: u16,
        answer: &str,
    ) -> Result<Option<WebhookEvent>, StoreError> {
        let (_, at) = now();
        let inserted = self.with_conn(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx.execute(
                schema::INSERT_WEBHOOK_EVENT,
                params![
                    event_id,
                    route,
                    cutover,
                    body_digest,
                    i64::from(status),
                    answer,
                    at
                ],
            )?;
            tx.commit()?;
            Ok(n)
        })?;
        if inserted == 1 {
            Ok(None)
        } else {
            self.webhook_event(event_id)
        }
    }
}
