//! The built site's files, served like a production site: `/pkg` (the wasm, its JS glue and
//! the stylesheet) from the files cargo-leptos wrote, the brotli or gzip copy it made at
//! build time (`--precompress`) when the browser accepts one, and, when the names carry a
//! content hash (`hash-files`), cached for a year as immutable. Pages and server functions
//! are compressed as they are sent and revalidated on every visit (`no-cache`).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;
use leptos::prelude::LeptosOptions;
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// A year, the longest a cache keeps anything: a hashed name never changes its content.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Pages and answers: always asked again (a 304 costs one round trip), never shared.
pub const REVALIDATE: &str = "no-cache, private";

/// `/pkg/*` from `<site-root>/<site-pkg-dir>`. Without hashed names (a development build)
/// the files are revalidated instead, since the same name gets new content. Only a file
/// found is cached: a 404 (an old hash asked after a deploy) is asked again next time.
pub fn pkg_router(options: &LeptosOptions) -> Router {
    let dir = std::path::Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    let cache = if options.hash_files {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let mark = move |mut res: Response| async move {
        let value = if res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED {
            cache
        } else {
            "no-store"
        };
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
        // The same address answers brotli, gzip or plain: caches must keep them apart.
        res.headers_mut()
            .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        res
    };
    Router::new().nest_service(
        &format!("/{}", options.site_pkg_dir),
        Router::new()
            .fallback_service(files)
            .layer(axum::middleware::map_response(mark)),
    )
}

/// `cache-control: no-cache, private` on responses that set none.
pub fn revalidate() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(
        header::CACHE_CONTROL,
        HeaderValue::from_static(REVALIDATE),
    )
}

/// Brotli or gzip for what is made per request (HTML, server functions, the JSON API),
/// as the browser asks; a response already encoded (a precompressed file) and event
/// streams pass as they are (tower-http's default predicate).
pub fn compression() -> CompressionLayer {
    CompressionLayer::new().br(true).gzip(true)
}
