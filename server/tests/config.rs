//! Saving an integration's configuration through the real router: field errors in pt-BR
//! and nothing written, then a valid save.

mod common;

use axum::http::StatusCode;
use sqlx::PgPool;
use tower::ServiceExt;

const SECRET: &[u8] = b"config-test-secret-config-test-secret";

async fn base_url(pool: &PgPool) -> (String, serde_json::Value) {
    sqlx::query_as(
        "select ti.base_url, ti.config from tenant_integrations ti join organizacoes o on o.id = ti.tenant_id
         where o.slug = 'pg' and ti.provider = 'acessorias'",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_bad_url_gets_a_field_error_and_a_good_one_saves(pool: PgPool) {
    let (app, state) = common::router_for(pool.clone(), SECRET).await;
    let token = common::token_for(&state, "admin@pg.com.br").await;
    let before = base_url(&pool).await;

    let res = app
        .clone()
        .oneshot(common::post_form(
            "/api/save-config",
            Some(&token),
            None,
            "slug=acessorias&config[base_url]=isto-nao-e-url&schedule=1m",
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = common::body_text(res).await;
    let outcome: model::SaveOutcome = serde_json::from_str(&body).expect(&body);
    assert!(!outcome.saved);
    assert!(
        outcome
            .error_for("base_url")
            .is_some_and(|m| m.contains("URL válida")),
        "{body}"
    );
    assert_eq!(
        outcome.error_for("schedule").as_deref(),
        Some("O intervalo mínimo é de 5 minutos.")
    );
    assert_eq!(base_url(&pool).await, before, "nothing written");

    let res = app
        .clone()
        .oneshot(common::post_form(
            "/api/save-config",
            Some(&token),
            None,
            "slug=acessorias&config[base_url]=https%3A%2F%2Fapi.exemplo.test&config[api_token]=vazou&schedule=2h",
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let outcome: model::SaveOutcome = serde_json::from_str(&common::body_text(res).await).unwrap();
    assert!(outcome.saved, "{outcome:?}");
    let (column, config) = base_url(&pool).await;
    assert_eq!(column, "https://api.exemplo.test");
    assert_eq!(config["base_url"], "https://api.exemplo.test");
    assert!(
        config.get("api_token").is_none(),
        "a secret never lands in config"
    );
    let schedule: Option<String> = sqlx::query_scalar(
        "select ti.schedule from tenant_integrations ti join organizacoes o on o.id = ti.tenant_id
         where o.slug = 'pg' and ti.provider = 'acessorias'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(schedule.as_deref(), Some("2h"));
}
