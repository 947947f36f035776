use anyhow::Context;
use leptos::prelude::get_configuration;
use tracing_subscriber::EnvFilter;

use backend::engine::Engine;
use backend::providers::Registry;
use backend::{db, demo, queue, sandbox, AppState};
use server::config::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .init();

    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("secrets") {
        return secrets_command(&args[1..]).await;
    }
    if args.first().map(String::as_str) == Some("rollups") {
        return rollups_command(&args[1..]).await;
    }
    if args.first().map(String::as_str) == Some("sandbox") {
        return server::sandbox_cli::run(&args[1..]).await;
    }

    let config = Config::from_env()?;
    // A web process keeps connections warm for its pages; a worker needs few at rest.
    let warm = if config.role.serves_http() {
        db::WARM_CONNECTIONS
    } else {
        1
    };
    let pool = db::connect(&config.database_url, warm)
        .await
        .context("connecting to DATABASE_URL")?;
    db::migrate(&pool).await.context("applying migrations")?;
    queue::install(&pool)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))
        .context("installing the job queue")?;
    tracing::info!(role = ?config.role, "migrations applied");
    db::warm_pool(&pool, warm).await;
    // Credentials an older version left in plain `config` go to the vault.
    let moved = backend::vault::adopt_plain_config_secrets(&pool, &config.keyring).await?;
    if moved > 0 {
        tracing::warn!(
            moved,
            "credentials found in plain configuration moved to the vault"
        );
    }

    if config.demo_seed {
        demo::seed_demo_users(&pool).await?;
        println!("\nDemo users (password \"{}\"):", demo::DEMO_PASSWORD);
        for u in demo::DEMO_USERS {
            println!("  {:<24} {}", u.email, u.nome);
        }
        println!();
    }
    if config.sandbox {
        // The local HTTP provider's sandbox, in process; demo tenants point at it.
        let addr = sandbox::spawn().await.context("starting the sandbox")?;
        tracing::info!(%addr, "sandbox of the local-http provider listening");
        if config.demo_seed {
            demo::seed_sandbox(&pool, &config.keyring, addr).await?;
        }
        server::demo_sandboxes::start(&pool, &config.keyring, config.demo_seed).await?;
    }

    // Every plugin has a catalog row, or we do not start; catalog rows without a plugin
    // are shown as not runnable.
    let registry = Registry::standard(config.sandbox);
    match registry.check_catalog(&pool).await {
        Err(msg) => anyhow::bail!("{msg}"),
        Ok(missing) if !missing.is_empty() => tracing::warn!(
            providers = %missing.join(", "),
            "catalog providers without a connector: their integrations cannot run"
        ),
        Ok(_) => {}
    }
    let engine = Engine::new(
        pool.clone(),
        registry,
        config.keyring.clone(),
        config.engine.clone(),
    );

    let worker = if config.role.runs_jobs() {
        let engine = engine.clone();
        let concurrency = config.worker_concurrency;
        println!("Worker running ({concurrency} jobs at once)");
        Some(tokio::spawn(async move {
            queue::run_worker(engine, concurrency).await
        }))
    } else {
        None
    };

    if config.role.serves_http() {
        // Leptos.toml holds the site options; LEPTOS_* variables (set by cargo-leptos) override.
        let leptos_config_path =
            std::env::var("LEPTOS_CONFIG").unwrap_or_else(|_| "Leptos.toml".to_owned());
        let leptos_options = get_configuration(Some(&leptos_config_path))
            .with_context(|| format!("reading {leptos_config_path}"))?
            .leptos_options;
        let addr = leptos_options.site_addr;
        if leptos_options.hash_files {
            let beside = std::env::current_exe().ok().and_then(|p| {
                p.parent()
                    .map(|d| d.join(leptos_options.hash_file.as_ref()))
            });
            if !beside.as_ref().is_some_and(|p| p.exists()) {
                tracing::error!(
                    expected = ?beside,
                    "hash-files is on but hash.txt is not beside the binary: pages will ask for \
                     unhashed /pkg names that do not exist; deploy the hash.txt cargo-leptos \
                     wrote with the binary"
                );
            }
        }
        let state = AppState::new(
            pool,
            config.jwt_secret.as_bytes(),
            config.keyring.clone(),
            engine.registry.clone(),
        );
        let mut state = state;
        state.login_limiter = std::sync::Arc::new(backend::auth::LoginLimiter::new(
            config.login_per_account,
            config.login_per_address,
        ));
        state.run_limiter =
            std::sync::Arc::new(backend::auth::RunLimiter::new(config.runs_per_user));
        state.trusted_proxies = std::sync::Arc::new(config.trusted_proxies.clone());
        // Stopping ends the live status streams too (graceful shutdown waits for them).
        state.shutdown = engine.shutdown.clone();
        let demo_pool = state.pool.clone();
        let app = server::router(state, leptos_options);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        println!("Portal Contmax listening on http://{addr}");
        if config.sandbox && config.demo_seed {
            let bound = listener.local_addr().unwrap_or(addr);
            tokio::spawn(server::demo_sandboxes::send_demo_events(demo_pool, bound));
        }
        let shutdown = engine.shutdown.clone();
        // Every response part leaves at once: with Nagle's algorithm a page streamed in
        // parts waited for the client's delayed ACK (about 40 ms) before its last part.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY not set");
            }
        });
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            shutdown.cancel();
        })
        .await?;
    } else {
        shutdown_signal().await;
        engine.shutdown.cancel();
    }
    if let Some(w) = worker {
        engine.shutdown.cancel();
        match w.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => anyhow::bail!("worker: {e:?}"),
            Err(e) => anyhow::bail!("worker task: {e}"),
        }
    }
    Ok(())
}

