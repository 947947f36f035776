//! The configuration section of `/integracoes/:slug`: the form generated from the
//! provider's `config_schema` (non-secret settings, the schedule and the failures before it pauses). Credentials have
//! their own section ([`super::credentials`]).

use leptos::prelude::*;
use model::{ConfigField, FieldKind, SaveOutcome};

use crate::components::{error_text, ErrorBox};
use crate::use_integrations::SaveIntegrationConfig;

/// The configuration form generated from the provider's `config_schema`: editable by tenant
/// admins, read-only for staff; the server's validation errors show on their fields.
#[component]
pub fn ConfigSection(
    slug: Memo<String>,
    config: Resource<Result<model::ConfigForm, ServerFnError>>,
    save: ServerAction<SaveIntegrationConfig>,
) -> impl IntoView {
    let form = config;
    let outcome = move || save.value().get().and_then(Result::ok);
    let error = move |field: &str| outcome().and_then(|o: SaveOutcome| o.error_for(field));
    view! {
        <section id="configuracao" class="config" aria-labelledby="configuracao-titulo">
            <h2 id="configuracao-titulo">"Configuração"</h2>
            {move || save.value().get().and_then(Result::err).map(|e| view! { <ErrorBox message=error_text(&e)/> })}
            {move || outcome().filter(|o| o.saved).map(|_| view! { <p class="saved" role="status">"Configuração salva."</p> })}
            {move || outcome().filter(|o| !o.saved).map(|_| view! {
                <p class="form-error" role="alert">"Corrija os campos destacados."</p>
            })}
            <Transition fallback=|| view! { <p class="loading" role="status">"Carregando configuração…"</p> }>
                {move || {
                    let slug = slug.get_untracked();
                    Suspend::new(async move {
                        match form.await {
                            Ok(f) => {
                                let editable = f.editable;
                                let fields = f
                                    .fields
                                    .into_iter()
                                    .filter(|field| !field.secret)
                                    .map(|field| view! { <Field field editable error/> })
                                    .collect_view();
                                let schedule_error = move || error("schedule");
                                let pause_error = move || error("pause_after_failures");
                                view! {
                                    <ActionForm action=save attr:class="config-form" attr:novalidate=true>
                                        <input type="hidden" name="slug" value=slug/>
                                        {fields}
                                        <div class="field field-inline">
                                            <label for="cfg-schedule">"Agendamento"</label>
                                            <input
                                                id="cfg-schedule"
                                                type="text"
                                                name="schedule"
                                                value=f.schedule.unwrap_or_default()
                                                disabled=!editable
                                                aria-describedby="cfg-schedule-help cfg-schedule-error"
                                                aria-invalid=move || schedule_error().is_some().to_string()
                                            />
                                            <small id="cfg-schedule-help" class="help">
                                                "Intervalo (15m, 2h, 1d) ou expressão cron de 5 campos em UTC (ex.: 0 6 * * 1-5). Vazio: sem agendamento."
                                            </small>
                                            <p id="cfg-schedule-error" class="field-error">{schedule_error}</p>
                                        </div>
                                        <div class="field field-inline">
                                            <label for="cfg-pause">"Pausar após falhas seguidas"</label>
                                            <input
                                                id="cfg-pause"
                                                type="number"
                                                name="pause_after_failures"
                                                min=model::PAUSE_AFTER_RANGE.start().to_string()
                                                max=model::PAUSE_AFTER_RANGE.end().to_string()
                                                step="1"
                                                value=f.pause_after_failures.to_string()
                                                disabled=!editable
                                                aria-describedby="cfg-pause-help cfg-pause-error"
                                                aria-invalid=move || pause_error().is_some().to_string()
                                            />
                                            <small id="cfg-pause-help" class="help">
                                                "Após este número de execuções com erro seguidas, o agendamento é pausado e os administradores são avisados."
                                            </small>
                                            <p id="cfg-pause-error" class="field-error">{pause_error}</p>
                                        </div>
                                        {if editable {
                                            view! {
                                                <button type="submit" class="btn btn-primary" disabled=move || save.pending().get()>
                                                    "Salvar configuração"
                                                </button>
                                            }
                                            .into_any()
                                        } else {
                                            view! { <p class="muted">"Somente administradores da organização podem alterar a configuração."</p> }
                                                .into_any()
                                        }}
                                    </ActionForm>
                                }
                                .into_any()
                            }
                            Err(e) => view! { <ErrorBox message=error_text(&e)/> }.into_any(),
                        }
                    })
                }}
            </Transition>
        </section>
    }
}

/// One field of the configuration form.
#[component]
fn Field(
    field: ConfigField,
    editable: bool,
    error: impl Fn(&str) -> Option<String> + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let id = format!("cfg-{}", field.key);
    let help_id = format!("{id}-help");
    let error_id = format!("{id}-error");
    let name = format!("config[{}]", field.key);
    let key = StoredValue::new(field.key.clone());
    let message = move || key.with_value(|k| error(k));
    let invalid = move || message().is_some().to_string();
    let described = format!("{help_id} {error_id}");
    let label = if field.required {
        format!("{} *", field.title)
    } else {
        field.title.clone()
    };
    let value = field.value.clone().unwrap_or_default();
    let class = if matches!(field.kind, FieldKind::Boolean) {
        "field field-inline field-check"
    } else {
        "field field-inline"
    };
    let input = match field.kind.clone() {
        FieldKind::Boolean => view! {
            <input id=id.clone() type="checkbox" name=name.clone() value="true"
                checked=value == "true" disabled=!editable
                aria-describedby=described.clone() aria-invalid=invalid/>
        }
        .into_any(),
        FieldKind::Choice(options) => view! {
            <select id=id.clone() name=name.clone() disabled=!editable
                aria-describedby=described.clone() aria-invalid=invalid>
                {(!field.required).then(|| view! { <option value="">"—"</option> })}
                {options
                    .into_iter()
                    .map(|o| {
                        let selected = o == value;
                        view! { <option value=o.clone() selected=selected>{o.clone()}</option> }
                    })
                    .collect_view()}
            </select>
        }
        .into_any(),
        kind => {
            let (input_type, step) = match kind {
                FieldKind::Url => ("url", None),
                FieldKind::Email => ("email", None),
                FieldKind::Integer => ("number", Some("1")),
                FieldKind::Number => ("number", Some("any")),
                _ => ("text", None),
            };
            view! {
                <input id=id.clone() type=input_type name=name.clone() value=value
                    required=field.required disabled=!editable
                    step=step
                    min=field.minimum.map(|m| m.to_string())
                    max=field.maximum.map(|m| m.to_string())
                    minlength=field.min_length.map(|m| m.to_string())
                    maxlength=field.max_length.map(|m| m.to_string())
                    pattern=field.pattern.clone()
                    aria-describedby=described.clone() aria-invalid=invalid/>
            }
            .into_any()
        }
    };
    view! {
        <div class=class data-field=field.key.clone()>
            <label for=id.clone()>{label}</label>
            {input}
            <small id=help_id class="help">
                {field.description.clone().unwrap_or_default()}
            </small>
            <p id=error_id class="field-error">{message}</p>
        </div>
    }
}
