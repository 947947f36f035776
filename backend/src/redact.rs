//! Sanitising what goes into `integration_logs.payload` and `.response`: logs never hold
//! secrets or personal documents. A recursive walk replaces the value of every sensitive
//! key, and a size cap keeps one log row small.

use serde_json::{Map, Value};

/// Keys whose values are never stored, matched case-insensitively on the key with `-` and
/// `_` removed, as a whole key or as a suffix (`x-api-key`, `accessToken`, `client_secret`).
const SENSITIVE: &[&str] = &[
    "token",
    "apikey",
    "authorization",
    "password",
    "senha",
    "secret",
    "cpf",
    "cnpj",
    "cookie",
    "signature",
    "privatekey",
    "credential",
    "credentials",
];

/// What replaces a sensitive value.
pub const REDACTED: &str = "[redacted]";

/// Largest serialised payload kept in a log row; beyond it the value is replaced by a
/// summary that says how big it was.
pub const MAX_BYTES: usize = 16 * 1024;

fn is_sensitive(key: &str) -> bool {
    let normal: String = key
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    SENSITIVE
        .iter()
        .any(|s| normal == *s || normal.ends_with(s))
}

/// A copy of `value` with every sensitive key's value replaced, at any depth.
pub fn redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if is_sensitive(k) {
                        Value::String(REDACTED.to_owned())
                    } else {
                        redact(v)
                    };
                    (k.clone(), v)
                })
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// [`redact`], then the size cap: what may be written to a log row.
pub fn sanitise(value: &Value) -> Value {
    let clean = redact(value);
    let size = clean.to_string().len();
    if size <= MAX_BYTES {
        clean
    } else {
        serde_json::json!({
            "truncated": true,
            "original_bytes": size,
            "note": "conteúdo grande demais para o log",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sensitive_keys_are_redacted_at_any_depth_and_others_kept() {
        let input = json!({
            "Authorization": "Bearer abc",
            "config": {"api_key": "k", "base_url": "https://x", "X-Api-Key": "k2"},
            "items": [{"CPF": "318.452.907-04", "nome": "Ana"}, {"accessToken": "t"}],
            "cnpj": "48.392.017/0001-68",
            "count": 3,
            "senha": null
        });
        let out = redact(&input);
        assert_eq!(out["Authorization"], REDACTED);
        assert_eq!(out["config"]["api_key"], REDACTED);
        assert_eq!(out["config"]["X-Api-Key"], REDACTED);
        assert_eq!(out["config"]["base_url"], "https://x");
        assert_eq!(out["items"][0]["CPF"], REDACTED);
        assert_eq!(out["items"][0]["nome"], "Ana");
        assert_eq!(out["items"][1]["accessToken"], REDACTED);
        assert_eq!(out["cnpj"], REDACTED);
        assert_eq!(out["count"], 3);
        assert_eq!(out["senha"], REDACTED);
        assert!(!out.to_string().contains("318.452.907-04"));
    }

    #[test]
    fn words_that_merely_contain_a_sensitive_word_are_kept() {
        let out = redact(&json!({"tokenizer": "x", "secretaria": "y", "total": 1}));
        assert_eq!(
            out,
            json!({"tokenizer": "x", "secretaria": "y", "total": 1})
        );
    }

    #[test]
    fn oversized_payloads_are_replaced_by_a_summary() {
        let big = json!({"data": "x".repeat(MAX_BYTES + 10)});
        let out = sanitise(&big);
        assert_eq!(out["truncated"], true);
        assert!(out["original_bytes"].as_u64().unwrap() > MAX_BYTES as u64);
        let small = json!({"ok": true});
        assert_eq!(sanitise(&small), small);
    }
}
