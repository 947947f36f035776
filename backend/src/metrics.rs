//! Metrics of runs, read from the daily roll-ups (`integration_run_daily`, migration 0014)
//! in the caller's transaction, so RLS applies. A *run* is an execution; its status is the
//! status of its last attempt, counted on the UTC day that attempt was created; executions
//! still running are left out of rates and times. The roll-ups are kept by a trigger on
//! `integration_logs` in the transaction that ends an attempt, so they are never behind the
//! log; their cost is days × integrations × statuses, whatever the size of the log.
//!
//! A window of `days` is today (UTC) and the `days - 1` days before it. Times: the average
//! is exact (sum and count); the p95 is the nearest-rank 95th percentile (the time at or
//! below which 95% of the runs took), read from a histogram of quarter-power-of-two buckets:
//! within 9% of that time. (The log-based version interpolated, `percentile_cont`: with few
//! runs and one slow outlier the two differ.)

use serde::Serialize;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::Result;
use model::{MetricsView, RunStatus};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Day {
    pub day: chrono::NaiveDate,
    pub success: i64,
    pub partial: i64,
    pub error: i64,
    pub avg_ms: Option<f64>,
}

/// Buckets of the roll-ups' time histogram (`public.run_time_bucket`).
pub const BUCKETS: usize = 108;

/// One roll-up row as read.
struct Rollup {
    day: chrono::NaiveDate,
    status: RunStatus,
    runs: i64,
    time_sum: i64,
    time_count: i64,
    /// The subscript of `buckets[0]`: bucket numbers are 1-based, as in
    /// `public.run_time_bucket`; a histogram holds only its first to its last bucket
    /// (migration 0026).
    first: i32,
    buckets: Vec<Option<i32>>,
}

async fn rollups(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    provider_slug: Option<&str>,
    days: i32,
) -> Result<Vec<Rollup>> {
    let rows = sqlx::query!(
        r#"select d.day, d.status as "status: RunStatus", d.runs::bigint as "runs!", d.time_sum,
                  d.time_count::bigint as "time_count!",
                  coalesce(array_lower(d.buckets, 1), 1) as "first!",
                  -- 1-based, as the driver reads arrays
                  d.buckets[:] as "buckets!: Vec<Option<i32>>"
           from public.integration_run_daily d
           where d.tenant_id = $1
             and ($2::text is null or d.provider_slug = $2)
             and d.day > (now() at time zone 'UTC')::date - $3::int
           order by d.day"#,
        tenant_id,
        provider_slug,
        days
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Rollup {
            day: r.day,
            status: r.status,
            runs: r.runs,
            time_sum: r.time_sum,
            time_count: r.time_count,
            first: r.first,
            buckets: r.buckets,
        })
        .collect())
}

/// The time a histogram bucket stands for: its geometric middle (bucket 0: up to 1 ms).
fn bucket_ms(index: usize) -> f64 {
    if index == 0 {
        1.0
    } else {
        2f64.powf((index as f64 + 0.5) / 4.0)
    }
}

/// The 95th percentile of the times in `histogram`, `None` without times.
pub fn p95(histogram: &[i64]) -> Option<f64> {
    let total: i64 = histogram.iter().sum();
    if total <= 0 {
        return None;
    }
    // The smallest time with at least 95% of the times at or below it.
    let rank = (total as f64 * 0.95).ceil() as i64;
    let mut seen = 0;
    for (i, n) in histogram.iter().enumerate() {
        seen += n;
        if seen >= rank {
            return Some(bucket_ms(i));
        }
    }
    histogram.len().checked_sub(1).map(bucket_ms)
}

/// The window's totals and its days: runs per day (UTC) by status and their average time,
/// oldest first, days without runs absent (the chart fills them). One read of the
/// roll-ups for both (the detail page shows both).
pub async fn window(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    provider_slug: Option<&str>,
    days: i32,
) -> Result<(MetricsView, Vec<Day>)> {
    let rows = rollups(tx, tenant_id, provider_slug, days).await?;
    Ok((totals(&rows, days), by_day(&rows)))
}

