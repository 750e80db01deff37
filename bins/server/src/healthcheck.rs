//! `aliaskit-server healthcheck`: asks a server on this machine for `GET /readyz`, with the
//! same settings as the server, so a container's `HEALTHCHECK` (or any supervisor) needs no
//! curl or wget in the image. Plain HTTP over a [`TcpStream`] from std: no HTTP client is
//! linked for it.
//!
//! The address is `server.host:server.port`, except that a wildcard host (`0.0.0.0`, `::`) is
//! asked on its loopback address. Every step (connect, write, read) has the timeout.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use aliaskit_config::Settings;

/// The longest status line read; a longer one is not an HTTP answer of this server.
const MAX_STATUS_LINE: u64 = 256;

/// Asks `http://HOST:PORT/readyz` (see the module) and returns `Ok` with a line for a `200`,
/// or `Err` with the one-line reason otherwise.
pub fn check(settings: &Settings, timeout: Duration) -> Result<String, String> {
    if settings.server.tls.cert.is_some() || settings.server.tls.key.is_some() {
        return Err(
            "server.tls is set: the health check speaks plain HTTP only (terminate TLS in front \
             of the server, or check /readyz with an HTTPS client)"
                .to_owned(),
        );
    }
    let port = settings.server.port;
    if port == 0 {
        return Err("server.port is 0 (a port the system picks): there is no port to ask".into());
    }
    let addr = address(&settings.server.host, port)?;
    let url = format!("http://{addr}/readyz");
    let status = ask(addr, timeout).map_err(|e| format!("GET {url}: {e}"))?;
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

/// One `GET /readyz` on a new connection; the status code of the answer.
fn ask(addr: SocketAddr, timeout: Duration) -> Result<u16, String> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nUser-Agent: aliaskit-server-healthcheck\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    BufReader::new(stream.take(MAX_STATUS_LINE))
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
