//! Metrics of runs, read from `integration_logs` only (the single source of truth), in the
//! caller's transaction so RLS applies. A *run* is an execution; its status is the status
//! of its last attempt, and executions still running are left out of rates and times.
//!
//! Both queries filter on `tenant_id` and a `created_at` range, which the index
//! `integration_logs_tenant_provider_created_idx (tenant_id, provider_slug, created_at desc)`
//! serves (`backend/tests/metrics.rs` shows the plan).

use serde::Serialize;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::Result;
use model::MetricsView;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Day {
    pub day: chrono::NaiveDate,
    pub success: i64,
    pub partial: i64,
    pub error: i64,
    pub avg_ms: Option<f64>,
}

pub async fn summary(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    provider_slug: Option<&str>,
    days: i32,
) -> Result<MetricsView> {
    let keys = crate::history::tenant_keys(tx, tenant_id).await?;
    let r = sqlx::query!(
        r#"with last_attempts as (
             select distinct on (execution_id) status, execution_time_ms
             from public.integration_logs
             where tenant_id = any($1::text[])
               and ($2::text is null or provider_slug = $2)
               and created_at >= now() - make_interval(days => $3)
             order by execution_id, attempt desc
           )
           select count(*) as "runs!",
                  count(*) filter (where status = 'success') as "success!",
                  count(*) filter (where status = 'partial') as "partial!",
                  count(*) filter (where status = 'error') as "error!",
                  avg(execution_time_ms)::float8 as avg_ms,
                  percentile_cont(0.95) within group (order by execution_time_ms) as p95_ms
           from last_attempts
           where status <> 'running'"#,
        &keys,
        provider_slug,
        days
    )
    .fetch_one(&mut **tx)
    .await?;
    let finished = r.success + r.partial + r.error;
    Ok(MetricsView {
        days,
        runs: r.runs,
        success: r.success,
        partial: r.partial,
        error: r.error,
        success_rate: (finished > 0).then(|| r.success as f64 / finished as f64),
        avg_ms: r.avg_ms,
        p95_ms: r.p95_ms,
    })
}

/// Runs per day (UTC) by status and their average time, oldest first; days without runs
/// are absent (the chart fills them).
pub async fn per_day(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    provider_slug: Option<&str>,
    days: i32,
) -> Result<Vec<Day>> {
    let keys = crate::history::tenant_keys(tx, tenant_id).await?;
    let rows = sqlx::query!(
        r#"with last_attempts as (
             select distinct on (execution_id) status, execution_time_ms, created_at
             from public.integration_logs
             where tenant_id = any($1::text[])
               and ($2::text is null or provider_slug = $2)
               and created_at >= now() - make_interval(days => $3)
             order by execution_id, attempt desc
           )
           select (created_at at time zone 'UTC')::date as "day!",
                  count(*) filter (where status = 'success') as "success!",
                  count(*) filter (where status = 'partial') as "partial!",
                  count(*) filter (where status = 'error') as "error!",
                  avg(execution_time_ms)::float8 as avg_ms
           from last_attempts
           where status <> 'running'
           group by 1
           order by 1"#,
        &keys,
        provider_slug,
        days
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Day {
            day: r.day,
            success: r.success,
            partial: r.partial,
            error: r.error,
            avg_ms: r.avg_ms,
        })
        .collect())
}

/// How many of the tenant's enabled integrations ended their last run with an error.
pub async fn failing_now(tx: &mut Transaction<'static, Postgres>, tenant_id: Uuid) -> Result<i64> {
    Ok(sqlx::query_scalar!(
        r#"select count(*) as "n!" from public.tenant_integrations
           where tenant_id = $1 and is_enabled and last_status = 'error'"#,
        tenant_id
    )
    .fetch_one(&mut **tx)
    .await?)
}
