//! The public REST API: `POST /functions/v1/run-integration`, the old Edge Function's
//! contract, on top of the same orchestrator as the *Executar* button, and
//! `POST /functions/v1/test-connection` (*Testar conexão*: same body; 200
//! `{"ok", "message", "elapsed_ms"}`, 403 unless a tenant admin, 404, 429 when repeated
//! too fast; never starts a sync).
//!
//! - body `{"tenant_id": uuid, "provider_slug": text}`, `Authorization: Bearer <JWT>`;
//!   with `"rerun_of": uuid` it repeats that execution of the integration (*Tentar
//!   novamente*: trigger `rerun`, the new execution records which one it repeats; 404 when
//!   the caller cannot see that execution in this integration);
//! - 202 `{"execution_id"}`; with `?wait=true` the finished attempt (200) or, when the
//!   bounded wait ends first, 202 with `"status": "running"`;
//! - 400 malformed body (with field errors), 401 no or bad token, 403 not a member of the
//!   tenant, 404 unknown provider or no such integration, 409 disabled, 409 already running
//!   (with the running `execution_id`).
//!
//! `POST /functions/v1/cancel-run` (*Cancelar*): body `{"execution_id": uuid}`; 200
//! `{"execution_id", "status": "cancelled"}` when nothing had started it yet, 202
//! `{"execution_id", "status": "cancelling"}` when its worker stops it at the next
//! heartbeat; 400, 401, 404 (no such run for this caller), 409 already ended.
//!
//! `POST /functions/v1/resume-integration` (*Retomar*): body `{"tenant_id", "provider_slug"}`;
//! 200 `{"provider_slug", "paused": false}` when an integration paused after consecutive
//! failures is resumed; 400, 401, 403 (not a tenant admin), 404, 409 (not paused).

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use backend::audit::{self, Actor};
use backend::engine::{start_rerun, start_run, CancelOutcome};
use backend::runs::Claim;
use backend::scope::begin_as;
use backend::{AppState, Error};
use model::Trigger;

/// How long `?wait=true` waits at most before answering 202.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/functions/v1/run-integration", post(run_integration))
        .route("/functions/v1/test-connection", post(test_connection))
        .route("/functions/v1/cancel-run", post(cancel_run))
        .route("/functions/v1/resume-integration", post(resume_integration))
        .with_state(state)
}

#[derive(Deserialize)]
struct WaitQuery {
    #[serde(default)]
    wait: Option<String>,
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn from_backend(e: Error) -> Response {
    e.log_if_internal("rest api");
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    error(status, &e.to_string())
}

/// The body, validated field by field; the error is the 400 answer's JSON. `rerun_of`
/// (absent, null or an execution's UUID) is read where `rerun` says it may be given.
fn parse_body(body: &[u8], rerun: bool) -> Result<(Uuid, String, Option<Uuid>), Value> {
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => return Err(json!({ "error": "Corpo da requisição não é JSON válido." })),
    };
    let mut fields = Map::new();
    let tenant = match value.get("tenant_id") {
        Some(Value::String(s)) => match Uuid::parse_str(s) {
            Ok(u) => Some(u),
            Err(_) => {
                fields.insert("tenant_id".into(), "deve ser um UUID".into());
                None
            }
        },
        _ => {
            fields.insert("tenant_id".into(), "obrigatório (UUID)".into());
            None
        }
    };
    let slug = match value.get("provider_slug") {
        Some(Value::String(s))
            if !s.is_empty()
                && s.len() <= 64
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') =>
        {
            Some(s.clone())
        }
        Some(Value::String(_)) => {
            fields.insert(
                "provider_slug".into(),
                "deve conter só letras minúsculas, dígitos e hífens".into(),
            );
            None
        }
        _ => {
            fields.insert("provider_slug".into(), "obrigatório (texto)".into());
            None
        }
    };
    let rerun_of = match value.get("rerun_of").filter(|_| rerun) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if Uuid::parse_str(s).is_ok() => Uuid::parse_str(s).ok(),
        Some(_) => {
            fields.insert("rerun_of".into(), "deve ser o UUID de uma execução".into());
            None
        }
    };
    match (tenant, slug) {
        (Some(t), Some(s)) if fields.is_empty() => Ok((t, s, rerun_of)),
        _ => Err(json!({ "error": "Requisição inválida.", "fields": fields })),
    }
}

