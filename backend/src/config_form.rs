//! The configuration of a tenant integration: the form generated from the provider's
//! `config_schema`, and saving it with server-side validation (the jsonschema crate, formats
//! on), each error on its field in pt-BR.
//!
//! Fields the schema marks `"secret": true` are never read from or written to `config`:
//! the form only says whether one is set. (Their encrypted storage is a later issue; until
//! then none is set.)

use std::collections::HashMap;

use serde_json::{Map, Value};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::schedule::Schedule;
use crate::{Error, Result};
use model::{ConfigField, ConfigForm, FieldError, FieldKind, SaveOutcome};

fn props(schema: &Value) -> Vec<(&String, &Value)> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.iter().collect())
        .unwrap_or_default()
}

fn required(schema: &Value) -> Vec<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn is_secret(prop: &Value) -> bool {
    prop.get("secret").and_then(Value::as_bool).unwrap_or(false)
}

fn kind_of(prop: &Value) -> FieldKind {
    if let Some(options) = prop.get("enum").and_then(Value::as_array) {
        return FieldKind::Choice(
            options
                .iter()
                .map(|o| o.as_str().map_or_else(|| o.to_string(), str::to_owned))
                .collect(),
        );
    }
    match (
        prop.get("type").and_then(Value::as_str),
        prop.get("format").and_then(Value::as_str),
    ) {
        (Some("integer"), _) => FieldKind::Integer,
        (Some("number"), _) => FieldKind::Number,
        (Some("boolean"), _) => FieldKind::Boolean,
        (_, Some("uri" | "url")) => FieldKind::Url,
        (_, Some("email")) => FieldKind::Email,
        _ => FieldKind::Text,
    }
}

fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The form of `schema` filled with `config` (secrets only as set / not set).
pub fn fields(schema: &Value, config: &Value) -> Vec<ConfigField> {
    let req = required(schema);
    props(schema)
        .into_iter()
        .map(|(key, prop)| {
            let secret = is_secret(prop);
            let value = if secret {
                None
            } else {
                config.get(key).or_else(|| prop.get("default")).map(shown)
            };
            ConfigField {
                key: key.clone(),
                title: prop
                    .get("title")
                    .and_then(Value::as_str)
                    .unwrap_or(key)
                    .to_owned(),
                description: prop
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                kind: kind_of(prop),
                required: req.contains(&key.as_str()),
                minimum: prop.get("minimum").and_then(Value::as_f64),
                maximum: prop.get("maximum").and_then(Value::as_f64),
                min_length: prop.get("minLength").and_then(Value::as_u64),
                max_length: prop.get("maxLength").and_then(Value::as_u64),
                pattern: prop
                    .get("pattern")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                secret,
                value,
                secret_set: false,
            }
        })
        .collect()
}

