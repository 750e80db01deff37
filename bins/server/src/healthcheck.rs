//! `aliaskit-server healthcheck`: asks a server on this machine for `GET /readyz`, with the
//! same settings as the server, so a container's `HEALTHCHECK` (or any supervisor) needs no
//! curl or wget in the image. HTTP/1.1 over a std [`TcpStream`]: no HTTP client is linked for
//! it. With `server.tls` set it speaks HTTPS through the server's own rustls, trusting exactly
//! the certificate `server.tls.cert` names (the first of its chain), whatever names it carries:
//! the check asks an address, not a host name.
//!
//! The address is `server.host:server.port`, except that a wildcard host (`0.0.0.0`, `::`) is
//! asked on its loopback address. Every step (connect, write, read) has the timeout.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use aliaskit_config::Settings;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};

/// The longest status line read; a longer one is not an HTTP answer of this server.
const MAX_STATUS_LINE: u64 = 256;

/// Asks `http://HOST:PORT/readyz` (see the module) and returns `Ok` with a line for a `200`,
/// or `Err` with the one-line reason otherwise.
pub fn check(settings: &Settings, timeout: Duration) -> Result<String, String> {
    let port = settings.server.port;
    if port == 0 {
        return Err("server.port is 0 (a port the system picks): there is no port to ask".into());
    }
    let addr = address(&settings.server.host, port)?;
    let tls = settings.server.tls.cert.as_deref();
    let url = format!(
        "{}://{addr}/readyz",
        if tls.is_some() { "https" } else { "http" }
    );
    let status = match tls {
        Some(cert) => ask_tls(addr, timeout, cert),
        None => ask(addr, timeout),
    }
    .map_err(|e| format!("GET {url}: {e}"))?;
    if status == 200 {
        Ok(format!("ready: GET {url} answered 200"))
    } else {
        Err(format!("not ready: GET {url} answered {status}"))
    }
}

/// The address to connect to for a server bound to `host:port`.
fn address(host: &str, port: u16) -> Result<SocketAddr, String> {
    let ip = match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        Ok(IpAddr::V6(ip)) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        Ok(ip) => ip,
        Err(_) => {
            return (host, port)
                .to_socket_addrs()
                .map_err(|e| format!("server.host {host:?}: {e}"))?
                .next()
                .ok_or_else(|| format!("server.host {host:?} has no address"));
        }
    };
    Ok(SocketAddr::new(ip, port))
}

/// A connection to `addr` with `timeout` on connecting, and on each read and write.
fn connect(addr: SocketAddr, timeout: Duration) -> Result<TcpStream, String> {
    let stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    Ok(stream)
}

/// One `GET /readyz` over plain HTTP on a new connection; the status code of the answer.
fn ask(addr: SocketAddr, timeout: Duration) -> Result<u16, String> {
    exchange(connect(addr, timeout)?, addr, timeout)
}

/// One `GET /readyz` over TLS, trusting the first certificate of the PEM file `cert` alone.
fn ask_tls(addr: SocketAddr, timeout: Duration, cert: &Path) -> Result<u16, String> {
    let leaf = crate::tls::certificates(cert)
        .map_err(|e| format!("{e:#}"))?
        .into_iter()
        .next()
        .ok_or_else(|| format!("server.tls.cert: {} holds no certificate", cert.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(Pinned {
        leaf,
        algorithms: provider.signature_verification_algorithms,
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    let name = ServerName::IpAddress(addr.ip().into());
    let connection = ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    exchange(
        StreamOwned::new(connection, connect(addr, timeout)?),
        addr,
        timeout,
    )
}

/// Sends the request on `stream` and reads the status code of the answer.
fn exchange(
    mut stream: impl Read + Write,
    addr: SocketAddr,
    timeout: Duration,
) -> Result<u16, String> {
    let request = format!(
        "GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nUser-Agent: aliaskit-server-healthcheck\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    BufReader::new((&mut stream).take(MAX_STATUS_LINE))
        .read_line(&mut line)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                format!("no answer within {} ms", timeout.as_millis())
            }
            _ => e.to_string(),
        })?;
    status_code(&line).ok_or_else(|| {
        let shown: String = line.trim_end().chars().take(80).collect();
        format!("not an HTTP answer: {shown:?}")
    })
}

/// Trusts one certificate, the server's own, by its bytes; signatures are checked as usual,
/// so the peer must hold its private key. Names and dates are not checked: the check asks an
/// address on this machine, and an expired certificate is not an unready server.
#[derive(Debug)]
struct Pinned {
    leaf: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.leaf.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "the server's certificate is not the one server.tls.cert names".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The code of an HTTP/1.x status line (`HTTP/1.1 200 OK`).
fn status_code(line: &str) -> Option<u16> {
    let mut parts = line.split(' ');
    let version = parts.next()?;
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let code = parts.next()?.trim_end();
    if code.len() != 3 {
        return None;
    }
    code.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert_eq!(status_code("HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(
            status_code("HTTP/1.1 503 Service Unavailable\r\n"),
            Some(503)
        );
        assert_eq!(status_code("HTTP/1.0 200\r\n"), Some(200));
        assert_eq!(status_code("SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(status_code(""), None);
        assert_eq!(status_code("HTTP/1.1 2000 OK"), None);
    }

    #[test]
    fn a_wildcard_host_is_asked_on_loopback() {
        assert_eq!(
            address("0.0.0.0", 8080),
            Ok("127.0.0.1:8080".parse().unwrap())
        );
        assert_eq!(address("::", 8080), Ok("[::1]:8080".parse().unwrap()));
        assert_eq!(address("10.1.2.3", 80), Ok("10.1.2.3:80".parse().unwrap()));
    }
}
