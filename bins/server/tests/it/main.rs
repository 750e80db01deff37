//! End-to-end tests: the real server on a real port, driven by a real HTTP client.
//!
//! [`TestApp`] starts [`aliaskit_server::Application`] on port 0 in its own thread (its own
//! actix system), exactly as `main` does; [`ServerProcess`] runs the built `aliaskit-server`
//! binary (the `binary`, `crash`, `healthcheck` and `leaks` tests).

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a failed unwrap is a failed test, with its location"
)]

mod atomic;
mod binary;
mod bootstrap;
mod crash;
mod dashboard;
mod faults;
mod healthcheck;
mod hostile;
mod invalidation;
mod keys;
mod leaks;
mod master_keys;
mod opencap;
mod passcodes;
mod purge;
mod scale_out;
mod settings;
mod slow;
mod tls;
mod walkthrough;
mod webhooks;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use aliaskit_config::Settings;
use aliaskit_server::Application;
use serde_json::Value;

/// The organization key every `TestApp` is bootstrapped with.
pub const KEY: &str = "test-bootstrap-key-0123456789abcdef";

/// The master key (`security.master_key`) every `TestApp` seals secrets with: 32 bytes of 0x2a.
/// PostgreSQL needs one configured; SQLite would otherwise create a key file.
pub const MASTER_KEY: &str = "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=";

/// A server running on a free port.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    handle: actix_web::dev::ServerHandle,
    thread: Option<JoinHandle<()>>,
    client: Client,
}

/// What the client saw.
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// The body as JSON (`Null` if it was not JSON).
    pub body: Value,
    /// `WWW-Authenticate`, if sent.
    pub www_authenticate: Option<String>,
    /// `Retry-After`, if sent.
    pub retry_after: Option<String>,
}

impl TestApp {
    /// Starts the server on `database_url` with the bootstrap key [`KEY`], holding OpenCAP
    /// aliases of `example.com` with open signup.
    pub fn spawn(database_url: &str) -> TestApp {
        TestApp::spawn_with(database_url, &[])
    }

    /// [`spawn`](Self::spawn) with more `ALIASKIT__…` settings.
    pub fn spawn_with(database_url: &str, extra: &[(&str, &str)]) -> TestApp {
        let env = vec![
            (
                "ALIASKIT__DATABASE__URL".to_owned(),
                database_url.to_owned(),
            ),
            ("ALIASKIT__SERVER__PORT".to_owned(), "0".to_owned()),
            ("ALIASKIT__SERVER__WORKERS".to_owned(), "2".to_owned()),
            ("ALIASKIT__BOOTSTRAP__API_KEY".to_owned(), KEY.to_owned()),
            (
                "ALIASKIT__SECURITY__MASTER_KEY".to_owned(),
                MASTER_KEY.to_owned(),
            ),
            (
                "ALIASKIT__OPENCAP__DOMAINS".to_owned(),
                "example.com".to_owned(),
            ),
            (
                "ALIASKIT__OPENCAP__OPEN_SIGNUP".to_owned(),
                "true".to_owned(),
            ),
        ];
        let env = env.into_iter().chain(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let settings = Settings::load_from(None, env).unwrap();
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let app = Application::build(&settings).unwrap();
                tx.send((app.port(), app.handle())).unwrap();
                app.run_until_stopped().await.unwrap();
            });
        });
        let (port, handle) = rx.recv().expect("the server starts");
        let base = format!("http://127.0.0.1:{port}");
        TestApp {
            client: Client::new(&base),
            base,
            handle,
            thread: Some(thread),
        }
    }
}

/// A test app is called as a client of itself: `app.get(…)`.
impl std::ops::Deref for TestApp {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

/// Requests to one server, answered with what the client saw (every status is an answer).
pub struct Client {
    base: String,
    agent: ureq::Agent,
}

impl Client {
    /// A client of the server at `base` (`http://127.0.0.1:PORT`).
    pub fn new(base: &str) -> Client {
        Client {
            base: base.to_owned(),
            agent: agent(),
        }
    }

    /// `method path`, with a JSON body and an `Authorization` value when given.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        authorization: Option<&str>,
    ) -> Answer {
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(a) = authorization {
            req = req.header("Authorization", a);
        }
        let res = match body {
            Some(b) => self.agent.run(
                req.header("Content-Type", "application/json")
                    .body(b.to_string())
                    .unwrap(),
            ),
            None => self.agent.run(req.body(()).unwrap()),
        };
        read(res.unwrap())
    }

