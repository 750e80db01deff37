//! `aliaskit-server healthcheck` (the container's HEALTHCHECK), run as the built binary against
//! a real server on a real port, and against a port no server listens on; and the placeholder
//! bootstrap key of the example files, refused at start.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::*;

/// `aliaskit-server [--config PATH] healthcheck ARGS…` with an empty environment but for
/// `env`: its exit status, stdout and stderr, within 20 s.
pub(crate) fn healthcheck(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> CliRun {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_aliaskit-server"))
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().copied())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(20));
    CliRun {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn a_ready_server_is_healthy_with_the_servers_own_settings() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("aliaskit.db");
    // A wildcard host, as in the container: the check asks it on loopback.
    let mut server = ServerProcess::start(
        dir.path(),
        &[
            ("ALIASKIT__SERVER__HOST", "0.0.0.0"),
            ("ALIASKIT__DATABASE__URL", db.to_str().unwrap()),
            ("ALIASKIT__SERVER__WORKERS", "1"),
        ],
    );
    let port = server.port.to_string();
    let env = [
        ("ALIASKIT__SERVER__HOST", "0.0.0.0"),
        ("ALIASKIT__SERVER__PORT", port.as_str()),
    ];
    let run = healthcheck(dir.path(), &env, &["healthcheck"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        format!("ready: GET http://127.0.0.1:{port}/readyz answered 200\n")
    );
    assert_eq!(run.stderr, "");

    // The same port from a settings file, with --config after the subcommand too.
    let config = dir.path().join("aliaskit.toml");
    std::fs::write(
        &config,
        format!("[server]\nhost = \"127.0.0.1\"\nport = {port}\n"),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let run = healthcheck(
        dir.path(),
        &[],
        &["healthcheck", "--config", config, "--timeout", "2"],
    );
    assert_eq!(run.code, 0, "{run:?}");

    server.signal("TERM");
    assert!(server.wait(Duration::from_secs(20)).success());
}

#[test]
fn no_server_is_unhealthy_with_one_line_saying_why() {
    let dir = tempfile::tempdir().unwrap();
    // A port that was free a moment ago, and is closed now.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port().to_string()
    };
    let run = healthcheck(
        dir.path(),
        &[("ALIASKIT__SERVER__PORT", &port)],
        &["healthcheck", "--timeout", "1"],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    assert!(
        run.stderr
            .starts_with(&format!("unhealthy: GET http://127.0.0.1:{port}/readyz: ")),
        "{run:?}"
    );
}

#[test]
fn a_listener_that_never_answers_is_unhealthy_within_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    // Accepted by the kernel (the backlog), never answered.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    let started = Instant::now();
    let run = healthcheck(
        dir.path(),
        &[("ALIASKIT__SERVER__PORT", &port)],
        &["healthcheck", "--timeout", "0.5"],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("no answer within 500 ms"), "{run:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn bad_settings_are_unhealthy_with_status_1_not_2() {
    let dir = tempfile::tempdir().unwrap();
    let run = healthcheck(
        dir.path(),
        &[("ALIASKIT__SERVER__PORT", "eighty")],
        &["healthcheck"],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .starts_with("unhealthy: cannot load the settings: ALIASKIT__SERVER__PORT"),
        "{run:?}"
    );
}

/// The bootstrap key of `deploy/systemd/aliaskit.env.example`, as an operator who copied the
/// file without editing it would pass it.
fn env_example_key() -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/systemd/aliaskit.env.example");
    let text = std::fs::read_to_string(path).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("ALIASKIT__BOOTSTRAP__API_KEY="))
        .unwrap();
    line["ALIASKIT__BOOTSTRAP__API_KEY=".len()..].to_owned()
}

#[test]
fn the_example_files_placeholder_key_stops_the_start_with_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let key = env_example_key();
    let failed = failed_start(dir.path(), &[("ALIASKIT__BOOTSTRAP__API_KEY", &key)]);
    assert_eq!(failed.code, Some(2), "{}", failed.stderr);
    let line = failed.error_line();
    assert!(
        line.starts_with(
            "error: cannot load the settings: ALIASKIT__BOOTSTRAP__API_KEY: bootstrap.api_key: \
             is the placeholder of an example file"
        ),
        "{line}"
    );
    assert!(!failed.stderr.contains(&key), "the key is not echoed");

    // The example settings file's placeholder, uncommented, the same.
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/aliaskit.example.toml"),
    )
    .unwrap();
    let config = dir.path().join("aliaskit.toml");
    std::fs::write(&config, example.replace("# api_key = ", "api_key = ")).unwrap();
    let config = config.to_str().unwrap();
    let failed = failed_start_with(dir.path(), &["--config", config], &[]);
    assert_eq!(failed.code, Some(2), "{}", failed.stderr);
    assert!(
        failed
            .error_line()
            .contains("bootstrap.api_key: is the placeholder"),
        "{}",
        failed.stderr
    );
    assert!(!dir.path().join("data").exists(), "no database was created");
}
