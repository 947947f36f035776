//! Request bodies are bounded everywhere, and a body over the bound is always the same
//! answer: 413 with a pt-BR message (JSON `{"error"}` on the JSON API and the webhook;
//! Leptos's error encoding on server functions, so their client shows it; text elsewhere),
//! never tower-http's or axum's English text and never the 500 a server function gives
//! when its body breaks off in the middle.
//!
//! A body that says it is larger (`content-length`) is refused before anything reads it;
//! one that says nothing (chunked) is read whole here, up to the bound, before the handler
//! sees it.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// How a refusal is written: the JSON API's `{"error"}`, or text on the pages' router (in
/// Leptos's error encoding under `/api/`, where the server functions are).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Json,
    Text,
}

fn refusal(status: StatusCode, message: &str, answer: Answer, path: &str) -> Response {
    match answer {
        Answer::Json => (status, Json(serde_json::json!({ "error": message }))).into_response(),
        Answer::Text if path.starts_with("/api/") => {
            crate::server_fn_errors::encoded(status, message, None)
        }
        Answer::Text => (status, message.to_owned()).into_response(),
    }
}

/// The message of a body over `limit` bytes.
pub fn too_large_message(limit: usize) -> String {
    format!("Requisição grande demais (limite de {} KiB).", limit / 1024)
}

/// Reads the body whole, up to `limit` bytes, then hands the request on.
pub async fn read_whole(limit: usize, answer: Answer, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let path = request.uri().path().to_owned();
    let too_large = || {
        refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            &too_large_message(limit),
            answer,
            &path,
        )
    };
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large();
    }
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(e) if over_the_limit(&e) => too_large(),
        // The client went away mid-body: nothing to answer to.
        Err(_) => refusal(
            StatusCode::BAD_REQUEST,
            "Corpo da requisição incompleto.",
            answer,
            &path,
        ),
    }
}

/// Whether the bound is what broke the body off.
fn over_the_limit(e: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = c.source();
    }
    false
}
