//! [`Net`]: an address or network, as operators name trusted proxies.

use std::net::IpAddr;
use std::str::FromStr;

/// One trusted network: an address and a prefix length (`10.0.0.0/8`, `::1/128`, `192.0.2.7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    /// Whether `ip` is in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// As operators write it: the address alone for a single address, else `address/prefix`.
impl std::fmt::Display for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let max = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.prefix == max {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

impl FromStr for Net {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr = IpAddr::from_str(addr)
            .map_err(|e| format!("{s:?} is not an address: {e}"))?
            .to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(Net { addr, prefix })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Net {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn networks_contain_their_addresses() {
        assert!(net("10.0.0.0/8").contains("10.1.2.3".parse().unwrap_or_else(|_| panic!())));
        assert!(!net("10.0.0.0/8").contains("11.0.0.1".parse().unwrap_or_else(|_| panic!())));
        assert!(net("192.0.2.7").contains("::ffff:192.0.2.7".parse().unwrap_or_else(|_| panic!())));
        assert!(net("::1").contains("::1".parse().unwrap_or_else(|_| panic!())));
        assert!(net("0.0.0.0/0").contains("203.0.113.9".parse().unwrap_or_else(|_| panic!())));
        assert_eq!(
            "10.0.0.0/33".parse::<Net>().err().as_deref(),
            Some("\"10.0.0.0/33\": the prefix length must be 0 to 32")
        );
        assert!("proxy.local".parse::<Net>().is_err());
    }
}
