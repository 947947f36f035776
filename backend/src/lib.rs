//! Server-only library of Portal Contmax · Integrações.
//!
//! Everything that touches Postgres lives here, and every query that acts for a user runs
//! inside [`scope::begin_as`]: a transaction that first sets the caller's JWT claims and the
//! `authenticated` role, so that row-level security decides what the caller sees.

pub mod alerts;
pub mod audit;
pub mod auth;
pub mod charts;
pub mod config_form;
pub mod connection;
pub mod contact_reviews;
pub mod cookies;
pub mod credentials;
pub mod db;
pub mod demo;
pub mod engine;
pub mod error;
pub mod history;
pub mod integrations;
pub mod metrics;
pub mod net_guard;
pub mod portal;
pub mod providers;
pub mod queue;
pub mod redact;
pub mod run_events;
pub mod runs;
pub mod sandbox;
pub mod schedule;
pub mod scope;
pub mod tenants;
pub mod vault;

pub use error::{Error, Result};

use std::sync::Arc;

/// What the HTTP layer and the server functions share: the pool, the token keys, the
/// vault's keys, the provider plugins (for *Testar conexão*) and the rate limiters.
#[derive(Clone)]
pub struct AppState {
    pub pool: sqlx::PgPool,
    pub jwt: Arc<auth::JwtKeys>,
    pub login_limiter: Arc<auth::LoginLimiter>,
    pub run_limiter: Arc<auth::RunLimiter>,
    /// Reverse proxies whose `X-Forwarded-For` is believed (TRUSTED_PROXIES).
    pub trusted_proxies: Arc<Vec<ipnet::IpNet>>,
    pub keyring: Arc<vault::Keyring>,
    pub registry: Arc<providers::Registry>,
    pub http: reqwest::Client,
    pub check_limiter: Arc<connection::CheckLimiter>,
    /// Executions that end, as they end (`?wait=true`), and runs that change (live
    /// status).
    pub run_events: run_events::RunEvents,
    /// Cancelled when the server stops: long answers (the live status streams) end, so
    /// that a graceful shutdown does not wait on them.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// Open live status streams per user (the server caps them).
    pub live_streams: Arc<std::sync::Mutex<std::collections::HashMap<uuid::Uuid, usize>>>,
}

impl AppState {
    pub fn new(
        pool: sqlx::PgPool,
        jwt_secret: &[u8],
        keyring: Arc<vault::Keyring>,
        registry: Arc<providers::Registry>,
    ) -> Self {
        Self {
            run_events: run_events::RunEvents::start(&pool),
            pool,
            jwt: Arc::new(auth::JwtKeys::from_secret(jwt_secret)),
            login_limiter: Arc::new(auth::LoginLimiter::default()),
            run_limiter: Arc::new(auth::RunLimiter::default()),
            trusted_proxies: Arc::new(Vec::new()),
            keyring,
            http: providers::http_client(),
            registry,
            check_limiter: Arc::new(connection::CheckLimiter::default()),
            shutdown: tokio_util::sync::CancellationToken::new(),
            live_streams: Arc::default(),
        }
    }

    /// *Testar conexão* with this state's parts.
    pub fn tester(&self) -> connection::Tester<'_> {
        connection::Tester {
            pool: &self.pool,
            keyring: &self.keyring,
            registry: &self.registry,
            http: &self.http,
            limiter: &self.check_limiter,
        }
    }
}
