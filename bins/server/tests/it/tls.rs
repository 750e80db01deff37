//! TLS termination (`server.tls.cert`, `server.tls.key`): the built binary with a self-signed
//! certificate made here answers HTTPS to a client that trusts exactly that certificate, and
//! nothing else on that port, and `aliaskit-server healthcheck` with the same settings; a bad
//! certificate or key stops the start with a message that names the setting and the file.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};

use crate::*;

/// A self-signed certificate for `localhost` and `127.0.0.1`, written as PEM files.
struct Cert {
    cert: PathBuf,
    key: PathBuf,
    der: CertificateDer<'static>,
    key_pem: String,
}

impl Cert {
    fn new(dir: &Path, name: &str) -> Cert {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
            .unwrap();
        let cert = dir.join(format!("{name}.crt"));
        let key = dir.join(format!("{name}.key"));
        let key_pem = made.signing_key.serialize_pem();
        std::fs::write(&cert, made.cert.pem()).unwrap();
        std::fs::write(&key, &key_pem).unwrap();
        Cert {
            cert,
            key,
            der: made.cert.der().clone(),
            key_pem,
        }
    }
}

/// `GET path` over TLS to `127.0.0.1:port` as `localhost`, trusting only `trusted`: the
/// response's status line and body, or the I/O error (a failed handshake is one).
fn https_get(
    port: u16,
    trusted: &CertificateDer<'static>,
    path: &str,
) -> std::io::Result<(String, String)> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(trusted.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("localhost").unwrap();
    let connection = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port))?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut tls = rustls::StreamOwned::new(connection, tcp);
    write!(
        tls,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )?;
    tls.flush()?;
    let mut response = Vec::new();
    match tls.read_to_end(&mut response) {
        Ok(_) => {}
        // A peer that closes without close_notify after a complete response is fine here.
        Err(e) if e.kind() == ErrorKind::UnexpectedEof && !response.is_empty() => {}
        Err(e) => return Err(e),
    }
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.lines().next().unwrap_or_default().to_owned();
    Ok((status, body.to_owned()))
}

#[test]
fn the_server_answers_https_with_its_certificate_and_refuses_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let cert = Cert::new(dir.path(), "server");
    let db = dir.path().join("aliaskit.db");
    let mut server = ServerProcess::start(
        dir.path(),
        &[
            ("ALIASKIT__DATABASE__URL", db.to_str().unwrap()),
            ("ALIASKIT__SERVER__WORKERS", "1"),
            ("ALIASKIT__SERVER__TLS__CERT", cert.cert.to_str().unwrap()),
            ("ALIASKIT__SERVER__TLS__KEY", cert.key.to_str().unwrap()),
        ],
    );

    let (status, body) = https_get(server.port, &cert.der, "/healthz").unwrap();
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    let (status, _) = https_get(server.port, &cert.der, "/readyz").unwrap();
    assert_eq!(status, "HTTP/1.1 200 OK");
    let (status, body) = https_get(server.port, &cert.der, "/api/v1/alias/nope").unwrap();
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    assert!(body.contains("Alias not found"), "{body}");

    // A client that trusts another certificate refuses this server.
    let stranger = Cert::new(dir.path(), "stranger");
    let refused = https_get(server.port, &stranger.der, "/healthz").unwrap_err();
    assert!(
        refused.to_string().contains("invalid peer certificate"),
        "{refused}"
    );

    // Plain HTTP on the same port gets no HTTP answer.
    let plain = agent()
        .get(format!("http://127.0.0.1:{}/healthz", server.port))
        .call();
    assert!(
        plain.is_err(),
        "plain HTTP got an answer: {:?}",
        plain.map(|r| r.status())
    );
    // …and the server still serves HTTPS afterwards.
    let (status, _) = https_get(server.port, &cert.der, "/healthz").unwrap();
    assert_eq!(status, "HTTP/1.1 200 OK");

    // `aliaskit-server healthcheck` with the server's settings speaks HTTPS, trusting the
    // certificate they name; with another certificate named, it refuses the server.
    let port = server.port.to_string();
    let settings = |cert: &Cert| {
        [
            ("ALIASKIT__SERVER__PORT", port.clone()),
            (
                "ALIASKIT__SERVER__TLS__CERT",
                cert.cert.display().to_string(),
            ),
            ("ALIASKIT__SERVER__TLS__KEY", cert.key.display().to_string()),
        ]
    };
    let env = settings(&cert);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = crate::healthcheck::healthcheck(dir.path(), &env, &["healthcheck"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        format!("ready: GET https://127.0.0.1:{port}/readyz answered 200\n")
    );
    let env = settings(&stranger);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = crate::healthcheck::healthcheck(dir.path(), &env, &["healthcheck"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("the server's certificate is not the one server.tls.cert names"),
        "{run:?}"
    );

    server.signal("TERM");
    assert!(server.wait(Duration::from_secs(20)).success());
    let (_, logs) = server.output();
    let listening = logs
        .lines()
        .find(|l| l.contains("aliaskit-server listening"))
        .unwrap();
    let event: Value = serde_json::from_str(listening).unwrap();
    assert_eq!(event["fields"]["scheme"], "https", "{listening}");
    assert!(
        !logs.contains(cert.key_pem.trim()),
        "the key is never logged"
    );
}

#[test]
fn without_tls_the_listening_line_says_http() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("aliaskit.db");
    let mut server = ServerProcess::start(
        dir.path(),
        &[
            ("ALIASKIT__DATABASE__URL", db.to_str().unwrap()),
            ("ALIASKIT__SERVER__WORKERS", "1"),
        ],
    );
    // An answer first: a signal before the server installs its handlers would kill it.
    let health = agent().get(format!("{}/healthz", server.base)).call();
    assert_eq!(health.unwrap().status().as_u16(), 200);
    server.signal("TERM");
    assert!(server.wait(Duration::from_secs(20)).success());
    let (_, logs) = server.output();
    let listening = logs
        .lines()
        .find(|l| l.contains("aliaskit-server listening"))
        .unwrap();
    let event: Value = serde_json::from_str(listening).unwrap();
    assert_eq!(event["fields"]["scheme"], "http", "{listening}");
}

