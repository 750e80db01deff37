//! Who the client is, for per-client limits: the peer address, or — when the peer is a proxy
//! named in `server.trusted_proxies` — the address that proxy reports in `X-Forwarded-For`.
//!
//! `X-Forwarded-For` is read right to left: each proxy appends the address it received from,
//! so the rightmost entry not belonging to a trusted proxy is the client. Entries to its left
//! were written by the client itself and are not trusted. A peer that is not a trusted proxy
//! is the client, whatever headers it sends.

use std::net::IpAddr;
use std::str::FromStr;

use actix_web::HttpRequest;
use aliaskit_domain::net::Net;

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Net>);

impl TrustedProxies {
    /// From addresses and networks (`server.trusted_proxies`).
    pub fn new(nets: Vec<Net>) -> Self {
        TrustedProxies(nets)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }

    /// The client's address for `req`, or `None` without a peer address (in-process tests).
    pub fn client_ip(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip().to_canonical();
        if !self.trusts(peer) {
            return Some(peer);
        }
        let forwarded: Vec<IpAddr> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|entry| {
                IpAddr::from_str(entry.trim())
                    .ok()
                    .map(|ip| ip.to_canonical())
            })
            .collect();
        // Rightmost first; the first one that is not a trusted proxy is the client. If all are
        // proxies, the leftmost is the best we know.
        Some(
            forwarded
                .iter()
                .rev()
                .find(|ip| !self.trusts(**ip))
                .or(forwarded.first())
                .copied()
                .unwrap_or(peer),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn net(s: &str) -> Net {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxies = TrustedProxies::new(vec![net("10.0.0.0/8")]);
        let ip = |peer: &str, xff: Option<&str>| {
            let mut req =
                TestRequest::default().peer_addr(peer.parse().unwrap_or_else(|_| panic!()));
            if let Some(x) = xff {
                req = req.insert_header(("X-Forwarded-For", x));
            }
            proxies
                .client_ip(&req.to_http_request())
                .map(|ip| ip.to_string())
        };
        // A direct client cannot pretend to be someone else.
        assert_eq!(
            ip("203.0.113.9:1", Some("1.2.3.4")).as_deref(),
            Some("203.0.113.9")
        );
        // Behind our proxy: the address it saw.
        assert_eq!(
            ip("10.0.0.2:1", Some("198.51.100.4")).as_deref(),
            Some("198.51.100.4")
        );
        // A forged entry to the left of the real one is ignored.
        assert_eq!(
            ip("10.0.0.2:1", Some("1.2.3.4, 198.51.100.4")).as_deref(),
            Some("198.51.100.4")
        );
        // Two proxies of ours.
        assert_eq!(
            ip("10.0.0.2:1", Some("198.51.100.4, 10.0.0.3")).as_deref(),
            Some("198.51.100.4")
        );
        // No header: the proxy itself.
        assert_eq!(ip("10.0.0.2:1", None).as_deref(), Some("10.0.0.2"));
    }
}
