//! The history of one tenant integration (`integration_logs`, read as the caller):
//! keyset pages with filters, and the attempts of one execution.
//!
//! Old rows may carry the tenant's slug instead of its id in `tenant_id` (one old job wrote
//! them); a page reads both forms, each as one range of the
//! `(tenant_id, provider_slug, created_at desc, id desc)` index.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::{Error, Result};
use model::history::{DEFAULT_PAGE_SIZE, PAGE_SIZES};
use model::{AttemptDetail, HistoryPage, HistoryQuery, HistoryRow, RunStatus, Trigger};

/// The values `integration_logs.tenant_id` may hold for a tenant: its id, and its slug
/// (old rows). Bound as an array so the planner sees both and uses the tenant index.
pub async fn tenant_keys(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
) -> Result<Vec<String>> {
    let slug = sqlx::query_scalar!(
        "select slug from public.organizacoes where id = $1",
        tenant_id
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(std::iter::once(tenant_id.to_string()).chain(slug).collect())
}

/// [`tenant_keys`] for the history of one of the tenant's integrations, read in the same
/// statement as whether the tenant has it: a history of an integration the tenant does not
/// have (never added, or another tenant's) is a 404 in pt-BR, as its detail is, even where
/// the log still holds rows of it.
async fn integration_keys(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    provider_slug: &str,
) -> Result<Vec<String>> {
    let row = sqlx::query!(
        r#"select (select o.slug from public.organizacoes o where o.id = $1) as slug,
                  exists (select 1 from public.tenant_integrations ti
                          join public.integration_providers p on p.id = ti.provider_id
                          where ti.tenant_id = $1 and p.slug = $2) as "has!""#,
        tenant_id,
        provider_slug
    )
    .fetch_one(&mut **tx)
    .await?;
    if !row.has {
        return Err(crate::Error::NotFound(model::INTEGRATION_NOT_FOUND.into()));
    }
    Ok(std::iter::once(tenant_id.to_string())
        .chain(row.slug)
        .collect())
}

/// Validated filters.
#[derive(Debug, Clone, PartialEq)]
pub struct Filters {
    pub status: Option<RunStatus>,
    pub trigger: Option<Trigger>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub page_size: i64,
    pub before: Option<(DateTime<Utc>, Uuid)>,
}

fn blank(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl Filters {
    /// Checks every field; the error names the field in pt-BR.
    pub fn parse(q: &HistoryQuery) -> Result<Self> {
        let status = blank(&q.status)
            .map(|s| RunStatus::parse(s).ok_or_else(|| Error::Invalid("Status inválido.".into())))
            .transpose()?;
        let trigger = blank(&q.trigger)
            .map(|t| Trigger::parse(t).ok_or_else(|| Error::Invalid("Origem inválida.".into())))
            .transpose()?;
        let date = |v: &Option<String>, what: &str| -> Result<Option<NaiveDate>> {
            blank(v)
                .map(|s| {
                    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                        Error::Invalid(format!("Data {what} inválida (use AAAA-MM-DD)."))
                    })
                })
                .transpose()
        };
        let from = date(&q.from, "inicial")?;
        let to = date(&q.to, "final")?;
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                return Err(Error::Invalid(
                    "A data inicial deve ser anterior à data final.".into(),
                ));
            }
        }
        let page_size = match blank(&q.page_size) {
            None => DEFAULT_PAGE_SIZE,
            Some(s) => match s.parse::<i64>() {
                Ok(n) if PAGE_SIZES.contains(&n) => n,
                _ => return Err(Error::Invalid("Tamanho de página inválido.".into())),
            },
        };
        let before = blank(&q.before).map(parse_cursor).transpose()?;
        Ok(Self {
            status,
            trigger,
            from,
            to,
            page_size,
            before,
        })
    }

    /// No filter and no cursor: the newest attempts of every kind.
    pub fn is_first_page_of_all(&self) -> bool {
        self.status.is_none()
            && self.trigger.is_none()
            && self.from.is_none()
            && self.to.is_none()
            && self.before.is_none()
    }
}

