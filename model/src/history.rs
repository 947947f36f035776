//! The history of runs and their metrics, as the pages show them.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Page sizes the history offers.
pub const PAGE_SIZES: [i64; 4] = [10, 25, 50, 100];
pub const DEFAULT_PAGE_SIZE: i64 = 25;

/// The history's filters as they come from the page's query string (all optional text, so
/// that a bad value gets a field error instead of a failed request).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryQuery {
    /// `running`, `success`, `partial`, `error` or `cancelled`.
    pub status: Option<String>,
    /// `manual`, `api`, `schedule`, `webhook`, `retry` or `rerun`.
    pub trigger: Option<String>,
    /// First day, `YYYY-MM-DD` (UTC), inclusive.
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (UTC), inclusive.
    pub to: Option<String>,
    pub page_size: Option<String>,
    /// Keyset cursor: rows strictly older than this one (from a previous page).
    pub before: Option<String>,
}

/// One attempt in the history table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryRow {
    pub id: Uuid,
    pub execution_id: Uuid,
    pub attempt: i32,
    pub status: crate::RunStatus,
    pub trigger: crate::Trigger,
    /// RFC 3339 (UTC), for the exact time on hover.
    pub created_at: String,
    pub seconds_ago: i64,
    pub execution_time_ms: Option<i32>,
    pub total_processados: i32,
    pub total_matched: i32,
    pub total_failed: i32,
    pub error_message: Option<String>,
}

/// A page of history, newest first, and the cursor of the next (older) page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryPage {
    pub rows: Vec<HistoryRow>,
    pub next_before: Option<String>,
}

/// One attempt of an execution, for the detail drawer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttemptDetail {
    pub attempt: i32,
    pub status: crate::RunStatus,
    pub trigger: crate::Trigger,
    pub created_at: String,
    /// `created_at` as the portal writes times: Brasília, "06/12/2026 15:57".
    #[serde(default)]
    pub created_at_pt: String,
    pub execution_time_ms: Option<i32>,
    pub error_message: Option<String>,
    pub total_processados: i32,
    pub total_created: i32,
    pub total_updated: i32,
    pub total_unchanged: i32,
    pub total_failed: i32,
    pub total_review: i32,
    pub total_ignored: i32,
    /// Sanitised JSON, pretty-printed.
    pub payload: Option<String>,
    pub response: Option<String>,
    /// The execution this one repeats (*Tentar novamente*).
    pub rerun_of: Option<Uuid>,
    /// The latest execution that repeats this one.
    pub rerun_by: Option<Uuid>,
    /// What the attempt did, in order (empty for runs before timelines, or a connector
    /// that records nothing).
    pub events: Vec<crate::RunEvent>,
}

/// Runs over a period (an execution counts once, by its last attempt).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsView {
    pub days: i32,
    pub runs: i64,
    pub success: i64,
    pub partial: i64,
    pub error: i64,
    pub success_rate: Option<f64>,
    pub avg_ms: Option<f64>,
    pub p95_ms: Option<f64>,
}

/// `0.873` -> `"87,3%"`; `None` -> `"—"`.
pub fn percent_pt(rate: Option<f64>) -> String {
    match rate {
        Some(r) => format!("{:.1}%", r * 100.0).replace('.', ","),
        None => "—".into(),
    }
}

/// `1534.2` ms -> `"1,5 s"`, `820.0` -> `"820 ms"`; `None` -> `"—"`.
pub fn duration_pt(ms: Option<f64>) -> String {
    match ms {
        Some(ms) if ms >= 1000.0 => format!("{:.1} s", ms / 1000.0).replace('.', ","),
        Some(ms) => format!("{ms:.0} ms"),
        None => "—".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_in_portuguese() {
        assert_eq!(percent_pt(Some(0.873)), "87,3%");
        assert_eq!(percent_pt(Some(1.0)), "100,0%");
        assert_eq!(percent_pt(None), "—");
        assert_eq!(duration_pt(Some(1534.2)), "1,5 s");
        assert_eq!(duration_pt(Some(820.0)), "820 ms");
        assert_eq!(duration_pt(None), "—");
    }
}

/// The metrics panel of `/integracoes`: the tenant's last 30 days.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TenantMetrics {
    pub metrics: MetricsView,
    /// Enabled integrations whose last run ended in error.
    pub failing_now: i64,
}

/// The head of `/integracoes/:slug`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntegrationDetail {
    pub summary: crate::IntegrationSummary,
    pub description: Option<String>,
    pub schedule: Option<String>,
    pub last_error: Option<String>,
    pub metrics: MetricsView,
    /// The 30-day chart, SVG drawn on the server.
    pub chart_svg: Option<String>,
    /// The path of the integration's webhook address (OneCode), for tenant admins only.
    pub webhook_path: Option<String>,
}
