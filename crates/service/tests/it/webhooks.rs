//! The webhook outbox: every alias change writes its event in its own transaction, only for an
//! organization with an enabled webhook subscribed to it; a change that fails writes none;
//! `alias.expired` is written once, by the purge.

use aliaskit_domain::{AliasKind, AliasPatch, NewAlias, OrgName, Patch};
use aliaskit_service::{Attempt, NewWebhook, Recorded, ServiceError};
use aliaskit_store::repo::webhook_deliveries::{self, Delivery};
use aliaskit_store::repo::webhook_events::{self, Event};
use diesel::connection::SimpleConnection;
use serde_json::Value;

use crate::*;

fn subscribe(f: &Fixture, events: &[&str]) -> aliaskit_domain::Webhook {
    f.service
        .create_webhook(
            f.org,
            NewWebhook {
                url: "https://203.0.113.7/events".into(),
                events: events.iter().map(|e| (*e).to_owned()).collect(),
                description: None,
            },
        )
        .unwrap()
}

fn events(f: &Fixture) -> Vec<Event> {
    let mut conn = f.db.db.conn().unwrap();
    webhook_events::list(&mut conn, f.org).unwrap()
}

fn types(f: &Fixture) -> Vec<String> {
    events(f).into_iter().map(|e| e.event_type).collect()
}

#[test]
fn every_alias_change_writes_its_event_with_no_secret() {
    for f in fixtures() {
        let b = f.db.backend();
        subscribe(&f, &["*"]);
        let alias = f
            .service
            .create_alias(
                f.org,
                NewAlias {
                    passcode: Some("pin-123456".into()),
                    ..new_alias()
                },
            )
            .unwrap();
        let patch = AliasPatch {
            kind: AliasKind::Conference,
            name: Patch::Set("Renamed".into()),
            passcode: Patch::Keep,
            jwt_secret: Patch::Keep,
            stream_key: Patch::Keep,
            expired_at: Patch::Keep,
        };
        f.service.update_alias(f.org, &alias.id, patch).unwrap();
        f.service.rotate_secret(f.org, &alias.id).unwrap();
        f.service.revoke_tokens(f.org, &alias.id).unwrap();
        f.service.rotate_stream_key(f.org, &alias.id).unwrap();
        f.service.delete_alias(f.org, &alias.id).unwrap();
        assert_eq!(
            types(&f),
            [
                "alias.created",
                "alias.updated",
                "alias.secret_rotated",
                "alias.tokens_revoked",
                "alias.stream_key_rotated",
                "alias.deleted"
            ],
            "{b:?}"
        );
        let written = events(&f);
        let mut ids: Vec<&str> = written.iter().map(|e| e.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), written.len(), "{b:?}: ids are unique");
        for event in &written {
            assert!(event.id.starts_with("evt_"), "{b:?}");
            assert_eq!(event.alias_id.as_deref(), Some(alias.id.as_str()));
            assert_eq!(event.created_at, NOW);
            let body: Value = serde_json::from_str(&event.payload).unwrap();
            assert_eq!(body["id"], event.id.as_str());
            assert_eq!(body["type"], event.event_type.as_str());
            assert_eq!(body["created_at"], NOW);
            assert_eq!(body["organization"], "acme");
            let sent = &body["data"]["alias"];
            assert_eq!(sent["id"], alias.id.as_str());
            for secret in ["jwt_secret", "passcode", "stream_key"] {
                assert_eq!(sent[secret], Value::Null, "{b:?} {secret}");
            }
            for leaked in [SECRET, "pin-123456", "sk-1"] {
                assert!(!event.payload.contains(leaked), "{b:?}");
            }
        }
        assert_eq!(
            serde_json::from_str::<Value>(&written[1].payload).unwrap()["data"]["alias"]["name"],
            "Renamed"
        );
    }
}