/// `server secrets rotate`: re-encrypts every credential under the newest key of
/// INTEGRATIONS_ENCRYPTION_KEY and says how many; fails when some cannot be decrypted.
async fn secrets_command(args: &[String]) -> anyhow::Result<()> {
    if args.first().map(String::as_str) != Some("rotate") {
        anyhow::bail!("usage: server secrets rotate");
    }
    let database_url = std::env::var("DATABASE_URL").context("DATABASE_URL is not set")?;
    let keyring = server::config::keyring_from_env(false)?;
    let pool = db::connect_for_command(&database_url)
        .await
        .context("connecting to DATABASE_URL")?;
    db::migrate(&pool).await.context("applying migrations")?;
    let r = backend::vault::store::rotate(&pool, &keyring).await?;
    // Every process must already have the new key first in its list, or it goes on writing
    // under the old one: the second run of this command must say 0 re-encrypted.
    println!(
        "{} credential(s) re-encrypted with key {}; {} already under it; {} could not be decrypted",
        r.rotated,
        keyring.current_id(),
        r.current,
        r.failed.len()
    );
    for (id, field, e) in &r.failed {
        eprintln!("  tenant integration {id}, field {field}: {e}");
    }
    if r.failed.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(
            "some credentials were not re-encrypted: keep their key configured, or set them again"
        )
    }
}

/// `server rollups rebuild`: the metrics' daily roll-ups computed again from the whole log
/// (the trigger keeps them from then on; migration 0014 ran this once).
async fn rollups_command(args: &[String]) -> anyhow::Result<()> {
    if args.first().map(String::as_str) != Some("rebuild") {
        anyhow::bail!("usage: server rollups rebuild");
    }
    let database_url = std::env::var("DATABASE_URL").context("DATABASE_URL is not set")?;
    let pool = db::connect_for_command(&database_url)
        .await
        .context("connecting to DATABASE_URL")?;
    db::migrate(&pool).await.context("applying migrations")?;
    let started = std::time::Instant::now();
    let rows = backend::metrics::rebuild(&pool).await?;
    println!(
        "{rows} daily roll-up row(s) rebuilt from the log in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
