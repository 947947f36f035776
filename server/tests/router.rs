//! The HTTP surface through the real router (tower::ServiceExt), on a real database.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use backend::auth::JwtKeys;
use common::body_text;
use sqlx::PgPool;
use tower::ServiceExt;

const SECRET: &[u8] = b"router-test-secret-router-test-secret";

async fn app(pool: PgPool) -> axum::Router {
    common::router_for(pool, SECRET).await.0
}

async fn login_cookie(app: &axum::Router, email: &str, password: &str) -> axum::response::Response {
    let form = format!(
        "email={}&password={password}&next=%2Fintegracoes",
        email.replace('@', "%40")
    );
    app.clone()
        .oneshot(
            Request::post("/api/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap(),
        )
        .await
        .unwrap()
}

/// The session cookie (`name=value`) of a demo user signed in through the login form.
async fn signed_in(app: &axum::Router, email: &str) -> String {
    let res = login_cookie(app, email, backend::demo::DEMO_PASSWORD).await;
    res.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// `GET path` with that cookie.
async fn get_with(app: &axum::Router, path: &str, cookie: &str) -> axum::response::Response {
    app.clone()
        .oneshot(
            Request::get(path)
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap()
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn healthz_answers_when_the_database_does(pool: PgPool) {
    let app = app(pool).await;
    let res = app
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body_text(res).await, "ok");
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn an_anonymous_visitor_is_redirected_to_login_with_the_way_back(pool: PgPool) {
    let app = app(pool).await;
    for (path, next) in [("/", "/"), ("/integracoes", "/integracoes")] {
        let res = app
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FOUND, "{path}");
        let location = res.headers()[header::LOCATION].to_str().unwrap();
        assert_eq!(location, format!("/login?next={next}"));
    }
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn an_unknown_address_is_a_404_page_with_the_portal_header_and_ways_back(pool: PgPool) {
    let app = app(pool).await;
    let cookie = signed_in(&app, "equipe@pg.com.br").await;
    let res = get_with(&app, "/integracoes/x/y", &cookie).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let html = body_text(res).await;
    assert!(
        html.contains("<title>Página não encontrada · Portal Contmax</title>"),
        "{html}"
    );
    for part in [
        r#"<header class="app-header"><a href="/" class="brand">"#,
        r#"Portal Contmax</span></a></header>"#,
        "Página não encontrada</h1>",
        r#"<a class="btn btn-primary" href="/">Voltar ao início</a>"#,
        r#"<a class="btn" href="/integracoes">Integrações</a>"#,
    ] {
        assert!(html.contains(part), "missing {part}: {html}");
    }
    // The app's session resource is read here too, with the server's state (it used to
    // carry "estado do servidor ausente" to the browser), and answers who is signed in.
    assert!(!html.contains("estado do servidor ausente"), "{html}");
    assert!(html.contains("equipe@pg.com.br"), "{html}");
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn login_sets_an_httponly_session_cookie_and_the_portal_reads_the_database(pool: PgPool) {
    let app = app(pool).await;

    let bad = login_cookie(&app, "equipe@pg.com.br", "errada").await;
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    assert!(bad.headers().get(header::SET_COOKIE).is_none());
    assert!(body_text(bad).await.contains("E-mail ou senha inválidos."));

    let res = login_cookie(&app, "equipe@pg.com.br", backend::demo::DEMO_PASSWORD).await;
    assert!(
        res.status().is_redirection() || res.status().is_success(),
        "{}",
        res.status()
    );
    let set_cookie = res.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(set_cookie.starts_with("portal_session="));
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"));
    let cookie = set_cookie.split(';').next().unwrap().to_owned();

    let res = get_with(&app, "/", &cookie).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = body_text(res).await;
    assert!(
        html.contains("Integrações"),
        "the module grid comes from the database"
    );
    assert!(html.contains("Clientes P&amp;G") || html.contains("Clientes P&G"));
    assert!(
        !html.contains("Clientes Contmax"),
        "never another tenant's module"
    );

    // The same token as a Bearer header works for the API (server functions here).
    let token = cookie.trim_start_matches("portal_session=");
    let res = app
        .clone()
        .oneshot(common::post_form(
            "/api/list-integrations",
            Some(token),
            None,
            "",
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let json = body_text(res).await;
    assert!(json.contains("\"slug\":\"acessorias\""), "{json}");
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn server_functions_refuse_missing_forged_and_expired_tokens(pool: PgPool) {
    let app = app(pool).await;
    let other = JwtKeys::from_secret(b"another-secret-another-secret-another");
    let forged = other.issue(uuid::Uuid::new_v4(), "x@y.z").unwrap();
    for auth in [
        None,
        Some(format!("Bearer {forged}")),
        Some("Bearer not.a.token".to_owned()),
    ] {
        let mut req = Request::post("/api/list-integrations")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(a) = &auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        let res = app
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
    }
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_cross_site_post_is_refused_and_a_same_site_one_passes(pool: PgPool) {
    let app = app(pool).await;
    let form = "email=equipe%40pg.com.br&password=contmax123&next=%2F";
    let post = |origin: &'static str| {
        Request::post("/api/login")
            .header(header::HOST, "portal.example")
            .header(header::ORIGIN, origin)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap()
    };
    let res = app
        .clone()
        .oneshot(post("https://evil.example"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.headers().get(header::SET_COOKIE).is_none());
    let res = app.clone().oneshot(post("null")).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app.oneshot(post("https://portal.example")).await.unwrap();
    assert!(res.headers().get(header::SET_COOKIE).is_some());
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn repeated_failed_logins_on_one_account_get_429_in_portuguese(pool: PgPool) {
    let app = app(pool).await;
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(
            login_cookie(&app, "equipe@pg.com.br", "errada")
                .await
                .status(),
        );
    }
    assert_eq!(statuses[0], StatusCode::UNAUTHORIZED);
    assert_eq!(*statuses.last().unwrap(), StatusCode::TOO_MANY_REQUESTS);
    let res = login_cookie(&app, "equipe@pg.com.br", "errada").await;
    assert!(body_text(res).await.contains("Muitas tentativas de login"));
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn the_way_back_after_login_never_leaves_the_site_nor_breaks_the_answer(pool: PgPool) {
    let app = app(pool).await;
    // A tab the browser would drop (`//evil.example`), and a CR/LF that cannot go into a
    // `Location` header: both lead home, and neither is a 500.
    for next in [
        "%2F%09%2Fevil.example",
        "%2Fx%0D%0ASet-Cookie%3A%20a%3Db",
        "%2F%0A%2Fevil.example",
    ] {
        let form = format!(
            "email=equipe%40pg.com.br&password={}&next={next}",
            backend::demo::DEMO_PASSWORD
        );
        let res = app
            .clone()
            .oneshot(
                Request::post("/api/login")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    // A form posted without JavaScript, as a browser sends it.
                    .header(header::ACCEPT, "text/html")
                    .body(Body::from(form))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert!(res.status().is_redirection(), "{next}: {}", res.status());
        assert_eq!(res.headers()[header::LOCATION], "/", "{next}");
    }
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_page_renders_each_panel_once(pool: PgPool) {
    // Server rendering calls a closure child of a Suspense up to three times: when
    // `RequireUser` built the page in one, every panel's resource was created, fetched
    // and serialized for hydration two or three times (each server function ran again).
    let app = app(pool).await;
    let cookie = signed_in(&app, "admin@pg.com.br").await;
    for (path, marker) in [
        // The head (its chart) and the configuration form.
        ("/integracoes/acessorias", r#"\"chart_svg\""#),
        ("/integracoes/acessorias", r#"\"pause_after_failures\""#),
        // The tenant's numbers.
        ("/integracoes", r#"\"failing_now\""#),
    ] {
        let res = get_with(&app, path, &cookie).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let html = body_text(res).await;
        assert_eq!(
            html.matches(marker).count(),
            1,
            "{path}: {marker} serialized once"
        );
    }
}
