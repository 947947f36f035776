//! The configuration form of a tenant integration, generated from the provider's
//! `config_schema` (JSON Schema).

use serde::{Deserialize, Serialize};

/// The input a schema property becomes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FieldKind {
    Text,
    Url,
    Email,
    Number,
    Integer,
    Boolean,
    /// `enum`: one of these values.
    Choice(Vec<String>),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfigField {
    pub key: String,
    pub title: String,
    pub description: Option<String>,
    pub kind: FieldKind,
    pub required: bool,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub pattern: Option<String>,
    /// Never sent to the browser with a value: only whether it is set.
    pub secret: bool,
    pub value: Option<String>,
    /// For a secret field: whether, when and by whom it was set.
    pub secret_state: SecretState,
}

/// What the form may say about a secret field (never its value).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum SecretState {
    #[default]
    NotSet,
    /// In the vault: when (pt-BR, Brasília time) and by whom.
    Set { at: String, by: Option<String> },
    /// Not in the vault, but the operator set `INTEGRATION_SECRET__…` on the server.
    FromEnv,
}

impl SecretState {
    pub fn is_set(&self) -> bool {
        !matches!(self, SecretState::NotSet)
    }

    /// pt-BR: "configurado em 29/11/2026 10:31 por Ana", "definido pelo ambiente",
    /// "não configurado".
    pub fn label(&self) -> String {
        match self {
            SecretState::NotSet => "não configurado".into(),
            SecretState::FromEnv => "definido pelo ambiente".into(),
            SecretState::Set { at, by: Some(by) } => format!("configurado em {at} por {by}"),
            SecretState::Set { at, by: None } => format!("configurado em {at}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfigForm {
    pub fields: Vec<ConfigField>,
    pub schedule: Option<String>,
    /// After how many consecutive failed executions the schedule pauses.
    pub pause_after_failures: i32,
    /// Tenant admins (and global admins) may change it; staff see it read-only.
    pub editable: bool,
}

/// A validation error on one field (`schedule` for the schedule).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// What saving the form did: saved, or the errors of each field.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SaveOutcome {
    pub saved: bool,
    pub errors: Vec<FieldError>,
}

impl SaveOutcome {
    pub fn error_for(&self, field: &str) -> Option<String> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.clone())
    }
}

/// The answer of *Testar conexão*.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectionCheck {
    pub ok: bool,
    /// pt-BR: "Conexão OK (120 ms)" or what is wrong.
    pub message: String,
    pub elapsed_ms: u64,
}
