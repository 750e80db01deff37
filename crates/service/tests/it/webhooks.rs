//! The webhook outbox: every alias change writes its event in its own transaction, only for an
//! organization with an enabled webhook subscribed to it; a change that fails writes none;
//! `alias.expired` is written once, by the purge.

use aliaskit_domain::{AliasKind, AliasPatch, NewAlias, OrgName, Patch};
use aliaskit_service::{Attempt, NewWebhook, ServiceError};
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
        assert_eq!(due.len(), 3, "{b:?}");
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
