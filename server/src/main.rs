use anyhow::Context;
use leptos::prelude::get_configuration;
use tracing_subscriber::EnvFilter;

use backend::{db, demo, AppState};
use server::config::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .init();

    let config = Config::from_env()?;
    // Leptos.toml holds the site options; LEPTOS_* variables (set by cargo-leptos) override.
    let leptos_config_path =
        std::env::var("LEPTOS_CONFIG").unwrap_or_else(|_| "Leptos.toml".to_owned());
    let leptos_options = get_configuration(Some(&leptos_config_path))
        .with_context(|| format!("reading {leptos_config_path}"))?
        .leptos_options;
    let addr = leptos_options.site_addr;

    let pool = db::connect(&config.database_url)
        .await
        .context("connecting to DATABASE_URL")?;
    db::migrate(&pool).await.context("applying migrations")?;
    tracing::info!("migrations applied");

    if config.demo_seed {
        demo::seed_demo_users(&pool).await?;
        println!("\nDemo users (password \"{}\"):", demo::DEMO_PASSWORD);
        for u in demo::DEMO_USERS {
            println!("  {:<24} {}", u.email, u.nome);
        }
        println!();
    }

    let state = AppState::new(pool, config.jwt_secret.as_bytes());
    let app = server::router(state, leptos_options);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    println!("Portal Contmax listening on http://{addr}");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
