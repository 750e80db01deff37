//! Organizations and API key hashes.

use aliaskit_domain::OrgName;
use aliaskit_store::{StoreError, repo};

use crate::*;

#[test]
fn organizations_have_unique_names_and_list_by_name() {
    for db in dbs() {
        let b = db.backend();
        let acme = org(&db, "acme");
        assert_eq!(acme.name.as_str(), "acme");
        assert_eq!(acme.created_at, NOW);
        org(&db, "beta");
        let dup = db
            .db
            .transaction(|c| repo::orgs::insert(c, &OrgName::parse("acme").unwrap(), NOW));
        assert!(matches!(dup, Err(StoreError::OrgNameTaken)), "{b:?}");
        let mut conn = db.db.conn().unwrap();
        let names: Vec<_> = repo::orgs::list(&mut conn)
            .unwrap()
            .into_iter()
            .map(|o| o.name.to_string())
            .collect();
        assert_eq!(names, ["acme", "beta"], "{b:?}");
        assert_eq!(repo::orgs::count(&mut conn).unwrap(), 2);
        let found = repo::orgs::find_by_name(&mut conn, &OrgName::parse("beta").unwrap()).unwrap();
        assert_eq!(found.map(|o| o.name.to_string()).as_deref(), Some("beta"));
    }
}

#[test]
fn api_key_hashes_find_their_organization_and_are_unique() {
    for db in dbs() {
        let b = db.backend();
        let acme = org(&db, "acme");
        let other = org(&db, "other");
        let mut conn = db.db.conn().unwrap();
        repo::api_keys::insert(&mut conn, acme.id, "aa11", NOW).unwrap();
        repo::api_keys::insert(&mut conn, acme.id, "bb22", NOW).unwrap();
        assert_eq!(
            repo::api_keys::find(&mut conn, "aa11").unwrap(),
            Some((acme.id, "aa11".to_owned())),
            "{b:?}"
        );
        assert_eq!(repo::api_keys::find(&mut conn, "cc33").unwrap(), None);
        assert!(matches!(
            repo::api_keys::insert(&mut conn, other.id, "aa11", NOW),
            Err(StoreError::ApiKeyTaken)
        ));
        assert_eq!(
            repo::api_keys::delete_for_org(&mut conn, acme.id).unwrap(),
            2
        );
        assert_eq!(
            repo::api_keys::find(&mut conn, "bb22").unwrap(),
            None,
            "{b:?}"
        );
    }
}
