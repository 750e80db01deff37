//! The audit trail in the service (`docs/audit.md`): the CLI's and the server's own changes
//! are recorded with their actors; a change that fails records nothing; `alias.expire` is the
//! purge's, once; the retention purge deletes old entries; no entry holds a value.

use aliaskit_domain::{AliasPatch, OrgName, Patch};
use aliaskit_service::{AuditEntry, AuditFilter, NewWebhook, Origin, ServiceError};

use crate::*;

fn all(f: &Fixture) -> Vec<AuditEntry> {
    f.service
        .search_audit(&AuditFilter::default(), 1000)
        .unwrap()
}

fn actions(entries: &[AuditEntry]) -> Vec<String> {
    entries.iter().rev().map(|e| e.action.clone()).collect()
}

#[test]
fn the_clis_changes_are_recorded_as_its_users() {
    for f in fixtures() {
        let b = f.db.backend();
        let cli = f.service.acting_as(Origin::cli("ops"));
        let name = OrgName::parse("beta").unwrap();
        let (beta, key) = cli.create_org(&name).unwrap();
        let new_key = cli.rotate_org_key(&name).unwrap();
        let alias = cli.create_alias(beta.id, new_alias()).unwrap();
        cli.revoke_tokens(beta.id, &alias.id).unwrap();
        cli.delete_org(&name, true).unwrap();

        let got = all(&f);
        assert_eq!(
            actions(&got),
            [
                "org.create",
                "org.create",
                "org.rotate_key",
                "alias.create",
                "alias.revoke_tokens",
                "org.delete"
            ],
            "{b:?}"
        );
        for e in got.iter().filter(|e| e.org_name.as_deref() == Some("beta")) {
            assert_eq!(
                (e.actor_kind.as_str(), e.actor_id.as_str()),
                ("cli", "ops"),
                "{e:?}"
            );
            assert_eq!((e.request_id.as_ref(), e.client_ip.as_ref()), (None, None));
        }
        assert_eq!(got[0].changes(), ["aliases"], "deleted with its aliases");
        assert_eq!(got[0].target, "beta");
        // The deleted organization's trail stays, by name.
        let beta_trail = f
            .service
            .search_audit(
                &AuditFilter {
                    org_name: Some("beta"),
                    ..AuditFilter::default()
                },
                100,
            )
            .unwrap();
        assert_eq!(beta_trail.len(), 5, "{b:?}");
        let text = format!("{got:?}");
        for hidden in [key.expose(), new_key.expose(), SECRET, "sk-1"] {
            assert!(!text.contains(hidden), "{b:?}: {hidden} in {text}");
        }
    }
}

#[test]
fn a_change_that_fails_or_rolls_back_records_nothing() {
    for f in fixtures() {
        let b = f.db.backend();
        let before = all(&f).len();
        let alias = f.service.create_alias(f.org, new_alias()).unwrap();
        let bad = AliasPatch {
            kind: aliaskit_domain::AliasKind::Live,
            name: Patch::Keep,
            passcode: Patch::Keep,
            jwt_secret: Patch::Set("short".into()),
            stream_key: Patch::Keep,
            expired_at: Patch::Keep,
        };
        assert!(f.service.update_alias(f.org, &alias.id, bad).is_err());
        let missing = aliaskit_domain::AliasId::parse("missing-alias-id-000").unwrap();
        assert!(matches!(
            f.service.rotate_secret(f.org, &missing),
            Err(ServiceError::AliasNotFound)
        ));
        let other = f
            .service
            .create_org(&OrgName::parse("other").unwrap())
            .unwrap()
            .0;
        assert!(f.service.delete_alias(other.id, &alias.id).is_err());
        // The cap of webhooks is checked in the creating transaction: the 21st rolls back.
        for n in 0..21 {
            let created = f.service.create_webhook(
                f.org,
                NewWebhook {
                    url: format!("https://203.0.113.7/{n}"),
                    events: vec!["*".into()],
                    description: None,
                },
            );
            assert_eq!(created.is_ok(), n < 20, "{b:?} {n}");
        }
        let got = all(&f);
        let webhooks = got.iter().filter(|e| e.action == "webhook.create").count();
        assert_eq!(webhooks, 20, "{b:?}");
        assert_eq!(
            got.len() - before,
            1 + 1 + 20,
            "alias.create, org.create and 20 webhook.create only: {b:?} {:?}",
            actions(&got)
        );
    }
}

#[test]
fn an_expiry_is_recorded_once_by_the_purge() {
    for f in fixtures() {
        let b = f.db.backend();
        let alias = f
            .service
            .create_alias(
                f.org,
                aliaskit_domain::NewAlias {
                    expired_at: NOW + 10,
                    ..new_alias()
                },
            )
            .unwrap();
        // The first run looks back one interval (an hour); the second one is due an hour on.
        f.clock.set(NOW + 1000);
        f.service.purge_expired().unwrap();
        f.clock.set(NOW + 1000 + 3601);
        f.service.purge_expired().unwrap();
        let expiries: Vec<AuditEntry> = all(&f)
            .into_iter()
            .filter(|e| e.action == "alias.expire")
            .collect();
        assert_eq!(expiries.len(), 1, "{b:?}");
        assert_eq!(expiries[0].target, alias.id.as_str());
        assert_eq!(
            (
                expiries[0].actor_kind.as_str(),
                expiries[0].actor_id.as_str()
            ),
            ("system", "purge")
        );
    }
}

