//! `aliaskit webhook list|deliveries`, on SQLite and PostgreSQL: what is printed (never a
//! signing secret), the pages, and the exit status of an unknown webhook.

use std::time::Duration;

use aliaskit_service::{Attempt, NewWebhook, Service};
use serde_json::Value;

use crate::Target;
use crate::alias::{alias, org};

fn hook(
    service: &Service,
    org: aliaskit_domain::OrgId,
    events: &[&str],
) -> aliaskit_domain::Webhook {
    service
        .create_webhook(
            org,
            NewWebhook {
                url: "https://203.0.113.7/events".into(),
                events: events.iter().map(|e| (*e).to_owned()).collect(),
                description: Some("backend".into()),
            },
        )
        .unwrap()
}

fn json_of(run: &crate::Run, what: &str) -> Value {
    assert_eq!(run.code, 0, "{what}: {}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{what}: {e}: {}", run.stdout))
}

#[test]
fn list_shows_the_organizations_webhooks_without_secrets() {
    for t in Target::all() {
        let service = t.service();
        let (acme, _) = org(&t, "acme");
        let (beta, _) = org(&t, "beta");
        let all = hook(&service, acme, &["*"]);
        let some = hook(&service, acme, &["alias.created", "alias.deleted"]);
        service.set_webhook_enabled(acme, &some.id, false).unwrap();
        let theirs = hook(&service, beta, &["*"]);

        let run = t.run(&["webhook", "list", "--org", "acme"]);
        assert_eq!(run.code, 0, "{}: {}", t.name, run.stderr);
        let lines: Vec<&str> = run.stdout.lines().collect();
        assert!(lines[0].starts_with("ID "), "{}: {}", t.name, lines[0]);
        assert!(lines[0].ends_with("URL"), "{}: {}", t.name, lines[0]);
        assert_eq!(lines.len(), 3, "{}: {}", t.name, run.stdout);
        // Oldest first (created in one second here, so in id order): found by id.
        let row = |id: &str| {
            *lines[1..]
                .iter()
                .find(|l| l.starts_with(id))
                .unwrap_or_else(|| panic!("{id} not listed"))
        };
        assert!(row(all.id.as_str()).contains(" enabled "), "{}", t.name);
        let other = row(some.id.as_str());
        assert!(other.contains(" disabled "), "{other}");
        assert!(other.contains("alias.created,alias.deleted"), "{other}");
        assert!(!run.stdout.contains(theirs.id.as_str()), "{}", t.name);

        let listed = json_of(
            &t.run(&["webhook", "list", "--org", "acme", "--json"]),
            t.name,
        );
        let mut entries = listed["entries"].as_array().unwrap().clone();
        assert_eq!(entries.len(), 2, "{}", t.name);
        if entries[0]["id"] != all.id.as_str() {
            entries.swap(0, 1);
        }
        assert_eq!(entries[0]["id"], all.id.as_str());
        assert_eq!(entries[0]["events"], serde_json::json!(["*"]));
        assert_eq!(entries[0]["enabled"], true);
        assert_eq!(entries[0]["url"], "https://203.0.113.7/events");
        assert_eq!(entries[1]["enabled"], false);
        for text in [&run.stdout, &listed.to_string()] {
            for secret in [&all.secret, &some.secret] {
                assert!(!text.contains(secret.expose()), "{}: a secret", t.name);
            }
            assert!(!text.contains("whsec_"), "{}: a secret", t.name);
        }

        let run = t.run(&["webhook", "list", "--org", "nobody"]);
        assert_eq!(run.code, 1, "{}: {}", t.name, run.stderr);
        assert!(run.stderr.starts_with("org_not_found:"), "{}", run.stderr);
    }
}

#[test]
fn deliveries_shows_the_attempts_newest_first_and_pages() {
    for t in Target::all() {
        let service = t.service();
        let (acme, _) = org(&t, "acme");
        let target = hook(&service, acme, &["*"]);
        for i in 0..3 {
            alias(&service, acme, &format!("room {i}"));
        }
        let due = service
            .claim_deliveries(10, Duration::from_secs(60))
            .unwrap();
        assert_eq!(due.len(), 3, "{}", t.name);
        for (d, status) in due.iter().zip([Some(204), Some(500), None]) {
            service
                .record_delivery(
                    d,
                    &Attempt {
                        status,
                        error: status.is_none().then(|| "connection refused".to_owned()),
                        duration: Duration::from_millis(42),
                    },
                    1.0,
                )
                .unwrap();
        }

        let run = t.run(&["webhook", "deliveries", target.id.as_str()]);
        assert_eq!(run.code, 0, "{}: {}", t.name, run.stderr);
        let lines: Vec<&str> = run.stdout.lines().collect();
        assert!(lines[0].starts_with("AT "), "{}: {}", t.name, lines[0]);
        assert_eq!(lines.len(), 4, "{}: {}", t.name, run.stdout);
        assert!(lines[1].contains("connection refused"), "{}", lines[1]);
        assert!(lines[2].contains("answered 500"), "{}", lines[2]);
        assert!(lines[3].contains("delivered (204)"), "{}", lines[3]);
        assert!(lines[3].contains("42 ms"), "{}", lines[3]);
        assert!(run.stdout.contains(&due[0].event_id), "{}", t.name);
        assert!(!run.stdout.contains("whsec_"), "{}", t.name);

        let all = json_of(
            &t.run(&["webhook", "deliveries", target.id.as_str(), "--json"]),
            t.name,
        );
        let entries = all["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 3, "{}", t.name);
        assert_eq!(all["after"], Value::Null);
        assert_eq!(entries[0]["status"], Value::Null);
        assert_eq!(entries[0]["error"], "connection refused");
        assert_eq!(entries[2]["status"], 204);
        assert_eq!(entries[2]["duration_ms"], 42);
        assert_eq!(entries[2]["event_type"], "alias.created");

        let first = json_of(
            &t.run(&[
                "webhook",
                "deliveries",
                target.id.as_str(),
                "--limit",
                "2",
                "--json",
            ]),
            t.name,
        );
        assert_eq!(first["entries"].as_array().unwrap()[..], entries[..2]);
        let after = first["after"].as_str().unwrap();
        let second = json_of(
            &t.run(&[
                "webhook",
                "deliveries",
                target.id.as_str(),
                "--limit",
                "2",
                "--after",
                after,
                "--json",
            ]),
            t.name,
        );
        assert_eq!(second["entries"].as_array().unwrap()[..], entries[2..]);
        assert_eq!(second["after"], Value::Null);

        // An unknown webhook, and an id that cannot be one (even beginning with `-`).
        for unknown in ["wh_AAAAAAAAAAAAAAAAAAAAAA", "-not-an-id"] {
            let run = t.run(&["webhook", "deliveries", unknown]);
            assert_eq!(run.code, 1, "{}: {unknown}: {}", t.name, run.stderr);
            assert!(
                run.stderr.starts_with("webhook_not_found:"),
                "{}: {}",
                t.name,
                run.stderr
            );
        }
        let run = t.run(&["webhook", "deliveries", target.id.as_str(), "--limit", "0"]);
        assert_eq!(run.code, 2, "{}: {}", t.name, run.stderr);
    }
}
