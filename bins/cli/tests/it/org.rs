//! `aliaskit org create|list|rotate-key`, on a new SQLite database and on PostgreSQL.

use aliaskit_service::ServiceError;

use crate::{Run, Target, now};

/// The key a successful `create` or `rotate-key` printed: alone on stdout, with a newline.
fn printed_key(run: &Run, what: &str) -> String {
    assert_eq!(run.code, 0, "{what}: {}", run.stderr);
    let key = run
        .stdout
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("{what}: {:?}", run.stdout));
    assert!(
        key.starts_with("ak_") && key.len() == 46 && !key.contains(char::is_whitespace),
        "{what}: {key:?}"
    );
    key.to_owned()
}

#[test]
fn create_prints_only_a_key_and_the_key_authenticates() {
    for t in Target::all() {
        let run = t.run(&["org", "create", "acme"]);
        let key = printed_key(&run, t.name);
        assert!(
            run.stderr.ends_with(
                "created organization acme; store this key now, it is not shown again\n"
            ),
            "{}: {}",
            t.name,
            run.stderr
        );
        let service = t.service();
        let orgs = service.list_orgs().unwrap();
        assert_eq!(orgs.len(), 1, "{}", t.name);
        assert_eq!(orgs[0].name.as_str(), "acme");
        assert_eq!(
            service.authenticate_org(&key).unwrap(),
            orgs[0].id,
            "{}",
            t.name
        );
    }
}

#[test]
fn create_with_create_migrates_a_brand_new_database_first() {
    let t = Target::sqlite();
    assert!(!std::path::Path::new(&t.url).exists());
    let run = t.run(&["--create", "org", "create", "acme"]);
    printed_key(&run, t.name);
    assert!(
        run.stderr.starts_with("applied migration "),
        "{}",
        run.stderr
    );
}

#[test]
fn a_taken_name_is_refused_with_status_1() {
    for t in Target::all() {
        printed_key(&t.run(&["org", "create", "acme"]), t.name);
        let run = t.run(&["org", "create", "acme"]);
        assert_eq!(
            (run.code, run.stdout.as_str(), run.stderr.as_str()),
            (
                1,
                "",
                "org_name_taken: an organization named acme exists already\n"
            ),
            "{}",
            t.name
        );
        assert_eq!(t.service().list_orgs().unwrap().len(), 1);
    }
}

#[test]
fn a_bad_name_is_a_usage_error_with_status_2() {
    let t = Target::sqlite();
    for (args, message) in [
        (
            ["org", "create", "Acme"],
            "error: NAME: invalid organization name: it starts with 'A'; start with a-z or 0-9\n",
        ),
        (
            ["org", "create", "a b"],
            "error: NAME: invalid organization name: ' ' is not allowed; use only a-z, 0-9, '.', '_' and '-'\n",
        ),
        (
            ["org", "rotate-key", ""],
            "error: NAME: invalid organization name: it is empty\n",
        ),
    ] {
        let run = t.run(&args);
        assert_eq!(
            (run.code, run.stdout.as_str(), run.stderr.as_str()),
            (2, "", message),
            "{args:?}"
        );
    }
    // The name is checked before the database is touched.
    assert!(!std::path::Path::new(&t.url).exists());
}

#[test]
fn list_prints_name_tab_created_at_by_name() {
    for t in Target::all() {
        let run = t.run(&["org", "list"]);
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (0, ""),
            "{}: {}",
            t.name,
            run.stderr
        );

        let before = now();
        for name in ["zeta", "acme", "beta.team"] {
            printed_key(&t.run(&["org", "create", name]), t.name);
        }
        let after = now();
        let run = t.run(&["org", "list"]);
        assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{}", t.name);
        let rows: Vec<(&str, i64)> = run
            .stdout
            .lines()
            .map(|line| {
                let (name, created) = line.split_once('\t').unwrap();
                (name, created.parse().unwrap())
            })
            .collect();
        let names: Vec<&str> = rows.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["acme", "beta.team", "zeta"], "{}", t.name);
        for (name, created) in rows {
            assert!((before..=after).contains(&created), "{name}: {created}");
        }
        assert!(run.stdout.ends_with('\n'));
    }
}

