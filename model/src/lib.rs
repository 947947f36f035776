//! Types that both the hydrated wasm client and the server use.
//!
//! Everything here must compile to `wasm32-unknown-unknown`: no database, no I/O. The
//! optional `sqlx` feature (the server's, through `backend`) only lets queries read and
//! bind the run enums as text columns (`stored.rs`).

use serde::{Deserialize, Serialize};

/// What a tenant's page, function or API call answers (404) for an integration the tenant
/// does not have: the detail page tells that error from any other by it.
pub const INTEGRATION_NOT_FOUND: &str = "Integração não encontrada nesta organização.";

pub mod alerts;
pub mod audit;
pub mod config;
pub mod empresas;
pub mod history;
pub mod integrations;
pub mod modules;
pub mod reviews;
pub mod run;
pub mod session;
#[cfg(feature = "sqlx")]
mod stored;
pub mod time;
pub mod timeline;

pub use alerts::{
    failures_pt, notice_message, paused_label, AlertWebhook, Notice, NoticeKind, Notices,
    DEFAULT_PAUSE_AFTER, PAUSE_AFTER_RANGE,
};
pub use audit::{
    audit_action_label, audit_source_label, AuditEntry, AuditPage, AuditPerson, AuditQuery,
    AUDIT_ACTIONS,
};
pub use config::{
    ConfigField, ConfigForm, ConnectionCheck, FieldError, FieldKind, SaveOutcome, SecretState,
};
pub use empresas::{EmpresaRow, EmpresasPage, EMPRESAS_PAGE_SIZE};
pub use history::{
    duration_pt, percent_pt, AttemptDetail, HistoryPage, HistoryQuery, HistoryRow,
    IntegrationDetail, MetricsView, TenantMetrics,
};
pub use integrations::{category_label, CatalogProvider, IntegrationSummary, NO_CONNECTOR};
pub use modules::{module_route, ModuleCard};
pub use reviews::{
    phone_pt, CompanyChoice, ReviewDecision, ReviewItem, ReviewOutcome, ReviewPage, ReviewQuery,
};
pub use run::Trigger;
pub use session::{SessionUser, TenantMatches, TenantRef};
pub use time::relative_time_pt;
pub use timeline::{elapsed_pt, RunEvent};

/// The state of an integration run, as stored in `integration_logs.status` and
/// `tenant_integrations.last_status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Success,
    Partial,
    Error,
    /// A person stopped it (*Cancelar*); not retried, not an error.
    Cancelled,
}

impl RunStatus {
    /// Every status, in the order the history's filter offers them.
    pub const ALL: [RunStatus; 5] = [
        Self::Success,
        Self::Partial,
        Self::Error,
        Self::Cancelled,
        Self::Running,
    ];

    /// A stored status. The old portal's rows are not checked by the column's constraint
    /// (it is `not valid`); one this version does not know reads as an error, never as a
    /// success, and never fails the page.
    pub fn from_stored(s: &str) -> Self {
        Self::parse(s).unwrap_or(Self::Error)
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "running" => Some(Self::Running),
            "success" => Some(Self::Success),
            "partial" => Some(Self::Partial),
            "error" => Some(Self::Error),
            "cancelled" => Some(Self::Cancelled),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Success => "success",
            Self::Partial => "partial",
            Self::Error => "error",
            Self::Cancelled => "cancelled",
        }
    }

    /// The pt-BR label shown on status badges.
    pub fn label_pt(self) -> &'static str {
        match self {
            Self::Running => "Executando",
            Self::Success => "Sucesso",
            Self::Partial => "Parcial",
            Self::Error => "Erro",
            Self::Cancelled => "Cancelada",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_status_round_trips_through_its_text() {
        for s in [
            RunStatus::Running,
            RunStatus::Success,
            RunStatus::Partial,
            RunStatus::Error,
            RunStatus::Cancelled,
        ] {
            assert_eq!(RunStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(RunStatus::parse("ok"), None);
        assert_eq!(RunStatus::from_stored("ok"), RunStatus::Error);
        for s in RunStatus::ALL {
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
    }
}
