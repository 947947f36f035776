//! The organizations a user may switch to, found by name: a platform administrator's
//! header searches them instead of listing hundreds with every page.

use model::TenantRef;

use crate::Result;

/// The most suggestions one search returns.
pub const SEARCH_LIMIT: i64 = 20;

/// The longest text searched for, in characters: no organization's name is longer, and
/// a longer one would only make every comparison dearer.
pub const QUERY_MAX: usize = 100;

/// Organizations the caller may act in (their tenants; every organization for a global
/// admin, as the policies' `member_tenant_ids()` says) whose name or slug contains `query`,
/// ignoring case: an exact slug first, then an exact name, then by name; at most
/// [`SEARCH_LIMIT`]. Nothing for a text longer than [`QUERY_MAX`].
/// The caller's role in each is their membership's, `admin` for a global admin's others.
pub async fn search(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    query: &str,
) -> Result<Vec<TenantRef>> {
    let query = query.trim();
    // No PostgreSQL text holds a NUL: sent, it would be the database's error (a 500).
    if query.is_empty() || query.chars().count() > QUERY_MAX || query.contains('\0') {
        return Ok(Vec::new());
    }
    // `strpos`, not `like`: what the user typed is text, never a pattern (`%`, `_`).
    // The baseline lets anyone signed in read `organizacoes`: the filter by the caller's
    // tenants is this query's own, in two branches of which an init plan runs one. A
    // platform administrator's reads every organization (`member_tenant_ids()` would be
    // all of them: probing the key with thousands of ids cost 12-24 ms at 5,002); the
    // others' reads their memberships by the caller's index.
    let found = sqlx::query_as!(
        TenantRef,
        r#"select m.id as "id!", m.nome as "nome!", m.slug as "slug!", m.role as "role!"
           from (select o.id, o.nome, o.slug, coalesce(ut.role, 'admin') as role
                 from public.organizacoes o
                 left join public.user_tenants ut
                   on ut.tenant_id = o.id and ut.user_id = (select auth.uid())
                 where (select public.is_global_admin())
                 union all
                 select o.id, o.nome, o.slug, ut.role
                 from public.user_tenants ut
                 join public.organizacoes o on o.id = ut.tenant_id
                 where ut.user_id = (select auth.uid())
                   and not (select public.is_global_admin())
                   and (select public.caller_session_ok())) m
           where strpos(lower(m.nome), lower($1)) > 0 or strpos(lower(m.slug), lower($1)) > 0
           order by lower(m.slug) = lower($1) desc, lower(m.nome) = lower($1) desc, m.nome, m.slug
           limit $2"#,
        query,
        SEARCH_LIMIT
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(found)
}

/// The one organization the caller may act in that `text` names: its slug, or else its
/// whole name when no other of the caller's organizations has it (both ignoring case).
pub async fn resolve(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    text: &str,
) -> Result<Option<TenantRef>> {
    let text = text.trim();
    let found = search(tx, text).await?;
    let wanted = text.to_lowercase();
    if let Some(by_slug) = found.iter().find(|t| t.slug.to_lowercase() == wanted) {
        return Ok(Some(by_slug.clone()));
    }
    let mut by_name = found
        .into_iter()
        .filter(|t| t.nome.to_lowercase() == wanted);
    Ok(match (by_name.next(), by_name.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    })
}
