//! `aliaskit keys generate|rotate-master|retire`, the key file next to a SQLite database, and a
//! database sealed under a key the settings lack.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use crate::Target;

fn key_file(t: &Target) -> PathBuf {
    PathBuf::from(&t.url).parent().unwrap().join("aliaskit.key")
}

/// The key lines of a key file (its comment lines left out).
fn keys_in(path: &PathBuf) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn generate_prints_a_base64_key_alone_on_stdout() {
    let run = crate::aliaskit(&["keys", "generate"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let key = run.stdout.trim_end();
    assert_eq!(run.stdout.lines().count(), 1);
    assert_eq!(key.len(), 44, "{key}");
    assert!(aliaskit_store::MasterKey::from_base64(key).is_ok());
    assert!(
        run.stderr.starts_with("generated master key "),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(key));
}

#[test]
fn the_sqlite_database_file_is_created_readable_by_its_owner_only() {
    let t = Target::sqlite();
    let run = t.run(&["--create", "org", "create", "acme"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // It holds argon2 hashes and sealed secrets; SQLite gives its -wal and -shm files the
    // database file's mode.
    let db = PathBuf::from(&t.url);
    let mut checked = 0;
    for suffix in ["", "-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{suffix}", db.display()));
        if let Ok(meta) = std::fs::metadata(&path) {
            assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{path:?}");
            checked += 1;
        }
    }
    assert!(checked >= 1, "no database file at {db:?}");

    // An existing file keeps the mode its operator chose.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o640)).unwrap();
    let run = t.run(&["org", "list"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mode = std::fs::metadata(&db).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}

#[test]
fn the_command_that_creates_the_database_creates_a_private_key_file_next_to_it() {
    let t = Target::sqlite();
    let run = t.run(&["--create", "org", "create", "acme"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let path = key_file(&t);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{path:?}");
    assert_eq!(keys_in(&path).len(), 1);

    // A key file others can read is refused, saying how to fix it.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = t.run(&["org", "list"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("is accessible to other users (mode 644); run `chmod 600"),
        "{}",
        run.stderr
    );

    // A key file missing beside the database is lost key material: no fresh key replaces it,
    // not even with --create.
    std::fs::remove_file(&path).unwrap();
    for args in [&["org", "list"][..], &["--create", "org", "list"][..]] {
        let run = t.run(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(
                "aliaskit.key does not exist; the database exists already, so this file held \
                 the keys of its secrets: restore it from your backup of the master keys"
            ),
            "{}",
            run.stderr
        );
        assert!(!path.exists(), "{args:?}: a new key file was made");
    }
}

#[test]
fn rotate_master_with_a_key_file_reseals_everything_under_a_new_key() {
    let t = Target::sqlite_migrated();
    assert_eq!(t.run(&["org", "create", "acme"]).code, 0);
    let path = key_file(&t);
    let before = keys_in(&path);

    // Put a secret in through the service (an alias with a jwt_secret), under the old key.
    let service = t.service();
    let org = service.list_orgs().unwrap().remove(0).id;
    let alias = service
        .create_alias(
            org,
            aliaskit_domain::NewAlias {
                kind: aliaskit_domain::AliasKind::Live,
                name: None,
                passcode: Some("pin-1234".into()),
                jwt_secret: Some("0123456789abcdef0123456789abcdef".into()),
                stream_key: None,
                expired_at: service.now() + 600,
            },
        )
        .unwrap();
    drop(service);

    let run = t.run(&["keys", "rotate-master"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("re-encrypted 2 values under master key "),
        "{}",
        run.stderr
    );
    // A new key at the head; the old one kept, marked retired, to open older backups.
    let after = keys_in(&path);
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(!before.contains(&after[0]), "a new key");
    assert_eq!(after[1], format!("retired {}", before[0]));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // The new key alone reads the secret.
    let read = t.service().get_alias(org, &alias.id).unwrap();
    assert_eq!(
        read.jwt_secret.unwrap().expose(),
        "0123456789abcdef0123456789abcdef"
    );
    assert_eq!(t.run(&["org", "list"]).code, 0);

    // The rotation is in the audit trail, as the CLI's, naming the new key (its id, not it).
    let run = t.run(&["audit", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let trail: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let entry = &trail["entries"][0];
    assert_eq!(entry["action"], "keys.rotate_master", "{trail}");
    assert_eq!(entry["actor"]["kind"], "cli");
    assert_eq!(entry["changes"], serde_json::json!(["master_key"]));
    let new_key = after[0].as_str();
    assert!(
        !run.stdout.contains(new_key),
        "the key itself is never recorded"
    );

    // The old key alone is now refused at start.
    std::fs::write(&path, format!("{}\n", before[0])).unwrap();
    let run = t.run(&["org", "list"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("which this server does not have"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_configured_key_that_does_not_match_the_data_is_refused_clearly() {
    for t in Target::all() {
        assert_eq!(t.run(&["org", "create", "acme"]).code, 0, "{}", t.name);
        let service = t.service();
        let org = service.list_orgs().unwrap().remove(0).id;
        service
            .create_alias(
                org,
                aliaskit_domain::NewAlias {
                    kind: aliaskit_domain::AliasKind::Live,
                    name: None,
                    passcode: Some("pin-1234".into()),
                    jwt_secret: None,
                    stream_key: None,
                    expired_at: service.now() + 600,
                },
            )
            .unwrap();
        drop(service);
        let other = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let run = t.run_env(
            &["org", "list"],
            &[("ALIASKIT__SECURITY__MASTER_KEY", other)],
        );
        // A value is sealed under a key these settings lack.
        assert_eq!(run.code, 2, "{}: {}", t.name, run.stderr);
        assert!(
            run.stderr
                .contains("a value was encrypted under master key"),
            "{}: {}",
            t.name,
            run.stderr
        );
        assert!(!run.stderr.contains(other), "the key is never printed");
    }
}

#[test]
fn rotate_master_leaves_the_schema_alone_when_migrate_on_start_is_off() {
    let t = Target::sqlite();
    let off = [("ALIASKIT__DATABASE__MIGRATE_ON_START", "false")];
    // `--create`: an empty database file, and the key file with its first key.
    let run = t.run_env(&["--create", "keys", "rotate-master"], &off);
    assert_eq!(run.code, 2, "{}", run.stderr);
    // The refused rotation added no key to the key file.
    assert_eq!(
        keys_in(&key_file(&t)).len(),
        1,
        "a refused rotation leaves the key file alone"
    );
    assert!(
        !run.stderr.contains("generated master key"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("applied migration"),
        "it migrated: {}",
        run.stderr
    );
    // Every migration the binary carries is pending on the new, empty file.
    let migrations = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../migrations/sqlite"
    ))
    .unwrap()
    .count();
    let behind = format!(
        "the database schema is behind this version ({migrations} pending migrations, from \
         20261124000001): run `aliaskit migrate`"
    );
    assert!(run.stderr.contains(&behind), "{}", run.stderr);
    // Once the operator migrates, it works.
    assert_eq!(t.run(&["migrate"]).code, 0);
    let run = t.run_env(&["keys", "rotate-master"], &off);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn retiring_a_key_nobody_knows_is_refused_and_changes_nothing() {
    let t = Target::sqlite();
    assert_eq!(t.run(&["--create", "org", "create", "acme"]).code, 0);
    let file = key_file(&t);
    let before = std::fs::read_to_string(&file).unwrap();
    let run = t.run(&["keys", "retire", "0badc0de"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("unknown_key: no master key 0badc0de"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("backups"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
}
