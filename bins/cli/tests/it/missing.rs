//! A command meant to use an existing database refuses when there is none, naming where it
//! looked, and creates nothing — no database, no key file, no directory. Only `aliaskit
//! migrate`, or the global `--create`, makes a new one.

use std::path::{Path, PathBuf};

use crate::{Target, aliaskit_env, aliaskit_in};

/// The commands that use the database, besides `migrate`.
const COMMANDS: &[&[&str]] = &[
    &["org", "create", "acme"],
    &["org", "list"],
    &["org", "rotate-key", "acme"],
    &["keys", "rotate-master"],
];

/// Every file and directory under `dir`.
fn everything_in(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(everything_in(&path));
        }
        found.push(path);
    }
    found
}

/// What a refused command prints: the absolute path, and `database.url` when it reads
/// differently (`what` says how).
fn refusal(path: &Path, what: &str) -> String {
    format!(
        "error: no database at {}: {what}to start a new database there, run `aliaskit migrate` \
         or pass --create\n",
        path.display()
    )
}

#[test]
fn in_a_directory_without_a_database_every_command_refuses_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path().canonicalize().unwrap();
    let expected = refusal(
        &cwd.join("data").join("aliaskit.db"),
        "database.url is \"./data/aliaskit.db\", relative to the working directory; ",
    );
    for args in COMMANDS {
        let run = aliaskit_in(&cwd, args, &[]);
        assert_eq!(
            (run.code, run.stdout.as_str(), run.stderr.as_str()),
            (2, "", expected.as_str()),
            "{args:?}"
        );
        assert_eq!(everything_in(&cwd), Vec::<PathBuf>::new(), "{args:?}");
    }
}

#[test]
fn a_configured_sqlite_file_that_does_not_exist_is_refused_and_nothing_is_created() {
    let t = Target::sqlite();
    let db = Path::new(&t.url);
    let parent = db.parent().unwrap();
    for args in COMMANDS {
        let run = t.run(args);
        assert_eq!(
            (run.code, run.stdout.as_str(), run.stderr.as_str()),
            (2, "", refusal(db, "").as_str()),
            "{args:?}"
        );
        assert!(!parent.exists(), "{args:?} created {}", parent.display());
    }
    // The sqlite:// form names the same file.
    let url = format!("sqlite://{}", t.url);
    let run = aliaskit_env(&["org", "list"], None, &[("ALIASKIT__DATABASE__URL", &url)]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        refusal(db, &format!("database.url is {url:?}; "))
    );
    assert!(!parent.exists());
}

#[test]
fn create_makes_the_database_and_its_key_file_then_commands_find_them() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let run = aliaskit_in(cwd, &["--create", "org", "create", "acme"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("ak_"), "{}", run.stdout);
    assert!(cwd.join("data/aliaskit.db").exists());
    assert!(cwd.join("data/aliaskit.key").exists());
    // `--create` is global: after the subcommand too; on a database that exists it is a no-op.
    let run = aliaskit_in(cwd, &["org", "list", "--create"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = aliaskit_in(cwd, &["org", "list"], &[]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{}", run.stderr);
    assert!(run.stdout.starts_with("acme\t"), "{}", run.stdout);
}

#[test]
fn migrate_makes_the_database_then_commands_find_it() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let run = aliaskit_in(cwd, &["migrate"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(cwd.join("data/aliaskit.db").exists());
    let run = aliaskit_in(cwd, &["org", "create", "acme"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("ak_"), "{}", run.stdout);
}

/// PostgreSQL never creates a database: one that does not exist fails to connect, and the
/// message names it by its URL, password hidden.
#[test]
fn a_postgres_database_that_does_not_exist_is_named_without_its_password() {
    let Ok(base) = std::env::var("ALIASKIT_TEST_POSTGRES_URL") else {
        return;
    };
    let (server, _) = base.rsplit_once('/').unwrap();
    let (scheme, rest) = server.split_once("://").unwrap();
    let (user, host) = rest.split_once('@').unwrap();
    let user = user.split(':').next().unwrap();
    let url = format!("{scheme}://{user}:hunter2@{host}/aliaskit_no_such_database");
    let shown = format!("{scheme}://{user}:***@{host}/aliaskit_no_such_database");
    for args in COMMANDS.iter().copied().chain([&["migrate"][..]]) {
        let run = aliaskit_env(
            args,
            None,
            &[
                ("ALIASKIT__DATABASE__URL", &url),
                ("ALIASKIT__DATABASE__CONNECT_TIMEOUT", "1"),
                (
                    "ALIASKIT__SECURITY__MASTER_KEY",
                    "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=",
                ),
            ],
        );
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr
                .starts_with(&format!("error: cannot reach the database at {shown}: ")),
            "{args:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr
                .contains("\"aliaskit_no_such_database\" does not exist"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
    }
}
