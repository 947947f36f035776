//! The one way a user's request reaches the database.
//!
//! [`begin_as`] opens a transaction and, before any other statement, does what PostgREST
//! does: `set_config('request.jwt.claims', <claims>, true)` and `set_config('role',
//! 'authenticated', true)`. Both are transaction-local (`is_local = true`), so a pooled
//! connection never carries one caller's identity into the next request. Policies read the
//! caller through `auth.uid()` / `auth.jwt()`.

use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

/// The claims of a session token. They follow Supabase's, so a token that a Supabase
/// project signs with the same secret is accepted too.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub role: String,
    pub aud: String,
    pub exp: i64,
    #[serde(default)]
    pub iat: i64,
    #[serde(default)]
    pub email: String,
    /// The portal session this token belongs to (`portal_sessions.id`): every token the
    /// portal issues names one, so that signing out ends it. Supabase's tokens carry none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
    /// Supabase's anonymous sign-ins say so: such a token is refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_anonymous: bool,
}

/// Plans the rest of `tx`'s statements for their bound values every time, never from a
/// generic plan PostgreSQL cached for the connection after five runs: for statements whose
/// best plan depends on the values (optional filters written `$n is null or …`, a table
/// that grows within a connection's life).
pub async fn plan_for_bound_values(tx: &mut Transaction<'static, Postgres>) -> sqlx::Result<()> {
    sqlx::query("set local plan_cache_mode = force_custom_plan")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A transaction that runs as the caller, under row-level security.
pub async fn begin_as(
    pool: &PgPool,
    claims: &Claims,
) -> sqlx::Result<Transaction<'static, Postgres>> {
    let mut tx = pool.begin().await?;
    act_as(&mut tx, claims).await?;
    Ok(tx)
}

/// Makes the rest of `tx` run as the caller (`authenticated` with these claims, as
/// PostgREST would), after whatever the transaction did before.
pub async fn act_as(tx: &mut Transaction<'static, Postgres>, claims: &Claims) -> sqlx::Result<()> {
    let claims_json =
        serde_json::to_string(claims).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query("select set_config('request.jwt.claims', $1, true), set_config('role', 'authenticated', true)")
        .bind(claims_json)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A transaction for trusted back-end work (login look-ups, jobs): Supabase's `service_role`,
/// never the superuser. Queries under it must filter by tenant explicitly.
pub async fn begin_service(pool: &PgPool) -> sqlx::Result<Transaction<'static, Postgres>> {
    let mut tx = pool.begin().await?;
    sqlx::query("select set_config('request.jwt.claims', '{\"role\":\"service_role\"}', true), set_config('role', 'service_role', true)")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// 403 with `message` (pt-BR) unless the caller of `tx` administers the tenant (global
/// admins administer all).
pub async fn require_tenant_admin(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    message: &str,
) -> crate::Result<()> {
    let admin = sqlx::query_scalar!(
        r#"select public.is_tenant_admin($1) as "admin!""#,
        tenant_id
    )
    .fetch_one(&mut **tx)
    .await?;
    if admin {
        Ok(())
    } else {
        Err(crate::Error::Forbidden(message.to_owned()))
    }
}

/// Whether the caller of `tx` belongs to the tenant (global admins belong to all).
pub async fn is_tenant_member(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"select public.is_tenant_member($1) as "member!""#,
        tenant_id
    )
    .fetch_one(&mut **tx)
    .await
}

/// Switches a transaction that runs as a caller to `service_role` for the statements that
/// only the server may make (the vault, the audit trail), after the caller's own checks
/// ran under row-level security. Returns what [`restore_role`] needs to switch back.
/// Transaction-local like [`begin_as`]: a rollback or commit ends it either way.
pub async fn elevate(tx: &mut Transaction<'static, Postgres>) -> sqlx::Result<String> {
    let previous: String = sqlx::query_scalar(
        "select case when current_user = session_user then 'none' else current_user::text end",
    )
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query("select set_config('role', 'service_role', true)")
        .execute(&mut **tx)
        .await?;
    Ok(previous)
}

/// Undoes [`elevate`].
pub async fn restore_role(
    tx: &mut Transaction<'static, Postgres>,
    previous: &str,
) -> sqlx::Result<()> {
    sqlx::query("select set_config('role', $1, true)")
        .bind(previous)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