/// What both endpoints start with: the caller (401 first: an anonymous caller learns
/// nothing about the body), the body (400 with field errors), and a transaction scoped to
/// the caller who must belong to the tenant (403).
struct Scoped {
    claims: backend::scope::Claims,
    tenant_id: Uuid,
    slug: String,
    /// `rerun_of`, for `run-integration` only.
    rerun_of: Option<Uuid>,
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
}

async fn scoped(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    rerun: bool,
) -> Result<Scoped, Response> {
    let claims = backend::auth::caller(&state.pool, &state.jwt, headers)
        .await
        .map_err(from_backend)?;
    let (tenant_id, slug, rerun_of) =
        parse_body(body, rerun).map_err(|b| (StatusCode::BAD_REQUEST, Json(b)).into_response())?;
    let mut tx = begin_as(&state.pool, &claims)
        .await
        .map_err(|e| from_backend(e.into()))?;
    match backend::scope::is_tenant_member(&mut tx, tenant_id).await {
        Ok(true) => Ok(Scoped {
            claims,
            tenant_id,
            slug,
            rerun_of,
            tx,
        }),
        Ok(false) => Err(error(
            StatusCode::FORBIDDEN,
            "Você não tem acesso a esta organização.",
        )),
        Err(e) => Err(from_backend(e.into())),
    }
}

async fn run_integration(
    State(state): State<AppState>,
    Query(q): Query<WaitQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Scoped {
        claims,
        tenant_id,
        slug,
        rerun_of,
        mut tx,
    } = match scoped(&state, &headers, &body, true).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(e) = state.run_limiter.check(claims.sub) {
        return from_backend(e);
    }
    let wait = matches!(q.wait.as_deref(), Some("true" | "1"));
    // The audit trigger records the run requested, from the API, with this request's id.
    let bound = audit::bind(&mut tx, &Actor::api(&claims, audit::request_id(&headers))).await;
    if let Err(e) = bound {
        return from_backend(e);
    }
    if let Err(e) = backend::engine::check_runnable(&mut tx, &state.registry, &slug).await {
        return from_backend(e);
    }
    let claim = match rerun_of {
        Some(of) => start_rerun(&mut tx, tenant_id, &slug, of).await,
        None => start_run(&mut tx, tenant_id, &slug, Trigger::Api).await,
    };
    let claim = match claim {
        Ok(c) => c,
        Err(e) => return from_backend(e),
    };
    let execution_id = match claim {
        Claim::Started(id) => id,
        Claim::AlreadyRunning(id) => {
            return (
                StatusCode::CONFLICT,
                Json(json!({
                    "error": "A integração já está em execução.",
                    "execution_id": id,
                })),
            )
                .into_response()
        }
    };
    if let Err(e) = tx.commit().await {
        return from_backend(e.into());
    }
    if !wait {
        return (
            StatusCode::ACCEPTED,
            Json(json!({ "execution_id": execution_id })),
        )
            .into_response();
    }
    match wait_for_end(&state, &claims, execution_id).await {
        Ok(Some(row)) => (StatusCode::OK, Json(row)).into_response(),
        Ok(None) => (
            StatusCode::ACCEPTED,
            Json(json!({ "execution_id": execution_id, "status": "running" })),
        )
            .into_response(),
        Err(e) => from_backend(e),
    }
}

/// `POST /functions/v1/test-connection`: *Testar conexão* for API clients.
async fn test_connection(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Scoped {
        claims,
        tenant_id,
        slug,
        tx,
        ..
    } = match scoped(&state, &headers, &body, false).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let actor = Actor::api(&claims, audit::request_id(&headers));
    // Membership was the check; the test runs in its own transactions.
    drop(tx);
    match state.tester().run(&claims, &actor, tenant_id, &slug).await {
        Ok(check) => (StatusCode::OK, Json(check)).into_response(),
        Err(e) => from_backend(e),
    }
}

