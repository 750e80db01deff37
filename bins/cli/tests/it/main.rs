//! Tests of the `aliaskit` binary: each runs the built executable and checks what a user sees,
//! its stdout, stderr and exit status.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a failed unwrap is a failed test, with its location"
)]

mod alias;
mod audit;
mod config;
mod keys;
mod migrate;
mod missing;
mod opencap;
mod org;
mod token;
mod webhook;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use aliaskit_service::{Service, ServiceConfig};
use aliaskit_store::testing::TestDb;
use aliaskit_store::{Database, PoolOptions};

/// What a run printed and how it ended.
pub struct Run {
    /// Exit status code.
    pub code: i32,
    /// Standard output, as text.
    pub stdout: String,
    /// Standard error, as text.
    pub stderr: String,
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since.as_secs()).unwrap()
}

/// Runs `aliaskit` with `args`, feeding `stdin` if given.
pub fn aliaskit(args: &[&str], stdin: Option<&str>) -> Run {
    aliaskit_env(args, stdin, &[])
}

/// Runs `aliaskit` with `args` and exactly the `ALIASKIT__…` variables in `env`: any that this
/// test process inherited are removed, so a developer's own settings cannot leak in.
pub fn aliaskit_env(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Run {
    run_in(None, args, stdin, env)
}

/// [`aliaskit_env`] with `dir` as the working directory, where the default `database.url`,
/// `./data/aliaskit.db`, points.
pub fn aliaskit_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    run_in(Some(dir), args, None, env)
}

fn run_in(dir: Option<&Path>, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aliaskit"));
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    for (name, _) in std::env::vars_os() {
        if name
            .to_str()
            .is_some_and(|n| n.to_ascii_uppercase().starts_with("ALIASKIT__"))
        {
            command.env_remove(name);
        }
    }
    let mut child = command
        .envs(env.iter().copied())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the aliaskit binary runs");
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        pipe.write_all(input.as_bytes()).unwrap();
    }
    drop(pipe);
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

/// A database for one CLI test, named to the child by `ALIASKIT__DATABASE__URL`.
pub struct Target {
    /// `database.url`.
    pub url: String,
    /// Which backend, for assertion messages.
    pub name: &'static str,
    /// `security.master_key` for PostgreSQL (SQLite uses its key file).
    master_key: Option<String>,
    _keep: Keep,
}

enum Keep {
    Dir(#[expect(dead_code, reason = "held to delete the directory on drop")] tempfile::TempDir),
    Postgres(#[expect(dead_code, reason = "held to drop the database on drop")] TestDb),
}

impl Target {
    /// A SQLite file that does not exist yet, in a directory that does not exist yet: commands
    /// other than `migrate` refuse it without `--create`.
    pub fn sqlite() -> Target {
        let dir = tempfile::tempdir().unwrap();
        let url = dir
            .path()
            .join("data")
            .join("aliaskit.db")
            .display()
            .to_string();
        Target {
            url,
            name: "sqlite",
            master_key: None,
            _keep: Keep::Dir(dir),
        }
    }

    /// A fresh (already migrated) PostgreSQL database, when `ALIASKIT_TEST_POSTGRES_URL` is set.
    pub fn postgres() -> Option<Target> {
        let db = TestDb::postgres().expect("a PostgreSQL test database")?;
        Some(Target {
            url: db.url.clone(),
            name: "postgres",
            master_key: Some(db.db.vault().current().to_base64()),
            _keep: Keep::Postgres(db),
        })
    }

    /// A SQLite database that `aliaskit migrate` made, as an operator makes one (its key file
    /// next to it), with nothing in it.
    pub fn sqlite_migrated() -> Target {
        let t = Target::sqlite();
        let run = t.run(&["migrate"]);
        assert_eq!(run.code, 0, "migrate: {}", run.stderr);
        t
    }

    /// A new, migrated SQLite database, and a fresh PostgreSQL database when configured.
    pub fn all() -> Vec<Target> {
        let mut targets = vec![Target::sqlite_migrated()];
        targets.extend(Target::postgres());
        targets
    }

    /// Runs `aliaskit args…` on this database.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    /// Runs `aliaskit args…` on this database, with more `ALIASKIT__…` variables.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut vars = self.vars();
        vars.extend_from_slice(env);
        aliaskit_env(args, None, &vars)
    }

    /// The variables naming this database (and its master key) to the CLI.
    fn vars(&self) -> Vec<(&str, &str)> {
        let mut vars = vec![("ALIASKIT__DATABASE__URL", self.url.as_str())];
        if let Some(key) = &self.master_key {
            vars.push(("ALIASKIT__SECURITY__MASTER_KEY", key.as_str()));
        }
        vars
    }

    /// The use cases over the same database, with the keys the CLI uses, to check what it did.
    pub fn service(&self) -> Service {
        self.service_with(ServiceConfig::default())
    }

    /// [`service`](Self::service) with `config`.
    pub fn service_with(&self, config: ServiceConfig) -> Service {
        let env = self
            .vars()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let settings = aliaskit_config::Settings::load_from(None, env).unwrap();
        let keys = settings.keys().unwrap();
        let db = Database::open(&self.url, PoolOptions::default(), keys.vault).unwrap();
        Service::new(db, config)
    }
}
