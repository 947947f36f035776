//! The sandbox of the local HTTP test provider (`local-http`): an in-process Axum server
//! that tests and the demo point a tenant integration's `base_url` at.
//!
//! A `base_url` of `http://<addr>/s/<scenario>` picks the behaviour; the provider then calls
//! `GET <base_url>/records?page=N` with an `X-Execution-Id` header. Scenarios:
//! - `ok`: 3 pages of records, each record saying whether it was created, updated or
//!   unchanged; `partial`: the same with one failed record;
//! - `fail-<code>-<n>`: the first `n` calls of each execution answer `<code>` (503, 500,
//!   429 with `Retry-After: 1`), then as `ok`;
//! - `slow-<ms>`: as `ok`, each page after `<ms>` milliseconds;
//! - `once`: one page of one unchanged record (a provider that returns at once: the
//!   orchestrator benchmark);
//! - `hang`: never answers (until the client gives up);
//! - `auth`: 401; `garbage`: 200 with a body that is not JSON;
//! - `echo`: page 1 names a record after the caller's token, page 2 answers 422 with the
//!   token in its error (a provider that echoes credentials, for the canary tests).
//!
//! Every scenario wants `Authorization: Bearer sbx_<anything>` ([`TOKEN_PREFIX`]) and
//! answers 401 "token inválido" otherwise, like a real API with a wrong token. The
//! authorizations received can be read back through [`AuthLog`] (tests).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

/// Pages the `ok` scenario serves.
pub const PAGES: u32 = 3;
/// Records per page.
pub const PER_PAGE: u32 = 4;

#[derive(Clone, Default)]
struct Calls(Arc<Mutex<HashMap<String, u32>>>);

impl Calls {
    /// Counts a call of `key` and returns how many came before it.
    fn bump(&self, key: String) -> u32 {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(key).or_insert(0);
        *n += 1;
        *n - 1
    }
}

/// Tokens the sandbox accepts start with this.
pub const TOKEN_PREFIX: &str = "sbx_";

/// The `Authorization` headers the sandbox received, in order (tests check what the
/// provider sent).
#[derive(Clone, Default)]
pub struct AuthLog(Arc<Mutex<Vec<String>>>);

impl AuthLog {
    pub fn seen(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    fn push(&self, v: String) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(v);
    }
}

#[derive(Clone, Default)]
struct SandboxState {
    calls: Calls,
    auth: AuthLog,
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<u32>,
}

/// The sandbox's routes, recording authorizations into `auth`.
pub fn router(auth: AuthLog) -> Router {
    Router::new()
        .route("/s/{scenario}/records", get(records))
        .with_state(SandboxState {
            calls: Calls::default(),
            auth,
        })
}

/// Serves the sandbox on 127.0.0.1 at a free port, in the background; returns its address.
pub async fn spawn() -> std::io::Result<SocketAddr> {
    spawn_recording().await.map(|(addr, _)| addr)
}

/// [`spawn`], and the log of the authorizations it receives.
pub async fn spawn_recording() -> std::io::Result<(SocketAddr, AuthLog)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // A sandbox this process started: providers of this process may reach it.
    crate::net_guard::NetPolicy::process().allow_local_server(addr);
    let auth = AuthLog::default();
    let app = router(auth.clone());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "sandbox server stopped");
        }
    });
    Ok((addr, auth))
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": "token inválido"})),
    )
        .into_response()
}

async fn records(
    State(SandboxState { calls, auth }): State<SandboxState>,
    Path(scenario): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let authorization = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    auth.push(authorization.clone());
    let Some(token) = authorization
        .strip_prefix("Bearer ")
        .filter(|t| t.starts_with(TOKEN_PREFIX))
    else {
        return unauthorized();
    };
    let execution = headers
        .get("x-execution-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let page = q.page.unwrap_or(1).max(1);
    let parts: Vec<&str> = scenario.split('-').collect();
    match parts.as_slice() {
        ["ok"] => page_body(page, false),
        ["partial"] => page_body(page, true),
        ["once"] => Json(json!({
            "data": [{"id": 1, "nome": "Empresa 1 Ltda", "cnpj": "11222333000101", "acao": "unchanged"}],
            "page": 1,
            "total_pages": 1,
        }))
        .into_response(),
        ["echo"] if page == 1 => Json(json!({
            "data": [{"id": 1, "nome": format!("Empresa do token {token}"), "acao": "created"}],
            "page": 1,
            "total_pages": 2,
        }))
        .into_response(),
        ["echo"] => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": format!("o token {token} não tem acesso à página {page}")})),
        )
            .into_response(),
        ["auth"] => (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid token"})),
        )
            .into_response(),
        ["garbage"] => (StatusCode::OK, "<html>not json</html>").into_response(),
        ["hang"] => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            page_body(page, false)
        }
        ["slow", ms] => {
            let ms: u64 = ms.parse().unwrap_or(500);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            page_body(page, false)
        }
        ["fail", code, n] => {
            let code: u16 = code.parse().unwrap_or(503);
            let n: u32 = n.parse().unwrap_or(1);
            if calls.bump(format!("{scenario}:{execution}")) < n {
                let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                let mut resp = (status, Json(json!({"error": "try again"}))).into_response();
                if code == 429 {
                    resp.headers_mut()
                        .insert("retry-after", axum::http::HeaderValue::from_static("1"));
                }
                resp
            } else {
                page_body(page, false)
            }
        }
        _ => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "unknown scenario"})),
        )
            .into_response(),
    }
}

fn page_body(page: u32, with_failure: bool) -> Response {
    if page > PAGES {
        return Json(json!({"data": [], "page": page, "total_pages": PAGES})).into_response();
    }
    let data: Vec<_> = (0..PER_PAGE)
        .map(|i| {
            let n = (page - 1) * PER_PAGE + i + 1;
            let acao = if with_failure && n == 2 {
                "failed"
            } else {
                match n % 3 {
                    0 => "unchanged",
                    1 => "created",
                    _ => "updated",
                }
            };
            json!({
                "id": n,
                "nome": format!("Empresa {n} Ltda"),
                "cnpj": format!("{:014}", 11_222_333_000_100u64 + u64::from(n)),
                "acao": acao,
            })
        })
        .collect();
    Json(json!({"data": data, "page": page, "total_pages": PAGES})).into_response()
}
