//! The sender's side of the outbox (`docs/webhooks.md`): claim due deliveries with a lease,
//! and record each attempt with its backoff, in the attempts log, and in the endpoint's health
//! (disabled after a day of failures without a success). The HTTP request itself is the
//! sender's (it needs TLS, which stays out of this crate): it gets everything it must send in
//! a [`Due`]. And the read side: an endpoint's attempts, the backlog, the outcome counts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aliaskit_domain::{Error as DomainError, OrgId, Sensitive, WebhookId};
use aliaskit_store::repo::webhook_attempts::{self, AttemptRecord, NewAttempt};
use aliaskit_store::repo::webhook_deliveries::{self, Outcome};
use aliaskit_store::repo::{webhook_events, webhooks};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::audit::{self, Change, Origin};
use crate::events::{self, EventIds};
use crate::{Result, Service, ServiceError};

/// First retry after about this many seconds; each further one waits twice as long.
pub const FIRST_RETRY: i64 = 5;
/// The longest wait between two attempts, in seconds.
pub const MAX_RETRY: i64 = 3600;
/// A delivery is retried for this long after its event, then marked failed.
pub const RETRY_FOR: i64 = 86_400;
/// An endpoint failing for this long without a single success is disabled.
pub const DISABLE_AFTER: i64 = 86_400;

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
    /// How long the attempt took, from connecting to the answer or the failure.
    pub duration: Duration,
}

/// What [`Service::record_delivery`] made of an attempt: the delivery's state after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Delivered (a `2xx`), now or by another sender before.
    Delivered,
    /// Still pending: tried again after the backoff.
    Retry,
    /// Given up: its day is over (now, or before).
    Failed,
}

/// Attempts recorded since the process started, by what they came to
/// (`aliaskit_webhook_deliveries_total`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    /// Attempts that delivered.
    pub delivered: u64,
    /// Failed attempts to be tried again.
    pub retry: u64,
    /// Failed attempts after which the delivery was given up.
    pub failed: u64,
}

/// The counters behind [`DeliveryCounts`] (relaxed atomic adds).
#[derive(Debug, Default)]
pub(crate) struct DeliveryCounters {
    delivered: AtomicU64,
    retry: AtomicU64,
    failed: AtomicU64,
}

