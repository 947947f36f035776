//! Helpers shared by the router tests.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{header, Request};
use backend::AppState;
use http_body_util::BodyExt;
use leptos::prelude::LeptosOptions;
use sqlx::PgPool;

/// The real router over the test's database, with the queue and the demo users.
pub async fn router_for(pool: PgPool, secret: &[u8]) -> (axum::Router, AppState) {
    let state = state_for(pool, secret);
    router_with(state).await
}

/// [`router_for`] with a state the test adjusted (a limiter, say).
pub async fn router_with(state: AppState) -> (axum::Router, AppState) {
    backend::queue::install(&state.pool)
        .await
        .expect("queue installed");
    backend::demo::seed_demo_users(&state.pool).await.unwrap();
    let options = LeptosOptions::builder()
        .output_name("portal")
        .site_root("target/site")
        .site_pkg_dir("pkg")
        .build();
    (server::router(state.clone(), options), state)
}

/// The server's state as `main` builds it: a fresh vault key, the plugins with the sandbox.
pub fn state_for(pool: PgPool, secret: &[u8]) -> AppState {
    AppState::new(
        pool,
        secret,
        std::sync::Arc::new(backend::vault::Keyring::ephemeral()),
        std::sync::Arc::new(backend::providers::Registry::standard(true)),
    )
}

/// A form `POST` (how server functions are called), with an optional Bearer token and
/// cookie header.
pub fn post_form(
    path: &str,
    bearer: Option<&str>,
    cookie: Option<&str>,
    body: &str,
) -> Request<Body> {
    let mut req =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(token) = bearer {
        req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(cookie) = cookie {
        req = req.header(header::COOKIE, cookie);
    }
    req.body(Body::from(body.to_owned())).unwrap()
}

pub async fn body_text(res: axum::response::Response) -> String {
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The id of an organization by slug.
pub async fn org(pool: &PgPool, slug: &str) -> uuid::Uuid {
    sqlx::query_scalar("select id from public.organizacoes where slug = $1")
        .bind(slug)
        .fetch_one(pool)
        .await
        .expect("organization exists")
}

/// A session token for a demo user, signed with the router's secret.
pub async fn token_for(state: &AppState, email: &str) -> String {
    let id: uuid::Uuid = sqlx::query_scalar("select id from auth.users where email = $1")
        .bind(email)
        .fetch_one(&state.pool)
        .await
        .expect("demo user exists");
    state.jwt.issue(id, email).expect("token")
}

/// The connection string of the test's own database (for tools such as pg_dump).
pub fn database_url(pool: &PgPool) -> String {
    let o = pool.connect_options();
    format!(
        "postgres://{}@{}:{}/{}",
        o.get_username(),
        o.get_host(),
        o.get_port(),
        o.get_database().unwrap_or("postgres")
    )
}
