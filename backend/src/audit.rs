//! The audit trail (`integration_audit`): who did what to a tenant's integrations.
//!
//! [`record`] writes an entry in the transaction of the change it records (so both commit
//! or neither), switching to `service_role` for the insert: no client role may write the
//! table, so PostgREST users cannot forge entries. Entries never hold a secret's value.
//! [`page`] reads under the caller's row-level security (tenant admins and global admins).

use serde_json::Value;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::scope::{elevate, restore_role};
use crate::{Error, Result};
use model::audit::AUDIT_PAGE_SIZE;
use model::{AuditEntry, AuditPage, AuditPerson, AuditQuery, AUDIT_ACTIONS};

/// Where an action came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Ui,
    Api,
    Schedule,
    System,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Ui => "ui",
            Source::Api => "api",
            Source::Schedule => "schedule",
            Source::System => "system",
        }
    }
}

/// What was done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    IntegrationAdded,
    IntegrationRemoved,
    Enabled,
    Disabled,
    ConfigChanged,
    SecretSet,
    SecretRemoved,
    ScheduleChanged,
    RunRequested,
    RunCancelled,
    ConnectionTested,
    MemberRoleChanged,
    /// A person decided about a contact in OneCode's review queue.
    ContactDecided,
    /// The tenant's outgoing alert webhook was set or replaced.
    AlertWebhookSet,
    AlertWebhookRemoved,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::IntegrationAdded => "integration_added",
            Action::IntegrationRemoved => "integration_removed",
            Action::Enabled => "enabled",
            Action::Disabled => "disabled",
            Action::ConfigChanged => "config_changed",
            Action::SecretSet => "secret_set",
            Action::SecretRemoved => "secret_removed",
            Action::ScheduleChanged => "schedule_changed",
            Action::RunRequested => "run_requested",
            Action::RunCancelled => "run_cancelled",
            Action::ConnectionTested => "connection_tested",
            Action::MemberRoleChanged => "member_role_changed",
            Action::ContactDecided => "contact_decided",
            Action::AlertWebhookSet => "alert_webhook_set",
            Action::AlertWebhookRemoved => "alert_webhook_removed",
        }
    }
}

/// Who acts, as they are at the time, and through what.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: Option<Uuid>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub source: Source,
    /// The request's `x-request-id`, to find its lines in the server's log.
    pub request_id: Option<String>,
}

impl Actor {
    /// A signed-in user.
    pub fn user(user: &model::SessionUser, source: Source, request_id: Option<String>) -> Self {
        Self {
            user_id: Some(user.id),
            email: Some(user.email.clone()).filter(|e| !e.is_empty()),
            name: Some(user.nome.clone()).filter(|n| !n.is_empty()),
            source,
            request_id,
        }
    }

    /// The server itself (schedules, start-up, operator commands).
    pub fn system(source: Source) -> Self {
        Self {
            user_id: None,
            email: None,
            name: None,
            source,
            request_id: None,
        }
    }

    /// An API client, known by its token's claims. (The audit takes the person from the
    /// transaction's claims; this carries where the call came from and its request id.)
    pub fn api(claims: &crate::scope::Claims, request_id: Option<String>) -> Self {
        Self {
            user_id: Some(claims.sub),
            email: Some(claims.email.clone()).filter(|e| !e.is_empty()),
            name: None,
            source: Source::Api,
            request_id,
        }
    }

    /// The name a person reads: the user's name, else the e-mail.
    pub fn display_name(&self) -> Option<String> {
        self.name.clone().or_else(|| self.email.clone())
    }
}

/// The request's `x-request-id` (set by the server's request-id layer), when sane.
pub fn request_id(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.chars().all(|c| c.is_ascii_graphic()))
        .map(str::to_owned)
}

