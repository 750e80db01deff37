//! `aliaskit-server`: loads the settings, starts logging, and serves until SIGINT/SIGTERM;
//! `aliaskit-server healthcheck` asks a running server for `GET /readyz` instead (see
//! [`aliaskit_server::healthcheck`]): exit 0 when it answers 200, else 1 and one line saying
//! why.
//!
//! A start that fails prints `error: ` and the cause chain on one line on stderr, never a
//! backtrace, and exits with status 2 when the settings are at fault (a value, a key file or
//! master key, a TLS file they name: fixing them, not retrying, helps), 1 for any other failure
//! (the port, the database).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use aliaskit_config::{ConfigError, Settings};
use aliaskit_server::{Application, healthcheck, init_logging, tls};
use anyhow::Context;
use clap::{Parser, Subcommand};

/// The aliaskit server.
#[derive(Debug, Parser)]
#[command(name = "aliaskit-server", version, about)]
struct Args {
    /// A TOML settings file; defaults apply without one, and `ALIASKIT__SECTION__KEY`
    /// environment variables override both.
    #[arg(long, value_name = "PATH", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Without a command, the server serves.
#[derive(Debug, Subcommand)]
enum Command {
    /// Asks the server on this machine, at the address of the same settings, for `GET
    /// /readyz` (a wildcard host is asked on loopback): exit 0 on 200, else 1 with the reason.
    /// For a container's HEALTHCHECK: needs no other tool.
    Healthcheck {
        /// Seconds each of connecting, sending and reading may take.
        #[arg(long, value_name = "SECONDS", default_value_t = 3.0,
              value_parser = parse_timeout)]
        timeout: f64,
    },
}

fn parse_timeout(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(t) if t > 0.0 && t <= 3600.0 => Ok(t),
        _ => Err("a number of seconds above 0, at most 3600".into()),
    }
}

/// jemalloc for Rust's allocations rather than glibc's malloc (the C libraries keep glibc's):
/// the server's memory peaked 11–18 MiB lower under the many-aliases load, at least as fast
/// (`docs/performance.md`, "The server's allocator, and a lone miss on PostgreSQL").
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Exit status of a start the settings stopped.
const BAD_SETTINGS: u8 = 2;
/// Exit status of any other failure.
const FAILED: u8 = 1;

fn main() -> ExitCode {
    let args = Args::parse();
    match args.command {
        Some(Command::Healthcheck { timeout }) => health(&args, Duration::from_secs_f64(timeout)),
        None => run(&args),
    }
}

/// `healthcheck`: 0 and a line on stdout when ready; 1 and one line on stderr otherwise, bad
/// settings included (a container runtime reads any status but 0 and 1 as reserved).
fn health(args: &Args, timeout: Duration) -> ExitCode {
    let settings = match Settings::load(args.config.as_deref()) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("unhealthy: cannot load the settings: {e}");
            return ExitCode::FAILURE;
        }
    };
    match healthcheck::check(&settings, timeout) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(reason) => {
            eprintln!("unhealthy: {reason}");
            ExitCode::FAILURE
        }
    }
}

/// Serves on an actix system, as `#[actix_web::main]` would.
fn run(args: &Args) -> ExitCode {
    let served = actix_web::rt::System::new().block_on(serve(args));
    // No pool may be connecting while the exit handlers run (`aliaskit_store::Closer`).
    aliaskit_store::close_all();
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::from(status(&e))
        }
    }
}

/// The cause chain joined with `: `, as anyhow's `{:#}` writes it, on one line: a cause's own
/// line breaks (libpq writes some) become spaces, and a cause whose text its parent already
/// ends with (tracing's filter errors repeat theirs) is written once.
fn one_line(e: &anyhow::Error) -> String {
    let mut causes: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !causes.last().is_some_and(|parent| parent.ends_with(&text)) {
            causes.push(text);
        }
    }
    let chain = causes.join(": ");
    let lines: Vec<&str> = chain
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines.join(" ")
}

/// [`BAD_SETTINGS`] when a settings error is among the causes, else [`FAILED`].
fn status(e: &anyhow::Error) -> u8 {
    let settings = e.chain().any(|cause| {
        cause.is::<ConfigError>()
            || cause.is::<tls::SettingsError>()
            // `RUST_LOG` that tracing cannot read (`logging.level` is checked when loading).
            || cause.is::<tracing_subscriber::filter::ParseError>()
    });
    if settings { BAD_SETTINGS } else { FAILED }
}

async fn serve(args: &Args) -> anyhow::Result<()> {
    let settings = Settings::load(args.config.as_deref()).context("cannot load the settings")?;
    init_logging(&settings)?;
    let app = Application::build(&settings)?;
    if let Some(key) = app.bootstrap_key() {
        // The key alone on stdout, so a deployment script can capture it.
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{key}")?;
        stdout.flush()?;
    }
    tracing::info!(
        address = %format!("{}:{}", settings.server.host, app.port()),
        scheme = app.scheme(),
        "aliaskit-server listening"
    );
    app.run_until_stopped().await?;
    tracing::info!("aliaskit-server stopped");
    Ok(())
}
