//! The configuration of a tenant integration: the form generated from the provider's
//! `config_schema`, and saving it with server-side validation (the jsonschema crate, formats
//! on), each error on its field in pt-BR.
//!
//! Fields the schema marks `"secret": true` are never read from or written to `config`:
//! they live in the vault ([`crate::vault`]) and the form only says whether, when and by
//! whom one was set ([`SecretState`]). A secret listed in `required` must be set before the
//! integration can be turned on; JSON Schema validation of `config` leaves secrets out.

use std::collections::HashMap;

use serde_json::{Map, Value};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::audit::{self, Actor};
use crate::schedule::Schedule;
use crate::{Error, Result};
use model::{ConfigField, ConfigForm, FieldError, FieldKind, SaveOutcome, SecretState};

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

/// A secret field of a schema.
#[derive(Debug, Clone, PartialEq)]
pub struct SecretField {
    pub key: String,
    pub title: String,
    pub required: bool,
}

/// The schema's secret fields, in its order.
pub fn secret_fields(schema: &Value) -> Vec<SecretField> {
    let req = required(schema);
    props(schema)
        .into_iter()
        .filter(|(_, p)| is_secret(p))
        .map(|(k, p)| SecretField {
            key: k.clone(),
            title: p
                .get("title")
                .and_then(Value::as_str)
                .unwrap_or(k)
                .to_owned(),
            required: req.contains(&k.as_str()),
        })
        .collect()
}

/// The schema `config` is validated against: the same, without its secret fields (they
/// never are in `config`).
pub fn schema_without_secrets(schema: &Value) -> Value {
    let secrets: Vec<String> = secret_fields(schema).into_iter().map(|f| f.key).collect();
    let mut out = schema.clone();
    if let Some(p) = out.get_mut("properties").and_then(Value::as_object_mut) {
        p.retain(|k, _| !secrets.contains(k));
    }
    if let Some(r) = out.get_mut("required").and_then(Value::as_array_mut) {
        r.retain(|k| k.as_str().is_none_or(|k| !secrets.iter().any(|s| s == k)));
    }
    out
}

/// The form of `schema` filled with `config`; secrets only as their [`SecretState`].
pub fn fields(
    schema: &Value,
    config: &Value,
    secrets: &HashMap<String, SecretState>,
) -> Vec<ConfigField> {
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
                secret_state: if secret {
                    secrets.get(key).cloned().unwrap_or_default()
                } else {
                    SecretState::NotSet
                },
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
    let schema = schema_without_secrets(schema);
    let validator = match jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
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

/// Whether `url` starts with `http://` or `https://` and a host, as the database's
/// `url_origin` reads it.
pub fn plain_origin(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !host.contains('\\') && !host.chars().any(char::is_whitespace)
    }) && reqwest::Url::parse(url).is_ok()
}

/// Why the server must not connect to `url` (SSRF, [`crate::net_guard`]): `https://` unless
/// the destination is allowed, and no internal address, literal or resolved (the name
/// briefly; one that does not resolve now is left to connect time). The exceptions are the
/// process's: `ALLOWED_PRIVATE_HOSTS` and the sandboxes it started.
pub async fn destination_error(url: &str) -> Option<&'static str> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let refused = crate::net_guard::NetPolicy::process()
        .check_destination(&parsed)
        .await
        .err()?;
    tracing::info!("base_url refused at save time: {refused}");
    Some(refused.field_message())
}

/// One tenant integration as the form needs it, read as the caller.
struct Loaded {
    id: Uuid,
    schema: Value,
    config: Value,
    schedule: Option<String>,
    pause_after_failures: i32,
    tenant_slug: String,
}