#[test]
fn only_subscribed_enabled_webhooks_make_events_and_other_orgs_see_none() {
    for f in fixtures() {
        let b = f.db.backend();
        // No webhook: nothing is written.
        let alias = f.service.create_alias(f.org, new_alias()).unwrap();
        assert!(events(&f).is_empty(), "{b:?}");
        // Subscribed to deletions only.
        let hook = subscribe(&f, &["alias.deleted"]);
        f.service.rotate_secret(f.org, &alias.id).unwrap();
        assert!(events(&f).is_empty(), "{b:?}");
        // Disabled: nothing.
        f.service
            .set_webhook_enabled(f.org, &hook.id, false)
            .unwrap();
        let other = f.service.create_alias(f.org, new_alias()).unwrap();
        f.service.delete_alias(f.org, &other.id).unwrap();
        assert!(events(&f).is_empty(), "{b:?}");
        f.service
            .set_webhook_enabled(f.org, &hook.id, true)
            .unwrap();
        f.service.delete_alias(f.org, &alias.id).unwrap();
        assert_eq!(types(&f), ["alias.deleted"], "{b:?}");
        // Another organization's changes go to its own webhooks, not acme's.
        let (globex, _) = f
            .service
            .create_org(&OrgName::parse("globex").unwrap())
            .unwrap();
        f.service.create_alias(globex.id, new_alias()).unwrap();
        assert_eq!(types(&f), ["alias.deleted"], "{b:?}");
    }
}

#[test]
fn a_change_that_fails_or_rolls_back_writes_no_event() {
    for f in fixtures() {
        let b = f.db.backend();
        subscribe(&f, &["*"]);
        let alias = f.service.create_alias(f.org, new_alias()).unwrap();
        assert_eq!(types(&f), ["alias.created"], "{b:?}");
        // Not found, and refused before any write: nothing.
        let missing = aliaskit_domain::AliasId::parse("missing").unwrap();
        assert!(matches!(
            f.service.rotate_secret(f.org, &missing),
            Err(ServiceError::AliasNotFound)
        ));
        assert!(f.service.delete_alias(f.org, &missing).is_err());
        assert_eq!(types(&f), ["alias.created"], "{b:?}");

        // The event cannot be written: the change itself rolls back with it.
        f.db.db
            .conn()
            .unwrap()
            .batch_execute("ALTER TABLE webhook_events RENAME TO webhook_events_away")
            .unwrap();
        assert!(f.service.rotate_secret(f.org, &alias.id).is_err(), "{b:?}");
        assert!(f.service.delete_alias(f.org, &alias.id).is_err(), "{b:?}");
        assert!(f.service.create_alias(f.org, new_alias()).is_err(), "{b:?}");
        f.db.db
            .conn()
            .unwrap()
            .batch_execute("ALTER TABLE webhook_events_away RENAME TO webhook_events")
            .unwrap();
        let stored = f.service.get_alias(f.org, &alias.id).unwrap();
        assert_eq!(stored, alias, "{b:?}: neither rotated nor deleted");
        assert_eq!(
            f.service
                .list_aliases(f.org, &aliaskit_service::ListQuery::default())
                .unwrap()
                .entries
                .len(),
            1,
            "{b:?}: no alias created"
        );
        assert_eq!(types(&f), ["alias.created"], "{b:?}");
    }
}

#[test]
fn alias_expired_is_written_once_by_the_purge_when_the_alias_passes_expired_at() {
    for f in fixtures() {
        let b = f.db.backend();
        subscribe(&f, &["alias.expired"]);
        let config = aliaskit_service::ServiceConfig {
            purge_interval: std::time::Duration::from_secs(60),
            ..aliaskit_service::ServiceConfig::default()
        };
        let one =
            aliaskit_service::Service::with_clock(f.db.db.clone(), config.clone(), f.clock.clone());
        let two = aliaskit_service::Service::with_clock(f.db.db.clone(), config, f.clock.clone());
        let soon = f
            .service
            .create_alias(
                f.org,
                NewAlias {
                    expired_at: NOW + 100,
                    ..new_alias()
                },
            )
            .unwrap();
        let later = f
            .service
            .create_alias(
                f.org,
                NewAlias {
                    expired_at: NOW + 1000,
                    ..new_alias()
                },
            )
            .unwrap();
        // Not yet expired.
        assert!(one.purge_expired().unwrap().is_some());
        assert!(events(&f).is_empty(), "{b:?}");
        // Past `soon`'s expiry: once, whichever server runs, however often.
        for t in [NOW + 200, NOW + 200, NOW + 300, NOW + 400] {
            f.clock.set(t);
            one.purge_expired().unwrap();
            two.purge_expired().unwrap();
        }
        let written = events(&f);
        assert_eq!(written.len(), 1, "{b:?}");
        assert_eq!(written[0].event_type, "alias.expired");
        assert_eq!(written[0].alias_id.as_deref(), Some(soon.id.as_str()));
        // And `later` in its turn.
        f.clock.set(NOW + 1100);
        two.purge_expired().unwrap();
        f.clock.set(NOW + 1200);
        one.purge_expired().unwrap();
        let written = events(&f);
        assert_eq!(written.len(), 2, "{b:?}");
        assert_eq!(written[1].alias_id.as_deref(), Some(later.id.as_str()));
    }
}