#[test]
fn a_missing_key_file_stops_the_start_naming_the_setting_and_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let cert = Cert::new(dir.path(), "server");
    let missing = dir.path().join("missing.key");
    let failed = failed_start(
        dir.path(),
        &[
            ("ALIASKIT__SERVER__TLS__CERT", cert.cert.to_str().unwrap()),
            ("ALIASKIT__SERVER__TLS__KEY", missing.to_str().unwrap()),
        ],
    );
    let expected = format!("error: server.tls.key: cannot read {}: ", missing.display());
    assert!(failed.error_line().starts_with(&expected), "{failed:?}");
    assert_eq!(failed.code, Some(2), "a settings error: {failed:?}");
}

#[test]
fn only_one_of_the_two_files_is_a_settings_error() {
    let dir = tempfile::tempdir().unwrap();
    let cert = Cert::new(dir.path(), "server");
    let failed = failed_start(
        dir.path(),
        &[("ALIASKIT__SERVER__TLS__CERT", cert.cert.to_str().unwrap())],
    );
    assert!(
        failed
            .stderr
            .contains("server.tls.key: must be set too when server.tls.cert is"),
        "{failed:?}"
    );
    assert_eq!(failed.code, Some(2), "a settings error: {failed:?}");
}

/// The error of `Application::build` with these TLS files.
fn build_error(cert: &Path, key: &Path) -> String {
    let env = vec![
        (
            "ALIASKIT__DATABASE__URL".to_owned(),
            "/nonexistent/never-opened.db".to_owned(),
        ),
        ("ALIASKIT__SERVER__PORT".to_owned(), "0".to_owned()),
        (
            "ALIASKIT__SERVER__TLS__CERT".to_owned(),
            cert.to_str().unwrap().to_owned(),
        ),
        (
            "ALIASKIT__SERVER__TLS__KEY".to_owned(),
            key.to_str().unwrap().to_owned(),
        ),
    ];
    let settings = Settings::load_from(None, env).unwrap();
    match Application::build(&settings) {
        Ok(_) => panic!("built with {cert:?} and {key:?}"),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn files_that_are_not_pem_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let cert = Cert::new(dir.path(), "server");
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a certificate\n").unwrap();

    let e = build_error(&text, &cert.key);
    assert_eq!(
        e,
        format!(
            "server.tls.cert: {} holds no PEM certificate (a `-----BEGIN CERTIFICATE-----` section)",
            text.display()
        )
    );

    let e = build_error(&cert.cert, &text);
    assert!(
        e.starts_with(&format!(
            "server.tls.key: {} holds no PEM private key",
            text.display()
        )),
        "{e}"
    );

    // The files swapped: the key file holds no certificate.
    let e = build_error(&cert.key, &cert.cert);
    assert!(e.starts_with("server.tls.cert: "), "{e}");
    assert!(e.contains("holds no PEM certificate"), "{e}");

    // A PEM section that is cut off.
    let cut = dir.path().join("cut.crt");
    let pem = std::fs::read_to_string(&cert.cert).unwrap();
    std::fs::write(&cut, &pem[..pem.len() / 2]).unwrap();
    let e = build_error(&cut, &cert.key);
    assert!(
        e.starts_with(&format!(
            "server.tls.cert: {} is not valid PEM: ",
            cut.display()
        )),
        "{e}"
    );
}

#[test]
fn a_key_of_another_certificate_is_refused_without_showing_it() {
    let dir = tempfile::tempdir().unwrap();
    let ours = Cert::new(dir.path(), "ours");
    let theirs = Cert::new(dir.path(), "theirs");
    let e = build_error(&ours.cert, &theirs.key);
    assert_eq!(
        e,
        format!(
            "server.tls.key: the private key in {} does not belong to the certificate in {} (server.tls.cert)",
            theirs.key.display(),
            ours.cert.display()
        )
    );
    for line in theirs.key_pem.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!e.contains(line), "key material in the error: {e}");
    }
}
