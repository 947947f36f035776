//! Cross-site request protection for state-changing requests, on top of SameSite=Lax
//! cookies: a browser's `POST` (or `PUT`, `PATCH`, `DELETE`) must come from this site.
//! Browsers send `Origin` on such requests; when it names another host the request is
//! refused with 403. Requests without `Origin` (API clients with a Bearer token, curl) pass,
//! unless `Sec-Fetch-Site` says the browser saw them as cross-site.

use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub async fn same_origin_writes(request: Request, next: Next) -> Response {
    let writes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if writes && is_cross_site(&request) {
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "Origem da requisição não permitida.",
        )
            .into_response();
    }
    next.run(request).await
}

fn is_cross_site(request: &Request) -> bool {
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        // "null" (sandboxed frames, some redirects) is never this site.
        let origin_host = origin
            .split_once("://")
            .map(|(_, rest)| rest.trim_end_matches('/'));
        return match (origin_host, host) {
            (Some(o), Some(h)) => !o.eq_ignore_ascii_case(h),
            _ => true,
        };
    }
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "cross-site")
}
