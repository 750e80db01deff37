//! The webhook outbox: every alias change writes its event in its own transaction, only for an
//! organization with an enabled webhook subscribed to it; a change that fails writes none;
//! `alias.expired` is written once, by the purge.

use aliaskit_domain::{AliasKind, AliasPatch, NewAlias, OrgName, Patch};
use aliaskit_service::{NewWebhook, ServiceError};
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
