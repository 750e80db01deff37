//! Prometheus metrics: `GET /metrics` in the text exposition format, and the counters the
//! routes and the [`observe`](crate::observe) middleware update.
//!
//! The state lives in [`Metrics`], held by the [`Api`] (every clone of an `Api` shares it; two
//! `Api`s built apart count apart), never in a global registry. Every label value
//! comes from a small fixed set — route *patterns*, known methods, status codes, token refusal
//! codes — so no caller input (an alias id, a query string, a token) can become a label, and the
//! number of series stays bounded whatever clients send. See `docs/observability.md`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, web};
use aliaskit_service::{CacheReads, DeliveryCounts, PasscodeScope, ServiceError};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::{Api, ApiError};

/// The `route` label of a request no route matched (unknown paths, 404s from default services).
pub const UNMATCHED: &str = "unmatched";

/// Request latency buckets, in seconds: 0.5 ms to 5 s. A retrieve is well under a millisecond
/// when the alias is cached by the database; a login (argon2id) is tens of milliseconds.
const LATENCY_BUCKETS: [f64; 13] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The methods that get their own `method` label; anything else is `other`, so a client
/// inventing methods cannot create series.
const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
];

/// Which request limit refused a request (`aliaskit_rate_limited_total{limit}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Public retrieves per client IP.
    Retrieve,
    /// Organization API requests per organization.
    Org,
    /// OpenCAP login and signup attempts per client IP.
    Auth,
}

impl Limit {
    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Limit::Retrieve => "retrieve",
            Limit::Org => "org",
            Limit::Auth => "auth",
        }
    }
}

/// Why an OpenCAP login failed (`aliaskit_login_failures_total{reason}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFailure {
    /// Unknown alias, wrong password, or a password no account could have.
    WrongCredentials,
    /// The account is locked after repeated failures.
    Locked,
    /// The client IP's attempts are used up.
    RateLimited,
}

impl LoginFailure {
    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            LoginFailure::WrongCredentials => "wrong_credentials",
            LoginFailure::Locked => "locked",
            LoginFailure::RateLimited => "rate_limited",
        }
    }
}

