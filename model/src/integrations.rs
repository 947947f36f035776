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
    pub last_status: Option<RunStatus>,
    /// RFC 3339 to the millisecond, for the exact time on hover; it also tells one run
    /// from the next (the detail page's live refresh).
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
    pub last_matched: Option<i32>,
    pub last_ignored: Option<i32>,
    /// Whether this server has a connector for it: without one it cannot run or be
    /// scheduled, and its card says so.
    pub has_connector: bool,
    /// Failures after which its schedule paused ("Pausada após 3 falhas seguidas");
    /// `None` while it is not paused.
    pub paused_after: Option<i32>,
    /// The running attempt waits for a worker (claimed, not started yet). Defaults keep a
    /// page of the previous version reading a newer server's pushes, and the other way.
    #[serde(default)]
    pub queued: bool,
    /// Its place among the jobs the queue takes first (1 = next); `None` when it is not
    /// waiting for a worker, or while a retry sits out its backoff. At most
    /// [`QUEUE_POSITION_CAP`].
    #[serde(default)]
    pub queue_position: Option<i32>,
    /// When the last batch of webhook events was applied (OneCode's messages and
    /// contacts, between syncs), RFC 3339; `None` when none ever was. A batch is not the
    /// last run: the status and totals stay the last sync's.
    #[serde(default)]
    pub last_webhook: Option<String>,
    #[serde(default)]
    pub last_webhook_seconds_ago: Option<i64>,
}

/// The queue is counted up to here; the page then says "1000+".
pub const QUEUE_POSITION_CAP: i32 = 1000;

impl IntegrationSummary {
    pub fn status(&self) -> Option<RunStatus> {
        self.last_status
    }

    /// Whether the run shown waits for a worker ("Na fila" on the badge).
    pub fn is_queued(&self) -> bool {
        self.queued && self.last_status == Some(RunStatus::Running)
    }

    /// "Na fila · posição 3" while the run waits for a worker ("Na fila" alone while its
    /// place is not known, "posição 1000+" past the count); `None` otherwise.
    pub fn queue_line(&self) -> Option<String> {
        if !self.is_queued() {
            return None;
        }
        Some(match self.queue_position {
            Some(n) if n >= QUEUE_POSITION_CAP => {
                format!("Na fila · posição {QUEUE_POSITION_CAP}+")
            }
            Some(n) => format!("Na fila · posição {n}"),
            None => "Na fila".to_owned(),
        })
    }

    /// The last finished run's totals in pt-BR ("60 processados · 59 criados · 0
    /// atualizados · 1 em revisão"); review and failures only when there are some. OneCode
    /// matches contacts rather than creating records: "80 processados · 40 vinculados · 16 em
    /// revisão · 24 ignorados".
    pub fn totals_line(&self) -> Option<String> {
        let processed = self.last_processed?;
        let mut parts = vec![format!("{processed} processados")];
        if self.slug == "onecode" {
            parts.push(format!("{} vinculados", self.last_matched.unwrap_or(0)));
        } else {
            parts.push(format!("{} criados", self.last_created.unwrap_or(0)));
            parts.push(format!("{} atualizados", self.last_updated.unwrap_or(0)));
        }
        if let Some(r) = self.last_review.filter(|r| *r > 0) {
            parts.push(format!("{r} em revisão"));
        }
        if self.slug == "onecode" {
            parts.push(format!("{} ignorados", self.last_ignored.unwrap_or(0)));
        }
        if let Some(f) = self.last_failed.filter(|f| *f > 0) {
            parts.push(format!("{f} com falha"));
        }
        Some(parts.join(" · "))
    }
}

/// Why an integration of a provider without a connector cannot run (pt-BR: the card, the
/// detail page and the API say it).
pub const NO_CONNECTOR: &str =
    "Esta integração ainda não tem conector disponível: não pode ser executada nem agendada.";

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

#[cfg(test)]
mod tests {
    use super::IntegrationSummary;

    fn summary(slug: &str) -> IntegrationSummary {
        IntegrationSummary {
            id: super::Uuid::nil(),
            slug: slug.into(),
            name: slug.into(),
            category: None,
            is_enabled: true,
            last_status: Some(crate::RunStatus::Success),
            last_run: None,
            last_run_seconds_ago: None,
            progress: None,
            last_processed: Some(80),
            last_created: Some(80),
            last_updated: Some(0),
            last_review: Some(16),
            last_failed: Some(0),
            last_matched: Some(40),
            last_ignored: Some(24),
            has_connector: true,
            paused_after: None,
            queued: false,
            queue_position: None,
            last_webhook: None,
            last_webhook_seconds_ago: None,
        }
    }

    #[test]
    fn a_waiting_run_says_its_place() {
        let mut s = summary("acessorias");
        assert_eq!(s.queue_line(), None);
        s.last_status = Some(crate::RunStatus::Running);
        assert_eq!(s.queue_line(), None, "started: no place");
        s.queued = true;
        assert_eq!(s.queue_line().as_deref(), Some("Na fila"));
        s.queue_position = Some(3);
        assert_eq!(s.queue_line().as_deref(), Some("Na fila · posição 3"));
        s.queue_position = Some(super::QUEUE_POSITION_CAP);
        assert_eq!(s.queue_line().as_deref(), Some("Na fila · posição 1000+"));
        s.last_status = Some(crate::RunStatus::Error);
        assert_eq!(s.queue_line(), None, "ended: no place");
    }

    #[test]
    fn the_card_says_what_the_last_sync_did_in_its_own_terms() {
        assert_eq!(
            summary("acessorias").totals_line().as_deref(),
            Some("80 processados · 80 criados · 0 atualizados · 16 em revisão")
        );
        assert_eq!(
            summary("onecode").totals_line().as_deref(),
            Some("80 processados · 40 vinculados · 16 em revisão · 24 ignorados")
        );
    }
}