/// `<microseconds since the epoch>_<row id>`.
pub fn cursor(at: DateTime<Utc>, id: Uuid) -> String {
    format!("{}_{id}", at.timestamp_micros())
}

fn parse_cursor(s: &str) -> Result<(DateTime<Utc>, Uuid)> {
    let bad = || Error::Invalid("Página inválida.".into());
    let (micros, id) = s.split_once('_').ok_or_else(bad)?;
    let at = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::<Utc>::from_timestamp_micros)
        .ok_or_else(bad)?;
    let id = Uuid::parse_str(id).map_err(|_| bad())?;
    Ok((at, id))
}

/// A time as the pages show it: RFC 3339 in UTC, to the second.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// One page of attempts, newest first.
pub async fn page(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    provider_slug: &str,
    f: &Filters,
) -> Result<HistoryPage> {
    // One branch per form of the tenant id (its id; its slug in old rows), each one range
    // of `(tenant_id, provider_slug, created_at desc, id desc)`, merged in order: with
    // `tenant_id = any(…)` the planner cannot read that index in order and walked the
    // whole log by time instead (313 ms for a quiet tenant among 1.6M rows, vs 3.4 ms).
    let keys = integration_keys(tx, tenant_id, provider_slug).await?;
    let (id_key, slug_key) = (keys.first().cloned(), keys.get(1).cloned());
    let mut rows = if f.is_first_page_of_all() {
        first_page_of_all(tx, id_key, slug_key, provider_slug, f.page_size + 1).await?
    } else {
        filtered_page(tx, id_key, slug_key, provider_slug, f).await?
    };
    let more = rows.len() as i64 > f.page_size;
    rows.truncate(usize::try_from(f.page_size).unwrap_or(0));
    let next_before = if more {
        rows.last().map(|r| cursor(r.created_at, r.id))
    } else {
        None
    };
    Ok(HistoryPage {
        rows: rows
            .into_iter()
            .map(|r| HistoryRow {
                id: r.id,
                execution_id: r.execution_id,
                attempt: r.attempt,
                status: r.status,
                trigger: r.trigger,
                created_at: rfc3339(r.created_at),
                seconds_ago: r.seconds_ago,
                execution_time_ms: r.execution_time_ms,
                total_processados: r.total_processados,
                total_matched: r.total_matched,
                total_failed: r.total_failed,
                error_message: r.error_message,
            })
            .collect(),
        next_before,
    })
}

/// A row of a history page, as both of its queries read it.
struct LogRow {
    id: Uuid,
    execution_id: Uuid,
    attempt: i32,
    status: RunStatus,
    trigger: Trigger,
    created_at: DateTime<Utc>,
    seconds_ago: i64,
    execution_time_ms: Option<i32>,
    total_processados: i32,
    total_matched: i32,
    total_failed: i32,
    error_message: Option<String>,
}

/// The newest `limit` attempts, unfiltered: what a detail page shows first, and most
/// pages asked for. A statement of its own with no optional filter, so PostgreSQL may
/// keep one plan for it (it reads the keyset index's two ranges whatever the values):
/// [`filtered_page`] plans itself anew each time, which cost this page 0.5 ms.
async fn first_page_of_all(
    tx: &mut Transaction<'static, Postgres>,
    id_key: Option<String>,
    slug_key: Option<String>,
    provider_slug: &str,
    limit: i64,
) -> Result<Vec<LogRow>> {
    Ok(sqlx::query_as!(
        LogRow,
        r#"select l.id as "id!", l.execution_id as "execution_id!", l.attempt as "attempt!",
                  l.status as "status!: RunStatus", l.trigger as "trigger!: Trigger", l.created_at as "created_at!",
                  extract(epoch from now() - l.created_at)::bigint as "seconds_ago!",
                  l.execution_time_ms, l.total_processados as "total_processados!",
                  l.total_matched as "total_matched!", l.total_failed as "total_failed!",
                  l.error_message
           from (
             (select l.* from public.integration_logs l
              where l.tenant_id = $1 and l.provider_slug = $2
              order by l.created_at desc, l.id desc
              limit $3)
             union all
             (select l.* from public.integration_logs l
              where l.tenant_id = $4 and l.provider_slug = $2
              order by l.created_at desc, l.id desc
              limit $3)
           ) l
           order by l.created_at desc, l.id desc
           limit $3"#,
        id_key,
        provider_slug,
        limit,
        slug_key
    )
    .fetch_all(&mut **tx)
    .await?)
}

