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
    pub secret_set: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfigForm {
    pub fields: Vec<ConfigField>,
    pub schedule: Option<String>,
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
