//! What the bench tools share: the aliases they add, made as the server makes them.

use aliaskit_domain::{AccessClaims, Alias, AliasId, AliasKind, OrgId, Sensitive, UserId};
use aliaskit_store::{Database, repo};
use aliaskit_token::{Algorithm, Secret, Tokens};
use anyhow::anyhow;

/// Adds `n` random aliases of `org` ([`random_alias`]) in one transaction; returns them.
pub fn add_aliases(db: &Database, org: OrgId, now: i64, n: u64) -> anyhow::Result<Vec<Alias>> {
    let batch = (0..n)
        .map(|_| random_alias(org, now))
        .collect::<anyhow::Result<Vec<Alias>>>()?;
    db.transaction(|c| {
        for a in &batch {
            repo::aliases::insert(c, db.vault(), a)?;
        }
        Ok(())
    })?;
    Ok(batch)
}

/// A random alias of `org`, valid for a year from `now`, with a `jwt_secret` derived from its
/// id (`bulk-secret-<id>`), so that a token can be signed for it without a list of secrets.
pub fn random_alias(org: OrgId, now: i64) -> anyhow::Result<Alias> {
    let mut raw = [0u8; 16];
    getrandom::getrandom(&mut raw).map_err(|e| anyhow!("{e}"))?;
    let id: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    Ok(Alias {
        id: AliasId::parse(&id)?,
        org,
        kind: AliasKind::Conference,
        name: Some("bulk".into()),
        passcode: None,
        jwt_secret: Some(Sensitive::from(secret_of(&id))),
        stream_key: None,
        expired_at: now + 86_400 * 365,
        inserted_at: now,
        updated_at: now,
        previous_secret: None,
        previous_secret_until: None,
        tokens_valid_after: None,
    })
}

/// The `jwt_secret` [`random_alias`] gives the alias `id`.
pub fn secret_of(id: &str) -> String {
    format!("bulk-secret-{id}")
}

/// An HS256 access token for the alias `id` of [`random_alias`], signed with its secret
/// ([`secret_of`]) as `aliaskit token sign` signs one: user `bench-user`, valid for
/// `expires_in` seconds from now.
pub fn token_for(tokens: &Tokens, id: &AliasId, expires_in: u64) -> anyhow::Result<String> {
    let mut claims = AccessClaims::new(id.clone(), UserId::new("bench-user")?);
    claims.expires_in = Some(expires_in);
    let secret = Secret::from(secret_of(id.as_str()).as_str());
    Ok(tokens.sign_access(&claims, &secret, Algorithm::HS256)?)
}
