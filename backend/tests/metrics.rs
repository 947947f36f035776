//! Metrics: the numbers, the tenant boundary, and the roll-ups the trigger keeps equal to
//! a rebuild from the log.

mod common;

use backend::metrics::{summary, window};
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
    // Deleting log rows does not take them out of the roll-ups (retention deletes only
    // days no window shows; `server rollups rebuild` after editing the log by hand).
    sqlx::raw_sql("delete from public.integration_logs; delete from public.integration_run_daily;")
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
    // Exactly 955 (percentile_cont); the roll-ups' histogram is within 10%.
    let p95 = s.p95_ms.expect("p95");
    assert!((p95 - 955.0).abs() / 955.0 < 0.1, "{p95}");
    assert_eq!(summary(&mut tx, contmax, None, 30).await.unwrap(), s);

    // The detail page's one read gives the same totals, and the days.
    let (totals, days) = window(&mut tx, contmax, Some("acessorias"), 30)
        .await
        .unwrap();
    assert_eq!(totals, s);
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

/// The roll-ups the trigger keeps, write by write, equal what a rebuild computes from the
/// log: attempts that end, retries that take the attempt before out, rows inserted ended
/// (webhook batches), old rows under the tenant's slug, and running ones (not counted).
#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn roll_ups_kept_by_the_trigger_equal_a_rebuild_from_the_log(pool: PgPool) {
    sqlx::raw_sql(
        r#"-- The log starts empty (the customer's old rows are the migration's rebuild's
           -- test: backend/tests/migrations.rs), and so do the roll-ups.
           delete from public.integration_logs;
           delete from public.integration_run_daily;
           -- 300 executions as the engine writes them: claim, end; every third fails once
           -- and is retried (the retry inserted running, then ended).
           insert into public.integration_logs
             (tenant_id, integration, provider_slug, status, attempt, execution_id, created_at)
           select o.id::text, 'acessorias', 'acessorias', 'running', 1,
                  md5(o.slug || g)::uuid, now() - make_interval(hours => g)
           from public.organizacoes o, generate_series(1, 150) g;
           update public.integration_logs
           set status = case when extract(hour from created_at)::int % 3 = 0 then 'error'
                             when extract(hour from created_at)::int % 7 = 0 then 'partial'
                             else 'success' end,
               execution_time_ms = (extract(epoch from created_at)::bigint % 9000)::int;
           insert into public.integration_logs
             (tenant_id, integration, provider_slug, status, attempt, execution_id, created_at, trigger)
           select tenant_id, integration, provider_slug, 'running', 2, execution_id,
                  created_at + interval '1 minute', 'retry'
           from public.integration_logs where status = 'error' and attempt = 1;
           update public.integration_logs set status = 'success', execution_time_ms = 1234
           where attempt = 2 and execution_id::text < '8';
           -- Webhook batches inserted ended, old rows under a slug, a run still going.
           insert into public.integration_logs
             (tenant_id, integration, provider_slug, status, execution_time_ms, created_at, trigger)
           select 'contmax', 'onecode', 'onecode', 'success', 40, now() - make_interval(days => g), 'webhook'
           from generate_series(1, 20) g;
           insert into public.integration_logs (tenant_id, integration, provider_slug, status)
           select id::text, 'bomcontrole', 'bomcontrole', 'running' from public.organizacoes;"#,
    )
    .execute(&pool)
    .await
    .unwrap();
    let snapshot = || {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                // Trimmed: a bucket the trigger emptied again (a retry took its attempt out)
                // stays in its array as a 0, where a rebuild never writes it.
                "select string_agg(concat_ws('|', tenant_id, provider_slug, day, status, runs, time_sum, time_count, public.run_histogram_trim(buckets)::text), ',' order by tenant_id, provider_slug, day, status)
                 from public.integration_run_daily where runs <> 0",
            )
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let kept = snapshot().await;
    // The trigger's arrays: no nulls, numbered from bucket 1 up (the table's check).
    let malformed: i64 = sqlx::query_scalar(
        "select count(*) from public.integration_run_daily
         where array_position(buckets, null) is not null or array_lower(buckets, 1) < 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(malformed, 0);
    let rows: i64 = sqlx::query_scalar("select public.rebuild_integration_run_daily()")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(rows > 10, "{rows} roll-up rows");
    assert_eq!(
        snapshot().await,
        kept,
        "the trigger's roll-ups are the log's"
    );
    let counted: i64 =
        sqlx::query_scalar("select sum(runs)::bigint from public.integration_run_daily")
            .fetch_one(&pool)
            .await
            .unwrap();
    // Every execution whose last attempt ended, once (those still retrying are not).
    let ended: i64 = sqlx::query_scalar(
        "select count(*) from (select distinct on (execution_id) status from public.integration_logs
                               order by execution_id, attempt desc) x
         where status <> 'running'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(counted, ended);
    assert!(ended > 250, "{ended}");
}