/// The schema and the non-secret config of one tenant integration
/// ([`crate::integrations::effective_config`]).
async fn load(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    slug: &str,
) -> Result<Loaded> {
    let row = sqlx::query!(
        r#"select t.id, p.config_schema, t.config, t.base_url, t.schedule, t.pause_after_failures,
                  o.slug as tenant_slug
           from public.tenant_integrations t
           join public.integration_providers p on p.id = t.provider_id
           join public.organizacoes o on o.id = t.tenant_id
           where t.tenant_id = $1 and p.slug = $2"#,
        tenant_id,
        slug
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| Error::NotFound(model::INTEGRATION_NOT_FOUND.into()))?;
    Ok(Loaded {
        id: row.id,
        config: crate::integrations::effective_config(row.config, &row.base_url),
        schema: row.config_schema,
        schedule: row.schedule,
        pause_after_failures: row.pause_after_failures,
        tenant_slug: row.tenant_slug,
    })
}

/// A time as the forms show it: Brasília time (UTC−3, no daylight saving since 2019).
pub(crate) fn brasilia(t: chrono::DateTime<chrono::Utc>) -> String {
    let offset = chrono::FixedOffset::west_opt(3 * 3600).unwrap_or_else(|| unreachable!());
    t.with_timezone(&offset)
        .format("%d/%m/%Y %H:%M")
        .to_string()
}

/// What the form may say of each secret field: set in the vault (when, by whom), set by
/// the environment, or not set.
async fn secret_states(
    tx: &mut Transaction<'static, Postgres>,
    l: &Loaded,
    provider_slug: &str,
) -> Result<HashMap<String, SecretState>> {
    let stored = crate::vault::store::list(tx, l.id).await?;
    let env_allowed =
        crate::vault::store::env_applies(provider_slug, &l.tenant_slug, &l.schema, &l.config);
    let mut out = HashMap::new();
    for f in secret_fields(&l.schema) {
        let state = match stored.iter().find(|s| s.field == f.key) {
            Some(s) => SecretState::Set {
                at: brasilia(s.set_at),
                by: s.set_by_name.clone(),
            },
            None if env_allowed
                && crate::vault::store::from_env(provider_slug, &l.tenant_slug, &f.key)
                    .is_some() =>
            {
                SecretState::FromEnv
            }
            None => SecretState::NotSet,
        };
        out.insert(f.key, state);
    }
    Ok(out)
}

/// The form as the caller may see it.
pub async fn form(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    slug: &str,
    editable: bool,
) -> Result<ConfigForm> {
    let l = load(tx, tenant_id, slug).await?;
    let states = secret_states(tx, &l, slug).await?;
    Ok(ConfigForm {
        fields: fields(&l.schema, &l.config, &states),
        schedule: l.schedule,
        pause_after_failures: l.pause_after_failures,
        editable,
    })
}

/// What is still missing before the integration can be turned on: the titles of required
/// settings that are empty or invalid and of required secrets that are not set.
pub async fn missing_requirements(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    slug: &str,
) -> Result<Vec<String>> {
    let l = load(tx, tenant_id, slug).await?;
    let mut missing: Vec<String> = Vec::new();
    let title = |key: &str| {
        l.schema
            .get("properties")
            .and_then(|p| p.get(key))
            .and_then(|p| p.get("title"))
            .and_then(Value::as_str)
            .unwrap_or(key)
            .to_owned()
    };
    for e in validate(&l.schema, &l.config) {
        let t = title(&e.field);
        if !missing.contains(&t) {
            missing.push(t);
        }
    }
    let states = secret_states(tx, &l, slug).await?;
    for f in secret_fields(&l.schema).into_iter().filter(|f| f.required) {
        if !states.get(&f.key).is_some_and(SecretState::is_set) {
            missing.push(f.title);
        }
    }
    Ok(missing)
}

/// How the engine treats the integration, beside its provider's settings: the schedule
/// and after how many consecutive failures it pauses (`None`: unchanged).
#[derive(Clone, Copy, Debug, Default)]
pub struct RunSettings<'a> {
    pub schedule: Option<&'a str>,
    pub pause_after_failures: Option<&'a str>,
}

