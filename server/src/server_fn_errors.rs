//! Server functions' own failures, in the portal's terms. Leptos answers every error of a
//! server function with 500 and an English text, including a request whose arguments it
//! could not read (a missing or repeated field, a JSON body where a form is expected). A
//! caller's mistake is a 400 here, with a pt-BR message the client still decodes (`ServerError|…`, Leptos's own error encoding); an error the function
//! returned itself is left as it is (its status and message are already ours).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Leptos's header on a server function's error answer.
const ERROR_HEADER: &str = "serverfnerror";

/// The message of a request whose arguments could not be read.
pub const BAD_ARGUMENTS: &str =
    "Requisição inválida: parâmetros ausentes, repetidos ou em formato inesperado.";
/// The message of a failure the server function did not describe itself.
const INTERNAL: &str = "Erro interno do servidor. Tente novamente.";

/// Error answers are a line or two, but an argument error may quote the request (a
/// repeated key, whole): bounded above what a 64 KiB body can make of it.
const MAX_ERROR_BODY: usize = 1024 * 1024;

pub async fn in_pt_br(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    // A plain form's post gets its error in the redirect back (Leptos's `form-redirects`).
    if !response.headers().contains_key(ERROR_HEADER) || response.status().is_redirection() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let path = parts.headers.get(ERROR_HEADER).cloned();
    let bytes = match axum::body::to_bytes(body, MAX_ERROR_BODY).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::error!(error = %e, "a server function's error answer could not be read");
            return encoded(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL, path);
        }
    };
    let kind = bytes
        .iter()
        .position(|&b| b == b'|')
        .map(|i| &bytes[..i])
        .unwrap_or_default();
    match kind {
        // Raised by our own code (`ssr::fail` and friends), with its status set.
        b"ServerError" | b"WrappedServerFn" => Response::from_parts(parts, Body::from(bytes)),
        // The request could not be read as the function's arguments.
        b"Args" | b"MissingArg" | b"Deserialization" => {
            encoded(StatusCode::BAD_REQUEST, BAD_ARGUMENTS, path)
        }
        // Anything else is ours to fix, and its text may name internals.
        _ => {
            tracing::error!(
                error = %String::from_utf8_lossy(&bytes),
                "server function failed outside its body"
            );
            encoded(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL, path)
        }
    }
}

/// An answer the Leptos client decodes as `ServerFnError::ServerError(message)`, under
/// Leptos's error header (the function's path) when there is one.
pub fn encoded(status: StatusCode, message: &str, path: Option<HeaderValue>) -> Response {
    let mut response = (status, format!("ServerError|{message}")).into_response();
    let headers = response.headers_mut();
    if let Some(path) = path {
        headers.insert(ERROR_HEADER, path);
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