#[test]
fn entries_older_than_the_retention_are_purged() {
    for f in fixtures() {
        let b = f.db.backend();
        f.service.create_alias(f.org, new_alias()).unwrap();
        assert_eq!(all(&f).len(), 2, "{b:?}");
        // 366 days on, the purge (claimed: the first run is due) deletes them.
        let later = NOW + 366 * 86_400;
        f.clock.set(later);
        f.service
            .create_alias(
                f.org,
                aliaskit_domain::NewAlias {
                    expired_at: later + 3600,
                    ..new_alias()
                },
            )
            .unwrap();
        f.service.purge_expired().unwrap();
        let left = all(&f);
        assert_eq!(actions(&left), ["alias.create"], "{b:?}");
        assert_eq!(left[0].at, NOW + 366 * 86_400);
    }
}

#[test]
fn webhook_and_opencap_changes_name_their_actor() {
    use aliaskit_domain::opencap::{CapAlias, Password};
    use aliaskit_service::{Actor, Signup};

    for f in fixtures() {
        let b = f.db.backend();
        let api = f.service.acting_as(Origin {
            actor: Actor::api_key(&f.key, f.org),
            request_id: Some("req-1".into()),
            client_ip: Some("198.51.100.20".into()),
        });
        let hook = api
            .create_webhook(
                f.org,
                NewWebhook {
                    url: "https://203.0.113.7/hook".into(),
                    events: vec!["*".into()],
                    description: None,
                },
            )
            .unwrap();
        api.rotate_webhook_secret(f.org, &hook.id).unwrap();
        api.set_webhook_enabled(f.org, &hook.id, false).unwrap();
        api.set_webhook_enabled(f.org, &hook.id, true).unwrap();
        api.delete_webhook(f.org, &hook.id).unwrap();

        let alice = CapAlias::parse("alice$example.com").unwrap();
        let password = Password::new("correct horse battery").unwrap();
        let cap = aliaskit_service::Service::with_clock(
            f.db.db.clone(),
            aliaskit_service::ServiceConfig {
                opencap: aliaskit_service::OpenCapConfig {
                    domains: vec!["example.com".into()],
                    open_signup: true,
                    ..aliaskit_service::OpenCapConfig::default()
                },
                ..aliaskit_service::ServiceConfig::default()
            },
            f.clock.clone(),
        );
        cap.acting_as(Origin::new(Actor::OpencapUser {
            alias: alice.as_str().into(),
        }))
        .opencap()
        .signup(&alice, &password, Signup::Open)
        .unwrap_or_else(|e| panic!("{b:?}: {e}"));
        let cli = cap.acting_as(Origin::cli("ops"));
        cli.opencap().unlock_user(&alice).unwrap();
        cli.opencap().delete_user_by_alias(&alice).unwrap();

        let got = all(&f);
        let summary: Vec<(String, String, String, Vec<String>)> = got
            .iter()
            .rev()
            .skip(1) // org.create
            .map(|e| {
                (
                    e.action.clone(),
                    format!("{}:{}", e.actor_kind, e.actor_id),
                    e.target.clone(),
                    e.changes().iter().map(|c| (*c).to_owned()).collect(),
                )
            })
            .collect();
        let key_actor = got
            .iter()
            .find(|e| e.action == "webhook.create")
            .map(|e| e.actor_id.clone())
            .unwrap();
        assert!(
            key_actor.starts_with("acme/") && key_actor.len() == 13,
            "{key_actor}"
        );
        let api_actor = format!("api_key:{key_actor}");
        let hook_id = hook.id.as_str().to_owned();
        let expect = |a: &str, who: &str, t: &str, c: &[&str]| {
            (
                a.to_owned(),
                who.to_owned(),
                t.to_owned(),
                c.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>(),
            )
        };
        assert_eq!(
            summary,
            [
                expect("webhook.create", &api_actor, &hook_id, &["secret"]),
                expect("webhook.rotate_secret", &api_actor, &hook_id, &["secret"]),
                expect("webhook.disable", &api_actor, &hook_id, &["enabled"]),
                expect("webhook.enable", &api_actor, &hook_id, &["enabled"]),
                expect("webhook.delete", &api_actor, &hook_id, &[]),
                expect(
                    "opencap.user.create",
                    "opencap_user:alice$example.com",
                    "alice$example.com",
                    &["password"]
                ),
                expect(
                    "opencap.user.unlock",
                    "cli:ops",
                    "alice$example.com",
                    &["locked_until"]
                ),
                expect("opencap.user.delete", "cli:ops", "alice$example.com", &[]),
            ],
            "{b:?}"
        );
        let from_api = got.iter().filter(|e| e.actor_kind == "api_key");
        for e in from_api {
            assert_eq!(e.request_id.as_deref(), Some("req-1"));
            assert_eq!(e.client_ip.as_deref(), Some("198.51.100.20"));
        }
        let text = format!("{got:?}");
        assert!(!text.contains("whsec_"), "{text}");
        assert!(!text.contains(&f.key), "{text}");
    }
}
