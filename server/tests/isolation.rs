//! The isolation matrix: every page and server function that exists, against every kind of
//! caller that must be refused. Nothing refused may change anything.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use backend::AppState;
use base64::engine::{general_purpose::URL_SAFE_NO_PAD as B64, Engine};
use http_body_util::BodyExt;
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::json;
use sqlx::PgPool;
use tower::ServiceExt;

const SECRET: &[u8] = b"isolation-test-secret-isolation-test";

async fn setup(pool: PgPool) -> (axum::Router, AppState) {
    common::router_for(pool, SECRET).await
}

async fn user_id(pool: &PgPool, email: &str) -> uuid::Uuid {
    sqlx::query_scalar("select id from auth.users where email = $1")
        .bind(email)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The callers that must be refused outright, as `Authorization` header values.
async fn bad_callers(pool: &PgPool) -> Vec<(&'static str, Option<String>)> {
    let real = user_id(pool, "admin@pg.com.br").await;
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64| json!({"sub": real, "role": "authenticated", "aud": "authenticated", "exp": exp, "email": "admin@pg.com.br"});
    let expired = encode(
        &Header::default(),
        &claims(now - 3600),
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap();
    let other_secret = encode(
        &Header::default(),
        &claims(now + 3600),
        &EncodingKey::from_secret(b"some-other-secret-some-other-secret"),
    )
    .unwrap();
    let alg_none = format!(
        "{}.{}.",
        B64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        B64.encode(claims(now + 3600).to_string())
    );
    vec![
        ("anonymous", None),
        ("expired token", Some(format!("Bearer {expired}"))),
        (
            "token signed with another secret",
            Some(format!("Bearer {other_secret}")),
        ),
        ("alg: none token", Some(format!("Bearer {alg_none}"))),
        ("malformed token", Some("Bearer abc.def".to_owned())),
    ]
}

const SERVER_FNS: &[(&str, &str)] = &[
    ("/api/portal-modules", ""),
    ("/api/list-integrations", ""),
    ("/api/switch-tenant", "slug=pg"),
    (
        "/api/set-integration-enabled",
        "slug=acessorias&enabled=false",
    ),
];
const PAGES: &[&str] = &["/", "/integracoes"];

async fn snapshot(pool: &PgPool) -> String {
    sqlx::query_scalar(
        "select (select count(*) from tenant_integrations)::text || '/' ||
                (select count(*) from integration_logs)::text || '/' ||
                (select count(*) from user_tenants)::text || '/' ||
                (select coalesce(max(updated_at)::text, '') from tenant_integrations)",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn every_endpoint_refuses_every_bad_caller_and_changes_nothing(pool: PgPool) {
    let (app, _) = setup(pool.clone()).await;
    let before = snapshot(&pool).await;
    let callers = bad_callers(&pool).await;
    let mut cells = 0;

    for (who, auth) in &callers {
        for (path, body) in SERVER_FNS {
            let mut req = Request::post(*path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            if let Some(a) = auth {
                req = req.header(header::AUTHORIZATION, a);
            }
            let res = app
                .clone()
                .oneshot(req.body(Body::from(*body)).unwrap())
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{who} -> {path}");
            cells += 1;
        }
        for path in PAGES {
            let mut req = Request::get(*path);
            if let Some(a) = auth {
                // Browsers carry the token in the cookie; try it there.
                let token = a.trim_start_matches("Bearer ");
                req = req.header(header::COOKIE, format!("portal_session={token}"));
            }
            let res = app
                .clone()
                .oneshot(req.body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::FOUND, "{who} -> {path}");
            assert!(res.headers()[header::LOCATION]
                .to_str()
                .unwrap()
                .starts_with("/login"));
            cells += 1;
        }
    }

    // A user of the other tenant: asking for Contmax through the tenant switch is refused,
    // and a forged tenant cookie is ignored (the data stays P&G's).
    let state = AppState::new(pool.clone(), SECRET);
    let token = state
        .jwt
        .issue(user_id(&pool, "equipe@pg.com.br").await, "equipe@pg.com.br")
        .unwrap();
    let res = app
        .clone()
        .oneshot(
            Request::post("/api/switch-tenant")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("slug=contmax"))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.headers().get(header::SET_COOKIE).is_none());
    cells += 1;

    let contmax_id: uuid::Uuid =
        sqlx::query_scalar("select id from organizacoes where slug = 'contmax'")
            .fetch_one(&pool)
            .await
            .unwrap();
    for path in ["/api/list-integrations", "/api/portal-modules"] {
        let res = app
            .clone()
            .oneshot(
                Request::post(path)
                    .header(header::AUTHORIZATION, format!("Bearer {token}"))
                    .header(header::COOKIE, "portal_tenant=contmax")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let body = String::from_utf8_lossy(&res.into_body().collect().await.unwrap().to_bytes())
            .into_owned();
        assert!(
            !body.contains("clientes-contmax") && !body.contains(&contmax_id.to_string()),
            "{path}: {body}"
        );
        cells += 1;
    }
    for path in PAGES {
        let res = app
            .clone()
            .oneshot(
                Request::get(*path)
                    .header(
                        header::COOKIE,
                        format!("portal_session={token}; portal_tenant=contmax"),
                    )
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let body = String::from_utf8_lossy(&res.into_body().collect().await.unwrap().to_bytes())
            .into_owned();
        assert!(!body.contains("Clientes Contmax"), "{path}");
        cells += 1;
    }

    assert_eq!(
        snapshot(&pool).await,
        before,
        "a refused request changed something"
    );
    println!(
        "isolation matrix: {cells} cells ({} callers x {} endpoints, plus other-tenant checks)",
        callers.len(),
        SERVER_FNS.len() + PAGES.len()
    );
}
