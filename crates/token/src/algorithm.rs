use std::fmt;
use std::str::FromStr;

use josekit::jws::JwsAlgorithm;

/// The JWS algorithms aliaskit signs and verifies: HMAC with SHA-2 (RFC 7518 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
    /// HMAC-SHA-256, the default.
    #[default]
    HS256,
    /// HMAC-SHA-384.
    HS384,
    /// HMAC-SHA-512.
    HS512,
}

impl Algorithm {
    /// All supported algorithms.
    pub const ALL: [Algorithm; 3] = [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];

    /// The `alg` header value.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
        }
    }

    /// Output length of the MAC in bytes, which RFC 7518 §3.2 also asks of the key.
    pub fn mac_len(self) -> usize {
        match self {
            Algorithm::HS256 => 32,
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
        }
    }

    /// The algorithm named exactly (case-sensitively) `name`, as `alg` must be spelled.
    pub fn from_name(name: &str) -> Option<Self> {
        Algorithm::ALL.into_iter().find(|a| a.name() == name)
    }
}

impl FromStr for Algorithm {
    type Err = String;
    /// Parses `HS256`, `hs256`, … (case-insensitive, for command lines and config files).
    fn from_str(s: &str) -> Result<Self, String> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown algorithm {s:?}: expected HS256, HS384 or HS512"))
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl JwsAlgorithm for Algorithm {
    fn name(&self) -> &str {
        Algorithm::name(*self)
    }

    fn box_clone(&self) -> Box<dyn JwsAlgorithm> {
        Box::new(*self)
    }
}
