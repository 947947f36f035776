//! Metrics over `integration_logs`: the numbers, the tenant boundary, and the index plan.

mod common;

use backend::metrics::{per_day, summary};
use backend::scope::begin_as;
use sqlx::PgPool;

/// Contmax: 10 executions of acessorias in the last days (7 success, 1 partial, 2 error,
/// one of the errors retried into a success), plus one running; P&G: 5 errors.
async fn fixture(pool: &PgPool) {
    sqlx::query(
        r#"insert into public.integration_logs
             (tenant_id, integration, provider_slug, status, execution_time_ms, created_at, execution_id, attempt)
           select o.id::text, 'acessorias', 'acessorias', s.status, s.ms,
                  now() - make_interval(days => s.day), gen_random_uuid(), 1
           from public.organizacoes o,
                (values ('success', 100, 1), ('success', 200, 1), ('success', 300, 2),
                        ('success', 400, 2), ('success', 500, 3), ('success', 600, 3),
                        ('partial', 700, 3), ('error', 800, 4), ('error', 900, 5),
                        ('running', null, 0)) as s(status, ms, day)
           where o.slug = 'contmax'"#,
    )
    .execute(pool)
    .await
    .unwrap();
    // An execution whose first attempt failed and the second succeeded counts as success.
    sqlx::query(
        r#"with e as (select gen_random_uuid() as id)
           insert into public.integration_logs
             (tenant_id, integration, provider_slug, status, execution_time_ms, created_at, execution_id, attempt)
           select o.id::text, 'acessorias', 'acessorias', a.status, a.ms, now() - interval '1 day', e.id, a.n
           from public.organizacoes o, e,
                (values ('error', 1000, 1), ('success', 1000, 2)) as a(status, ms, n)
           where o.slug = 'contmax'"#,
    )
    .execute(pool)
    .await
    .unwrap();
    // Old rows outside the window, and P&G's.
    sqlx::query(
        r#"insert into public.integration_logs
             (tenant_id, integration, provider_slug, status, execution_time_ms, created_at)
           select o.id::text, 'acessorias', 'acessorias', 'error', 50, now() - interval '40 days'
           from public.organizacoes o where o.slug = 'contmax'
           union all
           select o.id::text, 'acessorias', 'acessorias', 'error', 50, now() - interval '1 day'
           from public.organizacoes o, generate_series(1, 5) where o.slug = 'pg'"#,
    )
    .execute(pool)
    .await
    .unwrap();
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn summary_counts_executions_by_their_last_attempt_within_the_tenant(pool: PgPool) {
    backend::demo::seed_demo_users(&pool).await.unwrap();
    sqlx::query("delete from public.integration_logs")
        .execute(&pool)
        .await
        .unwrap();
    fixture(&pool).await;
    let contmax = common::org_id(&pool, "contmax").await;
    let pg = common::org_id(&pool, "pg").await;
    let claims = common::demo_claims(&pool, "equipe@contmax.com.br").await;
    let mut tx = begin_as(&pool, &claims).await.unwrap();

    let s = summary(&mut tx, contmax, Some("acessorias"), 30)
        .await
        .unwrap();
    assert_eq!((s.runs, s.success, s.partial, s.error), (10, 7, 1, 2));
    assert_eq!(s.success_rate, Some(0.7));
    // Times of the last attempts: 100..900 and 1000.
    assert_eq!(s.avg_ms, Some(550.0));
    let p95 = s.p95_ms.expect("p95");
    assert!((p95 - 955.0).abs() < 1e-6, "{p95}");
    assert_eq!(summary(&mut tx, contmax, None, 30).await.unwrap(), s);

    let days = per_day(&mut tx, contmax, Some("acessorias"), 30)
        .await
        .unwrap();
    let total: i64 = days.iter().map(|d| d.success + d.partial + d.error).sum();
    assert_eq!(total, 10);
    assert!(days.windows(2).all(|w| w[0].day < w[1].day), "oldest first");

    // P&G's rows are invisible to a Contmax user, whatever tenant id is asked for.
    let other = summary(&mut tx, pg, None, 30).await.unwrap();
    assert_eq!(other.runs, 0);
    tx.commit().await.unwrap();

    let pg_claims = common::demo_claims(&pool, "admin@pg.com.br").await;
    let mut tx = begin_as(&pool, &pg_claims).await.unwrap();
    let s = summary(&mut tx, pg, None, 30).await.unwrap();
    assert_eq!((s.runs, s.error, s.success_rate), (5, 5, Some(0.0)));
}

/// The plan of the metrics' inner scan on 50,000 rows over ~6 months (the retention) uses the
/// (tenant_id, provider_slug, created_at) index rather than reading every row.
#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn metrics_scans_use_the_tenant_time_index(pool: PgPool) {
    sqlx::query(
        r#"insert into public.integration_logs
             (tenant_id, integration, provider_slug, status, execution_time_ms, created_at)
           select (select id from public.organizacoes order by id limit 1 offset (g % 2))::text || case when g % 50 = 0 then '' else '-' || (g % 50)::text end,
                  'acessorias', 'acessorias', 'success', g % 1000,
                  now() - make_interval(mins => g * 5)
           from generate_series(1, 50000) g"#,
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("analyze public.integration_logs")
        .execute(&pool)
        .await
        .unwrap();
    let tenant: String =
        sqlx::query_scalar("select id::text from public.organizacoes order by id limit 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    let plan: Vec<String> = sqlx::query_scalar(
        r#"explain select distinct on (execution_id) status, execution_time_ms
           from public.integration_logs
           where tenant_id = any($1::text[])
             and ($2::text is null or provider_slug = $2)
             and created_at >= now() - make_interval(days => 30)
           order by execution_id, attempt desc"#,
    )
    .bind(vec![tenant.clone(), "contmax".to_owned()])
    .bind("acessorias")
    .fetch_all(&pool)
    .await
    .unwrap();
    let plan = plan.join("\n");
    println!("{plan}");
    assert!(
        plan.contains("integration_logs_tenant_provider_created_idx"),
        "expected the tenant/time index:\n{plan}"
    );
    assert!(!plan.contains("Seq Scan"), "{plan}");
}