/// Validates and saves the submitted form in the caller's transaction (row-level security
/// lets only admins write); the audit trigger records what changed. Nothing is written when
/// any field is wrong.
pub async fn save(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    slug: &str,
    submitted: &HashMap<String, String>,
    settings: RunSettings<'_>,
    actor: &Actor,
) -> Result<SaveOutcome> {
    let RunSettings {
        schedule,
        pause_after_failures,
    } = settings;
    let Loaded {
        id,
        schema,
        config: old,
        schedule: current_schedule,
        pause_after_failures: current_pause,
        ..
    } = load(tx, tenant_id, slug).await?;
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
    // The API's address must name its host plainly (`https://host/...`): credentials are
    // bound to it, and forms such as `https:///host` hide the host from that rule.
    if let Some(url) = config
        .as_ref()
        .and_then(|c| c.get("base_url"))
        .and_then(Value::as_str)
    {
        if !errors.iter().any(|e| e.field == "base_url") && !plain_origin(url) {
            errors.push(FieldError {
                field: "base_url".into(),
                message: "Informe a URL completa, como https://api.exemplo.com.".into(),
            });
        }
        if !errors.iter().any(|e| e.field == "base_url") {
            if let Some(message) = destination_error(url).await {
                errors.push(FieldError {
                    field: "base_url".into(),
                    message: message.into(),
                });
            }
        }
    }
    let schedule = schedule.map(str::trim).filter(|s| !s.is_empty());
    if let Some(s) = schedule {
        if let Err(message) = Schedule::parse(s) {
            errors.push(FieldError {
                field: "schedule".into(),
                message,
            });
        }
    }
    let pause_after = match pause_after_failures {
        None => current_pause,
        Some(raw) => match crate::alerts::parse_threshold(raw) {
            Ok(n) => n,
            Err(message) => {
                errors.push(FieldError {
                    field: "pause_after_failures".into(),
                    message,
                });
                current_pause
            }
        },
    };
    let Some(mut config) = config.filter(|_| errors.is_empty()) else {
        return Ok(SaveOutcome {
            saved: false,
            errors,
        });
    };
    // Keys the form does not show (none today) survive a save; secrets never enter config.
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
    let new = Value::Object(config);
    // The database's audit trigger records what changed (and removes the credentials when
    // the API's address moves to another origin); it learns the source from `bind`.
    audit::bind(tx, actor).await?;
    let n = sqlx::query!(
        r#"update public.tenant_integrations
           set config = $2, base_url = coalesce($3, base_url),
               pause_after_failures = $4
           where id = $1"#,
        id,
        new,
        base_url,
        pause_after
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
        let mut states = HashMap::new();
        states.insert(
            "api_token".to_owned(),
            SecretState::Set {
                at: "29/11/2026 10:00".into(),
                by: Some("Ana".into()),
            },
        );
        let f = fields(
            &schema(),
            &json!({"base_url": "https://x.test", "api_token": "segredo"}),
            &states,
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
        assert_eq!(
            by("api_token").secret_state.label(),
            "configurado em 29/11/2026 10:00 por Ana"
        );
        assert_eq!(by("base_url").secret_state, SecretState::NotSet);
    }

    #[test]
    fn only_plain_urls_name_their_origin() {
        assert!(plain_origin("https://api.acessorias.com"));
        assert!(plain_origin("http://127.0.0.1:4001/s/ok"));
        for bad in [
            "https:///evil.example",
            "https:evil.example",
            " https://x",
            "HTTPS://x",
            "ftp://x",
        ] {
            assert!(!plain_origin(bad), "{bad}");
        }
    }

    #[test]
    fn required_secrets_do_not_fail_config_validation() {
        let s = json!({"type": "object", "required": ["base_url", "api_token"],
            "properties": {"base_url": {"type": "string"},
                           "api_token": {"type": "string", "secret": true, "title": "Token"}}});
        assert!(validate(&s, &json!({"base_url": "https://x"})).is_empty());
        assert_eq!(
            secret_fields(&s),
            vec![SecretField {
                key: "api_token".into(),
                title: "Token".into(),
                required: true
            }]
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
