//! Static files and compression (issue "Performance", item 3) through the real router: the
//! precompressed copy the browser accepts, a year's immutable cache for hashed names and
//! none for a miss, pages compressed on the way out and revalidated on every visit.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use leptos::prelude::LeptosOptions;
use sqlx::PgPool;
use tower::ServiceExt;

const SECRET: &[u8] = b"assets-test-secret-assets-test-secret";

/// A built site of our own in a fresh folder: one hashed wasm file with its brotli and
/// gzip copies, each with a different body so the test sees which one was sent.
fn site() -> std::path::PathBuf {
    let root = std::env::temp_dir().join(format!("portal-assets-{}", uuid::Uuid::new_v4()));
    let pkg = root.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("portal.Abc123.wasm"), b"raw wasm bytes").unwrap();
    std::fs::write(pkg.join("portal.Abc123.wasm.br"), b"brotli copy").unwrap();
    std::fs::write(pkg.join("portal.Abc123.wasm.gz"), b"gzip copy").unwrap();
    root
}

async fn app(pool: PgPool, root: &std::path::Path, hash_files: bool) -> axum::Router {
    let state = common::state_for(pool, SECRET);
    backend::queue::install(&state.pool).await.unwrap();
    backend::demo::seed_demo_users(&state.pool).await.unwrap();
    let options = LeptosOptions::builder()
        .output_name("portal")
        .site_root(root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .hash_files(hash_files)
        .build();
    server::router(state, options)
}

async fn get(app: &axum::Router, path: &str, accept: Option<&str>) -> axum::response::Response {
    let mut req = Request::get(path);
    if let Some(a) = accept {
        req = req.header(header::ACCEPT_ENCODING, a);
    }
    app.clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

fn header_of(res: &axum::response::Response, name: header::HeaderName) -> String {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn bytes(res: axum::response::Response) -> Vec<u8> {
    res.into_body().collect().await.unwrap().to_bytes().to_vec()
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn hashed_files_come_precompressed_and_cached_for_a_year(pool: PgPool) {
    let root = site();
    let app = app(pool, &root, true).await;
    let wasm = "/pkg/portal.Abc123.wasm";

    let res = get(&app, wasm, Some("gzip, deflate, br")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header_of(&res, header::CONTENT_ENCODING), "br");
    assert_eq!(
        header_of(&res, header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    assert!(header_of(&res, header::VARY).contains("accept-encoding"));
    assert_eq!(bytes(res).await, b"brotli copy");

    let res = get(&app, wasm, Some("gzip")).await;
    assert_eq!(header_of(&res, header::CONTENT_ENCODING), "gzip");
    assert_eq!(bytes(res).await, b"gzip copy");

    let res = get(&app, wasm, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header_of(&res, header::CONTENT_ENCODING), "");
    assert_eq!(bytes(res).await, b"raw wasm bytes");

    // An old hash asked after a deploy: a miss, never kept.
    let res = get(&app, "/pkg/portal.Old999.wasm", Some("br")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(header_of(&res, header::CACHE_CONTROL), "no-store");
    std::fs::remove_dir_all(root).ok();
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn unhashed_files_are_revalidated(pool: PgPool) {
    let root = site();
    let app = app(pool, &root, false).await;
    let res = get(&app, "/pkg/portal.Abc123.wasm", Some("br")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header_of(&res, header::CACHE_CONTROL), "no-cache, private");
    std::fs::remove_dir_all(root).ok();
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn answers_are_compressed_pages_are_not_and_both_are_revalidated(pool: PgPool) {
    let root = site();
    let app = app(pool.clone(), &root, false).await;
    // A page: revalidated, and never compressed (it may hold a secret and reflects its
    // query string: a compression-length attack needs both).
    let res = get(&app, "/login?next=%2Fintegracoes", Some("gzip, br")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header_of(&res, header::CONTENT_ENCODING), "");
    assert_eq!(header_of(&res, header::CACHE_CONTROL), "no-cache, private");
    let html = String::from_utf8(bytes(res).await).unwrap();
    assert!(html.contains("<html"), "{html}");

    // A server function's answer, for a signed-in caller: compressed as asked.
    let state = common::state_for(pool.clone(), SECRET);
    let token = common::token_for(&state, "admin@contmax.com.br").await;
    let mut req = common::post_form("/api/list-integrations", Some(&token), None, "");
    req.headers_mut()
        .insert(header::ACCEPT_ENCODING, "gzip".parse().unwrap());
    let res = app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header_of(&res, header::CONTENT_ENCODING), "gzip");
    assert_eq!(header_of(&res, header::CACHE_CONTROL), "no-cache, private");
    let body = bytes(res).await;
    assert_eq!(body.get(..2), Some(&[0x1f, 0x8b][..]), "a gzip stream");

    // What Chromium asks for gets brotli, and it decodes to the very answer sent
    // uncompressed.
    let answer = |encoding: Option<&'static str>| {
        let mut req = common::post_form("/api/list-integrations", Some(&token), None, "");
        if let Some(e) = encoding {
            req.headers_mut()
                .insert(header::ACCEPT_ENCODING, e.parse().unwrap());
        }
        app.clone().oneshot(req)
    };
    let plain = answer(None).await.unwrap();
    assert_eq!(header_of(&plain, header::CONTENT_ENCODING), "");
    let plain = bytes(plain).await;
    assert!(
        plain.starts_with(b"["),
        "{}",
        String::from_utf8_lossy(&plain)
    );
    let res = answer(Some("gzip, deflate, br, zstd")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header_of(&res, header::CONTENT_ENCODING), "br");
    let compressed = bytes(res).await;
    let mut decoded = Vec::new();
    brotli_decompressor::BrotliDecompress(&mut compressed.as_slice(), &mut decoded)
        .expect("a brotli stream");
    assert_eq!(decoded, plain);

    // The anonymous visitor's redirect keeps its own no-store.
    let res = get(&app, "/integracoes", Some("gzip")).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(header_of(&res, header::CACHE_CONTROL), "no-store");
    std::fs::remove_dir_all(root).ok();
}
