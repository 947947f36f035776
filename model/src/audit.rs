//! The audit trail as pages show it (`/integracoes/auditoria` and the *Auditoria* section
//! of a detail page).

use serde::{Deserialize, Serialize};

/// The actions the trail records, in the order the filter lists them.
pub const AUDIT_ACTIONS: &[&str] = &[
    "integration_added",
    "integration_removed",
    "enabled",
    "disabled",
    "config_changed",
    "secret_set",
    "secret_removed",
    "schedule_changed",
    "run_requested",
    "run_cancelled",
    "connection_tested",
    "member_role_changed",
    "contact_decided",
    "integration_paused",
    "integration_resumed",
    "alert_webhook_set",
    "alert_webhook_removed",
];

/// pt-BR name of an action.
pub fn audit_action_label(action: &str) -> &'static str {
    match action {
        "integration_added" => "Integração adicionada",
        "integration_removed" => "Integração removida",
        "enabled" => "Ativada",
        "disabled" => "Desativada",
        "config_changed" => "Configuração alterada",
        "secret_set" => "Credencial definida",
        "secret_removed" => "Credencial removida",
        "schedule_changed" => "Agendamento alterado",
        "run_requested" => "Execução solicitada",
        "run_cancelled" => "Execução cancelada",
        "connection_tested" => "Conexão testada",
        "member_role_changed" => "Papel de membro alterado",
        "contact_decided" => "Contato revisado",
        "integration_paused" => "Pausada após falhas",
        "integration_resumed" => "Retomada",
        "alert_webhook_set" => "Webhook de alertas definido",
        "alert_webhook_removed" => "Webhook de alertas removido",
        _ => "Outra ação",
    }
}

/// pt-BR name of where an action came from.
pub fn audit_source_label(source: &str) -> &'static str {
    match source {
        "ui" => "Portal",
        "api" => "API",
        "schedule" => "Agendamento",
        _ => "Sistema",
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub seconds_ago: i64,
    pub actor_name: Option<String>,
    pub actor_email: Option<String>,
    pub provider_slug: Option<String>,
    pub provider_name: Option<String>,
    pub action: String,
    /// What changed, in pt-BR (never a secret's value).
    pub summary: String,
    pub source: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub rows: Vec<AuditEntry>,
    /// The cursor of the next (older) page, when there is one.
    pub next_before: Option<String>,
}

/// A person who appears in the trail, for the filter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditPerson {
    pub id: String,
    pub name: String,
}

/// The filters of an audit page, as the query string carries them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditQuery {
    /// One integration (the detail page) or all of the tenant's.
    pub slug: Option<String>,
    pub action: Option<String>,
    /// A person's user id.
    pub person: Option<String>,
    /// Cursor: entries older than this id.
    pub before: Option<String>,
}

/// Entries per page.
pub const AUDIT_PAGE_SIZE: i64 = 25;
