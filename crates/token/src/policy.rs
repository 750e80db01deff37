use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aliaskit_domain::{Error as DomainError, RegisteredClaims};

use crate::compact::{Field, Header};
use crate::{Algorithm, Result, Secret, TokenError};

/// How tokens are judged (`docs/security.md`). The defaults are the documented ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Clock skew tolerated on `exp`, `nbf` and `iat`. Default 60 s.
    pub leeway: Duration,
    /// Longest accepted lifetime: expiry minus `iat` (or `nbf`, or now). Default 24 h.
    pub max_lifetime: Duration,
    /// Shortest accepted secret, in bytes. Default 32 (RFC 7518 §3.2 for HS256); lower it only
    /// for secrets migrated from services that allowed shorter ones.
    pub min_secret_bytes: usize,
    /// Accepted `alg` values. Default all of HS256, HS384, HS512.
    pub algorithms: Vec<Algorithm>,
    /// When set, `iss` must be present and equal to it.
    pub issuer: Option<String>,
    /// When set, `aud` must be present and contain it.
    pub audience: Option<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            leeway: Duration::from_secs(60),
            max_lifetime: Duration::from_secs(24 * 3600),
            min_secret_bytes: 32,
            algorithms: Algorithm::ALL.to_vec(),
            issuer: None,
            audience: None,
        }
    }
}

impl Policy {
    /// Refuses a secret shorter than [`min_secret_bytes`](Self::min_secret_bytes).
    pub fn check_secret(&self, secret: &Secret) -> Result<()> {
        if secret.len() < self.min_secret_bytes {
            return Err(TokenError::SecretTooShort {
                len: secret.len(),
                min: self.min_secret_bytes,
            });
        }
        Ok(())
    }

    /// Refuses an algorithm the policy does not allow.
    pub(crate) fn check_algorithm(&self, alg: Algorithm) -> Result<()> {
        if self.algorithms.contains(&alg) {
            Ok(())
        } else {
            Err(self.unsupported(alg.name()))
        }
    }

    fn unsupported(&self, alg: &str) -> TokenError {
        let allowed: Vec<&str> = self.algorithms.iter().map(|a| a.name()).collect();
        TokenError::UnsupportedAlgorithm {
            alg: DomainError::shown(alg),
            allowed: if allowed.is_empty() {
                "none".into()
            } else {
                allowed.join(", ")
            },
        }
    }

    /// Rule 1 (`crit`) and rule 2 (`alg`, `typ`) on a decoded header. `kid`, `jku`, `x5u` and
    /// `jwk` are never followed: keys come only from the caller.
    pub(crate) fn header_algorithm(&self, header: &Header) -> Result<Algorithm> {
        if header.crit {
            return Err(TokenError::malformed(
                "the header has `crit`; no critical header extensions are supported",
            ));
        }
        match &header.typ {
            Field::Absent => {}
            Field::Text(typ) if typ.eq_ignore_ascii_case("JWT") => {}
            _ => {
                return Err(TokenError::malformed(
                    "header `typ` must be \"JWT\" when present",
                ));
            }
        }
        let alg = match &header.alg {
            Field::Text(alg) => alg,
            Field::NotText => return Err(TokenError::malformed("header `alg` must be a string")),
            Field::Absent => return Err(TokenError::malformed("the header has no `alg`")),
        };
        match Algorithm::from_name(alg) {
            Some(a) if self.algorithms.contains(&a) => Ok(a),
            _ => Err(self.unsupported(alg)),
        }
    }

    /// Rules 5 and 6 at `now` (Unix seconds).
    pub(crate) fn check_times(
        &self,
        registered: &RegisteredClaims,
        expires_in: Option<u64>,
        now: i64,
    ) -> Result<()> {
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        let leeway = secs(self.leeway);
        let iat = registered.iat.map(|d| d.secs());
        let nbf = registered.nbf.map(|d| d.secs());
        let exp = registered.exp.map(|d| d.secs());

        // Dates and expires_in are bounded by the domain types (≤ 253402300799), so these sums
        // cannot overflow.
        let relative = match (expires_in, iat) {
            (Some(n), Some(iat)) => Some(iat.saturating_add_unsigned(n)),
            (Some(_), None) => {
                return Err(DomainError::InvalidClaim {
                    claim: "expires_in",
                    problem: "counts from `iat`, but the token has no `iat`".into(),
                }
                .into());
            }
            (None, _) => None,
        };
        let expiry = match (exp, relative) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => return Err(TokenError::MissingExpiry),
        };
        if now > expiry.saturating_add(leeway) {
            return Err(TokenError::Expired {
                by: now.abs_diff(expiry),
            });
        }
        if let Some(nbf) = nbf.filter(|&nbf| nbf > now.saturating_add(leeway)) {
            return Err(TokenError::NotYetValid {
                by: nbf.abs_diff(now),
            });
        }
        if let Some(iat) = iat.filter(|&iat| iat > now.saturating_add(leeway)) {
            return Err(TokenError::IssuedInFuture {
                by: iat.abs_diff(now),
            });
        }
        let start = iat.or(nbf).unwrap_or(now);
        let lifetime = expiry.saturating_sub(start);
        if lifetime > secs(self.max_lifetime) {
            return Err(TokenError::LifetimeTooLong {
                lifetime: lifetime.unsigned_abs(),
                max: self.max_lifetime.as_secs(),
            });
        }
        Ok(())
    }

    /// Rule 7: `iss` and `aud`, when the policy names them.
    pub(crate) fn check_issuer_audience(&self, registered: &RegisteredClaims) -> Result<()> {
        if let Some(want) = &self.issuer {
            match &registered.iss {
                Some(iss) if iss == want => {}
                Some(_) => return Err(mismatch("iss", "must be", want)),
                None => return Err(DomainError::MissingClaim { claim: "iss" }.into()),
            }
        }
        if let Some(want) = &self.audience {
            match &registered.aud {
                Some(aud) if aud.contains(want) => {}
                Some(_) => return Err(mismatch("aud", "must contain", want)),
                None => return Err(DomainError::MissingClaim { claim: "aud" }.into()),
            }
        }
        Ok(())
    }
}

fn mismatch(claim: &'static str, rule: &str, want: &str) -> TokenError {
    DomainError::InvalidClaim {
        claim,
        problem: format!("{rule} {}", DomainError::shown(want)),
    }
    .into()
}

/// Where verification and signing read the time from; inject a [`FixedClock`] in tests.
pub trait Clock: Send + Sync {
    /// Now, in whole Unix seconds.
    fn now(&self) -> i64;
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> i64 {
        (**self).now()
    }
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }
}

/// A clock stopped at a given Unix second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.0
    }
}
