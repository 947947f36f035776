//! Server-side helpers for server functions: who is asking, and the shared state.
//! Every server function that acts for a user starts with [`session_scope`] (or
//! [`tenant_scope`]), or with [`caller_session`] and then [`begin`], and runs its SQL in
//! that transaction, scoped to the caller (`backend::scope::begin_as`).

use leptos::prelude::*;

use backend::scope::Claims;
use backend::AppState;

/// The state the server provides to every request's context.
pub fn state() -> Result<AppState, ServerFnError> {
    use_context::<AppState>().ok_or_else(|| ServerFnError::new("estado do servidor ausente"))
}

/// The request's headers.
pub async fn headers() -> Result<http::HeaderMap, ServerFnError> {
    leptos_axum::extract::<http::HeaderMap>()
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))
}

/// The caller's verified claims, or an error that says to sign in (and a 401 status).
pub async fn caller() -> Result<(AppState, Claims), ServerFnError> {
    let state = state()?;
    let headers = headers().await?;
    match backend::auth::caller(&state.pool, &state.jwt, &headers).await {
        Ok(claims) => Ok((state, claims)),
        Err(e) => Err(fail(e)),
    }
}

/// The caller and their session: who they are, their tenants, and the tenant chosen in the
/// header, with no transaction held: for a function with checks of its own before its
/// statements, which then opens one with [`begin`]. One that reads or writes at once starts
/// with [`session_scope`] instead.
pub async fn caller_session() -> Result<(AppState, Claims, model::SessionUser), ServerFnError> {
    // Read from the request before the first database await (see `session_scope`).
    let preferred = preferred_tenant().await?;
    let headers = headers().await?;
    let state = state()?;
    let (claims, user) = request_session()
        .session(&state.pool, &state.jwt, &headers, preferred.as_deref())
        .await
        .map_err(fail)?;
    Ok((state, claims, user))
}

/// [`caller_session`], and the transaction scoped to the caller that checked it, for the
/// function's own statements (`backend::auth::scoped_session`: the session's check, the
/// profile and the function's work share one BEGIN and COMMIT).
pub async fn session_scope() -> Result<
    (
        AppState,
        Claims,
        model::SessionUser,
        sqlx::Transaction<'static, sqlx::Postgres>,
    ),
    ServerFnError,
> {
    // Everything read from the request is read before the first database await: during
    // server rendering, a resource's future polled again after a pending await may no
    // longer see the request's parts ("should have had Parts…"), which made the page
    // render its resources twice and fail to hydrate.
    let preferred = preferred_tenant().await?;
    let headers = headers().await?;
    let state = state()?;
    let (claims, user, tx) = request_session()
        .scoped(&state.pool, &state.jwt, &headers, preferred.as_deref())
        .await
        .map_err(fail)?;
    Ok((state, claims, user, tx))
}

/// A transaction scoped to the caller, after [`caller_session`]: the one that read the
/// session when it was read for this call, or a new one.
pub async fn begin(
    state: &AppState,
    claims: &Claims,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, ServerFnError> {
    request_session()
        .begin(&state.pool, claims)
        .await
        .map_err(|e| fail(e.into()))
}

/// This request's session, read once: a page's panels share it (`RequestSession`, provided
/// per request by the server; a new one where none was provided).
pub fn request_session() -> backend::auth::RequestSession {
    use_context::<backend::auth::RequestSession>().unwrap_or_default()
}

/// The client's address, for rate limits: the connection's peer, or behind one of the
/// operator's `TRUSTED_PROXIES` what it forwarded (`backend::auth::client_address`).
pub async fn client_address() -> String {
    let Ok(info) = leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>().await
    else {
        return "unknown".to_owned();
    };
    let headers = headers().await.unwrap_or_default();
    let trusted = state()
        .map(|s| s.trusted_proxies.clone())
        .unwrap_or_default();
    backend::auth::client_address(info.0.ip(), &headers, &trusted).to_string()
}

/// The tenant slug remembered in the header's switcher.
pub async fn preferred_tenant() -> Result<Option<String>, ServerFnError> {
    let headers = headers().await?;
    Ok(backend::cookies::read(&headers, backend::cookies::TENANT))
}

/// Turns a backend error into a server function error with the right HTTP status. Database
/// errors are logged here and reach the browser only as a generic pt-BR message.
pub fn fail(e: backend::Error) -> ServerFnError {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        if let Ok(code) = http::StatusCode::from_u16(e.status()) {
            response.set_status(code);
        }
    }
    e.log_if_internal("server function");
    ServerFnError::new(e.to_string())
}

