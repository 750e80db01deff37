//! Secrets at rest: sealed in the columns and the file, bound to their row, readable only with
//! the right master keys, and resealed by a rotation.

use aliaskit_domain::{AliasId, SigningKey};
use aliaskit_store::repo::{aliases, signing_keys};
use aliaskit_store::{Database, MasterKey, PoolOptions, StoreError, Vault, VaultError};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};

use crate::*;

const SECRETS: [&str; 4] = [
    "pass-code-0000",
    "0123456789abcdef0123456789abcdef",
    "stream-key-0000",
    "previous-secret-previous-secret!",
];

fn secret_alias(org: aliaskit_domain::OrgId, id: &str) -> aliaskit_domain::Alias {
    aliaskit_domain::Alias {
        passcode: Some(SECRETS[0].into()),
        jwt_secret: Some(SECRETS[1].into()),
        stream_key: Some(SECRETS[2].into()),
        previous_secret: Some(SECRETS[3].into()),
        previous_secret_until: Some(NOW + 60),
        ..alias(org, id, NOW)
    }
}

#[derive(QueryableByName, Debug)]
struct Raw {
    #[diesel(sql_type = Nullable<Text>)]
    passcode: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    jwt_secret: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    stream_key: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    previous_secret: Option<String>,
}

fn raw(db: &Database, id: &str) -> Raw {
    let mut conn = db.conn().unwrap();
    diesel::sql_query(format!(
        "SELECT passcode, jwt_secret, stream_key, previous_secret FROM aliases WHERE id = '{id}'"
    ))
    .get_result::<Raw>(&mut *conn)
    .unwrap()
}

#[test]
fn secrets_are_sealed_in_the_columns_and_absent_from_the_database_file() {
    for db in dbs() {
        let b = db.backend();
        let acme = org(&db, "acme");
        let a = secret_alias(acme.id, "room-1");
        let mut conn = db.db.conn().unwrap();
        aliases::insert(&mut conn, db.db.vault(), &a).unwrap();
        let key = SigningKey {
            kid: "k1".into(),
            alg: "HS256".into(),
            secret: "signing-key-secret-signing-key-secret".into(),
            created_at: NOW,
            retired_at: None,
        };
        signing_keys::insert(&mut conn, db.db.vault(), &key).unwrap();
        drop(conn);

        let r = raw(&db.db, "room-1");
        for (column, value) in [r.passcode, r.jwt_secret, r.stream_key, r.previous_secret]
            .into_iter()
            .enumerate()
        {
            let value = value.unwrap();
            assert!(
                value.starts_with(&format!("v1.{}.", db.db.vault().current_id())),
                "{b:?} {value}"
            );
            assert!(!value.contains(SECRETS[column]), "{b:?}");
        }
        // Read back through the repository: the plaintext.
        let mut conn = db.db.conn().unwrap();
        assert_eq!(
            aliases::find(&mut conn, db.db.vault(), &a.id).unwrap(),
            Some(a),
            "{b:?}"
        );
        let keys = signing_keys::usable(&mut conn, db.db.vault(), 0).unwrap();
        assert_eq!(
            keys[0].secret.expose(),
            "signing-key-secret-signing-key-secret"
        );
    }
    // The SQLite file itself (and its WAL) holds no secret.
    let db = aliaskit_store::testing::TestDb::sqlite().unwrap();
    let acme = org(&db, "acme");
    aliases::insert(
        &mut db.db.conn().unwrap(),
        db.db.vault(),
        &secret_alias(acme.id, "room-1"),
    )
    .unwrap();
    let dir = std::path::Path::new(db.url.trim_start_matches("sqlite://"))
        .parent()
        .unwrap()
        .to_owned();
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(bytes.len() > 4096, "the files were read");
    for secret in SECRETS {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} in the file"
        );
    }
}

#[test]
fn a_ciphertext_moved_to_another_row_does_not_open() {
    for db in dbs() {
        let b = db.backend();
        let acme = org(&db, "acme");
        let mut conn = db.db.conn().unwrap();
        aliases::insert(&mut conn, db.db.vault(), &secret_alias(acme.id, "victim")).unwrap();
        aliases::insert(
            &mut conn,
            db.db.vault(),
            &aliaskit_domain::Alias {
                jwt_secret: None,
                ..alias(acme.id, "attacker", NOW)
            },
        )
        .unwrap();
        // Someone with write access to the database copies the victim's sealed secret.
        diesel::sql_query("UPDATE aliases SET jwt_secret = (SELECT jwt_secret FROM aliases WHERE id = 'victim') WHERE id = 'attacker'")
            .execute(&mut *conn)
            .unwrap();
        let attacker = AliasId::parse("attacker").unwrap();
        match aliases::find(&mut conn, db.db.vault(), &attacker) {
            Err(StoreError::Vault(VaultError::Corrupt { place })) => {
                assert_eq!(place, "aliases/attacker/jwt_secret", "{b:?}")
            }
            other => panic!("{b:?}: {other:?}"),
        }
    }
}

#[test]
fn a_database_sealed_under_an_unknown_key_is_refused_at_start_and_a_rotation_reseals_it() {
    for db in dbs() {
        let b = db.backend();
        let acme = org(&db, "acme");
        db.db.check_keys(NOW).unwrap();
        aliases::insert(
            &mut db.db.conn().unwrap(),
            db.db.vault(),
            &secret_alias(acme.id, "room-1"),
        )
        .unwrap();
        let old = db.db.vault().current().clone();

        // A server with another key: refused, naming the key it lacks.
        let stranger = Database::open(
            &db.url,
            PoolOptions::default(),
            Vault::new(MasterKey::generate().unwrap(), vec![]),
        )
        .unwrap();
        let err = stranger.check_keys(NOW).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "a value was encrypted under master key {}, which this server does not have",
                old.id()
            )),
            "{b:?}: {err}"
        );

        // A rotation: a new key seals, the old one still opens until the reseal is done.
        let new = MasterKey::generate().unwrap();
        let rotated = Database::open(
            &db.url,
            PoolOptions::default(),
            Vault::new(new.clone(), vec![old.clone()]),
        )
        .unwrap();
        rotated.check_keys(NOW).unwrap();
        let changed = rotated.reseal_all(NOW).unwrap();
        assert_eq!(changed, 4, "{b:?}: four sealed columns");
        assert_eq!(
            rotated.reseal_all(NOW).unwrap(),
            0,
            "nothing left to reseal"
        );

        // Now the new key alone reads everything, and the old id is forgotten.
        let only_new = Database::open(
            &db.url,
            PoolOptions::default(),
            Vault::new(new.clone(), vec![]),
        )
        .unwrap();
        only_new.check_keys(NOW).unwrap();
        let id = AliasId::parse("room-1").unwrap();
        let read = aliases::find(&mut only_new.conn().unwrap(), only_new.vault(), &id)
            .unwrap()
            .unwrap();
        assert_eq!(read.jwt_secret.unwrap().expose(), SECRETS[1], "{b:?}");
        let r = raw(&only_new, "room-1");
        assert!(
            r.passcode
                .unwrap()
                .starts_with(&format!("v1.{}.", new.id()))
        );
        // …and the old key alone reads nothing any more.
        let only_old =
            Database::open(&db.url, PoolOptions::default(), Vault::new(old, vec![])).unwrap();
        assert!(only_old.check_keys(NOW).is_err(), "{b:?}");
    }
}