    /// `GET path` with an optional `Authorization` value.
    pub fn get(&self, path: &str, authorization: Option<&str>) -> Answer {
        self.send("GET", path, None, authorization)
    }

    /// `GET path` with these headers.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut req = ureq::http::Request::builder()
            .method("GET")
            .uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        read(self.agent.run(req.body(()).unwrap()).unwrap())
    }

    /// `POST path` with a JSON body and an optional `Authorization` value.
    pub fn post(&self, path: &str, body: &Value, authorization: Option<&str>) -> Answer {
        self.send("POST", path, Some(body), authorization)
    }

    /// `PUT path` with a JSON body and an optional `Authorization` value.
    pub fn put(&self, path: &str, body: &Value, authorization: Option<&str>) -> Answer {
        self.send("PUT", path, Some(body), authorization)
    }

    /// `DELETE path` with an optional `Authorization` value.
    pub fn delete(&self, path: &str, authorization: Option<&str>) -> Answer {
        self.send("DELETE", path, None, authorization)
    }
}

fn read(mut res: ureq::http::Response<ureq::Body>) -> Answer {
    let status = res.status().as_u16();
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let www_authenticate = header("www-authenticate");
    let retry_after = header("retry-after");
    let text = res.body_mut().read_to_string().unwrap_or_default();
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        www_authenticate,
        retry_after,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop the server and wait for its thread, so its database can be dropped after it.
        let stop = self.handle.stop(true);
        std::thread::spawn(move || futures_lite_block_on(stop));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Drives a future to completion on a throw-away actix system.
fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
    actix_web::rt::System::new().block_on(f)
}

/// An HS256 token with these claims, signed with `secret` as an organization's backend would
/// sign it (with the `jsonwebtoken` crate).
pub fn sign_claims(secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// A valid access token for alias `id` signed with `secret`: `user_id` "u", issued now, for
/// ten minutes.
pub fn access_token(secret: &str, id: &str) -> String {
    sign_claims(
        secret,
        &serde_json::json!({"alias": id, "user_id": "u", "iat": now(), "exp": now() + 600}),
    )
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Waits until `done` holds, checking every 100 ms; fails the test after `within`.
pub fn eventually(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + within;
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} did not happen within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// An HTTP client that reports every status as an answer, not an error.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// What a run of the `aliaskit` CLI printed and how it ended.
#[derive(Debug)]
pub struct CliRun {
    /// Exit status code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// The `aliaskit` CLI binary of this workspace, built once per test run (a no-op when
/// `cargo test --workspace` built it already): operator tests drive both binaries.
fn cli_binary() -> &'static Path {
    static BUILT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "-p",
                "aliaskit-cli",
                "--bin",
                "aliaskit",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success(), "cargo build -p aliaskit-cli: {status:?}");
        Path::new(env!("CARGO_BIN_EXE_aliaskit-server"))
            .with_file_name(format!("aliaskit{}", std::env::consts::EXE_SUFFIX))
    })
}