fn deliveries(f: &Fixture, hook: &aliaskit_domain::Webhook) -> Vec<Delivery> {
    let mut conn = f.db.db.conn().unwrap();
    webhook_deliveries::list(&mut conn, hook.id.as_str()).unwrap()
}

const LEASE: std::time::Duration = std::time::Duration::from_secs(60);
const MS: std::time::Duration = std::time::Duration::from_millis(12);

#[test]
fn each_event_gets_one_delivery_per_subscribed_enabled_endpoint() {
    for f in fixtures() {
        let b = f.db.backend();
        let all = subscribe(&f, &["*"]);
        let created = subscribe(&f, &["alias.created"]);
        let off = subscribe(&f, &["*"]);
        f.service
            .set_webhook_enabled(f.org, &off.id, false)
            .unwrap();
        let alias = f.service.create_alias(f.org, new_alias()).unwrap();
        f.service.rotate_secret(f.org, &alias.id).unwrap();
        assert_eq!(deliveries(&f, &all).len(), 2, "{b:?}");
        assert_eq!(deliveries(&f, &created).len(), 1, "{b:?}");
        assert!(deliveries(&f, &off).is_empty(), "{b:?}");
        let due = f.service.claim_deliveries(10, LEASE).unwrap();
        assert_eq!(
            due.len(),
            2,
            "{b:?}: the rotation's delivery to `all` waits for the creation's (order per alias)"
        );
        let first = &due[0];
        assert_eq!(first.url, "https://203.0.113.7/events");
        for d in &due {
            assert!(
                d.secrets == [all.secret.clone()] || d.secrets == [created.secret.clone()],
                "{b:?}: signed by its own endpoint's secret"
            );
        }
        let body: Value = serde_json::from_str(&first.payload).unwrap();
        assert_eq!(body["id"], first.event_id.as_str());
        assert_eq!(body["type"], "alias.created");
    }
}