/// `POST /functions/v1/resume-integration`: *Retomar* for API clients (tenant admins).
async fn resume_integration(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Scoped {
        claims,
        tenant_id,
        slug,
        mut tx,
        ..
    } = match scoped(&state, &headers, &body, false).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let actor = Actor::api(&claims, audit::request_id(&headers));
    let result = async {
        backend::alerts::resume(&mut tx, tenant_id, &slug, &actor).await?;
        tx.commit().await?;
        Ok::<_, Error>(())
    }
    .await;
    match result {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({ "provider_slug": slug, "paused": false })),
        )
            .into_response(),
        Err(e) => from_backend(e),
    }
}

/// `POST /functions/v1/cancel-run`: *Cancelar* for API clients.
async fn cancel_run(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let claims = match backend::auth::caller(&state.pool, &state.jwt, &headers).await {
        Ok(c) => c,
        Err(e) => return from_backend(e),
    };
    let execution_id = match serde_json::from_slice::<Value>(&body) {
        Err(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "Corpo da requisição não é JSON válido.",
            )
        }
        Ok(v) => match v
            .get("execution_id")
            .and_then(Value::as_str)
            .map(Uuid::parse_str)
        {
            Some(Ok(id)) => id,
            _ => {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({
                        "error": "Requisição inválida.",
                        "fields": { "execution_id": "obrigatório (UUID)" },
                    })),
                )
                    .into_response()
            }
        },
    };
    let actor = Actor::api(&claims, audit::request_id(&headers));
    let result = async {
        let mut tx = begin_as(&state.pool, &claims).await?;
        let outcome = backend::engine::cancel_run(&mut tx, execution_id, &actor).await?;
        tx.commit().await?;
        Ok::<_, Error>(outcome)
    }
    .await;
    match result {
        Ok(CancelOutcome::Ended) => (
            StatusCode::OK,
            Json(json!({ "execution_id": execution_id, "status": "cancelled" })),
        )
            .into_response(),
        Ok(CancelOutcome::Requested) => (
            StatusCode::ACCEPTED,
            Json(json!({ "execution_id": execution_id, "status": "cancelling" })),
        )
            .into_response(),
        Err(e) => from_backend(e),
    }
}

/// Waits until the execution's last attempt is no longer running, for at most
/// [`MAX_WAIT`]: woken when the database says a run ended (`backend::run_events`), with a
/// look of its own every [`backend::run_events::FALLBACK_LOOK`] in case a notification was
/// missed. Each look is a short transaction scoped to the caller.
async fn wait_for_end(
    state: &AppState,
    claims: &backend::scope::Claims,
    execution_id: Uuid,
) -> backend::Result<Option<Value>> {
    let deadline = tokio::time::Instant::now() + MAX_WAIT;
    // Subscribed before the first look, so that an end between the two is not missed.
    let mut ended = state.run_events.subscribe();
    loop {
        let mut tx = begin_as(&state.pool, claims).await?;
        let row = backend::runs::last_attempt(&mut tx, execution_id).await?;
        tx.commit().await?;
        if let Some(row) = row.filter(|r| r.status != model::RunStatus::Running) {
            return Ok(Some(serde_json::to_value(row).unwrap_or(Value::Null)));
        }
        let next_look =
            (tokio::time::Instant::now() + backend::run_events::FALLBACK_LOOK).min(deadline);
        loop {
            match tokio::time::timeout_at(next_look, ended.recv()).await {
                Ok(Ok(id)) if id == execution_id => break,
                // Another run, or this receiver fell behind: keep waiting / look again.
                Ok(Ok(_)) => continue,
                Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) | Err(_) => break,
                // No listener any more: only the looks of our own are left.
                Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => {
                    tokio::time::sleep_until(next_look).await;
                    break;
                }
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(None);
        }
    }
}
