//! The sender's side of the outbox (`docs/webhooks.md`): claim due deliveries with a lease,
//! and record each attempt with its backoff. The HTTP request itself is the sender's (it needs
//! TLS, which stays out of this crate): it gets everything it must send in a [`Due`].

use std::time::Duration;

use aliaskit_domain::Sensitive;
use aliaskit_store::repo::webhook_deliveries::{self, Outcome};
use aliaskit_store::repo::{webhook_events, webhooks};

use crate::{Result, Service, ServiceError};

/// First retry after about this many seconds; each further one waits twice as long.
pub const FIRST_RETRY: i64 = 5;
/// The longest wait between two attempts, in seconds.
pub const MAX_RETRY: i64 = 3600;
/// A delivery is retried for this long after its event, then marked failed.
pub const RETRY_FOR: i64 = 86_400;

/// A claimed delivery: what to send, where, signed with which secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// The delivery.
    pub delivery: i64,
    /// `evt_…`, for `Aliaskit-Event-Id`.
    pub event_id: String,
    /// The body, sent byte for byte as signed.
    pub payload: String,
    /// The target.
    pub url: String,
    /// The secrets that sign now (the current one, and the previous within its grace).
    pub secrets: Vec<Sensitive>,
    /// Attempts made before this one.
    pub attempts: i64,
    /// When the event was written, Unix seconds.
    pub created_at: i64,
}

/// What an attempt came to, as the sender saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The answer's status, if one came.
    pub status: Option<u16>,
    /// What went wrong otherwise (no secret, no signature).
    pub error: Option<String>,
}

/// The wait before attempt `attempts + 1` after `attempts` failures: [`FIRST_RETRY`] doubling,
/// capped at [`MAX_RETRY`], scaled by `jitter` (0.8 to 1.2 from the sender's random source).
pub fn backoff(attempts: i64, jitter: f64) -> i64 {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    let base = FIRST_RETRY
        .saturating_mul(1_i64 << doublings)
        .min(MAX_RETRY);
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_precision_loss,
        reason = "seconds below an hour and a factor near 1"
    )]
    let waited = (base as f64 * jitter.clamp(0.8, 1.2)).round() as i64;
    waited.max(1)
}

impl Service {
    /// Claims up to `limit` due deliveries for `lease` (another sender takes them over only
    /// after it), with what each must send. A delivery whose endpoint is gone or disabled is
    /// recorded as such and not returned.
    pub fn claim_deliveries(&self, limit: i64, lease: Duration) -> Result<Vec<Due>> {
        let now = self.now();
        let vault = self.db.vault();
        let claimed = self
            .db
            .transaction(|c| webhook_deliveries::claim(c, now, crate::secs(lease).max(1), limit))?;
        let mut due = Vec::with_capacity(claimed.len());
        let mut conn = self.db.conn()?;
        for d in claimed {
            let event = webhook_events::find(&mut conn, d.event_seq)?;
            let hook = webhooks::find(&mut conn, vault, &d.webhook_id)?;
            match (event, hook) {
                (Some(event), Some(hook)) if hook.enabled => due.push(Due {
                    delivery: d.id,
                    event_id: event.id,
                    payload: event.payload,
                    url: hook.url.clone(),
                    secrets: hook.active_secrets(now).into_iter().cloned().collect(),
                    attempts: d.attempts,
                    created_at: d.created_at,
                }),
                _ => {
                    // Disabled (or deleted meanwhile): looked at again in a minute, until the
                    // retry period ends.
                    let next = (now.saturating_sub(d.created_at) < RETRY_FOR).then_some(now + 60);
                    webhook_deliveries::record(
                        &mut conn,
                        d.id,
                        now,
                        &Outcome::Retry {
                            status: None,
                            error: "the endpoint is disabled".into(),
                            next_attempt_at: next,
                        },
                    )?;
                }
            }
        }
        Ok(due)
    }

    /// Records an attempt of a claimed delivery: a `2xx` is delivered; anything else is
    /// retried after [`backoff`] (with `jitter`), or marked failed once [`RETRY_FOR`] has
    /// passed since the event.
    pub fn record_delivery(&self, due: &Due, attempt: &Attempt, jitter: f64) -> Result<()> {
        let now = self.now();
        let outcome = match attempt.status {
            Some(status @ 200..=299) => Outcome::Delivered { status },
            status => {
                let attempts = due.attempts.saturating_add(1);
                let next = now.saturating_add(backoff(attempts, jitter));
                Outcome::Retry {
                    status,
                    error: attempt
                        .error
                        .clone()
                        .or_else(|| status.map(|s| format!("answered {s}")))
                        .unwrap_or_else(|| "no answer".into()),
                    next_attempt_at: (now.saturating_sub(due.created_at) < RETRY_FOR)
                        .then_some(next),
                }
            }
        };
        let mut conn = self.db.conn()?;
        webhook_deliveries::record(&mut conn, due.delivery, now, &outcome)
            .map_err(ServiceError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_starts_near_five_seconds_doubles_and_stops_at_an_hour() {
        assert_eq!(backoff(1, 1.0), 5);
        assert_eq!(backoff(2, 1.0), 10);
        assert_eq!(backoff(3, 1.0), 20);
        assert_eq!(backoff(11, 1.0), 3600);
        assert_eq!(backoff(1000, 1.0), 3600);
        assert_eq!(backoff(1, 0.8), 4);
        assert_eq!(backoff(1, 1.2), 6);
        assert_eq!(backoff(1, 9.0), 6, "jitter is clamped");
    }
}
