//! `aliaskit token sign|verify|decode`.

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use aliaskit_domain::{AccessClaims, AliasId, UserId};
use aliaskit_token::{Algorithm, Expect, Policy, Secret, Tokens, decode_unverified};
use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::{Failure, print};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Sign an access token for one alias; prints the token alone on stdout.
    Sign(SignArgs),
    /// Verify a token for one alias (`docs/security.md`); prints its claims as JSON, or `code: reason`
    /// on stderr and exits 1.
    Verify(VerifyArgs),
    /// Print a token's header and payload as JSON WITHOUT verifying anything.
    Decode(DecodeArgs),
}

/// Where the HMAC secret comes from. Prefer `--secret-file`: a `--secret` on the command line
/// is visible to other users in the process list and stays in shell history.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct SecretSource {
    /// The alias's `jwt_secret`, as text (its UTF-8 bytes are the key).
    #[arg(long, value_name = "S", allow_hyphen_values = true)]
    secret: Option<String>,
    /// A file holding the secret; one trailing newline (LF or CRLF) is removed.
    #[arg(long, value_name = "F")]
    secret_file: Option<PathBuf>,
}

/// Policy knobs shared by `sign` and `verify`; the defaults are the server's.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Shortest secret accepted, in bytes (lower it only for secrets migrated from services
    /// that allowed short ones).
    #[arg(long, value_name = "BYTES", default_value_t = Policy::default().min_secret_bytes)]
    min_secret_bytes: usize,
    /// Longest token lifetime accepted, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = Policy::default().max_lifetime.as_secs())]
    max_lifetime: u64,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    #[command(flatten)]
    secret: SecretSource,
    /// The alias id the token admits to (the `alias` claim).
    #[arg(long, value_name = "A", allow_hyphen_values = true)]
    alias: String,
    /// The end user's id (the `user_id` claim).
    #[arg(long, value_name = "U", allow_hyphen_values = true)]
    user_id: String,
    /// Make the bearer a host (sees the passcode and stream key).
    #[arg(long)]
    host: bool,
    /// Lifetime in seconds: `expires_in`, and `exp` = `iat` + this.
    #[arg(long, value_name = "N")]
    expires_in: u64,
    /// Signing algorithm.
    #[arg(long, value_name = "ALG", default_value_t = Algorithm::HS256)]
    alg: Algorithm,
    #[command(flatten)]
    policy: PolicyArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    secret: SecretSource,
    /// The alias the token must be bound to.
    #[arg(long, value_name = "A", allow_hyphen_values = true)]
    alias: String,
    /// Leeway for `exp`, `nbf` and `iat`, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = Policy::default().leeway.as_secs())]
    leeway: u64,
    /// Require this `iss`.
    #[arg(long, value_name = "ISS", allow_hyphen_values = true)]
    issuer: Option<String>,
    /// Require this value among `aud`.
    #[arg(long, value_name = "AUD", allow_hyphen_values = true)]
    audience: Option<String>,
    #[command(flatten)]
    policy: PolicyArgs,
    /// The token, or `-` to read it from stdin.
    #[arg(value_name = "TOKEN|-")]
    token: String,
}

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// The token, or `-` to read it from stdin.
    #[arg(value_name = "TOKEN|-")]
    token: String,
}

pub fn run(cmd: TokenCommand) -> Result<(), Failure> {
    match cmd {
        TokenCommand::Sign(args) => sign(args),
        TokenCommand::Verify(args) => verify(args),
        TokenCommand::Decode(args) => decode(args),
    }
}

fn sign(args: SignArgs) -> Result<(), Failure> {
    let secret = args.secret.read()?;
    let alias = AliasId::parse(&args.alias).context("--alias")?;
    let user_id = UserId::new(args.user_id).context("--user-id")?;
    let mut claims = AccessClaims::new(alias, user_id);
    claims.host = args.host;
    claims.expires_in = Some(args.expires_in);
    let tokens = Tokens::new(args.policy.into_policy());
    let token = tokens.sign_access(&claims, &secret, args.alg)?;
    print(&format!("{token}\n"))
}

fn verify(args: VerifyArgs) -> Result<(), Failure> {
    let secret = args.secret.read()?;
    let alias = AliasId::parse(&args.alias).context("--alias")?;
    let token = read_token(&args.token)?;
    let policy = Policy {
        leeway: Duration::from_secs(args.leeway),
        issuer: args.issuer,
        audience: args.audience,
        ..args.policy.into_policy()
    };
    let claims = Tokens::new(policy).verify_access(&token, &Expect::new(&alias, &[&secret]))?;
    print_json(&Value::Object(claims.to_json()))
}

fn decode(args: DecodeArgs) -> Result<(), Failure> {
    let token = read_token(&args.token)?;
    let (header, payload) = decode_unverified(&token)?;
    eprintln!(
        "warning: nothing was verified: not the signature, not a single claim; \
         use `aliaskit token verify` to decide whether to trust this token"
    );
    print_json(&json!({ "header": header, "payload": payload }))
}

impl SecretSource {
    fn read(&self) -> anyhow::Result<Secret> {
        match (&self.secret, &self.secret_file) {
            (Some(s), _) => Ok(Secret::from(s.as_str())),
            (None, Some(path)) => {
                let mut bytes = std::fs::read(path)
                    .with_context(|| format!("cannot read --secret-file {}", path.display()))?;
                if bytes.ends_with(b"\n") {
                    bytes.pop();
                    if bytes.ends_with(b"\r") {
                        bytes.pop();
                    }
                }
                Ok(Secret::new(bytes))
            }
            (None, None) => Err(anyhow!("give --secret or --secret-file")),
        }
    }
}

impl PolicyArgs {
    fn into_policy(self) -> Policy {
        Policy {
            min_secret_bytes: self.min_secret_bytes,
            max_lifetime: Duration::from_secs(self.max_lifetime),
            ..Policy::default()
        }
    }
}

/// The token argument, or stdin for `-`; surrounding whitespace (a trailing newline) is removed.
fn read_token(arg: &str) -> anyhow::Result<String> {
    if arg != "-" {
        return Ok(arg.trim().to_owned());
    }
    let mut text = String::new();
    std::io::stdin()
        .take(64 * 1024)
        .read_to_string(&mut text)
        .context("cannot read the token from stdin")?;
    Ok(text.trim().to_owned())
}

fn print_json(value: &Value) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).context("cannot print JSON")?;
    print(&format!("{text}\n"))
}
