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
    /// Every trigger, in the order the history's filter offers them.
    pub const ALL: [Trigger; 6] = [
        Self::Manual,
        Self::Api,
        Self::Schedule,
        Self::Webhook,
        Self::Retry,
        Self::Rerun,
    ];

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

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// A stored trigger. Every row has a known one (migration 0004 validated the column's
    /// check against the rows of its day; later rows are checked as written); a value this
    /// version does not know (a newer version's) reads as `Manual` rather than failing
    /// the page.
    pub fn from_stored(s: &str) -> Self {
        Self::parse(s).unwrap_or(Self::Manual)
    }

    /// The pt-BR label shown in the history and the drawer.
    pub fn label_pt(self) -> &'static str {
        match self {
            Self::Manual => "Manual",
            Self::Api => "API",
            Self::Schedule => "Agendada",
            Self::Webhook => "Webhook",
            Self::Retry => "Nova tentativa",
            Self::Rerun => "Repetição",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Trigger;

    #[test]
    fn triggers_round_trip_through_their_text_and_serde() {
        for t in Trigger::ALL {
            assert_eq!(Trigger::parse(t.as_str()), Some(t));
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
        }
        assert_eq!(Trigger::parse("cron"), None);
        assert_eq!(Trigger::from_stored("cron"), Trigger::Manual);
    }
}
