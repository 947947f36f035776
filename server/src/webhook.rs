//! `POST /functions/v1/onecode-webhook/<token>`: OneCode's deliveries, one address per
//! tenant integration (the token is shown on the detail page). The old single address,
//! `POST /functions/v1/onecode-webhook` with the tenant's slug in `x-onecode-source`, keeps
//! working for installations configured that way.
//!
//! The raw body is authenticated before anything is read from it: `X-Jupiter-Signature:
//! sha256=<hex HMAC-SHA256>` keyed by the tenant's webhook secret from the vault, or that
//! secret itself in `x-onecode-secret` (constant-time comparisons). Then the event is
//! stored with its processing job and only then answered 200; a replay is answered 200 and
//! not stored again.
//!
//! 401 wrong or missing signature, 404 unknown address, 413 body over [`MAX_BODY`] (256 KiB), 400
//! not an event (`{"data": {"object", "action", "payload"}}`), 503 when it could not be
//! stored (OneCode retries). Nothing is stored unless authenticated and well formed.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use secrecy::ExposeSecret;
use serde_json::json;

use backend::providers::onecode::{signature, webhook, WEBHOOK_SECRET_FIELD};
use backend::AppState;

/// The largest delivery accepted: a message event is a few KiB (its text, not its media).
pub const MAX_BODY: usize = 256 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/functions/v1/onecode-webhook", post(by_source))
        .route("/functions/v1/onecode-webhook/{token}", post(by_token))
        .layer(axum::middleware::from_fn(|req, next| {
            crate::body_limit::read_whole(MAX_BODY, crate::body_limit::Answer::Json, req, next)
        }))
        .with_state(state)
}

fn answer(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn unauthorized() -> Response {
    answer(
        StatusCode::UNAUTHORIZED,
        "Assinatura do webhook ausente ou inválida.",
    )
}

async fn by_token(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Tokens are 64 hex digits; anything else is not looked up.
    if token.len() > 128 || !token.chars().all(|c| c.is_ascii_alphanumeric()) {
        return answer(StatusCode::NOT_FOUND, "Endereço de webhook desconhecido.");
    }
    match webhook::target(&state.pool, webhook::Address::Token(&token)).await {
        Ok(Some(target)) => receive(&state, target, &headers, &body).await,
        Ok(None) => answer(StatusCode::NOT_FOUND, "Endereço de webhook desconhecido."),
        Err(e) => unavailable(e),
    }
}

async fn by_source(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let source = headers
        .get("x-onecode-source")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 128);
    let Some(source) = source else {
        // Without a source nothing says whose secret to check.
        return unauthorized();
    };
    match webhook::target(&state.pool, webhook::Address::Source(source)).await {
        Ok(Some(target)) => receive(&state, target, &headers, &body).await,
        // An unknown tenant is answered like a wrong secret: the header is not an oracle
        // for which tenants exist.
        Ok(None) => unauthorized(),
        Err(e) => unavailable(e),
    }
}

fn unavailable(e: backend::Error) -> Response {
    e.log_if_internal("onecode webhook");
    answer(
        StatusCode::SERVICE_UNAVAILABLE,
        "Não foi possível registrar o evento agora; tente de novo.",
    )
}

async fn receive(
    state: &AppState,
    target: webhook::Target,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let secret = match secret_of(state, &target).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            tracing::warn!(tenant = %target.tenant_slug, "OneCode webhook delivery without a webhook secret configured");
            return unauthorized();
        }
        Err(e) => return unavailable(e),
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let authentic = match (header("x-jupiter-signature"), header("x-onecode-secret")) {
        (Some(sig), _) => signature::verify(secret.expose_secret().as_bytes(), body, sig),
        (None, Some(shared)) => signature::same_secret(secret.expose_secret().as_bytes(), shared),
        (None, None) => false,
    };
    if !authentic {
        return unauthorized();
    }
    let event = match webhook::parse(body) {
        Ok(e) => e,
        Err(why) => return answer(StatusCode::BAD_REQUEST, why),
    };
    match webhook::store(&state.pool, &target, &event).await {
        Ok(stored) => (
            StatusCode::OK,
            Json(json!({ "ok": true, "duplicate": !stored })),
        )
            .into_response(),
        Err(e) => unavailable(e),
    }
}

/// The tenant integration's webhook secret: the vault's, or the environment's for
/// installations that kept it there.
async fn secret_of(
    state: &AppState,
    target: &webhook::Target,
) -> backend::Result<Option<secrecy::SecretString>> {
    let mut tx = backend::scope::begin_service(&state.pool).await?;
    let inputs =
        backend::vault::run_inputs(&mut tx, &state.keyring, target.tenant_id, "onecode").await?;
    tx.commit().await?;
    Ok(inputs
        .and_then(|i| i.secrets.get(WEBHOOK_SECRET_FIELD).ok().cloned())
        .filter(|s| !s.expose_secret().trim().is_empty()))
}