/// Histograms hold only their first to their last bucket (migration 0026), at the buckets'
/// own subscripts, zeros between, and read back as the same counts.
#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn histograms_hold_only_their_buckets_at_their_own_subscripts(pool: PgPool) {
    let text = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        text("select public.run_histogram_add('{}', 40, 1)::text").await,
        "[40:40]={1}"
    );
    // Enlarged downwards and upwards with zeros, never nulls.
    assert_eq!(
        text("select public.run_histogram_add(public.run_histogram_add('[40:40]={1}', 37, 2), 42, 1)::text")
            .await,
        "[37:42]={2,0,0,1,0,1}"
    );
    assert_eq!(
        text("select public.run_histogram_add('[37:42]={2,0,0,1,0,1}', 40, -1)::text").await,
        "[37:42]={2,0,0,0,0,1}"
    );
    // A 108-bucket histogram of before: the same counts, trimmed; an empty one: '{}'.
    assert_eq!(
        text("select public.run_histogram_trim(array(select case when b in (31, 35) then b else 0 end from generate_series(1, 108) b order by b))::text")
            .await,
        "[31:35]={31,0,0,0,35}"
    );
    assert_eq!(
        text("select public.run_histogram_trim(array_fill(0, array[108]))::text").await,
        "{}"
    );
    // Runs without a time add no bucket.
    sqlx::raw_sql(
        r#"delete from public.integration_logs;
           delete from public.integration_run_daily;
           insert into public.integration_logs
             (tenant_id, integration, provider_slug, status, execution_time_ms)
           select o.id::text, 'acessorias', 'acessorias', 'success', t.ms
           from public.organizacoes o, (values (null::int), (2000), (100)) t(ms)
           where o.slug = 'contmax';"#,
    )
    .execute(&pool)
    .await
    .unwrap();
    // 100 ms is bucket 27 (4·log2 100 = 26.6, 1-based), 2000 ms bucket 44.
    let stored = text("select buckets::text from public.integration_run_daily").await;
    assert!(
        stored.starts_with("[27:44]={1,0,") && stored.ends_with(",0,1}"),
        "{stored}"
    );
}

