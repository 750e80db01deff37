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