#[test]
fn rotate_key_stops_the_old_key_at_once_and_the_new_one_works() {
    for t in Target::all() {
        let old = printed_key(&t.run(&["org", "create", "acme"]), t.name);
        let run = t.run(&["org", "rotate-key", "acme"]);
        let new = printed_key(&run, t.name);
        assert_ne!(old, new);
        assert!(
            run.stderr.contains("new key for organization acme"),
            "{}",
            run.stderr
        );
        let service = t.service();
        assert!(
            matches!(
                service.authenticate_org(&old),
                Err(ServiceError::Unauthorized { .. })
            ),
            "{}",
            t.name
        );
        assert!(service.authenticate_org(&new).is_ok(), "{}", t.name);
    }
}

#[test]
fn rotate_key_of_an_unknown_organization_is_refused_with_status_1() {
    for t in Target::all() {
        let run = t.run(&["org", "rotate-key", "nobody"]);
        assert_eq!(
            (run.code, run.stdout.as_str(), run.stderr.as_str()),
            (1, "", "org_not_found: no organization is named nobody\n"),
            "{}",
            t.name
        );
    }
}

/// Rotations at the same moment take turns: of the keys they print, only the last one
/// committed works — none of the others survives as a second key.
#[test]
fn concurrent_rotations_leave_exactly_one_working_key() {
    for t in Target::all() {
        assert_eq!(t.run(&["migrate"]).code, 0, "{}", t.name);
        printed_key(&t.run(&["org", "create", "acme"]), t.name);
        let service = t.service();
        for round in 0..6 {
            let keys: Vec<String> = std::thread::scope(|s| {
                let runs: Vec<_> = (0..3)
                    .map(|_| s.spawn(|| t.run(&["org", "rotate-key", "acme"])))
                    .collect();
                runs.into_iter()
                    .map(|r| printed_key(&r.join().unwrap(), t.name))
                    .collect()
            });
            let working = keys
                .iter()
                .filter(|k| service.authenticate_org(k).is_ok())
                .count();
            assert_eq!(working, 1, "{}, round {round}: {working} keys work", t.name);
        }
    }
}

#[test]
fn delete_is_refused_while_the_organization_has_aliases_and_changes_nothing() {
    for t in Target::all() {
        let (acme, key) = crate::alias::org(&t, "acme");
        let service = t.service();
        let aliases: Vec<_> = (0..2)
            .map(|i| crate::alias::alias(&service, acme, &format!("room {i}")))
            .collect();
        let run = t.run(&["org", "delete", "acme"]);
        assert_eq!(
            (run.code, run.stdout.as_str(), run.stderr.as_str()),
            (
                1,
                "",
                "org_has_aliases: organization acme has 2 aliases; nothing was deleted. Pass \
                 --with-aliases to delete them with it\n"
            ),
            "{}",
            t.name
        );
        let service = t.service();
        assert_eq!(service.list_orgs().unwrap().len(), 1, "{}", t.name);
        assert_eq!(service.authenticate_org(&key).unwrap(), acme);
        for a in &aliases {
            assert!(service.get_alias(acme, &a.id).is_ok(), "{}", t.name);
        }
    }
}