/// The upgrade a database with roll-ups takes: rows written by 0014's trigger (108 buckets
/// each), then 0026. The month the metrics read is trimmed, older rows stay 108 wide, and
/// every row holds the same counts at the same buckets.
#[sqlx::test(migrations = false)]
async fn histograms_written_before_0026_hold_the_same_counts_after_it(pool: PgPool) {
    let apply = |versions: std::ops::RangeInclusive<i64>| {
        let pool = pool.clone();
        async move {
            for m in backend::db::MIGRATOR
                .iter()
                .filter(|m| versions.contains(&m.version))
            {
                let mut tx = pool.begin().await.unwrap();
                sqlx::raw_sql(&m.sql).execute(&mut *tx).await.unwrap();
                tx.commit().await.unwrap();
            }
        }
    };
    apply(1..=25).await;
    // Through 0014's trigger: runs of 3 ms to 9 s over 60 days, some without a time, and
    // retries that take their first attempt back out.
    sqlx::raw_sql(
        r#"delete from public.integration_logs;
           delete from public.integration_run_daily;
           insert into public.integration_logs
             (tenant_id, integration, provider_slug, status, attempt, execution_id,
              execution_time_ms, created_at)
           select o.id::text, 'acessorias', 'acessorias',
                  case when g % 5 = 0 then 'error' else 'success' end, 1,
                  md5(o.slug || g)::uuid, case when g % 11 = 0 then null else 3 + g * 37 % 9000 end,
                  now() - make_interval(hours => g * 3)
           from public.organizacoes o, generate_series(1, 480) g;
           insert into public.integration_logs
             (tenant_id, integration, provider_slug, status, attempt, execution_id,
              execution_time_ms, created_at, trigger)
           select tenant_id, integration, provider_slug, 'success', 2, execution_id, 7,
                  created_at + interval '1 minute', 'retry'
           from public.integration_logs where status = 'error';
           -- Today's successes, whatever the hour (UTC): 100 ms, bucket 27.
           insert into public.integration_logs
             (tenant_id, integration, provider_slug, status, execution_time_ms)
           select o.id::text, 'acessorias', 'acessorias', 'success', 100
           from public.organizacoes o where o.slug = 'contmax';"#,
    )
    .execute(&pool)
    .await
    .unwrap();
    let dense = "select string_agg(concat_ws('|', tenant_id, provider_slug, day, status, runs,
                   array(select coalesce(buckets[b], 0) from generate_series(1, 108) b order by b)::text),
                   ',' order by tenant_id, provider_slug, day, status)
                 from public.integration_run_daily";
    let before: String = sqlx::query_scalar(dense).fetch_one(&pool).await.unwrap();
    let wide: i64 = sqlx::query_scalar(
        "select count(*) from public.integration_run_daily where array_upper(buckets, 1) = 108",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(wide > 60, "{wide} rows of 108 buckets before 0026");

    apply(26..=26).await;
    let after: String = sqlx::query_scalar(dense).fetch_one(&pool).await.unwrap();
    assert_eq!(after, before, "the same counts at the same buckets");
    let (recent, recent_untrimmed, old_wide): (i64, i64, i64) = sqlx::query_as(
        "with r as (select *, day > (now() at time zone 'UTC')::date - 31 as recent
                    from public.integration_run_daily)
         select count(*) filter (where recent),
                count(*) filter (where recent and buckets::text <> public.run_histogram_trim(buckets)::text),
                count(*) filter (where not recent and array_lower(buckets, 1) = 1
                                   and array_upper(buckets, 1) = 108)
         from r",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(recent > 30, "{recent} rows in the metrics' month");
    assert_eq!(
        recent_untrimmed, 0,
        "the metrics' month is trimmed, both ends"
    );
    assert!(old_wide > 0, "older rows are left as they were");
    // And the trigger goes on from the trimmed rows: today's (runs of 7 to 299 ms) ...
    let bounds = "select array_lower(buckets, 1) || ':' || array_upper(buckets, 1)
         from public.integration_run_daily d
         join public.organizacoes o on o.id = d.tenant_id
         where o.slug = 'contmax' and d.day = (now() at time zone 'UTC')::date and d.status = 'success'";
    let today_before: String = sqlx::query_scalar(bounds).fetch_one(&pool).await.unwrap();
    let (low, high) = today_before.split_once(':').unwrap();
    assert!(
        low.parse::<i32>().unwrap() > 1 && high.parse::<i32>().unwrap() < 53,
        "{today_before}"
    );
    sqlx::raw_sql(
        r#"insert into public.integration_logs
             (tenant_id, integration, provider_slug, status, execution_time_ms)
           select o.id::text, 'acessorias', 'acessorias', 'success', ms
           from public.organizacoes o, (values (1), (9000)) t(ms) where o.slug = 'contmax';"#,
    )
    .execute(&pool)
    .await
    .unwrap();
    // ... enlarged both ways: 1 ms is bucket 1, 9 s bucket 53.
    let today_after: String = sqlx::query_scalar(bounds).fetch_one(&pool).await.unwrap();
    assert_eq!(today_after, "1:53");
}
