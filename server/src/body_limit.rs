//! Request bodies of at most [`MAX_BODY_BYTES`](crate::MAX_BODY_BYTES): a body that says
//! it is larger is a 413 before anything reads it (tower-http's limit), and one that says
//! nothing (chunked) is read whole here, up to the limit, before the page or server
//! function sees it: past the limit it is a 413 too, never the 500 a server function
//! gives when its body breaks off in the middle.

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The answer to a body over the limit.
fn too_large() -> Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        "Requisição grande demais (limite de 64 KiB).",
    )
        .into_response()
}

/// Reads the body whole, up to `limit` bytes, then hands the request on.
pub async fn read_whole(limit: usize, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(e) => {
            if over_the_limit(&e) {
                too_large()
            } else {
                // The client went away mid-body: nothing to answer to.
                (StatusCode::BAD_REQUEST, "Corpo da requisição incompleto.").into_response()
            }
        }
    }
}

/// Whether the limit (ours or an outer layer's) is what broke the body off.
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
