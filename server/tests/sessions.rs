//! Sessions the server can end (issue "Security", items 2 and 7), through the real router
//! on a real database: signing out, signing out everywhere, and deactivating a user stop
//! their tokens at once, for pages, server functions and the JSON API.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use sqlx::PgPool;
use tower::ServiceExt;

const SECRET: &[u8] = b"sessions-test-secret-sessions-test-secret";

/// The login server function's answer for a demo user with the demo password.
async fn login(app: &axum::Router, email: &str) -> axum::response::Response {
    let form = format!(
        "email={}&password={}&next=%2F",
        email.replace('@', "%40"),
        backend::demo::DEMO_PASSWORD
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

/// Signs in through the login server function; the session cookie's `name=value`.
async fn sign_in(app: &axum::Router, email: &str) -> String {
    let res = login(app, email).await;
    let set_cookie = res
        .headers()
        .get(header::SET_COOKIE)
        .expect("a session cookie")
        .to_str()
        .unwrap();
    set_cookie.split(';').next().unwrap().to_owned()
}

fn token_of(cookie: &str) -> &str {
    cookie.split_once('=').map(|(_, v)| v).unwrap_or_default()
}

/// What each surface answers for this token: a server function, a page, the JSON API.
async fn answers(
    app: &axum::Router,
    pool: &PgPool,
    cookie: &str,
) -> (StatusCode, StatusCode, StatusCode) {
    let server_fn = app
        .clone()
        .oneshot(common::post_form(
            "/api/list-integrations",
            Some(token_of(cookie)),
            None,
            "",
        ))
        .await
        .unwrap()
        .status();
    let page = app
        .clone()
        .oneshot(
            Request::get("/integracoes")
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap()
        .status();
    let contmax = common::org(pool, "contmax").await;
    let api = app
        .clone()
        .oneshot(
            Request::post("/functions/v1/run-integration")
                .header(
                    header::AUTHORIZATION,
                    format!("Bearer {}", token_of(cookie)),
                )
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(format!(
                    r#"{{"tenant_id":"{contmax}","provider_slug":"nao-existe"}}"#
                )))
                .unwrap(),
        )
        .await
        .unwrap()
        .status();
    (server_fn, page, api)
}

fn signed_in(a: (StatusCode, StatusCode, StatusCode)) -> bool {
    a.0 == StatusCode::OK && a.1 == StatusCode::OK && a.2 != StatusCode::UNAUTHORIZED
}

fn signed_out(a: (StatusCode, StatusCode, StatusCode)) -> bool {
    a.0 == StatusCode::UNAUTHORIZED && a.1 == StatusCode::FOUND && a.2 == StatusCode::UNAUTHORIZED
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn signing_out_ends_that_session_only(pool: PgPool) {
    let (app, _) = common::router_for(pool.clone(), SECRET).await;
    let laptop = sign_in(&app, "admin@contmax.com.br").await;
    let phone = sign_in(&app, "admin@contmax.com.br").await;
    assert!(signed_in(answers(&app, &pool, &laptop).await));

    let res = app
        .clone()
        .oneshot(common::post_form("/api/logout", None, Some(&laptop), ""))
        .await
        .unwrap();
    assert!(res.status().is_redirection() || res.status().is_success());
    // The old token, kept by whoever copied it, no longer works anywhere.
    let a = answers(&app, &pool, &laptop).await;
    assert!(signed_out(a), "{a:?}");
    let a = answers(&app, &pool, &phone).await;
    assert!(signed_in(a), "the other device goes on: {a:?}");
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn signing_out_everywhere_ends_every_session_of_the_user(pool: PgPool) {
    let (app, state) = common::router_for(pool.clone(), SECRET).await;
    let laptop = sign_in(&app, "admin@contmax.com.br").await;
    let phone = sign_in(&app, "admin@contmax.com.br").await;
    let colleague = sign_in(&app, "equipe@contmax.com.br").await;
    // An API client's token that names no session (as Supabase's).
    let api_token = format!(
        "portal_session={}",
        common::token_for(&state, "admin@contmax.com.br").await
    );
    assert!(signed_in(answers(&app, &pool, &api_token).await));

    let res = app
        .clone()
        .oneshot(common::post_form("/api/logout-all", None, Some(&phone), ""))
        .await
        .unwrap();
    assert!(res.status().is_redirection() || res.status().is_success());
    for cookie in [&laptop, &phone, &api_token] {
        let a = answers(&app, &pool, cookie).await;
        assert!(signed_out(a), "{a:?}");
    }
    assert!(signed_in(answers(&app, &pool, &colleague).await));
    // Signing in again works at once.
    let again = sign_in(&app, "admin@contmax.com.br").await;
    assert!(signed_in(answers(&app, &pool, &again).await));
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_deactivated_user_is_refused_on_the_next_request_and_at_sign_in(pool: PgPool) {
    let (app, _) = common::router_for(pool.clone(), SECRET).await;
    let cookie = sign_in(&app, "equipe@contmax.com.br").await;
    assert!(signed_in(answers(&app, &pool, &cookie).await));
    sqlx::query(
        "update public.profiles set ativo = false
         where id = (select id from auth.users where email = 'equipe@contmax.com.br')",
    )
    .execute(&pool)
    .await
    .expect("deactivated");
    let a = answers(&app, &pool, &cookie).await;
    assert!(signed_out(a), "{a:?}");
    let res = login(&app, "equipe@contmax.com.br").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers().get(header::SET_COOKIE).is_none());
    assert!(common::body_text(res).await.contains("desativado"));
}