/// Says, for the rest of `tx`, where its changes come from and the request's id: the
/// database's audit triggers (tenant integrations, runs requested, member roles) read them
/// (`portal.audit_source`, `portal.request_id`, transaction-local) and take the person from
/// the caller's claims (`auth.uid()`).
pub async fn bind(tx: &mut Transaction<'static, Postgres>, actor: &Actor) -> Result<()> {
    sqlx::query(
        "select set_config('portal.audit_source', $1, true), set_config('portal.request_id', $2, true)",
    )
    .bind(actor.source.as_str())
    .bind(actor.request_id.as_deref().unwrap_or(""))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes one entry in `tx` (the transaction of the change), for what only the server does
/// (credentials, connection tests). `provider_slug` names the tenant integration. The
/// person is the transaction's caller, with the e-mail of their account (not of their
/// profile, which they may edit); the source and request id are `actor`'s.
pub async fn record(
    tx: &mut Transaction<'static, Postgres>,
    actor: &Actor,
    tenant_id: Uuid,
    provider_slug: Option<&str>,
    action: Action,
    details: Value,
) -> Result<()> {
    bind(tx, actor).await?;
    let previous = elevate(tx).await?;
    sqlx::query!(
        r#"insert into public.integration_audit
             (actor_id, actor_email, actor_name, tenant_id, tenant_integration_id,
              provider_slug, action, details, source, request_id)
           select a.actor, a.email, a.name, $1,
                  (select t.id from public.tenant_integrations t
                   join public.integration_providers p on p.id = t.provider_id
                   where t.tenant_id = $1 and p.slug = $2),
                  $2, $3, $4, a.source, a.request_id
           from public.audit_actor_row() a"#,
        tenant_id,
        provider_slug,
        action.as_str(),
        details,
    )
    .execute(&mut **tx)
    .await?;
    restore_role(tx, &previous).await?;
    Ok(())
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "(vazio)".into(),
        Value::String(s) if s.is_empty() => "(vazio)".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A member's role as the header names it; no role is no access to the tenant (a member
/// added, or removed).
fn role_label(role: Option<&Value>) -> String {
    match role {
        None | Some(Value::Null) => "sem acesso".into(),
        Some(Value::String(r)) if r == "admin" => "Administrador".into(),
        Some(Value::String(r)) if r == "staff" => "Equipe".into(),
        Some(other) => text(other),
    }
}

/// What an entry says, in pt-BR, from its action and details.
pub fn summary(action: &str, details: &Value) -> String {
    let field = || {
        details
            .get("title")
            .or_else(|| details.get("field"))
            .map(text)
            .unwrap_or_else(|| "credencial".into())
    };
    match action {
        "integration_added" if details.get("enabled") == Some(&Value::Bool(true)) => {
            "Integração adicionada (ativada).".into()
        }
        "integration_added" => "Integração adicionada (desativada até ser configurada).".into(),
        "integration_removed" => "Integração removida desta organização.".into(),
        "enabled" => "Integração ativada.".into(),
        "disabled" => "Integração desativada.".into(),
        "config_changed" => {
            let changes: Vec<String> = details
                .get("changes")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .map(|c| {
                            format!(
                                "{}: {} → {}",
                                c.get("title")
                                    .or_else(|| c.get("field"))
                                    .map_or_else(String::new, text),
                                c.get("before").map_or_else(|| "(vazio)".into(), text),
                                c.get("after").map_or_else(|| "(vazio)".into(), text)
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            if changes.is_empty() {
                "Configuração salva sem alterações.".into()
            } else {
                changes.join("; ")
            }
        }
        "secret_set" if details.get("replaced") == Some(&Value::Bool(true)) => {
            format!("Credencial “{}” substituída.", field())
        }
        "secret_set" => format!("Credencial “{}” cadastrada.", field()),
        "secret_removed" => match details.get("reason").and_then(Value::as_str) {
            Some(reason) => format!("Credencial “{}” removida: {reason}.", field()),
            None => format!("Credencial “{}” removida.", field()),
        },
        "schedule_changed" => format!(
            "Agendamento: {} → {}",
            details.get("before").map_or_else(
                || "(nenhum)".into(),
                |v| if v.is_null() {
                    "(nenhum)".into()
                } else {
                    text(v)
                }
            ),
            details.get("after").map_or_else(
                || "(nenhum)".into(),
                |v| if v.is_null() {
                    "(nenhum)".into()
                } else {
                    text(v)
                }
            )
        ),
        "run_requested" => "Execução solicitada.".into(),
        "run_cancelled" => "Execução cancelada.".into(),
        "connection_tested" => details
            .get("message")
            .map(text)
            .unwrap_or_else(|| "Conexão testada.".into()),
        "member_role_changed" => format!(
            "{}: {} → {}",
            details
                .get("user_email")
                .map_or_else(|| "membro".into(), text),
            role_label(details.get("before")),
            role_label(details.get("after"))
        ),
        "contact_decided" => {
            let contato = details
                .get("contato")
                .map_or_else(|| "(sem nome)".into(), text);
            let numero = details
                .get("numero")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            let empresa = details
                .get("empresa")
                .map_or_else(|| "(vazio)".into(), text);
            match details.get("decisao").and_then(Value::as_str) {
                Some("ignorada") => format!("Contato “{contato}”{numero} ignorado."),
                Some("escolhida") => format!(
                    "Contato “{contato}”{numero} vinculado a “{empresa}” (empresa escolhida)."
                ),
                _ => format!(
                    "Contato “{contato}”{numero} vinculado a “{empresa}” (sugestão aceita)."
                ),
            }
        }
        "integration_paused" => {
            let n = details.get("failures").and_then(Value::as_i64).unwrap_or(0);
            format!("Agendamento pausado após {}.", model::failures_pt(n))
        }
        "integration_resumed" if details.get("recovered") == Some(&Value::Bool(true)) => {
            "Agendamento retomado: uma execução terminou com sucesso.".into()
        }
        "integration_resumed" => "Agendamento retomado (Retomar).".into(),
        "alert_webhook_set" => format!(
            "Webhook de alertas definido ({}).",
            details.get("host").map_or_else(|| "?".into(), text)
        ),
        "alert_webhook_removed" => "Webhook de alertas removido.".into(),
        _ => String::new(),
    }
}

/// Plans the next statements of `tx` for their bound values, and so that they read an
/// index range in order rather than gather and sort: an audit page stops at a page. The
/// policy's `tenant_id = any(admin_tenant_ids())` beside the page's `tenant_id = $1`
/// makes the planner expect a few rows, and it gathered one integration's whole trail by
/// a bitmap and sorted it for a page of 26 (5,000 entries read in `plans.rs`). A plan for
/// any value, what a caller's statements get (`scope::PLANNED_ONCE`), read the tenant's
/// whole trail too (140 ms at 150,000 entries, found by review): the unset filters are
/// gone only from a plan for the values. [`sort_again`] ends the second part.
async fn plan_in_index_order(tx: &mut Transaction<'static, Postgres>) -> Result<()> {
    sqlx::query(
        "select set_config('plan_cache_mode', 'force_custom_plan', true),
                set_config('enable_sort', 'off', true)",
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Undoes [`plan_in_index_order`]'s sorting rule for the rest of `tx`.
async fn sort_again(tx: &mut Transaction<'static, Postgres>) -> Result<()> {
    sqlx::query("set local enable_sort to default")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// One page of the tenant's trail (or one integration's), newest first, under the
/// caller's row-level security: staff see nothing (no rows), admins their tenants'.
pub async fn page(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    q: &AuditQuery,
) -> Result<AuditPage> {
    let action = q.action.as_deref().filter(|a| !a.is_empty());
    if let Some(a) = action {
        if !AUDIT_ACTIONS.contains(&a) {
            return Err(Error::Invalid("Ação desconhecida no filtro.".into()));
        }
    }
    let person = match q.person.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => Some(
            Uuid::parse_str(p).map_err(|_| Error::Invalid("Pessoa inválida no filtro.".into()))?,
        ),
        None => None,
    };
    let before = match q.before.as_deref().filter(|b| !b.is_empty()) {
        Some(b) => Some(
            b.parse::<i64>()
                .map_err(|_| Error::Invalid("Página inválida.".into()))?,
        ),
        None => None,
    };
    let slug = q.slug.as_deref().filter(|s| !s.is_empty());
    // Each filter and the cursor an index condition of one range, read newest first.
    plan_in_index_order(tx).await?;
    let rows = sqlx::query!(
        r#"select a.id, a.created_at, extract(epoch from now() - a.created_at)::bigint as "ago!",
                  a.actor_name, a.actor_email, a.provider_slug, p.name as "provider_name?",
                  a.action, a.details, a.source
           from public.integration_audit a
           left join public.integration_providers p on p.slug = a.provider_slug
           where a.tenant_id = $1
             and ($2::text is null or a.provider_slug = $2)
             and ($3::text is null or a.action = $3)
             and ($4::uuid is null or a.actor_id = $4)
             and ($5::bigint is null or a.id < $5)
           order by a.id desc
           limit $6"#,
        tenant_id,
        slug,
        action,
        person,
        before,
        AUDIT_PAGE_SIZE + 1
    )
    .fetch_all(&mut **tx)
    .await?;
    sort_again(tx).await?;
    let more = rows.len() as i64 > AUDIT_PAGE_SIZE;
    let rows: Vec<AuditEntry> = rows
        .into_iter()
        .take(usize::try_from(AUDIT_PAGE_SIZE).unwrap_or(25))
        .map(|r| AuditEntry {
            id: r.id,
            created_at: crate::history::rfc3339(r.created_at),
            seconds_ago: r.ago,
            summary: summary(&r.action, &r.details),
            actor_name: r.actor_name,
            actor_email: r.actor_email,
            provider_slug: r.provider_slug,
            provider_name: r.provider_name,
            action: r.action,
            source: r.source,
        })
        .collect();
    let next_before = if more {
        rows.last().map(|r| r.id.to_string())
    } else {
        None
    };
    Ok(AuditPage { rows, next_before })
}

/// The people who appear in the tenant's trail (for the filter), under the caller's RLS.
pub async fn people(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
) -> Result<Vec<AuditPerson>> {
    let rows = sqlx::query!(
        r#"select distinct on (a.actor_id) a.actor_id as "id!",
                  coalesce(a.actor_name || ' · ' || a.actor_email, a.actor_email, a.actor_name, '?') as "name!"
           from public.integration_audit a
           where a.tenant_id = $1 and a.actor_id is not null
           order by a.actor_id, a.id desc"#,
        tenant_id
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut people: Vec<AuditPerson> = rows
        .into_iter()
        .map(|r| AuditPerson {
            id: r.id.to_string(),
            name: r.name,
        })
        .collect();
    people.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(people)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summaries_say_what_changed_in_portuguese() {
        // As the database's audit trigger writes them.
        let d = json!({"changes": [{"field": "base_url", "title": "URL da API",
                                    "before": "https://a", "after": "https://b"}]});
        assert_eq!(
            summary("config_changed", &d),
            "URL da API: https://a → https://b"
        );
        assert_eq!(
            summary(
                "secret_set",
                &json!({"field": "api_token", "title": "Token da API", "replaced": true})
            ),
            "Credencial “Token da API” substituída."
        );
        assert_eq!(
            summary("schedule_changed", &json!({"before": null, "after": "15m"})),
            "Agendamento: (nenhum) → 15m"
        );
        // Roles by the names the header shows; a member added or removed has no role on
        // one side.
        assert_eq!(
            summary(
                "member_role_changed",
                &json!({"user_email": "a@b.com", "before": null, "after": "admin"})
            ),
            "a@b.com: sem acesso → Administrador"
        );
        assert_eq!(
            summary(
                "member_role_changed",
                &json!({"user_email": "a@b.com", "before": "staff", "after": null})
            ),
            "a@b.com: Equipe → sem acesso"
        );
        assert_eq!(
            summary(
                "connection_tested",
                &json!({"ok": true, "message": "Conexão OK (3 ms)"})
            ),
            "Conexão OK (3 ms)"
        );
        assert_eq!(
            summary(
                "contact_decided",
                &json!({"contato": "Maria", "numero": "…4321", "decisao": "aceita",
                        "empresa": "Padaria Sol Ltda"})
            ),
            "Contato “Maria” (…4321) vinculado a “Padaria Sol Ltda” (sugestão aceita)."
        );
        assert_eq!(
            summary(
                "contact_decided",
                &json!({"contato": "Grupo", "numero": "…0000", "decisao": "ignorada"})
            ),
            "Contato “Grupo” (…0000) ignorado."
        );
    }
}