/// A page with filters or after a cursor.
async fn filtered_page(
    tx: &mut Transaction<'static, Postgres>,
    id_key: Option<String>,
    slug_key: Option<String>,
    provider_slug: &str,
    f: &Filters,
) -> Result<Vec<LogRow>> {
    let (before_at, before_id) = match f.before {
        Some((at, id)) => (Some(at), Some(id)),
        None => (None, None),
    };
    // Days are UTC days, compared as timestamps (a timestamptz-with-date comparison is not
    // leakproof, so under RLS it could not be an index condition).
    // Planned for these filters every time: each optional filter is `$n is null or …`,
    // which only a plan for the bound values turns into index conditions. After five
    // runs PostgreSQL may cache a generic plan for the connection (it does after a few
    // pages filtered by a trigger the tenant never used, whose custom plans it estimates
    // dear), and that plan walks the keyset index for every later filter, even a status
    // the unsettled statuses' index (0025) answers at once.
    crate::scope::plan_for_bound_values(tx).await?;
    Ok(sqlx::query_as!(
        LogRow,
        r#"select l.id as "id!", l.execution_id as "execution_id!", l.attempt as "attempt!",
                  l.status as "status!: RunStatus", l.trigger as "trigger!: Trigger", l.created_at as "created_at!",
                  extract(epoch from now() - l.created_at)::bigint as "seconds_ago!",
                  l.execution_time_ms, l.total_processados as "total_processados!",
                  l.total_matched as "total_matched!", l.total_failed as "total_failed!",
                  l.error_message
           from (
             (select l.* from public.integration_logs l
              where l.tenant_id = $1
                and l.provider_slug = $2
                and ($3::text is null or l.status = $3)
                and ($4::text is null or l.trigger = $4)
                and ($5::date is null or l.created_at >= ($5::date)::timestamp at time zone 'UTC')
                and ($6::date is null or l.created_at < ($6::date + 1)::timestamp at time zone 'UTC')
                and ($7::timestamptz is null or (l.created_at, l.id) < ($7, $8::uuid))
              order by l.created_at desc, l.id desc
              limit $9)
             union all
             (select l.* from public.integration_logs l
              where l.tenant_id = $10
                and l.provider_slug = $2
                and ($3::text is null or l.status = $3)
                and ($4::text is null or l.trigger = $4)
                and ($5::date is null or l.created_at >= ($5::date)::timestamp at time zone 'UTC')
                and ($6::date is null or l.created_at < ($6::date + 1)::timestamp at time zone 'UTC')
                and ($7::timestamptz is null or (l.created_at, l.id) < ($7, $8::uuid))
              order by l.created_at desc, l.id desc
              limit $9)
           ) l
           order by l.created_at desc, l.id desc
           limit $9"#,
        id_key,
        provider_slug,
        f.status as Option<RunStatus>,
        f.trigger as Option<Trigger>,
        f.from,
        f.to,
        before_at,
        before_id,
        f.page_size + 1,
        slug_key
    )
    .fetch_all(&mut **tx)
    .await?)
}

