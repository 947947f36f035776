//! The one way a user's request reaches the database.
//!
//! [`begin_as`] opens a transaction whose first statements are what PostgREST does:
//! `set_config('request.jwt.claims', <claims>, true)` and `set_config('role',
//! 'authenticated', true)` (sent with the `BEGIN`, in one round trip, and run in the
//! transaction it starts). Both are transaction-local (`is_local = true`), so a pooled
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

/// What [`begin_as`] sets for its transaction: `plan_cache_mode = force_generic_plan`. A
/// caller's statements (a page's panels: each a few index scans under row-level security)
/// are planned once per connection and the plan kept, not planned for their values on
/// each of the first five runs, as PostgreSQL does before it settles on the same generic
/// plan. Those five cost the most: the policies are planned with the query, so the
/// dashboard's list took 1.3-9 ms to plan on each of a connection's first five runs and
/// 0.13 ms after (the bench database, `log_min_duration_statement = 0`), and every new
/// connection, and every plan a changed table invalidates, paid them again. A statement
/// whose best plan depends on its values asks for plans per value
/// ([`plan_for_bound_values`]).
pub const PLANNED_ONCE: &str = "force_generic_plan";

/// Plans the rest of `tx`'s statements for their bound values every time, never from a
/// generic plan (the one [`PLANNED_ONCE`] keeps, or PostgreSQL would cache for the
/// connection after five runs): for statements whose best plan depends on the values
/// (optional filters written `$n is null or …`, a table that grows within a connection's
/// life).
pub async fn plan_for_bound_values(tx: &mut Transaction<'static, Postgres>) -> sqlx::Result<()> {
    sqlx::query("set local plan_cache_mode = force_custom_plan")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A transaction that runs as the caller, under row-level security, whose statements are
/// planned once per connection ([`PLANNED_ONCE`]).
///
/// The `set_config`s (claims, role, planning) and the `BEGIN` go in one round trip: a
/// page's panels each open one, and round trips are what a cheap panel mostly pays. One
/// simple-protocol query, which cannot bind, so the claims are a string constant
/// ([`string_constant`]). The `set_config`s come first: PostgreSQL runs them in the
/// query's implicit transaction, which the `BEGIN` after them turns into the transaction
/// itself, their settings with it ("Multiple Statements in a Simple Query", in the
/// protocol's chapter). Should one fail, the implicit transaction ends there, the `BEGIN`
/// never runs, and the connection goes back to the pool outside any transaction: `BEGIN`
/// first would leave it inside an aborted one, which sqlx does not roll back when a custom
/// begin fails.
pub async fn begin_as(
    pool: &PgPool,
    claims: &Claims,
) -> sqlx::Result<Transaction<'static, Postgres>> {
    let claims_json =
        serde_json::to_string(claims).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let claims_sql = string_constant(&claims_json)
        .ok_or_else(|| sqlx::Error::Encode("the session's claims hold a NUL character".into()))?;
    begin_to_the_end(
        pool,
        format!(
            "select set_config('request.jwt.claims', {claims_sql}, true), \
             set_config('role', 'authenticated', true), \
             set_config('plan_cache_mode', '{PLANNED_ONCE}', true); begin"
        ),
    )
    .await
}

/// `pool.begin_with(statement)`, carried to its end in a task of its own even when the
/// caller stops waiting (a browser that leaves a page drops its requests' futures). Every
/// transaction a request opens goes through here: `pool.begin*` elsewhere only runs where
/// nothing cancels it (the demo seed at start-up). sqlx
/// counts a transaction as open only once its `BEGIN` has answered: a begin dropped after
/// sending it and before the answer leaves the connection inside a transaction that sqlx
/// does not know of, and so never rolls back, with the caller's role and claims in it,
/// for the next user of the pool (a job then failed with "permission denied for schema
/// graphile_worker", and every statement after an error with "current transaction is
/// aborted"). Carried to its end, the transaction is known, and dropped with the task's
/// output it is rolled back as the connection goes back to the pool.
async fn begin_to_the_end(
    pool: &PgPool,
    statement: String,
) -> sqlx::Result<Transaction<'static, Postgres>> {
    use tracing::Instrument;
    let pool = pool.clone();
    match tokio::spawn(async move { pool.begin_with(statement).await }.in_current_span()).await {
        Ok(begun) => begun,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(sqlx::Error::Protocol(format!(
            "the transaction's begin stopped: {e}"
        ))),
    }
}

/// `s` as a PostgreSQL string constant: an escape string (`E'…'`), whose meaning does not
/// depend on `standard_conforming_strings` or `backslash_quote`, with every backslash and
/// quote doubled. `None` when `s` holds a NUL, which no PostgreSQL text can (serde_json
/// writes one as `\u0000`, so claims never do). sqlx always connects with
/// `client_encoding` UTF8, in which no byte of a multibyte character is a quote or a
/// backslash. The statement's text holds what `s` holds: PostgreSQL logs it should it
/// fail (`log_min_error_statement`), and `pg_stat_activity` shows it to roles that may
/// see the server's own sessions (never to `authenticated`).
pub fn string_constant(s: &str) -> Option<String> {
    if s.contains('\0') {
        return None;
    }
    let mut out = String::with_capacity(s.len() + 4);
    out.push_str("E'");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("''"),
            c => out.push(c),
        }
    }
    out.push('\'');
    Some(out)
}

/// Makes the rest of `tx` run as the caller (`authenticated` with these claims, as
/// PostgREST would), after whatever the transaction did before. Its statements are planned
/// as [`begin_as`]'s are ([`PLANNED_ONCE`]).
pub async fn act_as(tx: &mut Transaction<'static, Postgres>, claims: &Claims) -> sqlx::Result<()> {
    let claims_json =
        serde_json::to_string(claims).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(
        "select set_config('request.jwt.claims', $1, true), \
                set_config('role', 'authenticated', true), \
                set_config('plan_cache_mode', $2, true)",
    )
    .bind(claims_json)
    .bind(PLANNED_ONCE)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A transaction for trusted back-end work (login look-ups, jobs): Supabase's `service_role`,
/// never the superuser. Queries under it must filter by tenant explicitly.
pub async fn begin_service(pool: &PgPool) -> sqlx::Result<Transaction<'static, Postgres>> {
    // One round trip, as `begin_as` (and in the same order, for the same reason).
    begin_to_the_end(
        pool,
        "select set_config('request.jwt.claims', '{\"role\":\"service_role\"}', true), \
         set_config('role', 'service_role', true); begin"
            .to_owned(),
    )
    .await
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

#[cfg(test)]
mod string_constant_tests {
    use super::string_constant;

    #[test]
    fn doubles_quotes_and_backslashes_in_an_escape_string() {
        assert_eq!(string_constant("abc").as_deref(), Some("E'abc'"));
        assert_eq!(
            string_constant(r#"it's \' "x""#).as_deref(),
            Some(r#"E'it''s \\'' "x"'"#)
        );
        assert_eq!(string_constant("ção ✓").as_deref(), Some("E'ção ✓'"));
        assert_eq!(string_constant("a\0b"), None);
    }
}
