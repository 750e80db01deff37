//! The shipped Grafana dashboard (`deploy/grafana/aliaskit.json`) queries only metrics a running
//! server exposes: every `aliaskit_…` name in the file is scraped from the real binary after a
//! little traffic, and the cache hit ratio it draws moves with the retrieves.

use serde_json::{Value, json};

use crate::*;

const DASHBOARD: &str = include_str!("../../../../deploy/grafana/aliaskit.json");

/// Every `aliaskit_…` metric name the text mentions, once each.
fn metric_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .match_indices("aliaskit_")
        .map(|(at, _)| {
            text[at..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect()
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Whether the exposition has `name` as a metric family (`# TYPE name …`) or a sample.
fn exposes(exposition: &str, name: &str) -> bool {
    exposition.lines().any(|line| {
        line.strip_prefix("# TYPE ")
            .unwrap_or(line)
            .strip_prefix(name)
            .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
    })
}

/// The value of the sample `series` (name and labels as the exposition writes them).
fn sample(exposition: &str, series: &str) -> Option<f64> {
    exposition.lines().find_map(|line| {
        line.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

fn scrape(server: &ServerProcess) -> String {
    agent()
        .get(format!("{}/metrics", server.base))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap()
}

#[test]
fn every_metric_the_dashboard_queries_is_exposed_by_a_running_server() {
    let dashboard: Value = serde_json::from_str(DASHBOARD).unwrap();
    let panels = dashboard["panels"].as_array().unwrap();
    assert!(panels.len() >= 8, "{} panels", panels.len());
    for panel in panels {
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{} has no query", panel["title"]);
        assert_eq!(panel["datasource"]["uid"], "${datasource}");
    }
    let names = metric_names(DASHBOARD);
    for wanted in [
        "aliaskit_http_requests_total",
        "aliaskit_http_request_duration_seconds_bucket",
        "aliaskit_token_rejections_total",
        "aliaskit_logins_total",
        "aliaskit_login_failures_total",
        "aliaskit_passcode_lockouts_total",
        "aliaskit_db_pool_connections",
        "aliaskit_cache_reads_total",
    ] {
        assert!(
            names.iter().any(|n| n == wanted),
            "the dashboard lacks {wanted}"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("aliaskit.db");
    let server = ServerProcess::start(
        dir.path(),
        &[
            ("ALIASKIT__DATABASE__URL", db.to_str().unwrap()),
            ("ALIASKIT__BOOTSTRAP__API_KEY", KEY),
            ("ALIASKIT__SERVER__WORKERS", "1"),
        ],
    );
    let client = server.client();
    let secret = "dashboard-test-secret-0123456789abcdef";
    let created = client.post(
        "/organization/api/v1/alias/create",
        &json!({"type": "conference", "name": "Dashboard", "jwt_secret": secret, "expired_at": now() + 3600}),
        Some(&format!("Bearer {KEY}")),
    );
    assert_eq!(created.status, 200, "{:?}", created.body);
    let id = created.body["data"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/alias/{id}");
    let token = format!("Bearer {}", access_token(secret, &id));

    let before = scrape(&server);
    let hits = |text: &str| {
        sample(
            text,
            r#"aliaskit_cache_reads_total{cache="alias",result="hit"}"#,
        )
    };
    let misses = |text: &str| {
        sample(
            text,
            r#"aliaskit_cache_reads_total{cache="alias",result="miss"}"#,
        )
    };
    assert_eq!(hits(&before), Some(0.0), "{before}");

    // The first retrieve reads the database, the next two the cache; one forged token.
    for _ in 0..3 {
        assert_eq!(client.get(&path, Some(&token)).status, 200);
    }
    let forged = format!(
        "Bearer {}",
        access_token("not-the-secret-not-the-secret-!!", &id)
    );
    assert_eq!(client.get(&path, Some(&forged)).status, 401);

    let after = scrape(&server);
    for name in &names {
        assert!(
            exposes(&after, name),
            "the dashboard queries {name}, which the server does not expose:\n{after}"
        );
    }
    assert_eq!(misses(&after), Some(1.0), "{after}");
    // The forged token was decided from the cached copy too.
    assert_eq!(hits(&after), Some(3.0), "{after}");
    assert_eq!(
        sample(
            &after,
            r#"aliaskit_token_rejections_total{code="bad_signature"}"#
        ),
        Some(1.0)
    );
}