#[test]
fn a_claim_is_leased_retried_with_backoff_delivered_once_or_failed_after_a_day() {
    for f in fixtures() {
        let b = f.db.backend();
        let hook = subscribe(&f, &["*"]);
        f.service.create_alias(f.org, new_alias()).unwrap();
        let due = f.service.claim_deliveries(10, LEASE).unwrap();
        assert_eq!(due.len(), 1, "{b:?}");
        // Leased: nobody else gets it until the lease ends.
        assert!(
            f.service.claim_deliveries(10, LEASE).unwrap().is_empty(),
            "{b:?}"
        );
        // A 500: retried about 5 s later.
        let failed = Attempt {
            status: Some(500),
            error: None,
            duration: MS,
        };
        f.service.record_delivery(&due[0], &failed, 1.0).unwrap();
        let row = &deliveries(&f, &hook)[0];
        assert_eq!((row.state.as_str(), row.attempts), ("pending", 1), "{b:?}");
        assert_eq!(row.next_attempt_at, NOW + 5);
        assert_eq!(row.last_status, Some(500));
        assert!(
            f.service.claim_deliveries(10, LEASE).unwrap().is_empty(),
            "{b:?}"
        );
        f.clock.set(NOW + 5);
        let again = f.service.claim_deliveries(10, LEASE).unwrap();
        assert_eq!(again.len(), 1, "{b:?}");
        assert_eq!(again[0].event_id, due[0].event_id, "the same event id");
        assert_eq!(again[0].attempts, 1);
        f.service
            .record_delivery(
                &again[0],
                &Attempt {
                    status: Some(204),
                    error: None,
                    duration: MS,
                },
                1.0,
            )
            .unwrap();
        let row = &deliveries(&f, &hook)[0];
        assert_eq!(row.state, "delivered", "{b:?}");
        assert_eq!(row.delivered_at, Some(NOW + 5));
        f.clock.set(NOW + 10_000);
        assert!(
            f.service.claim_deliveries(10, LEASE).unwrap().is_empty(),
            "{b:?}"
        );

        // Another event, never answered: retried until a day has passed, then failed.
        f.clock.set(NOW + 20_000);
        f.service
            .create_alias(
                f.org,
                NewAlias {
                    expired_at: NOW + 500_000,
                    ..new_alias()
                },
            )
            .unwrap();
        let mut attempts = 0;
        loop {
            let due = f.service.claim_deliveries(10, LEASE).unwrap();
            if due.is_empty() {
                let row = deliveries(&f, &hook).pop().unwrap();
                if row.state == "failed" {
                    break;
                }
                f.clock.set(row.next_attempt_at);
                continue;
            }
            attempts += 1;
            let timeout = Attempt {
                status: None,
                error: Some("timed out".into()),
                duration: MS,
            };
            f.service.record_delivery(&due[0], &timeout, 1.0).unwrap();
        }
        let row = deliveries(&f, &hook).pop().unwrap();
        assert_eq!(row.last_error.as_deref(), Some("timed out"), "{b:?}");
        assert!(row.next_attempt_at - (NOW + 20_000) >= 86_400, "{b:?}");
        assert!(
            (30..40).contains(&attempts),
            "{b:?}: {attempts} attempts in a day"
        );
    }
}

