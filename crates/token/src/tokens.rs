use aliaskit_domain::{
    AccessClaims, AccessClaimsBuilder, AliasId, Error as DomainError, NumericDate, RegisteredClaims,
};
use josekit::jws::{JwsHeader, JwsVerifier};
use josekit::jwt::JwtPayload;
use serde_json::{Map, Value};

use crate::compact::{Compact, Field};
use crate::hmac::HmacKey;
use crate::{Algorithm, Clock, KeyRing, Policy, Result, Secret, SystemClock, TokenError, json};

/// What a token must be bound to in order to admit its bearer to one alias.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// The alias being retrieved; the `alias` claim must equal it.
    pub alias: &'a AliasId,
    /// Candidate secrets, tried in order: the current `jwt_secret`, then a previous one still in
    /// its rotation grace period.
    pub secrets: &'a [&'a Secret],
    /// After a revocation: tokens whose `iat` is earlier than this (or that have no `iat`) are
    /// refused.
    pub revoked_before: Option<i64>,
}

impl<'a> Expect<'a> {
    /// A token for `alias`, signed with one of `secrets`, never revoked.
    pub fn new(alias: &'a AliasId, secrets: &'a [&'a Secret]) -> Self {
        Expect {
            alias,
            secrets,
            revoked_before: None,
        }
    }

    /// Refuses tokens issued before `cutoff` (Unix seconds).
    pub fn revoked_before(mut self, cutoff: i64) -> Self {
        self.revoked_before = Some(cutoff);
        self
    }
}

/// A server's own token after verification by a [`KeyRing`].
#[derive(Debug, Clone, PartialEq)]
pub struct RingClaims {
    /// The key that signed it.
    pub kid: String,
    /// Its registered claims, checked against the policy.
    pub registered: RegisteredClaims,
    /// All other claims, as signed.
    pub claims: Map<String, Value>,
}

/// What [`Tokens::check_access`] found.
#[derive(Debug)]
pub struct AccessCheck {
    /// Exactly what [`Tokens::verify_access`] answers for the token.
    pub verdict: Result<AccessClaims>,
    /// The payload as signed, when the MAC verified under one of the expected secrets (and the
    /// payload is a JSON object); `None` otherwise: an unverified token's claims are nobody's.
    pub payload: Option<Map<String, Value>>,
    /// The index in [`Expect::secrets`] of the secret that verified the MAC.
    pub secret: Option<usize>,
}

/// Signs and verifies tokens under one [`Policy`] and [`Clock`].
///
/// Cheap to share: keep one per process (or per policy) and call it from any thread.
#[derive(Debug, Clone)]
pub struct Tokens<C = SystemClock> {
    policy: Policy,
    clock: C,
}

impl Tokens<SystemClock> {
    /// Tokens judged by `policy` against the system clock.
    pub fn new(policy: Policy) -> Self {
        Tokens {
            policy,
            clock: SystemClock,
        }
    }
}

impl<C: Clock> Tokens<C> {
    /// Tokens judged by `policy` against `clock`.
    pub fn with_clock(policy: Policy, clock: C) -> Self {
        Tokens { policy, clock }
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The clock tokens are judged against.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// Signs an access token: header `{"alg":…,"typ":"JWT"}`, `iat` = the claims' `iat` or now,
    /// `exp` = `iat + expires_in` unless `exp` is set, every other claim kept.
    ///
    /// Refuses to sign what [`verify_access`](Self::verify_access) under the same policy would
    /// refuse for its times: a token with no expiry, or one that lives too long.
    pub fn sign_access(
        &self,
        claims: &AccessClaims,
        secret: &Secret,
        alg: Algorithm,
    ) -> Result<String> {
        self.policy.check_secret(secret)?;
        self.policy.check_algorithm(alg)?;
        let now = self.clock.now();
        let mut claims = claims.clone();
        let iat = match claims.registered.iat {
            Some(iat) => iat,
            None => NumericDate::from_secs(now).ok_or_else(|| DomainError::InvalidClaim {
                claim: "iat",
                problem: "cannot be set: the clock is outside 1970–9999".into(),
            })?,
        };
        claims.registered.iat = Some(iat);
        if let (None, Some(n)) = (claims.registered.exp, claims.expires_in) {
            let exp = i64::try_from(n)
                .ok()
                .and_then(|n| iat.secs().checked_add(n))
                .and_then(NumericDate::from_secs)
                .ok_or_else(|| DomainError::InvalidClaim {
                    claim: "expires_in",
                    problem: "puts `exp` after the year 9999".into(),
                })?;
            claims.registered.exp = Some(exp);
        }
        self.policy
            .check_times(&claims.registered, claims.expires_in, now)?;
        let key = secret.hmac_key(alg)?;
        sign(claims.to_json(), &key)
    }

    /// Verifies an end user's access token for one alias (`docs/security.md`, every rule) and returns its
    /// claims.
    pub fn verify_access(&self, token: &str, expect: &Expect<'_>) -> Result<AccessClaims> {
        let (compact, _) = self.verify_mac(token, expect)?;
        self.access_claims(&compact, expect)
    }

    /// [`verify_access`](Self::verify_access)'s verdict, with what a token whose signature
    /// verified claims even when the verdict is a refusal: for telling its issuer why it is
    /// refused (`POST …/alias/:id/token-check`). Never for admitting anyone.
    pub fn check_access(&self, token: &str, expect: &Expect<'_>) -> AccessCheck {
        match self.verify_mac(token, expect) {
            Err(e) => AccessCheck {
                verdict: Err(e),
                payload: None,
                secret: None,
            },
            Ok((compact, secret)) => AccessCheck {
                verdict: self.access_claims(&compact, expect),
                payload: compact.payload().ok(),
                secret: Some(secret),
            },
        }
    }

    /// Rules 1 to 3: the token parsed, its algorithm allowed, its MAC right under one of
    /// `expect.secrets` (whose index is returned).
    fn verify_mac<'t>(&self, token: &'t str, expect: &Expect<'_>) -> Result<(Compact<'t>, usize)> {
        let compact = Compact::parse(token)?;
        let alg = self.policy.header_algorithm(&compact.header)?;
        for (index, secret) in expect.secrets.iter().enumerate() {
            self.policy.check_secret(secret)?;
            let key = secret.hmac_key(alg)?;
            if mac_matches(&key, &compact) {
                return Ok((compact, index));
            }
        }
        Err(TokenError::BadSignature)
    }