/// The attempts of one execution of the tenant, first attempt first; empty when the caller
/// cannot see it.
pub async fn execution(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    execution_id: Uuid,
) -> Result<Vec<AttemptDetail>> {
    let keys = crate::history::tenant_keys(tx, tenant_id).await?;
    let rows = sqlx::query!(
        r#"select l.attempt, l.status as "status: RunStatus", l.trigger as "trigger: Trigger",
                  l.created_at, l.execution_time_ms,
                  l.error_message, l.total_processados, l.total_created, l.total_updated,
                  l.total_unchanged, l.total_failed, l.total_review, l.total_ignored,
                  l.payload, l.response, l.rerun_of, l.events,
                  -- The latest execution that repeats this one, if any.
                  (select r.execution_id from public.integration_logs r
                   where r.rerun_of = l.execution_id and r.attempt = 1
                     and r.tenant_id = any($1::text[])
                   order by r.created_at desc limit 1) as rerun_by
           from public.integration_logs l
           where l.execution_id = $2
             and l.tenant_id = any($1::text[])
           order by l.attempt"#,
        &keys,
        execution_id
    )
    .fetch_all(&mut **tx)
    .await?;
    let pretty = |v: Option<serde_json::Value>| {
        v.filter(|v| !v.is_null())
            .map(|v| serde_json::to_string_pretty(&v).unwrap_or_default())
    };
    Ok(rows
        .into_iter()
        .map(|r| AttemptDetail {
            attempt: r.attempt,
            status: r.status,
            trigger: r.trigger,
            created_at: rfc3339(r.created_at),
            created_at_pt: crate::config_form::brasilia(r.created_at),
            execution_time_ms: r.execution_time_ms,
            error_message: r.error_message,
            total_processados: r.total_processados,
            total_created: r.total_created,
            total_updated: r.total_updated,
            total_unchanged: r.total_unchanged,
            total_failed: r.total_failed,
            total_review: r.total_review,
            total_ignored: r.total_ignored,
            payload: pretty(r.payload),
            response: pretty(r.response),
            rerun_of: r.rerun_of,
            rerun_by: r.rerun_by,
            // An entry this server does not know (written by a newer one) is left out.
            events: r
                .events
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default()
                .into_iter()
                .filter_map(|e| serde_json::from_value(e).ok())
                .collect(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(f: impl FnOnce(&mut HistoryQuery)) -> HistoryQuery {
        let mut q = HistoryQuery::default();
        f(&mut q);
        q
    }

    #[test]
    fn filters_are_validated_field_by_field() {
        let ok = Filters::parse(&HistoryQuery::default()).expect("empty is fine");
        assert_eq!(ok.page_size, 25);
        assert!(Filters::parse(&q(|q| q.status = Some("bogus".into()))).is_err());
        assert!(Filters::parse(&q(|q| q.trigger = Some("cron".into()))).is_err());
        assert!(Filters::parse(&q(|q| q.from = Some("31/12/2026".into()))).is_err());
        assert!(Filters::parse(&q(|q| q.page_size = Some("7".into()))).is_err());
        assert!(Filters::parse(&q(|q| q.before = Some("x_y".into()))).is_err());
        let reversed = q(|q| {
            q.from = Some("2026-11-20".into());
            q.to = Some("2026-11-10".into());
        });
        assert!(Filters::parse(&reversed).is_err());
        let fine = q(|q| {
            q.status = Some(" error ".into());
            q.page_size = Some("100".into());
            q.from = Some("".into());
        });
        let f = Filters::parse(&fine).expect("valid");
        assert_eq!(
            (f.status, f.page_size, f.from),
            (Some(RunStatus::Error), 100, None)
        );
    }

    #[test]
    fn cursors_round_trip() {
        let at = DateTime::<Utc>::from_timestamp_micros(1_764_000_000_123_456).expect("time");
        let id = Uuid::from_u128(42);
        assert_eq!(parse_cursor(&cursor(at, id)).expect("parses"), (at, id));
    }
}
