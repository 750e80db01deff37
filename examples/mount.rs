//! aliaskit's routes inside another actix-web application, next to that application's own
//! `GET /hello`. Serves until Ctrl-C.
//!
//! ```sh
//! cargo run -p aliaskit-examples --example mount            # a free port, printed
//! PORT=8080 cargo run -p aliaskit-examples --example mount  # a given port
//! curl http://127.0.0.1:PORT/hello
//! curl http://127.0.0.1:PORT/healthz
//! curl -H "Authorization: Bearer $KEY" http://127.0.0.1:PORT/organization/api/v1/aliases
//! ```
//!
//! The database is a throw-away SQLite file with a throw-away master key; see `core.rs` and
//! `docs/embedding.md` for what a real service keeps.

use actix_web::{App, HttpServer, middleware, web};
use aliaskit_http::Api;
use aliaskit_service::{Service, ServiceConfig};
use aliaskit_store::{Database, MasterKey, PoolOptions, Vault};
use anyhow::Context;

/// This application's own route.
async fn hello() -> &'static str {
    "hello from the host application\n"
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = dir
        .path()
        .join("aliaskit.db")
        .to_str()
        .context("the temporary path is not UTF-8")?
        .to_owned();

    // Opening, migrating and creating an organization block on the database: on actix's
    // blocking pool, never on an async worker.
    let (service, key) = web::block(move || -> anyhow::Result<_> {
        let vault = Vault::new(MasterKey::generate()?, Vec::new());
        let db = Database::open(&url, PoolOptions::default(), vault)?;
        db.migrate()?;
        db.check_keys(unix_now())?;
        let service = Service::new(db, ServiceConfig::default());
        let (_, key) = service.create_org(&aliaskit_domain::OrgName::parse("host-app")?)?;
        Ok((service, key))
    })
    .await??;

    // `Api::new` has the default limits; set its fields to change them.
    let api = Api::new(service);
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port.parse().context("PORT must be a port number")?,
        Err(_) => 0,
    };
    let server = HttpServer::new(move || {
        App::new()
            // Request ids, the access log and opaque 5xx bodies, as aliaskit-server has them.
            .wrap(middleware::from_fn(aliaskit_http::observe))
            .route("/hello", web::get().to(hello))
            // Every aliaskit route, and a JSON 404 for paths no route takes.
            .configure(aliaskit_http::configure(api.clone()))
    })
    .workers(2)
    .bind(("127.0.0.1", port))?;
    for address in server.addrs() {
        println!("listening on http://{address}");
    }
    println!("organization host-app, API key {}", key.expose());
    println!("Ctrl-C stops");
    server.run().await?;
    Ok(())
}
