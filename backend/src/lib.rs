//! Server-only library of Portal Contmax · Integrações.
//!
//! Everything that touches Postgres lives here, and every query that acts for a user runs
//! inside [`scope::begin_as`]: a transaction that first sets the caller's JWT claims and the
//! `authenticated` role, so that row-level security decides what the caller sees.

pub mod auth;
pub mod charts;
pub mod config_form;
pub mod db;
pub mod demo;
pub mod engine;
pub mod error;
pub mod history;
pub mod integrations;
pub mod metrics;
pub mod portal;
pub mod providers;
pub mod queue;
pub mod redact;
pub mod runs;
pub mod sandbox;
pub mod schedule;
pub mod scope;

pub use error::{Error, Result};

use std::sync::Arc;

/// What the HTTP layer and the server functions share: the pool and the token keys.
#[derive(Clone)]
pub struct AppState {
    pub pool: sqlx::PgPool,
    pub jwt: Arc<auth::JwtKeys>,
    pub login_limiter: Arc<auth::LoginLimiter>,
}

impl AppState {
    pub fn new(pool: sqlx::PgPool, jwt_secret: &[u8]) -> Self {
        Self {
            pool,
            jwt: Arc::new(auth::JwtKeys::from_secret(jwt_secret)),
            login_limiter: Arc::new(auth::LoginLimiter::default()),
        }
    }
}
