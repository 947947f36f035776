//! The isolation matrix: every page and server function that exists, against every kind of
//! caller that must be refused. Nothing refused may change anything.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use backend::AppState;
use base64::engine::{general_purpose::URL_SAFE_NO_PAD as B64, Engine};
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
    ("/api/search-tenants", "query=pg"),
    (
        "/api/set-integration-enabled",
        "slug=acessorias&enabled=false",
    ),
    ("/api/run-integration", "slug=acessorias"),
    ("/api/tenant-metrics", ""),
    ("/api/integration-detail", "slug=acessorias"),
    ("/api/integration-history", "slug=acessorias"),
    (
        "/api/execution-attempts",
        "execution_id=00000000-0000-0000-0000-000000000000",
    ),
    ("/api/config-form", "slug=acessorias"),
    (
        "/api/save-config",
        "slug=acessorias&config[base_url]=https%3A%2F%2Fevil.test",
    ),
    (
        "/api/set-secret",
        "slug=acessorias&field=api_token&value=sbx_evil_token",
    ),
    ("/api/remove-secret", "slug=acessorias&field=api_token"),
    ("/api/test-connection", "slug=acessorias"),
    ("/api/addable-providers", ""),
    ("/api/add-integration", "slug=bomcontrole"),
    ("/api/audit-page", ""),
    ("/api/audit-people", ""),
];
const PAGES: &[&str] = &[
    "/",
    "/integracoes",
    "/integracoes/acessorias",
    "/integracoes/auditoria",
];

/// What staff may not do (tenant admins only), with a pt-BR 403.
const ADMIN_ONLY: &[(&str, &str)] = &[
    (
        "/api/set-secret",
        "slug=acessorias&field=api_token&value=sbx_evil_token",
    ),
    ("/api/remove-secret", "slug=acessorias&field=api_token"),
    ("/api/test-connection", "slug=acessorias"),
    ("/api/add-integration", "slug=bomcontrole"),
    ("/api/audit-page", ""),
    ("/api/audit-people", ""),
];