/// Runs `aliaskit args…` in `dir` with an empty environment but for `env`, as an operator
/// beside the servers would.
pub fn cli(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> CliRun {
    let output = Command::new(cli_binary())
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().copied())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    CliRun {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The built `aliaskit-server` binary, running on a free port with JSON logs.
///
/// Its stdout and stderr are read to the end by two threads, so a chatty log level cannot
/// fill a pipe and stall the server; [`ServerProcess::output`] hands both over once it has
/// exited. Dropping a server that still runs kills it (SIGKILL) and reaps it.
pub struct ServerProcess {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

impl ServerProcess {
    /// Starts the binary in `dir` (its working directory) with an empty environment but for
    /// `ALIASKIT__SERVER__PORT=0`, `ALIASKIT__LOGGING__FORMAT=json` and `env` (which may override
    /// both), and waits for its "aliaskit-server listening" log line.
    pub fn start(dir: &Path, env: &[(&str, &str)]) -> ServerProcess {
        let mut command = Command::new(env!("CARGO_BIN_EXE_aliaskit-server"));
        command
            .current_dir(dir)
            .env_clear()
            .env("ALIASKIT__SERVER__PORT", "0")
            .env("ALIASKIT__LOGGING__FORMAT", "json")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        let stdout = read_all(child.stdout.take().unwrap());
        let (port_tx, port_rx) = mpsc::channel();
        let stderr = read_logs(child.stderr.take().unwrap(), port_tx);
        let mut server = ServerProcess {
            child,
            port: 0,
            base: String::new(),
            stdout: Some(stdout),
            stderr: Some(stderr),
        };
        match port_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(port) => {
                server.port = port;
                server.base = format!("http://127.0.0.1:{port}");
                server
            }
            Err(_) => {
                server.signal("KILL");
                let status = server.wait(Duration::from_secs(30));
                let (stdout, stderr) = server.output();
                panic!(
                    "the server did not report its address ({status:?})\nstdout: {stdout}\nstderr: {stderr}"
                );
            }
        }
    }

    /// A client of it.
    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (`"TERM"`, `"KILL"`) through kill(1): the workspace forbids `unsafe`, and
    /// so `libc::kill`.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} {}: {status:?}", self.id());
    }

    /// Waits for the process to exit, failing the test after `within`.
    pub fn wait(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything it wrote: `(stdout, stderr)`. Call after it has exited.
    pub fn output(&mut self) -> (String, String) {
        let stdout = self.stdout.take().map(|t| t.join().unwrap());
        let stderr = self.stderr.take().map(|t| t.join().unwrap());
        (stdout.unwrap_or_default(), stderr.unwrap_or_default())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// How a start of the binary that had to fail ended.
#[derive(Debug)]
pub struct FailedStart {
    /// The exit status code (`None` if a signal ended it).
    pub code: Option<i32>,
    /// Everything it wrote on stderr.
    pub stderr: String,
}

impl FailedStart {
    /// The one line stderr ends with: `error: ` and the cause chain. Asserts that no backtrace
    /// was printed ([`failed_start`] runs the binary with `RUST_BACKTRACE=1`).
    pub fn error_line(&self) -> &str {
        let stderr = &self.stderr;
        assert!(
            !stderr.to_lowercase().contains("backtrace"),
            "a backtrace was printed: {stderr}"
        );
        assert!(!stderr.contains("Caused by"), "{stderr}");
        let last = stderr
            .strip_suffix('\n')
            .and_then(|s| s.lines().last())
            .unwrap_or_else(|| panic!("no error line: {stderr:?}"));
        assert!(last.starts_with("error: "), "{stderr}");
        last
    }
}

/// Runs the binary in `dir`, on the SQLite database `dir/aliaskit.db`, with an empty
/// environment but for `ALIASKIT__SERVER__PORT=0`, `RUST_BACKTRACE=1` (a start error must not
/// print a backtrace even then) and `env`, which may override them. It must fail to start
/// within 30 s, having printed nothing on stdout (no bootstrap key) and created no database.
pub fn failed_start(dir: &Path, env: &[(&str, &str)]) -> FailedStart {
    failed_start_with(dir, &[], env)
}

/// [`failed_start`] with command-line arguments (`--config FILE`).
pub fn failed_start_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> FailedStart {
    let db = dir.join("aliaskit.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_aliaskit-server"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("ALIASKIT__SERVER__PORT", "0")
        .env("ALIASKIT__DATABASE__URL", &db)
        .env("RUST_BACKTRACE", "1")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = read_all(child.stdout.take().unwrap());
    let stderr = read_all(child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "it started, and still ran after 30 s; stderr: {}",
                stderr.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    assert!(!status.success(), "it exited 0; stderr: {stderr}");
    assert!(stdout.is_empty(), "no bootstrap key printed: {stdout:?}");
    assert!(!db.exists(), "nothing was created by a start that failed");
    FailedStart {
        code: status.code(),
        stderr,
    }
}

fn read_all(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Reads stderr to the end, sending the port of the "aliaskit-server listening" line.
fn read_logs(stderr: ChildStderr, port: mpsc::Sender<u16>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stderr);
        let mut all = String::new();
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let text = String::from_utf8_lossy(&line);
            if let Some(p) = listening_port(&text) {
                let _ = port.send(p);
            }
            all.push_str(&text);
        }
        all
    })
}

fn listening_port(line: &str) -> Option<u16> {
    let event: Value = serde_json::from_str(line).ok()?;
    if event["fields"]["message"] != "aliaskit-server listening" {
        return None;
    }
    let address = event["fields"]["address"].as_str()?;
    address.rsplit_once(':')?.1.parse().ok()
}
