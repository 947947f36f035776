//! Integrations as the pages show them.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::RunStatus;

/// One integration of a tenant: a `tenant_integrations` row with its catalog entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntegrationSummary {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub category: Option<String>,
    pub is_enabled: bool,
    pub last_status: Option<String>,
    /// RFC 3339, for the exact time on hover.
    pub last_run: Option<String>,
    /// Seconds between the last run and the moment the server answered. Computed once on
    /// the server so that server rendering and hydration show the same words.
    pub last_run_seconds_ago: Option<i64>,
    /// Progress (0..100) of the running attempt, when its provider reports one.
    pub progress: Option<i32>,
    /// The totals of the last finished run (success or partial).
    pub last_processed: Option<i32>,
    pub last_created: Option<i32>,
    pub last_updated: Option<i32>,
    pub last_review: Option<i32>,
    pub last_failed: Option<i32>,
}

impl IntegrationSummary {
    pub fn status(&self) -> Option<RunStatus> {
        self.last_status.as_deref().and_then(RunStatus::parse)
    }

    /// The last finished run's totals in pt-BR ("60 processados · 59 criados · 0
    /// atualizados · 1 em revisão"); review and failures only when there are some.
    pub fn totals_line(&self) -> Option<String> {
        let processed = self.last_processed?;
        let mut parts = vec![
            format!("{processed} processados"),
            format!("{} criados", self.last_created.unwrap_or(0)),
            format!("{} atualizados", self.last_updated.unwrap_or(0)),
        ];
        if let Some(r) = self.last_review.filter(|r| *r > 0) {
            parts.push(format!("{r} em revisão"));
        }
        if let Some(f) = self.last_failed.filter(|f| *f > 0) {
            parts.push(format!("{f} com falha"));
        }
        Some(parts.join(" · "))
    }
}

/// The pt-BR label of a provider category.
pub fn category_label(category: &str) -> &str {
    match category {
        "fiscal" => "Fiscal",
        "financeiro" => "Financeiro",
        "messaging" => "Mensageria",
        other => other,
    }
}

/// A provider of the catalog, as *Adicionar integração* offers it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CatalogProvider {
    pub slug: String,
    pub name: String,
    pub category: String,
    pub description: Option<String>,
}
