//! `aliaskit-server`: loads the settings, starts logging, and serves until SIGINT/SIGTERM.

use std::io::Write;
use std::path::PathBuf;

use aliaskit_config::Settings;
use aliaskit_server::{Application, init_logging};
use anyhow::Context;
use clap::Parser;

/// The aliaskit server.
#[derive(Debug, Parser)]
#[command(name = "aliaskit-server", version, about)]
struct Args {
    /// A TOML settings file; defaults apply without one, and `ALIASKIT__SECTION__KEY`
    /// environment variables override both.
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
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