/// The metrics of one [`Api`]: a registry of its own and handles to each metric.
///
/// Recording is an atomic add after a hash lookup of the label values under a read lock; no
/// lock is held across an await.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    token_rejections: IntCounterVec,
    login_failures: IntCounterVec,
    logins: IntCounter,
    rate_limited: IntCounterVec,
    passcode_failures: IntCounterVec,
    passcode_lockouts: IntCounterVec,
    pool_connections: IntGaugeVec,
    pool_max: IntGauge,
    cache_reads: IntCounterVec,
    /// Held while the cache counters are brought up to the service's counts, so two scrapes at
    /// once cannot both add the same difference.
    cache_sync: Arc<Mutex<()>>,
    webhook_deliveries: IntCounterVec,
    webhook_pending: IntGauge,
    webhook_oldest_pending: IntGauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Fresh metrics, every counter at zero.
    #[expect(
        clippy::expect_used,
        reason = "the names, labels and buckets are constants; a unit test builds them"
    )]
    pub fn new() -> Self {
        Metrics::build().expect("the metric definitions are valid")
    }

    fn build() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "aliaskit_http_requests_total",
                "HTTP requests answered, by route pattern, method and status.",
            ),
            &["route", "method", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "aliaskit_http_request_duration_seconds",
                "Time from receiving a request to its response head, by route pattern and method.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["route", "method"],
        )?;
        let token_rejections = IntCounterVec::new(
            Opts::new(
                "aliaskit_token_rejections_total",
                "Bearer tokens refused (alias retrieve and OpenCAP), by refusal code.",
            ),
            &["code"],
        )?;
        let login_failures = IntCounterVec::new(
            Opts::new(
                "aliaskit_login_failures_total",
                "OpenCAP logins refused, by reason.",
            ),
            &["reason"],
        )?;
        let logins = IntCounter::new(
            "aliaskit_logins_total",
            "OpenCAP logins that issued a token.",
        )?;
        let rate_limited = IntCounterVec::new(
            Opts::new(
                "aliaskit_rate_limited_total",
                "Requests refused with 429 by a request limit, by limit.",
            ),
            &["limit"],
        )?;
        let passcode_failures = IntCounterVec::new(
            Opts::new(
                "aliaskit_passcode_failures_total",
                "Passcode attempts refused on the public retrieve: `counted` (a wrong passcode, \
                 answered 401) or `blocked` (during a block, answered 429).",
            ),
            &["result"],
        )?;
        let passcode_lockouts = IntCounterVec::new(
            Opts::new(
                "aliaskit_passcode_lockouts_total",
                "Budgets of wrong passcodes spent: by an alias (every address) or by one address \
                 for one alias.",
            ),
            &["scope"],
        )?;
        let pool_connections = IntGaugeVec::new(
            Opts::new(
                "aliaskit_db_pool_connections",
                "Open database connections in this process's pool, by state.",
            ),
            &["state"],
        )?;
        let pool_max = IntGauge::new(
            "aliaskit_db_pool_max",
            "The most database connections this process's pool opens.",
        )?;
        let cache_reads = IntCounterVec::new(
            Opts::new(
                "aliaskit_cache_reads_total",
                "Reads of the in-process caches, by cache (`alias`: the retrieve; `lookup`: the \
                 OpenCAP Address Query) and result (`hit`: answered from the cache; `miss`: read \
                 from the database). One per request that consults the cache.",
            ),
            &["cache", "result"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(token_rejections.clone()))?;
        registry.register(Box::new(login_failures.clone()))?;
        registry.register(Box::new(logins.clone()))?;
        registry.register(Box::new(rate_limited.clone()))?;
        registry.register(Box::new(passcode_failures.clone()))?;
        registry.register(Box::new(passcode_lockouts.clone()))?;
        registry.register(Box::new(pool_connections.clone()))?;
        registry.register(Box::new(pool_max.clone()))?;
        let webhook_deliveries = IntCounterVec::new(
            Opts::new(
                "aliaskit_webhook_deliveries_total",
                "Webhook delivery attempts recorded by this server, by outcome (`delivered`: a \
                 2xx; `retry`: failed, tried again later; `failed`: failed, and the delivery \
                 given up).",
            ),
            &["outcome"],
        )?;
        let webhook_pending = IntGauge::new(
            "aliaskit_webhook_pending",
            "Webhook deliveries pending in the database (every server's), read at the scrape.",
        )?;
        let webhook_oldest_pending = IntGauge::new(
            "aliaskit_webhook_oldest_pending_seconds",
            "Age of the event of the oldest pending webhook delivery, in seconds; 0 when none \
             is pending. Read at the scrape.",
        )?;
        registry.register(Box::new(cache_reads.clone()))?;
        registry.register(Box::new(webhook_deliveries.clone()))?;
        registry.register(Box::new(webhook_pending.clone()))?;
        registry.register(Box::new(webhook_oldest_pending.clone()))?;
        // Known label values start at zero, so a dashboard sees the series before the first
        // event (token codes appear with their first refusal).
        for reason in [
            LoginFailure::WrongCredentials,
            LoginFailure::Locked,
            LoginFailure::RateLimited,
        ] {
            login_failures.get_metric_with_label_values(&[reason.label()])?;
        }
        for limit in [Limit::Retrieve, Limit::Org, Limit::Auth] {
            rate_limited.get_metric_with_label_values(&[limit.label()])?;
        }
        for result in ["counted", "blocked"] {
            passcode_failures.get_metric_with_label_values(&[result])?;
        }
        for scope in [PasscodeScope::Alias, PasscodeScope::Client] {
            passcode_lockouts.get_metric_with_label_values(&[scope_label(scope)])?;
        }
        for cache in ["alias", "lookup"] {
            for result in ["hit", "miss"] {
                cache_reads.get_metric_with_label_values(&[cache, result])?;
            }
        }
        for outcome in ["delivered", "retry", "failed"] {
            webhook_deliveries.get_metric_with_label_values(&[outcome])?;
        }
        Ok(Metrics {
            registry,
            requests,
            latency,
            token_rejections,
            login_failures,
            logins,
            rate_limited,
            passcode_failures,
            passcode_lockouts,
            pool_connections,
            pool_max,
            cache_reads,
            cache_sync: Arc::default(),
            webhook_deliveries,
            webhook_pending,
            webhook_oldest_pending,
        })
    }

    /// Counts an answered request and its latency, under the route pattern that matched `req`
    /// (or [`UNMATCHED`]).
    pub fn record_request(&self, req: &HttpRequest, status: StatusCode, latency: Duration) {
        let pattern = req.match_pattern();
        let route = pattern.as_deref().unwrap_or(UNMATCHED);
        let method = method_label(req.method());
        if let Ok(counter) =
            self.requests
                .get_metric_with_label_values(&[route, method, status.as_str()])
        {
            counter.inc();
        }
        if let Ok(histogram) = self.latency.get_metric_with_label_values(&[route, method]) {
            histogram.observe(latency.as_secs_f64());
        }
    }

    /// Counts a refused bearer token, if `e` is one ([`ServiceError::InvalidToken`]).
    pub fn record_token_error(&self, e: &ServiceError) {
        if let ServiceError::InvalidToken(token) = e {
            self.inc(&self.token_rejections, token.code());
        }
    }

    /// Counts a refused passcode, if `e` is one: a wrong passcode (and the budget it spent),
    /// or an attempt during a block.
    pub fn record_passcode_outcome(&self, e: &ServiceError) {
        match e {
            ServiceError::WrongPasscode { began, .. } => {
                self.inc(&self.passcode_failures, "counted");
                if let Some(block) = began {
                    self.inc(&self.passcode_lockouts, scope_label(block.scope));
                }
            }
            ServiceError::PasscodeLocked { .. } => self.inc(&self.passcode_failures, "blocked"),
            _ => {}
        }
    }

    /// Counts a successful OpenCAP login.
    pub fn record_login(&self) {
        self.logins.inc();
    }

    /// Counts a refused OpenCAP login.
    pub fn record_login_failure(&self, reason: LoginFailure) {
        self.inc(&self.login_failures, reason.label());
    }

    /// Counts a request refused by `limit`.
    pub fn record_rate_limited(&self, limit: Limit) {
        self.inc(&self.rate_limited, limit.label());
    }

    /// Sets the pool gauges: `open` connections of which `idle` are idle, at most `max`.
    pub fn set_pool(&self, open: u32, idle: u32, max: u32) {
        let gauges = [("idle", idle), ("in_use", open.saturating_sub(idle))];
        for (state, value) in gauges {
            if let Ok(gauge) = self.pool_connections.get_metric_with_label_values(&[state]) {
                gauge.set(i64::from(value));
            }
        }
        self.pool_max.set(i64::from(max));
    }

    /// Brings the cache counters up to the service's counts of `(aliases, lookups)`.
    pub fn set_cache_reads(&self, (aliases, lookups): (CacheReads, CacheReads)) {
        let Ok(_held) = self.cache_sync.lock() else {
            return;
        };
        for (cache, reads) in [("alias", aliases), ("lookup", lookups)] {
            for (result, now) in [("hit", reads.hits), ("miss", reads.misses)] {
                if let Ok(counter) = self
                    .cache_reads
                    .get_metric_with_label_values(&[cache, result])
                {
                    counter.inc_by(now.saturating_sub(counter.get()));
                }
            }
        }
    }

    /// Brings the delivery counters up to the service's counts.
    pub fn set_webhook_deliveries(&self, counts: DeliveryCounts) {
        let Ok(_held) = self.cache_sync.lock() else {
            return;
        };
        for (outcome, now) in [
            ("delivered", counts.delivered),
            ("retry", counts.retry),
            ("failed", counts.failed),
        ] {
            if let Ok(counter) = self
                .webhook_deliveries
                .get_metric_with_label_values(&[outcome])
            {
                counter.inc_by(now.saturating_sub(counter.get()));
            }
        }
    }

    /// Sets the backlog gauges: `pending` deliveries, the oldest's event written at `oldest`
    /// (Unix seconds), at `now`.
    pub fn set_webhook_backlog(&self, pending: i64, oldest: Option<i64>, now: i64) {
        self.webhook_pending.set(pending.max(0));
        self.webhook_oldest_pending
            .set(oldest.map_or(0, |t| now.saturating_sub(t).max(0)));
    }

    /// Every metric in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> prometheus::Result<String> {
        let mut text = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut text)?;
        String::from_utf8(text).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }

    fn inc(&self, counters: &IntCounterVec, label: &str) {
        if let Ok(counter) = counters.get_metric_with_label_values(&[label]) {
            counter.inc();
        }
    }
}

