//! A run's credentials as a provider sees them: typed access by field name, a pt-BR error
//! before any HTTP when one is missing or cannot be decrypted, and scrubbing of their
//! values out of anything the engine stores or logs.

use std::collections::HashMap;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::ProviderError;

/// The field's value, or why it cannot be used (a message with no secret in it).
type Entry = Result<SecretString, String>;

#[derive(Clone, Default)]
pub struct Secrets {
    values: Arc<HashMap<String, Entry>>,
    /// The fields' titles in the provider's schema, for messages.
    titles: Arc<HashMap<String, String>>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut fields: Vec<&String> = self.values.keys().collect();
        fields.sort();
        f.debug_struct("Secrets").field("fields", &fields).finish()
    }
}

/// Values shorter than this are not scrubbed from texts (they would mangle ordinary words);
/// no real credential is that short.
const MIN_SCRUB_LEN: usize = 6;
pub const SCRUBBED: &str = "[credencial removida]";

impl Secrets {
    pub fn new(values: HashMap<String, Entry>) -> Self {
        Self {
            values: Arc::new(values),
            titles: Arc::default(),
        }
    }

    /// The fields' titles, for the messages ("Token da API" rather than `api_token`).
    pub fn with_titles(mut self, titles: HashMap<String, String>) -> Self {
        self.titles = Arc::new(titles);
        self
    }

    fn title<'a>(&'a self, field: &'a str) -> &'a str {
        self.titles.get(field).map_or(field, String::as_str)
    }

    /// A set of plain values (tests and the demo).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self::new(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), Ok(SecretString::from(v.to_owned()))))
                .collect(),
        )
    }

    /// The secret `field`, or a credential error that ends the run (never retried).
    pub fn get(&self, field: &str) -> Result<&SecretString, ProviderError> {
        let title = self.title(field);
        match self.values.get(field) {
            Some(Ok(v)) => Ok(v),
            Some(Err(why)) => Err(ProviderError::Credential(format!(
                "Credencial inválida ({title}): {why}. Cadastre-a novamente na configuração."
            ))),
            None => Err(ProviderError::Credential(format!(
                "Credencial não configurada ({title}): um administrador deve cadastrá-la na configuração da integração."
            ))),
        }
    }

    /// Every form in which a value might come back — as is, percent-encoded, in base64 —
    /// longest first, so that a value containing another is replaced whole.
    fn forms(&self) -> Vec<String> {
        use base64::Engine as _;
        let mut forms: Vec<String> = Vec::new();
        for v in self
            .values
            .values()
            .filter_map(|e| e.as_ref().ok())
            .map(|s| s.expose_secret())
            .filter(|s| s.len() >= MIN_SCRUB_LEN)
        {
            forms.push(v.to_owned());
            forms.push(
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
                    .to_string(),
            );
            forms.push(base64::engine::general_purpose::STANDARD.encode(v));
            forms.push(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v));
        }
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        forms.dedup();
        forms
    }

    /// `text` with every secret value replaced (a provider that echoes a token back in an
    /// error must not get it stored or logged). Scrub before truncating a text: a value cut
    /// in half is no longer recognised.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for v in self.forms() {
            if out.contains(&v) {
                out = out.replace(&v, SCRUBBED);
            }
        }
        out
    }

    /// [`Secrets::scrub`] on every string (and key) of a JSON value.
    pub fn scrub_json(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.scrub(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.scrub_json(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.scrub(k), self.scrub_json(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// The error with secret values scrubbed from its text.
    pub fn scrub_error(&self, e: ProviderError) -> ProviderError {
        use ProviderError as E;
        match e {
            E::Auth(m) => E::Auth(self.scrub(&m)),
            E::Transient(m) => E::Transient(self.scrub(&m)),
            E::Permanent(m) => E::Permanent(self.scrub(&m)),
            E::InvalidConfig(m) => E::InvalidConfig(self.scrub(&m)),
            E::Credential(m) => E::Credential(self.scrub(&m)),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn missing_and_broken_credentials_are_errors_in_portuguese() {
        let mut m = HashMap::new();
        m.insert(
            "bad".to_owned(),
            Err("a credencial não pôde ser decifrada".to_owned()),
        );
        let s = Secrets::new(m);
        let missing = s.get("api_token").unwrap_err();
        assert!(missing.to_string().contains("Credencial não configurada"));
        assert!(!missing.is_retryable());
        assert!(s
            .get("bad")
            .unwrap_err()
            .to_string()
            .contains("Credencial inválida"));
        assert!(format!("{s:?}").contains("bad"));
    }

    #[test]
    fn encoded_and_overlapping_values_are_scrubbed_whole() {
        use base64::Engine as _;
        let s = Secrets::from_pairs([("a", "segredo-curto"), ("b", "segredo-curto-e-longo")]);
        let text = format!(
            "x segredo-curto-e-longo y {} z {}",
            base64::engine::general_purpose::STANDARD.encode("segredo-curto"),
            "segredo%2Dcurto"
        );
        let out = s.scrub(&text);
        assert!(!out.contains("segredo") && !out.contains("longo"), "{out}");
        let titled = Secrets::default().with_titles(HashMap::from([(
            "api_token".to_owned(),
            "Token da API".to_owned(),
        )]));
        assert!(titled
            .get("api_token")
            .unwrap_err()
            .to_string()
            .contains("(Token da API)"));
    }

    #[test]
    fn values_are_scrubbed_from_texts_and_json() {
        let s = Secrets::from_pairs([("api_token", "tok-canary-123"), ("pin", "12")]);
        assert_eq!(
            s.scrub("token tok-canary-123 recusado"),
            format!("token {SCRUBBED} recusado")
        );
        assert_eq!(
            s.scrub("12 itens"),
            "12 itens",
            "short values are left alone"
        );
        let v = s.scrub_json(&json!({"a": ["x tok-canary-123"], "tok-canary-123": 1}));
        assert!(!v.to_string().contains("tok-canary-123"));
        assert!(!format!("{s:?}").contains("tok-canary"));
    }
}