async fn snapshot(pool: &PgPool) -> String {
    sqlx::query_scalar(
        "select (select count(*) from tenant_integrations)::text || '/' ||
                (select count(*) from integration_logs)::text || '/' ||
                (select count(*) from user_tenants)::text || '/' ||
                (select count(*) from integration_secrets)::text || '/' ||
                (select count(*) from integration_audit)::text || '/' ||
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
    let state = common::state_for(pool.clone(), SECRET);
    let token = state
        .jwt
        .issue(user_id(&pool, "equipe@pg.com.br").await, "equipe@pg.com.br")
        .unwrap();
    let res = app
        .clone()
        .oneshot(common::post_form(
            "/api/switch-tenant",
            Some(&token),
            None,
            "slug=contmax",
        ))
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
            .oneshot(common::post_form(
                path,
                Some(&token),
                Some("portal_tenant=contmax"),
                "",
            ))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let body = common::body_text(res).await;
        assert!(
            !body.contains("clientes-contmax") && !body.contains(&contmax_id.to_string()),
            "{path}: {body}"
        );
        cells += 1;
    }
    // Contmax's executions: not in a P&G user's history, and not openable by id.
    let contmax_runs: Vec<uuid::Uuid> = sqlx::query_scalar(
        "select execution_id from integration_logs where tenant_id in ($1::text, 'contmax')",
    )
    .bind(contmax_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        !contmax_runs.is_empty(),
        "the fresh install has Contmax logs"
    );
    let res = app
        .clone()
        .oneshot(common::post_form(
            "/api/integration-history",
            Some(&token),
            Some("portal_tenant=contmax"),
            "slug=acessorias",
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = common::body_text(res).await;
    for id in &contmax_runs {
        assert!(
            !body.contains(&id.to_string()),
            "history leaked {id}: {body}"
        );
    }
    cells += 1;
    let res = app
        .clone()
        .oneshot(common::post_form(
            "/api/execution-attempts",
            Some(&token),
            Some("portal_tenant=contmax"),
            &format!("execution_id={}", contmax_runs[0]),
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    cells += 1;

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
        let body = common::body_text(res).await;
        assert!(!body.contains("Clientes Contmax"), "{path}");
        cells += 1;
    }

    // Staff where a tenant admin is needed: a clear 403 in pt-BR.
    let toggle_off = "slug=acessorias&enabled=false";
    let res = app
        .clone()
        .oneshot(common::post_form(
            "/api/set-integration-enabled",
            Some(&token),
            None,
            toggle_off,
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body = common::body_text(res).await;
    assert!(body.contains("Apenas administradores"), "{body}");
    cells += 1;
    let res = app
        .clone()
        .oneshot(common::post_form(
            "/api/save-config",
            Some(&token),
            None,
            "slug=acessorias&config[base_url]=https%3A%2F%2Fevil.test",
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    cells += 1;
    for (path, body) in ADMIN_ONLY {
        let res = app
            .clone()
            .oneshot(common::post_form(path, Some(&token), None, body))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "staff -> {path}");
        let text = common::body_text(res).await;
        assert!(text.contains("Apenas administradores"), "{path}: {text}");
        cells += 1;
    }
    // Staff see no catalog to add from.
    let res = app
        .clone()
        .oneshot(common::post_form(
            "/api/addable-providers",
            Some(&token),
            None,
            "",
        ))
        .await
        .unwrap();
    assert_eq!(common::body_text(res).await, "[]");
    cells += 1;

    assert_eq!(
        snapshot(&pool).await,
        before,
        "a refused request changed something"
    );

    // *Executar* by a P&G user with a forged Contmax tenant cookie runs P&G's integration,
    // never Contmax's.
    let res = app
        .clone()
        .oneshot(common::post_form(
            "/api/run-integration",
            Some(&token),
            Some("portal_tenant=contmax"),
            "slug=acessorias",
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let started: Vec<String> = sqlx::query_scalar(
        "select o.slug from integration_logs l join organizacoes o on o.id::text = l.tenant_id
         where l.status = 'running'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(started, vec!["pg".to_owned()]);
    cells += 1;

    // The right user is allowed: the P&G admin turns P&G's integration off, and only it.
    let admin = state
        .jwt
        .issue(user_id(&pool, "admin@pg.com.br").await, "admin@pg.com.br")
        .unwrap();
    let res = app
        .clone()
        .oneshot(common::post_form(
            "/api/set-integration-enabled",
            Some(&admin),
            None,
            toggle_off,
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let enabled: Vec<(String, bool)> = sqlx::query_as(
        "select o.slug, ti.is_enabled from tenant_integrations ti
         join organizacoes o on o.id = ti.tenant_id order by 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        enabled,
        vec![("contmax".into(), true), ("pg".into(), false)]
    );
    println!(
        "isolation matrix: {cells} cells ({} callers x {} endpoints, plus other-tenant checks)",
        callers.len(),
        SERVER_FNS.len() + PAGES.len()
    );
}

/// A history is of one of the tenant's integrations: of one it does not have, it is a
/// pt-BR 404 like the detail's, even where the log still holds rows of it (the fresh
/// install has a OneCode run of Contmax's, but no OneCode integration).
#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn the_history_of_an_integration_the_tenant_lacks_is_a_404(pool: PgPool) {
    let (app, state) = setup(pool.clone()).await;
    let contmax = common::org(&pool, "contmax").await;
    let orphan: Vec<uuid::Uuid> = sqlx::query_scalar(
        "select execution_id from integration_logs
         where tenant_id in ($1::text, 'contmax') and provider_slug = 'onecode'",
    )
    .bind(contmax)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        !orphan.is_empty(),
        "the fresh install has a OneCode run of Contmax's"
    );
    let token = common::token_for(&state, "admin@contmax.com.br").await;
    for path in ["/api/integration-detail", "/api/integration-history"] {
        let res = app
            .clone()
            .oneshot(common::post_form(
                path,
                Some(&token),
                Some("portal_tenant=contmax"),
                "slug=onecode",
            ))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        let body = common::body_text(res).await;
        assert_eq!(
            body, "ServerError|Integração não encontrada nesta organização.",
            "{path}"
        );
    }
    // Its own integration's history still answers.
    let res = app
        .clone()
        .oneshot(common::post_form(
            "/api/integration-history",
            Some(&token),
            Some("portal_tenant=contmax"),
            "slug=acessorias",
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}
