//! Alerts and auto-pause: what the portal header's notices and the outgoing webhook say
//! when an integration pauses after consecutive failures or recovers.

use serde::{Deserialize, Serialize};

/// The default of `tenant_integrations.pause_after_failures`.
pub const DEFAULT_PAUSE_AFTER: i32 = 3;
/// The bounds of `pause_after_failures` (the database's check).
pub const PAUSE_AFTER_RANGE: std::ops::RangeInclusive<i32> = 1..=20;

/// What a notice tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeKind {
    /// Its schedule paused after `failures` consecutive failed executions.
    Paused,
    /// A run succeeded after `failures` consecutive failures; the schedule resumed.
    Recovered,
}

impl NoticeKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "paused" => Some(Self::Paused),
            "recovered" => Some(Self::Recovered),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Paused => "paused",
            Self::Recovered => "recovered",
        }
    }
}

/// "1 falha", "3 falhas seguidas": the count every pause message gives.
pub fn failures_pt(failures: i64) -> String {
    if failures == 1 {
        "1 falha".to_owned()
    } else {
        format!("{failures} falhas seguidas")
    }
}

/// "Pausada após 3 falhas seguidas" (the card, the detail page, the notice).
pub fn paused_label(failures: i32) -> String {
    format!("Pausada após {}", failures_pt(failures.into()))
}

/// What a notice says, in pt-BR, from its parts (the header and the webhook say the same).
pub fn notice_message(
    kind: NoticeKind,
    integration: &str,
    failures: i32,
    last_error: Option<&str>,
) -> String {
    let count = failures_pt(failures.into());
    match kind {
        NoticeKind::Paused => {
            let mut s = format!("{integration}: agendamento pausado após {count}.");
            if let Some(e) = last_error.filter(|e| !e.is_empty()) {
                s.push_str(" Último erro: ");
                s.push_str(e);
            }
            s
        }
        NoticeKind::Recovered => {
            format!("{integration}: voltou a funcionar após {count}; agendamento retomado.")
        }
    }
}

/// One notice to the tenant's admins.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub id: i64,
    pub provider_slug: String,
    /// The integration's name (the catalog's).
    pub integration: String,
    pub kind: NoticeKind,
    pub failures: i32,
    pub last_error: Option<String>,
    /// RFC 3339, for the exact time on hover.
    pub created_at: String,
    pub seconds_ago: i64,
    /// Newer than what this person marked as seen.
    pub unread: bool,
}

impl Notice {
    pub fn message(&self) -> String {
        notice_message(
            self.kind,
            &self.integration,
            self.failures,
            self.last_error.as_deref(),
        )
    }
}

/// The header's notices: the latest few and how many this person has not seen.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Notices {
    pub items: Vec<Notice>,
    pub unread: i64,
}

/// The tenant's outgoing alert webhook as its admins see it (never the address itself:
/// it carries the receiver's token). `Debug` leaves the secret out.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertWebhook {
    pub configured: bool,
    /// The receiving host (`hooks.slack.com`).
    pub host: Option<String>,
    /// pt-BR: "configurado em 05/12/2026 10:31 por Ana".
    pub set_label: Option<String>,
    /// The signing secret, only in the answer of the save that made it (shown once).
    pub new_secret: Option<String>,
}

impl std::fmt::Debug for AlertWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertWebhook")
            .field("configured", &self.configured)
            .field("host", &self.host)
            .field("set_label", &self.set_label)
            .field(
                "new_secret",
                &self.new_secret.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_say_what_happened_in_portuguese() {
        assert_eq!(paused_label(3), "Pausada após 3 falhas seguidas");
        assert_eq!(paused_label(1), "Pausada após 1 falha");
        assert_eq!(
            notice_message(NoticeKind::Paused, "Acessórias", 3, Some("HTTP 401")),
            "Acessórias: agendamento pausado após 3 falhas seguidas. Último erro: HTTP 401"
        );
        assert_eq!(
            notice_message(NoticeKind::Recovered, "Acessórias", 4, None),
            "Acessórias: voltou a funcionar após 4 falhas seguidas; agendamento retomado."
        );
        assert_eq!(NoticeKind::parse("paused"), Some(NoticeKind::Paused));
        assert_eq!(NoticeKind::parse("x"), None);
    }
}