pub async fn summary(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    provider_slug: Option<&str>,
    days: i32,
) -> Result<MetricsView> {
    let rows = rollups(tx, tenant_id, provider_slug, days).await?;
    Ok(totals(&rows, days))
}

fn totals(rows: &[Rollup], days: i32) -> MetricsView {
    let count = |status: RunStatus| -> i64 {
        rows.iter()
            .filter(|r| r.status == status)
            .map(|r| r.runs)
            .sum()
    };
    let (success, partial, error) = (
        count(RunStatus::Success),
        count(RunStatus::Partial),
        count(RunStatus::Error),
    );
    let finished = success + partial + error;
    let time_sum: i64 = rows.iter().map(|r| r.time_sum).sum();
    let time_count: i64 = rows.iter().map(|r| r.time_count).sum();
    let mut histogram = vec![0i64; BUCKETS];
    for r in rows {
        // Subscript k is bucket k, index k - 1 here. The table's check keeps subscripts
        // within 1..=108; any outside would be left out.
        for (j, n) in r.buckets.iter().enumerate() {
            let index = usize::try_from(i64::from(r.first) - 1 + j as i64).ok();
            if let Some(h) = index.and_then(|i| histogram.get_mut(i)) {
                *h += i64::from(n.unwrap_or(0));
            }
        }
    }
    MetricsView {
        days,
        runs: finished,
        success,
        partial,
        error,
        success_rate: (finished > 0).then(|| success as f64 / finished as f64),
        avg_ms: (time_count > 0).then(|| time_sum as f64 / time_count as f64),
        p95_ms: p95(&histogram),
    }
}

/// `rows` (ordered by day) as one entry per day with runs.
fn by_day(rows: &[Rollup]) -> Vec<Day> {
    let mut out: Vec<(Day, i64, i64)> = Vec::new();
    for r in rows {
        if out.last().is_none_or(|(d, _, _)| d.day != r.day) {
            out.push((
                Day {
                    day: r.day,
                    success: 0,
                    partial: 0,
                    error: 0,
                    avg_ms: None,
                },
                0,
                0,
            ));
        }
        if let Some((d, sum, n)) = out.last_mut() {
            match r.status {
                RunStatus::Success => d.success += r.runs,
                RunStatus::Partial => d.partial += r.runs,
                _ => d.error += r.runs,
            }
            *sum += r.time_sum;
            *n += r.time_count;
        }
    }
    out.into_iter()
        .filter(|(d, _, _)| d.success + d.partial + d.error > 0)
        .map(|(mut d, sum, n)| {
            d.avg_ms = (n > 0).then(|| sum as f64 / n as f64);
            d
        })
        .collect()
}

/// Recomputes every roll-up from the log (as the service); returns the rows written.
pub async fn rebuild(pool: &sqlx::PgPool) -> Result<i64> {
    let mut tx = crate::scope::begin_service(pool).await?;
    let rows = sqlx::query_scalar!(r#"select public.rebuild_integration_run_daily() as "rows!""#)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(rows)
}

/// How many of the tenant's enabled integrations ended their last run with an error.
pub async fn failing_now(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    connectors: &[String],
) -> Result<i64> {
    // Only integrations this server can run: one without a connector is not "failing".
    Ok(sqlx::query_scalar!(
        r#"select count(*) as "n!" from public.tenant_integrations
           where tenant_id = $1 and is_enabled and last_status = 'error'
             and provider = any($2)"#,
        tenant_id,
        connectors
    )
    .fetch_one(&mut **tx)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::{p95, BUCKETS};

    #[test]
    fn the_p95_is_the_bucket_holding_the_95th_percentile_time() {
        assert_eq!(p95(&vec![0; BUCKETS]), None);
        let mut h = vec![0i64; BUCKETS];
        // 100 times: 95 of about 100 ms (bucket 26), 5 of about 10 s (bucket 53).
        h[26] = 95;
        h[53] = 5;
        let v = p95(&h).expect("p95");
        assert!((v - 100.0).abs() / 100.0 < 0.1, "{v}");
        h[26] = 94;
        h[53] = 6;
        let v = p95(&h).expect("p95");
        assert!((v - 10_000.0).abs() / 10_000.0 < 0.1, "{v}");
    }
}