#[test]
fn delete_with_aliases_deletes_the_organization_its_keys_and_aliases() {
    for t in Target::all() {
        let (acme, key) = crate::alias::org(&t, "acme");
        let (beta, _) = crate::alias::org(&t, "beta");
        let service = t.service();
        let mine: Vec<_> = (0..3)
            .map(|i| crate::alias::alias(&service, acme, &format!("room {i}")))
            .collect();
        let theirs = crate::alias::alias(&service, beta, "theirs");
        let run = t.run(&["org", "delete", "acme", "--with-aliases"]);
        assert_eq!(
            (run.code, run.stdout.as_str(), run.stderr.as_str()),
            (
                0,
                "",
                "deleted organization acme, its API keys and 3 aliases\n"
            ),
            "{}",
            t.name
        );
        let service = t.service();
        let names: Vec<String> = service
            .list_orgs()
            .unwrap()
            .into_iter()
            .map(|o| o.name.to_string())
            .collect();
        assert_eq!(names, ["beta"], "{}", t.name);
        assert!(matches!(
            service.authenticate_org(&key),
            Err(ServiceError::Unauthorized { .. })
        ));
        for a in &mine {
            assert!(
                matches!(
                    service.retrieve(&a.id, aliaskit_service::Credentials::default()),
                    Err(ServiceError::AliasNotFound)
                ),
                "{}",
                t.name
            );
        }
        assert!(service.get_alias(beta, &theirs.id).is_ok());
        let run = t.run(&["alias", "list", "--org", "acme"]);
        assert_eq!(run.code, 1, "{}", t.name);
        assert_eq!(run.stderr, "org_not_found: no organization is named acme\n");
    }
}

#[test]
fn delete_of_an_organization_without_aliases_needs_no_flag_and_an_unknown_one_is_refused() {
    for t in Target::all() {
        printed_key(&t.run(&["org", "create", "empty"]), t.name);
        let run = t.run(&["org", "delete", "empty"]);
        assert_eq!(
            (run.code, run.stdout.as_str(), run.stderr.as_str()),
            (
                0,
                "",
                "deleted organization empty, its API keys and 0 aliases\n"
            ),
            "{}",
            t.name
        );
        assert!(t.service().list_orgs().unwrap().is_empty());
        let run = t.run(&["org", "delete", "empty"]);
        assert_eq!(
            (run.code, run.stdout.as_str(), run.stderr.as_str()),
            (1, "", "org_not_found: no organization is named empty\n"),
            "{}",
            t.name
        );
    }
}

/// An alias being created while `org delete` runs is waited for and counted: the deletion is
/// refused, and the alias is not silently deleted with the organization. (The organization's
/// row lock on PostgreSQL, the write lock on SQLite.)
#[test]
fn delete_waits_for_an_alias_being_created_and_then_refuses() {
    for t in Target::all() {
        let (acme, _) = crate::alias::org(&t, "acme");
        let service = t.service();
        let now = crate::now();
        let alias = aliaskit_domain::Alias {
            id: aliaskit_domain::AliasId::parse("created-meanwhile").unwrap(),
            org: acme,
            kind: aliaskit_domain::AliasKind::Live,
            name: None,
            passcode: None,
            jwt_secret: None,
            stream_key: None,
            expired_at: now + 3600,
            inserted_at: now,
            updated_at: now,
            previous_secret: None,
            previous_secret_until: None,
            tokens_valid_after: None,
        };
        let run = std::thread::scope(|s| {
            let (inserted, wait) = std::sync::mpsc::channel();
            let (service, alias) = (&service, &alias);
            let creator = s.spawn(move || {
                service
                    .db()
                    .transaction(|c| {
                        aliaskit_store::repo::aliases::insert(c, service.db().vault(), alias)?;
                        inserted.send(()).unwrap();
                        std::thread::sleep(std::time::Duration::from_millis(1500));
                        Ok(())
                    })
                    .unwrap();
            });
            wait.recv().unwrap();
            let run = t.run(&["org", "delete", "acme"]);
            creator.join().unwrap();
            run
        });
        assert_eq!(
            (run.code, run.stderr.as_str()),
            (
                1,
                "org_has_aliases: organization acme has 1 alias; nothing was deleted. Pass \
                 --with-aliases to delete them with it\n"
            ),
            "{}",
            t.name
        );
        assert!(t.service().get_alias(acme, &alias.id).is_ok(), "{}", t.name);
    }
}