    /// Rules 4 to 7 and the revocation cutoff, on a token whose MAC verified.
    fn access_claims(&self, compact: &Compact<'_>, expect: &Expect<'_>) -> Result<AccessClaims> {
        let claims = compact.with_payload(|bytes| {
            let builder = json::read_object(
                bytes,
                "payload",
                |b: &mut AccessClaimsBuilder, name, value| Ok(b.member(name, value)?),
            )?;
            Ok(builder.finish()?)
        })?;
        if claims.alias != *expect.alias {
            return Err(TokenError::AliasMismatch {
                expected: DomainError::shown(expect.alias.as_str()),
                found: DomainError::shown(claims.alias.as_str()),
            });
        }
        self.policy
            .check_times(&claims.registered, claims.expires_in, self.clock.now())?;
        self.policy.check_issuer_audience(&claims.registered)?;
        if let Some(cutoff) = expect.revoked_before {
            match claims.registered.iat {
                Some(iat) if iat.secs() >= cutoff => {}
                Some(_) => {
                    return Err(TokenError::Revoked {
                        reason: "it was issued before the alias's tokens were revoked",
                    });
                }
                None => {
                    return Err(TokenError::Revoked {
                        reason: "it has no `iat`, and the alias's tokens were revoked",
                    });
                }
            }
        }
        Ok(claims)
    }

    /// Signs `claims` with the ring's active key, its `kid` in the header. The claims should
    /// carry `exp` (and `iat`): [`verify_ring`](Self::verify_ring) requires an expiry.
    pub fn sign_ring(&self, ring: &KeyRing, claims: Map<String, Value>) -> Result<String> {
        sign(claims, ring.active_key())
    }

    /// Verifies a token signed by a key of `ring`: rules 1–3 and 5–7 of `docs/security.md`. Only a
    /// token whose `kid` names a key of the ring, with that key's algorithm, can pass.
    pub fn verify_ring(&self, ring: &KeyRing, token: &str) -> Result<RingClaims> {
        let compact = Compact::parse(token)?;
        let alg = self.policy.header_algorithm(&compact.header)?;
        let Field::Text(kid) = &compact.header.kid else {
            return Err(TokenError::UnknownKey);
        };
        let (key_alg, key) = ring.find(kid).ok_or(TokenError::UnknownKey)?;
        if key_alg != alg {
            return Err(TokenError::UnsupportedAlgorithm {
                alg: DomainError::shown(alg.name()),
                allowed: key_alg.name().into(),
            });
        }
        if !mac_matches(key, &compact) {
            return Err(TokenError::BadSignature);
        }
        let mut claims = compact.payload()?;
        let registered = RegisteredClaims::take_from(&mut claims)?;
        self.policy
            .check_times(&registered, None, self.clock.now())?;
        self.policy.check_issuer_audience(&registered)?;
        Ok(RingClaims {
            kid: kid.clone(),
            registered,
            claims,
        })
    }
}

/// Rule 3: the MAC over the bytes as received, checked in constant time through josekit's
/// verifier interface.
fn mac_matches(key: &HmacKey, compact: &Compact<'_>) -> bool {
    let verifier: &dyn JwsVerifier = key;
    verifier
        .verify(compact.signing_input.as_bytes(), &compact.signature)
        .is_ok()
}

fn sign(claims: Map<String, Value>, key: &HmacKey) -> Result<String> {
    let josekit_error = |e: josekit::JoseError| TokenError::Signing {
        reason: e.to_string(),
    };
    let mut header = Map::new();
    // josekit keeps member order: `alg` first, as Joken writes it (compact.rs knows this form).
    header.insert("alg".into(), Value::String(String::new()));
    header.insert("typ".into(), Value::String("JWT".into()));
    let header = JwsHeader::from_map(header).map_err(josekit_error)?;
    let payload = JwtPayload::from_map(claims).map_err(josekit_error)?;
    josekit::jwt::encode_with_signer(&payload, &header, key).map_err(josekit_error)
}
