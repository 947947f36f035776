//! The server: configuration from the environment, start-up, and the Axum router.

pub mod api;
pub mod assets;
pub mod body_limit;
pub mod config;
pub mod demo_sandboxes;
pub mod live;
pub mod origin_check;
pub mod sandbox_cli;
pub mod server_fn_errors;
pub mod session_gate;
pub mod webhook;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};

use app::{shell, App};
use backend::AppState;

/// Largest request body of a page, a server function or the JSON API.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The whole HTTP surface: the Leptos pages and server functions, and `/healthz`.
pub fn router(state: AppState, leptos_options: LeptosOptions) -> Router {
    let routes = generate_route_list(App);
    let pkg = assets::pkg_router(&leptos_options);
    let health = Router::new()
        .route("/healthz", get(healthz))
        .with_state(state.clone());
    let pages = Router::new()
        .leptos_routes_with_context(&leptos_options, routes, request_context(state.clone()), {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        // An unknown address renders the 404 page with the same context: the app's session
        // resource reads the session there too (without it, the page carried its error).
        .fallback(leptos_axum::file_and_error_handler_with_context(
            request_context(state.clone()),
            shell,
        ))
        .with_state(leptos_options);
    // Bodies are small everywhere but the webhook (which sets its own 256 KiB): larger is
    // a pt-BR 413 before the handler reads it.
    use body_limit::{read_whole, Answer};
    health
        .merge(
            api::router(state.clone()).layer(axum::middleware::from_fn(|req, next| {
                read_whole(MAX_BODY_BYTES, Answer::Json, req, next)
            })),
        )
        .merge(webhook::router(state.clone()))
        .merge(live::router(state.clone()))
        .merge(
            pages
                .layer(axum::middleware::from_fn(server_fn_errors::in_pt_br))
                .layer(axum::middleware::from_fn(|req, next| {
                    read_whole(MAX_BODY_BYTES, Answer::Text, req, next)
                })),
        )
        .layer(assets::revalidate())
        // Static files keep their own cache headers and precompressed copies.
        .merge(pkg)
        .layer(axum::middleware::from_fn_with_state(
            state,
            session_gate::require_session,
        ))
        .layer(axum::middleware::from_fn(origin_check::same_origin_writes))
        .layer(assets::compression())
        .layer(tower_http::trace::TraceLayer::new_for_http())
        // Every request gets an `x-request-id` of ours (see below), which the audit trail
        // records and the response returns.
        .layer(tower_http::request_id::PropagateRequestIdLayer::x_request_id())
        .layer(tower_http::request_id::SetRequestIdLayer::x_request_id(
            tower_http::request_id::MakeRequestUuid,
        ))
        // The id is always ours: a client cannot choose what the audit trail records.
        .layer(axum::middleware::map_request(drop_client_request_id))
}

/// What every page's rendering finds in its context: the state, and this request's
/// session reading (the gate's for a page, else a new one), which the page's panels share.
fn request_context(state: AppState) -> impl Fn() + Clone + Send + 'static {
    move || {
        provide_context(state.clone());
        let session = use_context::<axum::http::request::Parts>()
            .and_then(|p| p.extensions.get::<backend::auth::RequestSession>().cloned())
            .unwrap_or_default();
        provide_context(session);
    }
}

async fn drop_client_request_id(mut req: axum::extract::Request) -> axum::extract::Request {
    req.headers_mut().remove("x-request-id");
    req
}

/// Liveness and database reachability, for operators and load balancers.
async fn healthz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match sqlx::query("select 1").execute(&state.pool).await {
        Ok(_) => (StatusCode::OK, "ok"),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}