impl DeliveryCounters {
    fn count(&self, recorded: Recorded) {
        let counter = match recorded {
            Recorded::Delivered => &self.delivered,
            Recorded::Retry => &self.retry,
            Recorded::Failed => &self.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn read(&self) -> DeliveryCounts {
        DeliveryCounts {
            delivered: self.delivered.load(Ordering::Relaxed),
            retry: self.retry.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}

/// One page of an endpoint's attempts, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptPage {
    /// The attempts.
    pub entries: Vec<AttemptRecord>,
    /// The cursor for the next page, or `None` on the last page.
    pub after: Option<String>,
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

    /// Records an attempt of a claimed delivery, in one transaction: a `2xx` is delivered;
    /// anything else is retried after [`backoff`] (with `jitter`), or marked failed once
    /// [`RETRY_FOR`] has passed since the event. The attempt is added to the endpoint's log,
    /// and its health updated under its row lock: a success clears `failing_since`; a failure
    /// sets it if unset and, once the endpoint has failed for [`DISABLE_AFTER`] without a
    /// success, disables it and writes `webhook.disabled` for the organization's other
    /// endpoints. A delivery no longer pending (finished by another sender after this one's
    /// lease ran out) is left as it is, nothing is logged, and its state is returned.
    pub fn record_delivery(&self, due: &Due, attempt: &Attempt, jitter: f64) -> Result<Recorded> {
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
        let recorded = match &outcome {
            Outcome::Delivered { .. } => Recorded::Delivered,
            Outcome::Retry {
                next_attempt_at: Some(_),
                ..
            } => Recorded::Retry,
            Outcome::Retry {
                next_attempt_at: None,
                ..
            } => Recorded::Failed,
        };
        let ids = EventIds::new()?;
        let duration_ms = i64::try_from(attempt.duration.as_millis()).unwrap_or(i64::MAX);
        let result = self.db.transaction(|c| {
            if !webhook_deliveries::record(c, due.delivery, now, &outcome)? {
                let state = webhook_deliveries::state(c, due.delivery)?;
                return Ok(Err(match state.as_ref().map(|(s, _)| s.as_str()) {
                    Some("delivered") => Recorded::Delivered,
                    Some("pending") => Recorded::Retry,
                    _ => Recorded::Failed,
                }));
            }
            let Some((webhook_id, number, event_type)) =
                webhook_deliveries::attempted(c, due.delivery)?
            else {
                return Ok(Ok(()));
            };
            // The endpoint's row is locked before the attempt's insert refers to it.
            let Some(health) = webhooks::health_for_update(c, &webhook_id)? else {
                return Ok(Ok(()));
            };
            let (status, error, next_attempt_at, delivered_at) = match &outcome {
                Outcome::Delivered { status } => (Some(i64::from(*status)), None, None, Some(now)),
                Outcome::Retry {
                    status,
                    error,
                    next_attempt_at,
                } => (
                    status.map(i64::from),
                    Some(error.as_str()),
                    *next_attempt_at,
                    None,
                ),
            };
            webhook_attempts::insert(
                c,
                &NewAttempt {
                    webhook_id: &webhook_id,
                    delivery_id: due.delivery,
                    event_id: &due.event_id,
                    event_type: &event_type,
                    attempt: number,
                    status,
                    error,
                    duration_ms,
                    next_attempt_at,
                    delivered_at,
                    at: now,
                },
            )?;
            if recorded == Recorded::Delivered {
                if health.failing_since.is_some() {
                    webhooks::set_health(c, &webhook_id, None, None)?;
                }
                return Ok(Ok(()));
            }
            let since = health.failing_since.unwrap_or(now);
            if health.enabled && now.saturating_sub(since) >= DISABLE_AFTER {
                webhooks::set_health(c, &webhook_id, Some(since), Some(now))?;
                events::webhook_disabled(c, &ids, &health, now)?;
                let change = Change::org(
                    "webhook.disable",
                    OrgId(health.org_id),
                    &webhook_id,
                    &["enabled"],
                );
                audit::record(c, &Origin::system("webhook_sender"), &change, now)?;
            } else if health.failing_since.is_none() {
                webhooks::set_health(c, &webhook_id, Some(since), None)?;
            }
            Ok(Ok(()))
        })?;
        match result {
            Ok(()) => {
                self.delivery_counts.count(recorded);
                Ok(recorded)
            }
            Err(state) => Ok(state),
        }
    }

    /// Attempts recorded by this process so far, by outcome.
    pub fn delivery_counts(&self) -> DeliveryCounts {
        self.delivery_counts.read()
    }

    /// The pending deliveries, in one query: how many, and when the oldest's event was
    /// written (Unix seconds), if any.
    pub fn webhook_backlog(&self) -> Result<(i64, Option<i64>)> {
        let mut conn = self.db.conn()?;
        Ok(webhook_deliveries::backlog(&mut conn)?)
    }

    /// One page of the attempts of `org`'s webhook `id`, newest first: `after` is the cursor
    /// of the previous page, `limit` 1 to [`MAX_LIMIT`](crate::MAX_LIMIT)
    /// ([`DEFAULT_LIMIT`](crate::DEFAULT_LIMIT) when absent).
    /// Another organization's webhook is not found.
    pub fn list_webhook_attempts(
        &self,
        org: OrgId,
        id: &WebhookId,
        after: Option<&str>,
        limit: Option<u32>,
    ) -> Result<AttemptPage> {
        self.attempts_page(Some(org), id, after, limit)
    }

    /// [`list_webhook_attempts`](Self::list_webhook_attempts) for the operator: the webhook
    /// of whichever organization.
    pub fn list_any_webhook_attempts(
        &self,
        id: &WebhookId,
        after: Option<&str>,
        limit: Option<u32>,
    ) -> Result<AttemptPage> {
        self.attempts_page(None, id, after, limit)
    }

    fn attempts_page(
        &self,
        org: Option<OrgId>,
        id: &WebhookId,
        after: Option<&str>,
        limit: Option<u32>,
    ) -> Result<AttemptPage> {
        let limit = crate::aliases::page_limit(limit)?;
        let before = after.map(decode_cursor).transpose()?;
        let mut conn = self.db.conn()?;
        match (webhooks::owner(&mut conn, id.as_str())?, org) {
            (Some(owner), Some(org)) if owner == org => {}
            (Some(_), None) => {}
            _ => return Err(ServiceError::WebhookNotFound),
        }
        let mut entries =
            webhook_attempts::list(&mut conn, id.as_str(), before, i64::from(limit) + 1)?;
        let more = entries.len() > limit as usize;
        entries.truncate(limit as usize);
        let after = if more {
            entries
                .last()
                .map(|a| URL_SAFE_NO_PAD.encode(a.id.to_string()))
        } else {
            None
        };
        Ok(AttemptPage { entries, after })
    }
}

/// The attempt id a cursor stands for.
fn decode_cursor(cursor: &str) -> Result<i64> {
    let bad = || {
        ServiceError::Invalid(DomainError::field(
            "after",
            "is not a cursor this server returned; pass the `after` value of the previous page",
        ))
    };
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    text.parse().map_err(|_| bad())
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
