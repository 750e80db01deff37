//! Organizations, keys and the first-start bootstrap.

use aliaskit_domain::{ApiKey, OrgName};
use aliaskit_service::{Bootstrap, ServiceError};

use crate::*;

#[test]
fn a_new_organization_key_authenticates_only_that_organization() {
    for f in fixtures() {
        let b = f.db.backend();
        assert_eq!(f.service.authenticate_org(&f.key).unwrap(), f.org, "{b:?}");
        assert!(
            f.key.starts_with("ak_") && f.key.len() == 46,
            "{}",
            f.key.len()
        );
        let (beta, beta_key) = f
            .service
            .create_org(&OrgName::parse("beta").unwrap())
            .unwrap();
        assert_eq!(
            f.service.authenticate_org(beta_key.expose()).unwrap(),
            beta.id
        );
        for wrong in ["", "short", &"x".repeat(46), &f.key[..45]] {
            assert!(
                matches!(
                    f.service.authenticate_org(wrong),
                    Err(ServiceError::Unauthorized { .. })
                ),
                "{b:?} {wrong:?}"
            );
        }
        assert!(matches!(
            f.service.create_org(&OrgName::parse("acme").unwrap()),
            Err(ServiceError::OrgNameTaken)
        ));
    }
}

#[test]
fn rotating_a_key_stops_the_old_one_at_once() {
    for f in fixtures() {
        let acme = OrgName::parse("acme").unwrap();
        let new = f.service.rotate_org_key(&acme).unwrap();
        assert_ne!(new.expose(), f.key);
        assert!(matches!(
            f.service.authenticate_org(&f.key),
            Err(ServiceError::Unauthorized { .. })
        ));
        assert_eq!(f.service.authenticate_org(new.expose()).unwrap(), f.org);
        let missing = f.service.rotate_org_key(&OrgName::parse("nobody").unwrap());
        assert_eq!(
            missing.unwrap_err().to_string(),
            "no organization is named nobody"
        );
        let names: Vec<_> = f
            .service
            .list_orgs()
            .unwrap()
            .into_iter()
            .map(|o| o.name.to_string())
            .collect();
        assert_eq!(names, ["acme"]);
    }
}

#[test]
fn bootstrap_creates_default_once_with_a_generated_or_configured_key() {
    for db in aliaskit_store::testing::TestDb::all().unwrap() {
        let b = db.backend();
        let service = Service::new(db.db.clone(), ServiceConfig::default());
        let Bootstrap::Created {
            key,
            generated: true,
        } = service.bootstrap(None).unwrap()
        else {
            panic!("{b:?}: first start creates default");
        };
        assert!(service.authenticate_org(key.expose()).is_ok());
        assert!(
            matches!(service.bootstrap(None).unwrap(), Bootstrap::Nothing),
            "{b:?}"
        );

        // On a database with organizations a configured key nobody holds is ignored, never
        // added: it applies to an empty database only.
        let configured = ApiKey::parse("operator-chosen-key-of-at-least-32-chars").unwrap();
        assert!(matches!(
            service.bootstrap(Some(&configured)).unwrap(),
            Bootstrap::Ignored
        ));
        assert!(
            service.authenticate_org(configured.expose()).is_err(),
            "{b:?}"
        );
        // The key `default` holds is known: nothing to say.
        assert!(matches!(
            service.bootstrap(Some(&key)).unwrap(),
            Bootstrap::Nothing
        ));
        assert_eq!(service.list_orgs().unwrap().len(), 1, "{b:?}");
    }
}

#[test]
fn bootstrap_with_a_configured_key_on_an_empty_database_uses_it() {
    for db in aliaskit_store::testing::TestDb::all().unwrap() {
        let service = Service::new(db.db.clone(), ServiceConfig::default());
        let configured = ApiKey::parse("operator-chosen-key-of-at-least-32-chars").unwrap();
        let Bootstrap::Created {
            key,
            generated: false,
        } = service.bootstrap(Some(&configured)).unwrap()
        else {
            panic!("creates default with the configured key");
        };
        assert_eq!(key.expose(), configured.expose());
        assert!(service.authenticate_org(configured.expose()).is_ok());
    }
}
