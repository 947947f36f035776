//! The history's keyset pages: every row once, newest first, filters applied, tenant kept.

mod common;

use backend::history::{execution, page, Filters};
use backend::scope::begin_as;
use model::HistoryQuery;
use sqlx::PgPool;

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn keyset_pages_cover_every_row_once_within_the_filters_and_the_tenant(pool: PgPool) {
    backend::demo::seed_demo_users(&pool).await.unwrap();
    // 57 runs for P&G with equal timestamps in pairs (the id breaks ties), every third an
    // error; 10 for Contmax that a P&G user must never page into.
    sqlx::query(
        r#"insert into public.integration_logs (tenant_id, integration, provider_slug, status, trigger, created_at)
           select o.id::text, 'acessorias', 'acessorias',
                  case when g % 3 = 0 then 'error' else 'success' end, 'schedule',
                  now() - make_interval(mins => g / 2)
           from public.organizacoes o, generate_series(1, 57) g where o.slug = 'pg'
           union all
           select o.id::text, 'acessorias', 'acessorias', 'error', 'schedule', now()
           from public.organizacoes o, generate_series(1, 10) where o.slug = 'contmax'"#,
    )
    .execute(&pool)
    .await
    .unwrap();
    let pg = common::org_id(&pool, "pg").await;
    let contmax = common::org_id(&pool, "contmax").await;
    let claims = common::demo_claims(&pool, "equipe@pg.com.br").await;
    let mut tx = begin_as(&pool, &claims).await.unwrap();

    let mut q = HistoryQuery {
        trigger: Some("schedule".into()),
        page_size: Some("10".into()),
        ..HistoryQuery::default()
    };
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let p = page(&mut tx, pg, "acessorias", &Filters::parse(&q).unwrap())
            .await
            .unwrap();
        sizes.push(p.rows.len());
        seen.extend(p.rows.iter().map(|r| (r.created_at.clone(), r.id)));
        match p.next_before {
            Some(c) => q.before = Some(c),
            None => break,
        }
    }
    assert_eq!(sizes, vec![10, 10, 10, 10, 10, 7]);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 57, "every row once");
    assert!(seen.windows(2).all(|w| w[0].0 >= w[1].0), "newest first");

    let errors = Filters::parse(&HistoryQuery {
        status: Some("error".into()),
        trigger: Some("schedule".into()),
        page_size: Some("100".into()),
        ..HistoryQuery::default()
    })
    .unwrap();
    let p = page(&mut tx, pg, "acessorias", &errors).await.unwrap();
    assert_eq!(p.rows.len(), 19);
    assert!(p.rows.iter().all(|r| r.status == model::RunStatus::Error));
    assert!(p.next_before.is_none());

    // Asking for Contmax's history as a P&G user: not found (an integration the caller
    // cannot see), whatever the tenant id says.
    let err = page(&mut tx, contmax, "acessorias", &errors)
        .await
        .expect_err("another tenant's history");
    assert!(matches!(err, backend::Error::NotFound(_)), "{err:?}");
    let contmax_run: uuid::Uuid = sqlx::query_scalar(
        "select execution_id from public.integration_logs where tenant_id = $1::text limit 1",
    )
    .bind(contmax)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(execution(&mut tx, contmax, contmax_run)
        .await
        .unwrap()
        .is_empty());
    assert!(execution(&mut tx, pg, contmax_run)
        .await
        .unwrap()
        .is_empty());
}
