//! `aliaskit`: the operator and developer command line. It never links actix and speaks no HTTP:
//! it calls the library crates directly.
//!
//! Exit status: 0 on success, 1 when a token is refused (or cannot be signed), 2 for bad usage
//! or unreadable input.

mod token;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "aliaskit",
    version,
    about = "aliaskit operator and developer tool (no HTTP)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sign, verify and decode access tokens (HS256/HS384/HS512 JWTs).
    #[command(subcommand)]
    Token(token::TokenCommand),
}

/// How a command failed, and so which exit status it gets.
#[derive(Debug)]
pub enum Failure {
    /// A token was refused, or could not be signed: `code: reason`, exit 1.
    Token(aliaskit_token::TokenError),
    /// Bad input or an I/O problem: `error: …`, exit 2.
    Usage(anyhow::Error),
}

impl From<aliaskit_token::TokenError> for Failure {
    fn from(e: aliaskit_token::TokenError) -> Self {
        Failure::Token(e)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Usage(e)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Token(cmd) => token::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Token(e)) => {
            eprintln!("{}: {e}", e.code());
            ExitCode::from(1)
        }
        Err(Failure::Usage(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
