//! aliaskit without HTTP: open a SQLite database, create an organization and a private alias,
//! sign an access token for it the way the organization's backend would, and retrieve the alias
//! with that token, all in this process.
//!
//! ```sh
//! cargo run -p aliaskit-examples --example core
//! ```
//!
//! Crates: `aliaskit-domain` (the types), `aliaskit-token` (signing), `aliaskit-store` (the
//! database and the master key), `aliaskit-service` (the use cases). Every `Service` method
//! blocks on the database; here that is fine, as this is a plain thread. In an async program run
//! them on a blocking pool (see `mount.rs` and `docs/embedding.md`).

use std::io::Write;
use std::path::Path;

use aliaskit_domain::{AccessClaims, AliasKind, NewAlias, OrgName, UserId, Viewer};
use aliaskit_service::{Credentials, Service, ServiceConfig, ServiceError};
use aliaskit_store::{Database, MasterKey, PoolOptions, Vault};
use aliaskit_token::{Algorithm, Policy, Secret, Tokens};
use anyhow::Context;

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    run(dir.path(), &mut std::io::stdout().lock())?;
    Ok(())
}

/// Does it all with a database in `dir`, telling `out` what it did.
fn run(dir: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    // 1. The database. Secrets (jwt_secret, passcode, stream key) are encrypted at rest with the
    //    master key: a real service loads its key from its own secret store and keeps it, since
    //    without it the secrets cannot be read back. Here a throw-away key for a throw-away file.
    let path = dir.join("aliaskit.db");
    let url = path.to_str().context("the temporary path is not UTF-8")?;
    let vault = Vault::new(MasterKey::generate()?, Vec::new());
    let db = Database::open(url, PoolOptions::default(), vault)?;
    let applied = db.migrate()?;
    // Refuses a database with secrets sealed under a key this vault lacks, and records ours.
    db.check_keys(unix_now())?;
    writeln!(
        out,
        "opened {url} and applied {} migrations; master key {}",
        applied.len(),
        db.vault().current_id()
    )?;

    // 2. The use cases, with the default token policy (HS256/384/512, 60 s leeway, 24 h cap).
    let service = Service::new(db, ServiceConfig::default());
    let (org, _api_key) = service.create_org(&OrgName::parse("acme")?)?;
    writeln!(out, "created organization {} ({})", org.name, org.id)?;

    // 3. A private conference alias with a jwt_secret (at least 32 bytes), valid for an hour.
    let jwt_secret = "a-secret-of-at-least-32-bytes-long!!";
    let alias = service.create_alias(
        org.id,
        NewAlias {
            kind: AliasKind::Conference,
            name: Some("Weekly sync".into()),
            passcode: None,
            jwt_secret: Some(jwt_secret.into()),
            stream_key: Some("stream-key-for-the-host".into()),
            expired_at: service.now() + 3600,
        },
    )?;
    writeln!(
        out,
        "created alias {} expiring at {}",
        alias.id, alias.expired_at
    )?;

    // 4. What the organization's backend does: sign a short-lived token for one user. This needs
    //    only aliaskit-token and aliaskit-domain.
    let tokens = Tokens::new(Policy::default());
    let mut claims = AccessClaims::new(alias.id.clone(), UserId::new("alice")?);
    claims.host = true;
    claims.expires_in = Some(600);
    let token = tokens.sign_access(&claims, &Secret::from(jwt_secret), Algorithm::HS256)?;
    writeln!(
        out,
        "signed an HS256 token for alice ({} bytes)",
        token.len()
    )?;

    // 5. What an end user's request does: retrieve the alias with the token. The service checks
    //    the token against the alias's secret by the policy of docs/security.md.
    let seen = service.retrieve(
        &alias.id,
        Credentials {
            bearer: Some(&token),
            passcode: None,
            client: None,
        },
    )?;
    anyhow::ensure!(seen.viewer == Viewer::Host, "alice should be a host");
    anyhow::ensure!(seen.alias.jwt_secret.is_none(), "the secret is never shown");
    writeln!(
        out,
        "retrieved alias {} ({}) as {:?}; stream key shown to the host: {}",
        seen.alias.id,
        seen.alias.name.as_deref().unwrap_or("unnamed"),
        seen.viewer,
        seen.alias.stream_key.is_some()
    )?;

    // 6. A token signed with another secret is refused, with a stable code.
    let forged = tokens.sign_access(
        &claims,
        &Secret::from("another-secret-of-at-least-32-bytes!"),
        Algorithm::HS256,
    )?;
    let credentials = Credentials {
        bearer: Some(&forged),
        passcode: None,
        client: None,
    };
    match service.retrieve(&alias.id, credentials) {
        Err(ServiceError::InvalidToken(e)) => {
            writeln!(
                out,
                "refused a token signed with another secret: {}",
                e.code()
            )?;
        }
        other => anyhow::bail!("a forged token must be refused, got {other:?}"),
    }
    Ok(())
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    /// `cargo test` runs the example as it runs for a user, in a fresh directory.
    #[test]
    fn the_example_runs() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let mut out = Vec::new();
        super::run(dir.path(), &mut out)?;
        let out = String::from_utf8(out)?;
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 6, "{out}");
        assert!(lines[1].starts_with("created organization acme"), "{out}");
        assert!(
            lines[4].ends_with("as Host; stream key shown to the host: true"),
            "{out}"
        );
        assert_eq!(
            lines[5],
            "refused a token signed with another secret: bad_signature"
        );
        Ok(())
    }
}
