//! End-to-end tests: the real server on a real port, driven by a real HTTP client.
//!
//! [`TestApp`] starts [`aliaskit_server::Application`] on port 0 in its own thread (its own
//! actix system), exactly as `main` does; `binary` tests run the built `aliaskit-server`.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a failed unwrap is a failed test, with its location"
)]

mod binary;
mod faults;
mod opencap;
mod walkthrough;

use std::sync::mpsc;
use std::thread::JoinHandle;

use aliaskit_config::Settings;
use aliaskit_server::Application;
use serde_json::Value;

/// The organization key every `TestApp` is bootstrapped with.
pub const KEY: &str = "test-bootstrap-key-0123456789abcdef";

/// A server running on a free port.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    handle: actix_web::dev::ServerHandle,
    thread: Option<JoinHandle<()>>,
    agent: ureq::Agent,
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
}

impl TestApp {
    /// Starts the server on `database_url` with the bootstrap key [`KEY`], holding OpenCAP
    /// aliases of `example.com` with open signup.
    pub fn spawn(database_url: &str) -> TestApp {
        let env = vec![
            (
                "ALIASKIT__DATABASE__URL".to_owned(),
                database_url.to_owned(),
            ),
            ("ALIASKIT__SERVER__PORT".to_owned(), "0".to_owned()),
            ("ALIASKIT__SERVER__WORKERS".to_owned(), "2".to_owned()),
            ("ALIASKIT__BOOTSTRAP__API_KEY".to_owned(), KEY.to_owned()),
            (
                "ALIASKIT__OPENCAP__DOMAINS".to_owned(),
                "example.com".to_owned(),
            ),
            (
                "ALIASKIT__OPENCAP__OPEN_SIGNUP".to_owned(),
                "true".to_owned(),
            ),
        ];
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
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        TestApp {
            base: format!("http://127.0.0.1:{port}"),
            handle,
            thread: Some(thread),
            agent,
        }
    }

    /// `GET path` with an optional `Authorization` value.
    pub fn get(&self, path: &str, authorization: Option<&str>) -> Answer {
        let mut req = self.agent.get(format!("{}{path}", self.base));
        if let Some(a) = authorization {
            req = req.header("Authorization", a);
        }
        read(req.call().unwrap())
    }

    /// `POST path` with a JSON body and an optional `Authorization` value.
    pub fn post(&self, path: &str, body: &Value, authorization: Option<&str>) -> Answer {
        let mut req = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/json");
        if let Some(a) = authorization {
            req = req.header("Authorization", a);
        }
        read(req.send(body.to_string()).unwrap())
    }

    /// `PUT path` with a JSON body and an optional `Authorization` value.
    pub fn put(&self, path: &str, body: &Value, authorization: Option<&str>) -> Answer {
        let mut req = self
            .agent
            .put(format!("{}{path}", self.base))
            .header("Content-Type", "application/json");
        if let Some(a) = authorization {
            req = req.header("Authorization", a);
        }
        read(req.send(body.to_string()).unwrap())
    }

    /// `DELETE path` with an optional `Authorization` value.
    pub fn delete(&self, path: &str, authorization: Option<&str>) -> Answer {
        let mut req = self.agent.delete(format!("{}{path}", self.base));
        if let Some(a) = authorization {
            req = req.header("Authorization", a);
        }
        read(req.call().unwrap())
    }
}

fn read(mut res: ureq::http::Response<ureq::Body>) -> Answer {
    let status = res.status().as_u16();
    let www_authenticate = res
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = res.body_mut().read_to_string().unwrap_or_default();
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        www_authenticate,
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

/// Now, in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
