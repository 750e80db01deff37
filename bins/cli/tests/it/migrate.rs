//! `aliaskit migrate`, the settings the CLI reads, and an unreachable database.

use std::path::Path;

use crate::{Target, aliaskit_env};

#[test]
fn migrate_creates_the_tables_of_an_empty_file_then_says_up_to_date() {
    let t = Target::sqlite();
    let run = t.run(&["migrate"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{}", run.stderr);
    // Every migration in migrations/sqlite, in order, by diesel's version (the digits of the
    // directory name's date and number).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/sqlite");
    let mut versions: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .map(|name| name.split('_').next().unwrap().replace('-', ""))
        .collect();
    versions.sort();
    assert!(versions.len() >= 4, "{versions:?}");
    let expected: String = versions
        .iter()
        .map(|v| format!("applied migration {v} to the database at {}\n", t.url))
        .collect();
    assert_eq!(run.stderr, expected);
    assert!(Path::new(&t.url).exists());
    assert_eq!(t.service().list_orgs().unwrap(), []);

    let run = t.run(&["migrate"]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr),
        (
            0,
            "",
            format!("the database at {} is already up to date\n", t.url)
        )
    );
}

#[test]
fn migrate_on_postgres_says_up_to_date() {
    let Some(t) = Target::postgres() else { return };
    let run = t.run(&["migrate"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{}", run.stderr);
    assert!(
        run.stderr.ends_with("is already up to date\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn without_migrate_on_start_only_migrate_creates_the_tables() {
    let t = Target::sqlite();
    let off = [("ALIASKIT__DATABASE__MIGRATE_ON_START", "false")];
    // `--create` makes the file, but not the tables.
    let run = t.run_env(&["--create", "org", "list"], &off);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.starts_with("error: the database at ")
            && run
                .stderr
                .contains("the database schema is behind this version"),
        "{}",
        run.stderr
    );

    let run = t.run_env(&["migrate"], &off);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.starts_with("applied migration"),
        "{}",
        run.stderr
    );
    let run = t.run_env(&["org", "list"], &off);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "", "")
    );
}

#[test]
fn the_config_file_is_read_and_the_environment_overrides_it() {
    let dir = tempfile::tempdir().unwrap();
    let from_file = dir.path().join("file.db");
    let config = dir.path().join("aliaskit.toml");
    std::fs::write(
        &config,
        format!("[database]\nurl = \"{}\"\n", from_file.display()),
    )
    .unwrap();
    let config = config.to_str().unwrap();

    let run = aliaskit_env(
        &["--config", config, "--create", "org", "create", "acme"],
        None,
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(from_file.exists());

    // `--config` is global: it may follow the subcommand too.
    let run = aliaskit_env(&["org", "list", "--config", config], None, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("acme\t"), "{}", run.stdout);

    // The environment's database, not the file's: refused, as it does not exist.
    let other = Target::sqlite();
    let run = aliaskit_env(
        &["--config", config, "org", "list"],
        None,
        &[("ALIASKIT__DATABASE__URL", &other.url)],
    );
    assert_eq!((run.code, run.stdout.as_str()), (2, ""), "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with(&format!("error: no database at {}: ", other.url)),
        "{}",
        run.stderr
    );
    assert!(!Path::new(&other.url).exists());
}

#[test]
fn bad_settings_are_a_usage_error_naming_the_key() {
    let t = Target::sqlite();
    let run = t.run_env(&["org", "list"], &[("ALIASKIT__SERVER__PORT", "eighty")]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (
            2,
            "",
            "error: ALIASKIT__SERVER__PORT: server.port: expected an integer, found string \"eighty\"\n"
        )
    );

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[database]\nulr = \"x.db\"\n").unwrap();
    let run = t.run(&["--config", config.to_str().unwrap(), "migrate"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.starts_with(&format!(
            "error: config file {}: database.ulr: unknown key",
            config.display()
        )),
        "{}",
        run.stderr
    );

    let run = t.run(&["--config", "/nonexistent/aliaskit.toml", "org", "list"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("cannot read it"), "{}", run.stderr);

    // The settings the server refuses, the CLI refuses the same way: one line, status 2, no
    // backtrace even when asked for one.
    let run = t.run_env(
        &["org", "list"],
        &[("ALIASKIT__LOGGING__LEVEL", "inf"), ("RUST_BACKTRACE", "1")],
    );
    assert_eq!((run.code, run.stdout.as_str()), (2, ""), "{}", run.stderr);
    assert!(
        run.stderr.starts_with(
            "error: ALIASKIT__LOGGING__LEVEL: logging.level: \"inf\" is neither a level nor a \
             `target=level` directive; "
        ),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[test]
fn an_unreachable_postgres_is_status_2_and_the_password_is_not_shown() {
    let password = "hunter2-not-for-logs";
    let url = format!("postgres://aliaskit:{password}@127.0.0.1:1/aliaskit");
    for args in [
        &["migrate"][..],
        &["org", "create", "acme"],
        &["org", "list"],
    ] {
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
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (2, ""),
            "{args:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr.starts_with(
                "error: cannot reach the database at postgres://aliaskit:***@127.0.0.1:1/aliaskit: "
            ),
            "{args:?}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains(password), "{}", run.stderr);
    }
}
