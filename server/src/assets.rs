//! The built site's files, served like a production site: `/pkg` (the wasm, its JS glue and
//! the stylesheet) from the files cargo-leptos wrote, the brotli or gzip copy it made at
//! build time (`--precompress`) when the browser accepts one, and, when the names carry a
//! content hash (`hash-files`), cached for a year as immutable. Server functions are
//! compressed as they are sent (pages are not: see [`compression`]); pages and answers are
//! revalidated on every visit (`no-cache`).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;
use leptos::prelude::LeptosOptions;
use tower_http::compression::predicate::{And, DefaultPredicate, NotForContentType, Predicate};
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

/// What [`compression`] compresses: tower-http's default (not an already encoded
/// response, not event streams, images or tiny bodies) and never HTML.
pub type Compressible = And<DefaultPredicate, NotForContentType>;

/// Brotli or gzip for what is made per request — server functions and the JSON API — as
/// the client asks. Not HTML: a page can be fetched cross-site by a top-level GET with the
/// session cookie (SameSite=Lax), reflects its query string, and may carry a secret (the
/// OneCode webhook address of a tenant admin), which is what a compression-length attack
/// (BREACH) needs. Server functions are POSTs a cross-site page cannot send with the
/// cookie (and the origin check refuses).
pub fn compression() -> CompressionLayer<Compressible> {
    CompressionLayer::new()
        .br(true)
        .gzip(true)
        .compress_when(DefaultPredicate::new().and(NotForContentType::const_new("text/html")))
}
