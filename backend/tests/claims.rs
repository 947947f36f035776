//! The orchestrator's claim: one run at a time per tenant integration, whatever the load.
//! Users claim through the server (`engine::start_run`: membership under their RLS, then
//! the claim and its queue job as the service); the claim function itself is not theirs.

mod common;

use backend::engine::start_run;
use backend::runs::Claim;
use backend::scope::begin_as;
use model::Trigger;
use sqlx::PgPool;

async fn claim_as(pool: &PgPool, email: &str, tenant: &str, slug: &str) -> backend::Result<Claim> {
    let claims = common::demo_claims(pool, email).await;
    let tenant = common::org_id(pool, tenant).await;
    let mut tx = begin_as(pool, &claims).await?;
    let out = start_run(&mut tx, tenant, slug, Trigger::Manual).await?;
    tx.commit().await?;
    Ok(out)
}

async fn seeded(pool: &PgPool) {
    backend::queue::install(pool).await.expect("queue");
    backend::demo::seed_demo_users(pool).await.unwrap();
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn fifty_concurrent_claims_start_exactly_one_run(pool: PgPool) {
    seeded(&pool).await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(
                async move { claim_as(&pool, "equipe@pg.com.br", "pg", "acessorias").await },
            )
        })
        .collect();
    let mut started = Vec::new();
    let mut running = Vec::new();
    for t in tasks {
        match t.await.unwrap().unwrap() {
            Claim::Started(id) => started.push(id),
            Claim::AlreadyRunning(id) => running.push(id),
        }
    }
    assert_eq!(started.len(), 1, "exactly one run starts");
    assert_eq!(running.len(), 49);
    assert!(
        running.iter().all(|id| *id == started[0]),
        "the others get its execution_id"
    );

    let (status, n): (String, i64) = sqlx::query_as(
        "select ti.last_status, (select count(*) from integration_logs where status = 'running')
         from tenant_integrations ti join organizacoes o on o.id = ti.tenant_id where o.slug = 'pg'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((status.as_str(), n), ("running", 1));
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_claim_records_who_and_how_and_refuses_what_it_must(pool: PgPool) {
    seeded(&pool).await;
    let Claim::Started(id) = claim_as(&pool, "equipe@pg.com.br", "pg", "acessorias")
        .await
        .unwrap()
    else {
        panic!("first claim starts");
    };
    let (trigger, actor, slug): (String, Option<uuid::Uuid>, String) = sqlx::query_as(
        "select l.trigger, l.actor_id, l.provider_slug from integration_logs l where l.execution_id = $1",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(trigger, "manual");
    assert_eq!(
        actor,
        Some(common::demo_claims(&pool, "equipe@pg.com.br").await.sub)
    );
    assert_eq!(slug, "acessorias");

    // Unknown provider, and another tenant's integration: both not found (404).
    let err = claim_as(&pool, "equipe@pg.com.br", "pg", "bomcontrole")
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404, "{err}");
    let err = claim_as(&pool, "equipe@pg.com.br", "contmax", "acessorias")
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404, "{err}");

    // Disabled: 409.
    sqlx::query("update tenant_integrations set is_enabled = false")
        .execute(&pool)
        .await
        .unwrap();
    let err = claim_as(&pool, "equipe@contmax.com.br", "contmax", "acessorias")
        .await
        .unwrap_err();
    assert_eq!(err.status(), 409, "{err}");
    assert_eq!(err.to_string(), "A integração está desativada.");
}
