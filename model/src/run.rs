//! How a run was started.

use serde::{Deserialize, Serialize};

/// What started a run, as stored in `integration_logs.trigger`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    Manual,
    Api,
    Schedule,
    Webhook,
    /// The engine's own next attempt of a failed execution.
    Retry,
    /// *Tentar novamente*: a person repeating an execution (`rerun_of` names it).
    Rerun,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Api => "api",
            Self::Schedule => "schedule",
            Self::Webhook => "webhook",
            Self::Retry => "retry",
            Self::Rerun => "rerun",
        }
    }
}

/// The pt-BR label of a stored trigger.
pub fn trigger_label(trigger: &str) -> &str {
    match trigger {
        "manual" => "Manual",
        "api" => "API",
        "schedule" => "Agendada",
        "webhook" => "Webhook",
        "retry" => "Nova tentativa",
        "rerun" => "Repetição",
        other => other,
    }
}
