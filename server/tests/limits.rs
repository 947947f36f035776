//! Unbounded input (issue "Security", item 8), through the real router on a real
//! database: bodies over the limit are 413 before anything reads them, over-long fields
//! are refused in pt-BR (never a 500), and a user starting runs in a loop gets 429.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use sqlx::PgPool;
use tower::ServiceExt;

const SECRET: &[u8] = b"limits-test-secret-limits-test-secret";

fn big_post(path: &str, content_type: &str, bytes: usize) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_LENGTH, bytes)
        .body(Body::from("a".repeat(bytes)))
        .unwrap()
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn bodies_over_the_limit_are_413_and_change_nothing(pool: PgPool) {
    let (app, _) = common::router_for(pool.clone(), SECRET).await;
    let sessions = "select count(*) from public.portal_sessions";
    let logs = "select count(*) from public.integration_logs";
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .expect(sql)
        }
    };
    let before = (count(sessions).await, count(logs).await);
    for (path, ct) in [
        ("/api/login", "application/x-www-form-urlencoded"),
        (
            "/api/list-integrations",
            "application/x-www-form-urlencoded",
        ),
        ("/functions/v1/run-integration", "application/json"),
    ] {
        let res = app
            .clone()
            .oneshot(big_post(path, ct, server::MAX_BODY_BYTES + 1))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        assert_refusal_in_pt_br(path, res).await;
        // The same body streamed in chunks with no length declared: refused once read
        // past the limit.
        let chunks =
            (0..=server::MAX_BODY_BYTES / 4096).map(|_| Ok::<_, std::io::Error>(vec![b'a'; 4096]));
        let streamed = Request::post(path)
            .header(header::CONTENT_TYPE, ct)
            .body(Body::from_stream(futures::stream::iter(chunks)))
            .unwrap();
        let res = app.clone().oneshot(streamed).await.unwrap();
        assert_eq!(
            res.status(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "{path}, streamed"
        );
        assert_refusal_in_pt_br(path, res).await;
    }
    assert_eq!((count(sessions).await, count(logs).await), before);
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn malformed_server_function_arguments_are_a_pt_br_400(pool: PgPool) {
    let (app, state) = common::router_for(pool.clone(), SECRET).await;
    let token = common::token_for(&state, "admin@contmax.com.br").await;
    let expected = format!("ServerError|{}", server::server_fn_errors::BAD_ARGUMENTS);
    for (who, bearer) in [("anonymous", None), ("admin", Some(token.as_str()))] {
        for (body, content_type) in [
            ("", "application/x-www-form-urlencoded"),
            (
                "slug=acessorias&slug=bomcontrole",
                "application/x-www-form-urlencoded",
            ),
            ("slug[]=acessorias", "application/x-www-form-urlencoded"),
            (r#"{"slug": "acessorias"}"#, "application/json"),
            ("%ff%fe=%00", "application/x-www-form-urlencoded"),
        ] {
            let mut req = common::post_form("/api/integration-detail", bearer, None, body);
            req.headers_mut()
                .insert(header::CONTENT_TYPE, content_type.parse().unwrap());
            let res = app.clone().oneshot(req).await.unwrap();
            let status = res.status();
            let text = common::body_text(res).await;
            assert_eq!(
                (status, text.as_str()),
                (StatusCode::BAD_REQUEST, expected.as_str()),
                "{who}: {body:?} as {content_type}"
            );
        }
    }
    // A repeated key of 30,000 characters: its error quotes it whole, and it is still the
    // caller's 400.
    let key = "A".repeat(30_000);
    let long = common::post_form(
        "/api/integration-detail",
        None,
        None,
        &format!("{key}=1&{key}=2"),
    );
    let res = app.clone().oneshot(long).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(common::body_text(res).await, expected);
    // The same function, called right, still answers (and with its own errors' status).
    let ok = common::post_form(
        "/api/integration-detail",
        Some(&token),
        None,
        "slug=acessorias",
    );
    assert_eq!(
        app.clone().oneshot(ok).await.unwrap().status(),
        StatusCode::OK
    );
    let missing = common::post_form(
        "/api/integration-detail",
        Some(&token),
        None,
        "slug=nao-existe",
    );
    let res = app.clone().oneshot(missing).await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(common::body_text(res).await.starts_with("ServerError|"));
}

/// A 413 says why in pt-BR: `{"error"}` on the JSON API, Leptos's `ServerError|…` on server
/// functions.
async fn assert_refusal_in_pt_br(path: &str, res: axum::response::Response) {
    let json = path.starts_with("/functions/");
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = common::body_text(res).await;
    let message = if json {
        assert!(
            content_type.starts_with("application/json"),
            "{path}: {content_type}"
        );
        let value: serde_json::Value = serde_json::from_str(&text).expect("a JSON body");
        value["error"].as_str().unwrap_or_default().to_owned()
    } else {
        // Server functions: in Leptos's error encoding, which their client shows.
        text.strip_prefix("ServerError|")
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        message, "Requisição grande demais (limite de 64 KiB).",
        "{path}"
    );
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn an_over_long_e_mail_or_password_is_a_clear_refusal(pool: PgPool) {
    let (app, _) = common::router_for(pool.clone(), SECRET).await;
    for (email, password) in [
        (format!("{}%40b.c", "a".repeat(5_000)), "x".to_owned()),
        ("equipe%40pg.com.br".to_owned(), "x".repeat(20_000)),
    ] {
        let res = app
            .clone()
            .oneshot(
                Request::post("/api/login")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(format!("email={email}&password={password}")))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(common::body_text(res)
            .await
            .contains("E-mail ou senha inválidos."));
    }
    let sessions: i64 = sqlx::query_scalar("select count(*) from public.portal_sessions")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(sessions, 0);
}

/// `POST /functions/v1/run-integration` of Acessórias for `tenant`, as `token`'s user.
fn run_request(token: &str, tenant: uuid::Uuid) -> Request<Body> {
    Request::post("/functions/v1/run-integration")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(format!(
            r#"{{"tenant_id":"{tenant}","provider_slug":"acessorias"}}"#
        )))
        .unwrap()
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_user_starting_runs_in_a_loop_gets_429(pool: PgPool) {
    let (app, state) = common::router_for(pool.clone(), SECRET).await;
    let token = common::token_for(&state, "equipe@contmax.com.br").await;
    let contmax = common::org(&pool, "contmax").await;
    let mut statuses = Vec::new();
    for _ in 0..(backend::auth::RUNS_PER_USER + 3) {
        let res = app
            .clone()
            .oneshot(run_request(&token, contmax))
            .await
            .unwrap();
        statuses.push(res.status());
    }
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(limited, 3, "{statuses:?}");
    // Another user is not held back by this one.
    let other = common::token_for(&state, "admin@contmax.com.br").await;
    let res = app
        .clone()
        .oneshot(run_request(&other, contmax))
        .await
        .unwrap();
    assert_ne!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}
