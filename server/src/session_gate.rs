//! Pages need a session: an anonymous (or expired) visitor asking for a page gets a 302 to
//! the login page with the way back in `next`, before any rendering. This works without
//! JavaScript; the client-side `RequireUser` covers navigation after hydration.

use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use backend::AppState;

/// Paths anyone may load: the login page, server functions (they check the caller
/// themselves), static files, health, and the public API (Bearer or signature checked).
const PUBLIC_PREFIXES: &[&str] = &[
    "/login",
    "/api/",
    "/pkg/",
    "/healthz",
    "/functions/",
    "/favicon",
];

/// What must be escaped inside the `next` query value.
const QUERY_VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'=');

pub async fn require_session(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let is_page =
        request.method() == Method::GET && !PUBLIC_PREFIXES.iter().any(|p| path.starts_with(p));
    // The session read here is the page's: its panels take it (and the transaction that
    // read it) instead of reading it again (`RequestSession`, in the Leptos context; the
    // first panel to ask takes the transaction). A path no page answers (a 404)
    // reads it too, and its unused transaction rolls back when the request ends.
    let session = backend::auth::RequestSession::default();
    let signed_in = !is_page || {
        let headers = request.headers();
        let preferred = backend::cookies::read(headers, backend::cookies::TENANT);
        session
            .check(&state.pool, &state.jwt, headers, preferred.as_deref())
            .await
            .is_ok()
    };
    if is_page && signed_in {
        request.extensions_mut().insert(session);
    }
    if !signed_in {
        let wanted = request
            .uri()
            .path_and_query()
            .map(|pq| pq.as_str())
            .unwrap_or("/");
        let target = format!("/login?next={}", utf8_percent_encode(wanted, QUERY_VALUE));
        let mut response = Redirect::to(&target).into_response();
        // A 302 (not axum's 303) is what browsers and crawlers expect for a GET.
        *response.status_mut() = axum::http::StatusCode::FOUND;
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
        return response;
    }
    next.run(request).await
}