/// The `method` label: the method's name if it is a standard one, else `other`.
fn method_label(method: &Method) -> &'static str {
    METHODS
        .iter()
        .find(|m| **m == method.as_str())
        .copied()
        .unwrap_or("other")
}

/// `GET /metrics`: every metric, with the pool gauges and the webhook backlog read now (the
/// backlog's query on the blocking pool, within `database.timeout`; when it fails or takes
/// longer the backlog gauges keep their last values rather than fail the scrape). Not rate limited; carries no secret. Restrict it at the proxy if it should not be public (`docs/observability.md`).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    operation_id = "metrics",
    summary = "Prometheus metrics.",
    responses(
        (status = 200, description = "Every metric, in the Prometheus text exposition format \
(`text/plain; version=0.0.4`).", body = String, content_type = "text/plain"),
        (status = 500, response = crate::wire::error::InternalError),
    ),
)]
pub async fn scrape(api: web::Data<Api>) -> Result<HttpResponse, ApiError> {
    let db = api.service.db();
    let (open, idle) = db.pool_state();
    api.metrics.set_pool(open, idle, db.pool_max_size());
    api.metrics.set_cache_reads(api.service.cache_reads());
    api.metrics
        .set_webhook_deliveries(api.service.delivery_counts());
    let service = api.service.clone();
    let backlog = web::block(move || service.webhook_backlog());
    // Bounded like a request's database work: a database that does not answer costs the
    // scrape at most `database.timeout`, and the gauges keep their values.
    if let Ok(Ok(Ok((pending, oldest)))) =
        actix_web::rt::time::timeout(api.service.db().timeout(), backlog).await
    {
        api.metrics
            .set_webhook_backlog(pending, oldest, api.service.now());
    }
    let text = api.metrics.render().map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type(prometheus::TEXT_FORMAT)
        .body(text))
}

/// The `scope` label of a passcode block.
fn scope_label(scope: PasscodeScope) -> &'static str {
    match scope {
        PasscodeScope::Alias => "alias",
        PasscodeScope::Client => "address",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_definitions_are_valid_and_start_at_zero() {
        let metrics = Metrics::build();
        assert!(metrics.is_ok(), "{:?}", metrics.err());
        let text = Metrics::new().render().unwrap_or_default();
        assert!(text.contains("aliaskit_login_failures_total{reason=\"locked\"} 0"));
        assert!(text.contains("aliaskit_rate_limited_total{limit=\"org\"} 0"));
        assert!(text.contains("aliaskit_logins_total 0"));
    }

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        let invented = Method::from_bytes(b"BREW").unwrap_or(Method::GET);
        assert_eq!(method_label(&invented), "other");
    }
}
