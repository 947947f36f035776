//! The portal header's notices: the latest pauses and recoveries of the tenant's
//! integrations, read under the caller's row-level security (the tenant's admins and global
//! admins see them; anyone else gets none), and each person's "seen up to" mark.

use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::Result;
use model::{Notice, NoticeKind, Notices};

/// How many notices the header lists.
pub const SHOWN: i64 = 10;
/// Unread notices are counted up to this many ("99+").
const COUNTED: i64 = 100;

/// The latest notices of the tenant, with how many the caller has not seen.
pub async fn list(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    user_id: Uuid,
) -> Result<Notices> {
    let seen = sqlx::query_scalar!(
        r#"select seen_up_to from public.integration_notice_reads
           where user_id = $1 and tenant_id = $2"#,
        user_id,
        tenant_id
    )
    .fetch_optional(&mut **tx)
    .await?
    .unwrap_or(0);
    let rows = sqlx::query!(
        r#"select n.id, n.provider_slug, coalesce(p.name, n.provider_slug) as "integration!",
                  n.kind, n.failures, n.last_error,
                  to_char(n.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as "created_at!",
                  extract(epoch from now() - n.created_at)::bigint as "seconds_ago!"
           from public.integration_notices n
           left join public.integration_providers p on p.slug = n.provider_slug
           where n.tenant_id = $1
           order by n.id desc
           limit $2"#,
        tenant_id,
        SHOWN
    )
    .fetch_all(&mut **tx)
    .await?;
    let unread = sqlx::query_scalar!(
        r#"select count(*) as "n!" from (
             select 1 from public.integration_notices
             where tenant_id = $1 and id > $2
             limit $3) u"#,
        tenant_id,
        seen,
        COUNTED
    )
    .fetch_one(&mut **tx)
    .await?;
    let items = rows
        .into_iter()
        .filter_map(|r| {
            Some(Notice {
                id: r.id,
                provider_slug: r.provider_slug,
                integration: r.integration,
                kind: NoticeKind::parse(&r.kind)?,
                failures: r.failures,
                last_error: r.last_error,
                created_at: r.created_at,
                seconds_ago: r.seconds_ago,
                unread: r.id > seen,
            })
        })
        .collect();
    Ok(Notices { items, unread })
}

/// Marks the tenant's notices up to `up_to` (the newest one the caller's list showed) as
/// seen by the caller: one that came after the list was read stays unread. Their own mark;
/// the table's policy refuses anyone else's and tenants the caller does not administer.
pub async fn mark_seen(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    user_id: Uuid,
    up_to: i64,
) -> Result<()> {
    sqlx::query!(
        r#"insert into public.integration_notice_reads as r (user_id, tenant_id, seen_up_to)
           select $1, $2, least($3, coalesce(max(n.id), 0))
           from public.integration_notices n where n.tenant_id = $2
           on conflict (user_id, tenant_id)
           do update set seen_up_to = greatest(r.seen_up_to, excluded.seen_up_to)"#,
        user_id,
        tenant_id,
        up_to
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Deletes notices older than `days` (the daily retention job); how many.
pub async fn purge(pool: &sqlx::PgPool, days: i32) -> Result<u64> {
    let mut tx = crate::scope::begin_service(pool).await?;
    let n = sqlx::query!(
        "delete from public.integration_notices where created_at < now() - make_interval(days => $1)",
        days
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(n)
}