#[test]
fn concurrent_senders_claim_disjoint_deliveries() {
    for f in fixtures() {
        let b = f.db.backend();
        subscribe(&f, &["*"]);
        for _ in 0..40 {
            f.service.create_alias(f.org, new_alias()).unwrap();
        }
        let claimed: Vec<i64> = std::thread::scope(|s| {
            let senders: Vec<_> = (0..4)
                .map(|_| {
                    let service = f.service.clone();
                    s.spawn(move || {
                        let mut mine = Vec::new();
                        loop {
                            let due = service.claim_deliveries(3, LEASE).unwrap();
                            if due.is_empty() {
                                return mine;
                            }
                            mine.extend(due.iter().map(|d| d.delivery));
                        }
                    })
                })
                .collect();
            senders
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        let mut unique = claimed.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(claimed.len(), 40, "{b:?}: every delivery claimed");
        assert_eq!(unique.len(), 40, "{b:?}: none twice");
    }
}

fn answered(status: Option<u16>) -> Attempt {
    Attempt {
        status,
        error: status.is_none().then(|| "connection refused".to_owned()),
        duration: MS,
    }
}

#[test]
fn deliveries_of_one_alias_wait_for_the_earlier_ones_others_do_not() {
    for f in fixtures() {
        let b = f.db.backend();
        let hook = subscribe(&f, &["*"]);
        let alias = f.service.create_alias(f.org, new_alias()).unwrap();
        f.service
            .update_alias(
                f.org,
                &alias.id,
                AliasPatch {
                    kind: AliasKind::Conference,
                    name: Patch::Set("second".into()),
                    passcode: Patch::Keep,
                    jwt_secret: Patch::Keep,
                    stream_key: Patch::Keep,
                    expired_at: Patch::Keep,
                },
            )
            .unwrap();
        f.service.rotate_secret(f.org, &alias.id).unwrap();
        let rows = deliveries(&f, &hook);
        assert_eq!(rows.len(), 3, "{b:?}");
        assert!(
            rows.iter()
                .all(|d| d.alias_id.as_deref() == Some(alias.id.as_str())),
            "{b:?}: each delivery knows its alias"
        );

        // Only the first of the alias is claimable; it fails and is retried later.
        let due = f.service.claim_deliveries(10, LEASE).unwrap();
        assert_eq!(due.len(), 1, "{b:?}: the later events of the alias wait");
        assert_eq!(due[0].delivery, rows[0].id);
        assert_eq!(
            f.service
                .record_delivery(&due[0], &answered(Some(503)), 1.0)
                .unwrap(),
            Recorded::Retry
        );
        // Another alias's events are not held back.
        let other = f.service.create_alias(f.org, new_alias()).unwrap();
        let due = f.service.claim_deliveries(10, LEASE).unwrap();
        assert_eq!(due.len(), 1, "{b:?}");
        let body: Value = serde_json::from_str(&due[0].payload).unwrap();
        assert_eq!(body["data"]["alias"]["id"], other.id.as_str());
        f.service
            .record_delivery(&due[0], &answered(Some(200)), 1.0)
            .unwrap();
        assert!(
            f.service.claim_deliveries(10, LEASE).unwrap().is_empty(),
            "{b:?}: the second of the first alias still waits for the first's retry"
        );

        // The first is delivered at its retry: then the second, and only then the third.
        f.clock.set(NOW + 5);
        let due = f.service.claim_deliveries(10, LEASE).unwrap();
        assert_eq!(due.len(), 1, "{b:?}");
        assert_eq!(due[0].delivery, rows[0].id);
        f.service
            .record_delivery(&due[0], &answered(Some(204)), 1.0)
            .unwrap();
        let due = f.service.claim_deliveries(10, LEASE).unwrap();
        assert_eq!(
            due.iter().map(|d| d.delivery).collect::<Vec<_>>(),
            [rows[1].id],
            "{b:?}"
        );
        // The second fails for good (its day is over): the third is released.
        f.clock.set(NOW + 90_000);
        assert_eq!(
            f.service
                .record_delivery(&due[0], &answered(None), 1.0)
                .unwrap(),
            Recorded::Failed
        );
        let due = f.service.claim_deliveries(10, LEASE).unwrap();
        assert_eq!(
            due.iter().map(|d| d.delivery).collect::<Vec<_>>(),
            [rows[2].id],
            "{b:?}"
        );
    }
}

#[test]
fn every_attempt_is_logged_newest_first_paged_and_only_for_its_organization() {
    for f in fixtures() {
        let b = f.db.backend();
        let hook = subscribe(&f, &["*"]);
        f.service.create_alias(f.org, new_alias()).unwrap();
        let due = f.service.claim_deliveries(10, LEASE).unwrap();
        f.service
            .record_delivery(&due[0], &answered(None), 1.0)
            .unwrap();
        f.clock.set(NOW + 5);
        let again = f.service.claim_deliveries(10, LEASE).unwrap();
        f.service
            .record_delivery(
                &again[0],
                &Attempt {
                    status: Some(200),
                    error: None,
                    duration: std::time::Duration::from_millis(1500),
                },
                1.0,
            )
            .unwrap();
        // A stale sender reporting on the delivered row changes nothing.
        assert_eq!(
            f.service
                .record_delivery(&due[0], &answered(Some(500)), 1.0)
                .unwrap(),
            Recorded::Delivered,
            "{b:?}"
        );
        assert_eq!(deliveries(&f, &hook)[0].state, "delivered", "{b:?}");

        let page = f
            .service
            .list_webhook_attempts(f.org, &hook.id, None, None)
            .unwrap();
        assert_eq!(page.entries.len(), 2, "{b:?}");
        assert_eq!(page.after, None);
        let (newest, oldest) = (&page.entries[0], &page.entries[1]);
        assert_eq!(newest.event_id, due[0].event_id);
        assert_eq!(newest.event_type, "alias.created");
        assert_eq!(
            (newest.attempt, newest.status, newest.error.as_deref()),
            (2, Some(200), None)
        );
        assert_eq!(
            (
                newest.duration_ms,
                newest.delivered_at,
                newest.next_attempt_at
            ),
            (1500, Some(NOW + 5), None)
        );
        assert_eq!(newest.at, NOW + 5);
        assert_eq!(
            (oldest.attempt, oldest.status, oldest.error.as_deref()),
            (1, None, Some("connection refused"))
        );
        assert_eq!(
            (
                oldest.duration_ms,
                oldest.next_attempt_at,
                oldest.delivered_at
            ),
            (12, Some(NOW + 5), None)
        );

        let first = f
            .service
            .list_webhook_attempts(f.org, &hook.id, None, Some(1))
            .unwrap();
        assert_eq!(first.entries, std::slice::from_ref(newest), "{b:?}");
        let second = f
            .service
            .list_webhook_attempts(f.org, &hook.id, first.after.as_deref(), Some(1))
            .unwrap();
        assert_eq!(second.entries, std::slice::from_ref(oldest), "{b:?}");
        assert_eq!(second.after, None);

        assert!(matches!(
            f.service
                .list_webhook_attempts(f.org, &hook.id, None, Some(201)),
            Err(ServiceError::Invalid(_))
        ));
        assert!(matches!(
            f.service
                .list_webhook_attempts(f.org, &hook.id, Some("nope!"), None),
            Err(ServiceError::Invalid(_))
        ));
        let (evil, _) = f
            .service
            .create_org(&OrgName::parse("evil").unwrap())
            .unwrap();
        assert!(matches!(
            f.service
                .list_webhook_attempts(evil.id, &hook.id, None, None),
            Err(ServiceError::WebhookNotFound)
        ));
        assert_eq!(
            f.service
                .list_any_webhook_attempts(&hook.id, None, None)
                .unwrap()
                .entries
                .len(),
            2
        );
        assert_eq!(
            f.service.delivery_counts(),
            aliaskit_service::DeliveryCounts {
                delivered: 1,
                retry: 1,
                failed: 0
            },
            "{b:?}: the stale report is not counted"
        );
    }
}

#[test]
fn the_backlog_counts_pending_deliveries_and_the_oldest() {
    for f in fixtures() {
        let b = f.db.backend();
        assert_eq!(f.service.webhook_backlog().unwrap(), (0, None), "{b:?}");
        subscribe(&f, &["*"]);
        f.service.create_alias(f.org, new_alias()).unwrap();
        f.clock.set(NOW + 7);
        f.service.create_alias(f.org, new_alias()).unwrap();
        assert_eq!(
            f.service.webhook_backlog().unwrap(),
            (2, Some(NOW)),
            "{b:?}"
        );
        let due = f.service.claim_deliveries(1, LEASE).unwrap();
        f.service
            .record_delivery(&due[0], &answered(Some(200)), 1.0)
            .unwrap();
        assert_eq!(
            f.service.webhook_backlog().unwrap(),
            (1, Some(NOW + 7)),
            "{b:?}"
        );
    }
}

#[test]
fn an_endpoint_failing_a_day_without_success_is_disabled_and_the_others_are_told() {
    for f in fixtures() {
        let b = f.db.backend();
        let failing = subscribe(&f, &["alias.created"]);
        let watcher = subscribe(&f, &["webhook.disabled"]);
        let everything = subscribe(&f, &["*"]);
        let deaf = subscribe(&f, &["alias.deleted"]);
        // A success at first, then only failures.
        f.service.create_alias(f.org, new_alias()).unwrap();
        let mine = |due: Vec<aliaskit_service::Due>| -> Vec<aliaskit_service::Due> {
            due.into_iter()
                .filter(|d| {
                    d.url == failing.url
                        && deliveries(&f, &failing).iter().any(|r| r.id == d.delivery)
                })
                .collect()
        };
        let due = f.service.claim_deliveries(10, LEASE).unwrap();
        for d in &due {
            f.service
                .record_delivery(d, &answered(Some(200)), 1.0)
                .unwrap();
        }
        f.clock.set(NOW + 100);
        f.service.create_alias(f.org, new_alias()).unwrap();
        let mut at = NOW + 100;
        loop {
            let due = mine(f.service.claim_deliveries(10, LEASE).unwrap());
            for d in &due {
                f.service
                    .record_delivery(d, &answered(Some(500)), 1.0)
                    .unwrap();
            }
            let hook = f.service.get_webhook(f.org, &failing.id).unwrap();
            if !hook.enabled {
                break;
            }
            at += 3600;
            assert!(at < NOW + 100 + 2 * 86_400, "{b:?}: never disabled");
            f.clock.set(at);
        }
        assert!(
            at - (NOW + 100) >= 86_400,
            "{b:?}: disabled only after a day of failures"
        );

        let disabled: Vec<Event> = events(&f)
            .into_iter()
            .filter(|e| e.event_type == "webhook.disabled")
            .collect();
        assert_eq!(disabled.len(), 1, "{b:?}");
        let body: Value = serde_json::from_str(&disabled[0].payload).unwrap();
        assert_eq!(body["type"], "webhook.disabled");
        assert_eq!(body["organization"], "acme");
        assert_eq!(body["id"], disabled[0].id.as_str());
        assert_eq!(
            body["data"]["webhook"],
            serde_json::json!({
                "id": failing.id.as_str(),
                "url": failing.url,
                "events": ["alias.created"],
                "description": null,
                "enabled": false,
                "created_at": NOW,
            })
        );
        assert!(!disabled[0].payload.contains("whsec_"), "{b:?}: no secret");
        let to = |hook: &aliaskit_domain::Webhook| {
            deliveries(&f, hook)
                .iter()
                .filter(|d| d.event_seq == disabled[0].seq)
                .count()
        };
        assert_eq!(
            (to(&failing), to(&watcher), to(&everything), to(&deaf)),
            (0, 1, 1, 0),
            "{b:?}: to the subscribed other endpoints"
        );

        // Enabled again, it starts a fresh day.
        f.service
            .set_webhook_enabled(f.org, &failing.id, true)
            .unwrap();
        f.clock.set(at + 10);
        f.service
            .create_alias(
                f.org,
                NewAlias {
                    expired_at: at + 100_000,
                    ..new_alias()
                },
            )
            .unwrap();
        let due = mine(f.service.claim_deliveries(50, LEASE).unwrap());
        assert!(!due.is_empty(), "{b:?}");
        for d in &due {
            f.service
                .record_delivery(d, &answered(Some(500)), 1.0)
                .unwrap();
        }
        assert!(
            f.service.get_webhook(f.org, &failing.id).unwrap().enabled,
            "{b:?}: one failure after enabling does not disable it"
        );
    }
}

#[test]
fn two_senders_reporting_one_delivery_log_it_once() {
    for f in fixtures() {
        let b = f.db.backend();
        let hook = subscribe(&f, &["*"]);
        f.service.create_alias(f.org, new_alias()).unwrap();
        let due = f.service.claim_deliveries(10, LEASE).unwrap();
        assert_eq!(due.len(), 1, "{b:?}");
        let start = std::sync::Barrier::new(4);
        let recorded: Vec<Recorded> = std::thread::scope(|s| {
            let senders: Vec<_> = (0..4)
                .map(|_| {
                    let (service, due, start) = (f.service.clone(), &due[0], &start);
                    s.spawn(move || {
                        start.wait();
                        service
                            .record_delivery(due, &answered(Some(200)), 1.0)
                            .unwrap()
                    })
                })
                .collect();
            senders.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(
            recorded.iter().all(|r| *r == Recorded::Delivered),
            "{b:?}: {recorded:?}"
        );
        let log = f
            .service
            .list_webhook_attempts(f.org, &hook.id, None, None)
            .unwrap();
        assert_eq!(log.entries.len(), 1, "{b:?}: one attempt logged");
        let row = &deliveries(&f, &hook)[0];
        assert_eq!(
            (row.state.as_str(), row.attempts),
            ("delivered", 1),
            "{b:?}"
        );
        assert_eq!(f.service.delivery_counts().delivered, 1, "{b:?}");
    }
}