/// Turns the submitted strings into the schema's types; a value that is not a number where
/// one is expected is a field error. Empty optional fields are left out; secrets and keys
/// the schema does not know are ignored.
pub fn coerce(
    schema: &Value,
    submitted: &HashMap<String, String>,
) -> std::result::Result<Map<String, Value>, Vec<FieldError>> {
    let mut out = Map::new();
    let mut errors = Vec::new();
    for (key, prop) in props(schema) {
        if is_secret(prop) {
            continue;
        }
        let raw = submitted.get(key).map(|s| s.trim()).unwrap_or("");
        let kind = kind_of(prop);
        if kind == FieldKind::Boolean {
            out.insert(key.clone(), Value::Bool(matches!(raw, "on" | "true" | "1")));
            continue;
        }
        if raw.is_empty() {
            continue;
        }
        let value = match kind {
            FieldKind::Integer => raw
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| "um número inteiro"),
            FieldKind::Number => raw
                .replace(',', ".")
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or("um número"),
            _ => Ok(Value::String(raw.to_owned())),
        };
        match value {
            Ok(v) => {
                out.insert(key.clone(), v);
            }
            Err(what) => errors.push(FieldError {
                field: key.clone(),
                message: format!("Informe {what}."),
            }),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Validates `instance` against `schema` (formats checked); each error in pt-BR on the
/// field it concerns.
pub fn validate(schema: &Value, instance: &Value) -> Vec<FieldError> {
    use jsonschema::error::ValidationErrorKind as K;
    let validator = match jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
    {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(error = %e, "a provider's config_schema does not compile");
            return vec![FieldError {
                field: String::new(),
                message: "O esquema de configuração deste provedor é inválido.".into(),
            }];
        }
    };
    validator
        .iter_errors(instance)
        .map(|e| {
            let path = e
                .instance_path()
                .as_str()
                .trim_start_matches('/')
                .to_owned();
            let (field, message) = match e.kind() {
                K::Required { property } => (
                    property.as_str().unwrap_or_default().to_owned(),
                    "Campo obrigatório.".to_owned(),
                ),
                K::Format { format } => (
                    path,
                    match format.as_str() {
                        "uri" | "url" => {
                            "Informe uma URL válida (ex.: https://api.exemplo.com).".into()
                        }
                        "email" => "Informe um e-mail válido.".into(),
                        f => format!("Formato inválido ({f})."),
                    },
                ),
                K::Minimum { limit } => (path, format!("O mínimo é {limit}.")),
                K::Maximum { limit } => (path, format!("O máximo é {limit}.")),
                K::MinLength { limit } => (path, format!("Use ao menos {limit} caracteres.")),
                K::MaxLength { limit } => (path, format!("Use no máximo {limit} caracteres.")),
                K::Pattern { .. } => (path, "Valor fora do formato esperado.".into()),
                K::Enum { .. } => (path, "Escolha uma das opções.".into()),
                K::Type { .. } => (path, "Tipo de valor inválido.".into()),
                _ => (path, "Valor inválido.".into()),
            };
            FieldError { field, message }
        })
        .collect()
}

/// The schema and the non-secret config of one tenant integration
/// ([`crate::integrations::effective_config`]).
async fn load(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    slug: &str,
) -> Result<(Uuid, Value, Value, Option<String>)> {
    let row = sqlx::query!(
        r#"select t.id, p.config_schema, t.config, t.base_url, t.schedule
           from public.tenant_integrations t
           join public.integration_providers p on p.id = t.provider_id
           where t.tenant_id = $1 and p.slug = $2"#,
        tenant_id,
        slug
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| Error::NotFound("Integração não encontrada nesta organização.".into()))?;
    let config = crate::integrations::effective_config(row.config, &row.base_url);
    Ok((row.id, row.config_schema, config, row.schedule))
}

/// The form as the caller may see it.
pub async fn form(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    slug: &str,
    editable: bool,
) -> Result<ConfigForm> {
    let (_, schema, config, schedule) = load(tx, tenant_id, slug).await?;
    Ok(ConfigForm {
        fields: fields(&schema, &config),
        schedule,
        editable,
    })
}

/// Validates and saves the submitted form in the caller's transaction (row-level security
/// lets only admins write). Nothing is written when any field is wrong.
pub async fn save(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    slug: &str,
    submitted: &HashMap<String, String>,
    schedule: Option<&str>,
) -> Result<SaveOutcome> {
    let (id, schema, old, current_schedule) = load(tx, tenant_id, slug).await?;
    let mut errors = Vec::new();
    let config = match coerce(&schema, submitted) {
        Ok(c) => {
            errors.extend(validate(&schema, &Value::Object(c.clone())));
            Some(c)
        }
        Err(e) => {
            errors.extend(e);
            None
        }
    };
    let schedule = schedule.map(str::trim).filter(|s| !s.is_empty());
    if let Some(s) = schedule {
        if let Err(message) = Schedule::parse(s) {
            errors.push(FieldError {
                field: "schedule".into(),
                message,
            });
        }
    }
    let Some(mut config) = config.filter(|_| errors.is_empty()) else {
        return Ok(SaveOutcome {
            saved: false,
            errors,
        });
    };
    // Keys the form does not show (none today) survive a save.
    if let Some(old) = old.as_object() {
        let shown: Vec<&String> = props(&schema).into_iter().map(|(k, _)| k).collect();
        for (k, v) in old {
            if !shown.contains(&k) {
                config.insert(k.clone(), v.clone());
            }
        }
    }
    let base_url = config
        .get("base_url")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let n = sqlx::query!(
        r#"update public.tenant_integrations
           set config = $2, base_url = coalesce($3, base_url)
           where id = $1"#,
        id,
        Value::Object(config),
        base_url
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(Error::Forbidden(
            "Apenas administradores da organização podem alterar a configuração.".into(),
        ));
    }
    // The schedule goes through the one place that writes it (and restarts its clock).
    if schedule != current_schedule.as_deref() {
        crate::schedule::set_schedule(tx, tenant_id, slug, schedule).await?;
    }
    Ok(SaveOutcome {
        saved: true,
        errors: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "required": ["base_url", "limite"],
            "properties": {
                "base_url": {"type": "string", "format": "uri", "title": "URL da API", "description": "Endereço"},
                "email": {"type": "string", "format": "email"},
                "limite": {"type": "integer", "minimum": 1, "maximum": 100},
                "taxa": {"type": "number"},
                "ativo": {"type": "boolean"},
                "modo": {"type": "string", "enum": ["rapido", "completo"]},
                "codigo": {"type": "string", "pattern": "^[A-Z]{3}$"},
                "api_token": {"type": "string", "secret": true}
            }
        })
    }

    fn submit(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn errors_of(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        let s = schema();
        match coerce(&s, &submit(pairs)) {
            Ok(c) => validate(&s, &Value::Object(c)),
            Err(e) => e,
        }
        .into_iter()
        .map(|e| (e.field, e.message))
        .collect()
    }

    #[test]
    fn the_form_follows_the_schema_and_hides_secrets() {
        let f = fields(
            &schema(),
            &json!({"base_url": "https://x.test", "api_token": "segredo"}),
        );
        let by = |k: &str| f.iter().find(|x| x.key == k).expect(k).clone();
        assert_eq!(by("base_url").kind, FieldKind::Url);
        assert!(by("base_url").required);
        assert_eq!(by("base_url").description.as_deref(), Some("Endereço"));
        assert_eq!(by("email").kind, FieldKind::Email);
        assert_eq!(by("limite").kind, FieldKind::Integer);
        assert_eq!(
            (by("limite").minimum, by("limite").maximum),
            (Some(1.0), Some(100.0))
        );
        assert_eq!(by("ativo").kind, FieldKind::Boolean);
        assert_eq!(
            by("modo").kind,
            FieldKind::Choice(vec!["rapido".into(), "completo".into()])
        );
        assert_eq!(by("codigo").pattern.as_deref(), Some("^[A-Z]{3}$"));
        assert!(by("api_token").secret);
        assert_eq!(
            by("api_token").value,
            None,
            "a secret never leaves with a value"
        );
    }

    #[test]
    fn every_rule_gets_a_field_error_in_portuguese() {
        let e = errors_of(&[
            ("base_url", "not a url"),
            ("limite", "0"),
            ("email", "x"),
            ("codigo", "abc"),
            ("modo", "lento"),
        ]);
        let has = |f: &str, m: &str| e.iter().any(|(ff, mm)| ff == f && mm.contains(m));
        assert!(has("base_url", "URL válida"), "{e:?}");
        assert!(has("limite", "mínimo é 1"), "{e:?}");
        assert!(has("email", "e-mail válido"), "{e:?}");
        assert!(has("codigo", "formato esperado"), "{e:?}");
        assert!(has("modo", "opções"), "{e:?}");
        assert!(errors_of(&[("base_url", "https://ok.test")])
            .iter()
            .any(|(f, m)| f == "limite" && m == "Campo obrigatório."));
        assert_eq!(
            errors_of(&[("base_url", "https://ok.test"), ("limite", "dez")]),
            vec![("limite".into(), "Informe um número inteiro.".into())]
        );
        assert!(errors_of(&[
            ("base_url", "https://ok.test"),
            ("limite", "10"),
            ("taxa", "1,5"),
            ("ativo", "on"),
            ("modo", "rapido"),
            ("codigo", "ABC")
        ])
        .is_empty());
    }

    #[test]
    fn secrets_and_unknown_keys_are_never_taken_from_the_form() {
        let c = coerce(
            &schema(),
            &submit(&[
                ("base_url", "https://ok.test"),
                ("limite", "5"),
                ("api_token", "x"),
                ("injected", "y"),
            ]),
        )
        .expect("valid");
        assert!(!c.contains_key("api_token") && !c.contains_key("injected"));
        assert_eq!(
            c.get("ativo"),
            Some(&Value::Bool(false)),
            "an unchecked box is false"
        );
    }
}