/// Whether cookies must be `Secure` (the site is served over https): see
/// `backend::cookies::secure`.
pub fn secure_cookies() -> bool {
    backend::cookies::secure()
}

/// Adds a `Set-Cookie` header to the response.
pub fn set_cookie(value: &str) {
    if let (Some(response), Ok(v)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::HeaderValue::from_str(value),
    ) {
        response.append_header(http::header::SET_COOKIE, v);
    }
}

/// A transaction scoped to the caller, for the tenant chosen in the header: what the
/// tenant's pages start with. No tenant chosen (a user without one) is a 404 in pt-BR.
pub async fn tenant_scope() -> Result<
    (
        AppState,
        model::SessionUser,
        uuid::Uuid,
        sqlx::Transaction<'static, sqlx::Postgres>,
    ),
    ServerFnError,
> {
    let (state, _, user, tx) = session_scope().await?;
    let Some(tenant) = user.current_tenant.as_ref().map(|t| t.id) else {
        return Err(fail(backend::Error::NotFound(
            "Nenhuma organização escolhida.".into(),
        )));
    };
    Ok((state, user, tenant, tx))
}

/// Ends a transaction that only read: dropped, not committed (a read has no outcome to
/// wait for). sqlx rolls it back as the connection goes back to the pool: its release
/// sends the `ROLLBACK` with the ping it sends anyway, off this request's path. With the
/// database a network hop away, that is a round trip less for each panel of a page.
pub fn end_read(tx: sqlx::Transaction<'static, sqlx::Postgres>) {
    drop(tx);
}

/// Commits a tenant-scoped transaction, mapping the error.
pub async fn commit(tx: sqlx::Transaction<'static, sqlx::Postgres>) -> Result<(), ServerFnError> {
    tx.commit().await.map_err(|e| fail(e.into()))
}

/// The caller as the audit trail records them: from the portal (UI), with this request's id.
pub async fn actor(user: &model::SessionUser) -> backend::audit::Actor {
    let request_id = headers()
        .await
        .ok()
        .and_then(|h| backend::audit::request_id(&h));
    backend::audit::Actor::user(user, backend::audit::Source::Ui, request_id)
}

/// The wasm chunks (file names without `.wasm`) that wasm-split says the lazy view whose
/// manifest key starts with `point` needs, from this build's manifest: with hashed file
/// names `__wasm_split_manifest.<hash>.json` (its hash in `hash.txt` beside the binary, as
/// Leptos reads it), else `__wasm_split_manifest.json`. Read once; empty when there is
/// none (every wasm build is split: `make build` and `make dev` pass `--split`, without
/// which the lazy routes' imports have no module to load).
pub fn split_chunks(options: &LeptosOptions, point: &str) -> Vec<String> {
    use std::collections::HashMap;
    use std::sync::OnceLock;
    static MANIFEST: OnceLock<HashMap<String, Vec<String>>> = OnceLock::new();
    let manifest = MANIFEST.get_or_init(|| {
        let read = || -> Option<HashMap<String, Vec<String>>> {
            let name = if options.hash_files {
                let hash_file = std::env::current_exe()
                    .ok()?
                    .parent()?
                    .join(options.hash_file.as_ref());
                let hashes = std::fs::read_to_string(hash_file).ok()?;
                let hash = hashes
                    .lines()
                    .find_map(|l| l.strip_prefix("manifest:"))?
                    .trim()
                    .to_owned();
                format!("__wasm_split_manifest.{hash}.json")
            } else {
                "__wasm_split_manifest.json".to_owned()
            };
            let path = std::path::Path::new(options.site_root.as_ref())
                .join(options.site_pkg_dir.as_ref())
                .join(name);
            serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
        };
        read().unwrap_or_default()
    });
    manifest
        .iter()
        .find(|(key, _)| key.starts_with(point))
        .map(|(_, chunks)| chunks.clone())
        .unwrap_or_default()
}
