//! The *Credenciais* section of `/integracoes/:slug`: each secret field of the provider's
//! `config_schema` with what is known of it ("configurado em … por …", "definido pelo
//! ambiente", "não configurado"), and for tenant admins a password input to set or replace
//! it, *Remover*, and *Testar conexão*. Staff see the states only. No value ever comes back.

use leptos::prelude::*;
use model::{ConfigField, SecretState};

use crate::components::{error_text, ErrorBox, TestButton};
use crate::use_credentials::{RemoveIntegrationSecret, SetIntegrationSecret, TestConnection};

#[component]
pub fn CredentialsSection(
    slug: Memo<String>,
    config: Resource<Result<model::ConfigForm, ServerFnError>>,
    set: ServerAction<SetIntegrationSecret>,
    remove: ServerAction<RemoveIntegrationSecret>,
    editable: bool,
) -> impl IntoView {
    let test = ServerAction::<TestConnection>::new();
    let set_outcome = move || set.value().get().and_then(Result::ok);
    view! {
        <section id="credenciais" class="config credentials" aria-labelledby="credenciais-titulo">
            <h2 id="credenciais-titulo">"Credenciais"</h2>
            <p class="muted">
                "Guardadas criptografadas no servidor (AES-256-GCM). Ninguém lê o valor de volta: "
                "para trocar, substitua."
            </p>
            {move || set.value().get().and_then(Result::err).map(|e| view! { <ErrorBox message=error_text(&e)/> })}
            {move || remove.value().get().and_then(Result::err).map(|e| view! { <ErrorBox message=error_text(&e)/> })}
            {move || set_outcome().filter(|o| o.saved).map(|_| view! { <p class="saved" role="status">"Credencial salva."</p> })}
            <Transition fallback=|| view! { <p class="loading" role="status">"Carregando credenciais…"</p> }>
                {move || {
                    let slug = slug.get_untracked();
                    Suspend::new(async move {
                        match config.await {
                            Ok(f) => {
                                let secrets: Vec<ConfigField> =
                                    f.fields.into_iter().filter(|x| x.secret).collect();
                                if secrets.is_empty() {
                                    return view! { <p class="muted">"Esta integração não usa credenciais."</p> }.into_any();
                                }
                                secrets
                                    .into_iter()
                                    .map(|field| view! { <SecretField field slug=slug.clone() set remove editable/> })
                                    .collect_view()
                                    .into_any()
                            }
                            Err(e) => view! { <ErrorBox message=error_text(&e)/> }.into_any(),
                        }
                    })
                }}
            </Transition>
            {move || editable.then(|| view! { <TestButton slug=slug.get() test/> })}
        </section>
    }
}

#[component]
fn SecretField(
    field: ConfigField,
    slug: String,
    set: ServerAction<SetIntegrationSecret>,
    remove: ServerAction<RemoveIntegrationSecret>,
    editable: bool,
) -> impl IntoView {
    let id = format!("secret-{}", field.key);
    let error_id = format!("{id}-error");
    let key = StoredValue::new(field.key.clone());
    // The field error of the last submit, when it was this field's.
    let error = move || {
        set.value()
            .get()
            .and_then(Result::ok)
            .and_then(|o| key.with_value(|k| o.error_for(k)))
    };
    // A submitted value leaves the page: the input is emptied after every submit (an
    // ActionForm keeps what was typed, and a re-render keeps the input's live value).
    let input_ref = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if set.version().get() > 0 {
            if let Some(el) = input_ref.get() {
                el.set_value("");
            }
        }
    });
    let is_set = field.secret_state.is_set();
    let from_vault = matches!(field.secret_state, SecretState::Set { .. });
    let label = if field.required {
        format!("{} *", field.title)
    } else {
        field.title.clone()
    };
    let slug3 = slug.clone();
    let (slug2, key2, key3, id2, error_id2, title) = (
        slug.clone(),
        field.key.clone(),
        field.key.clone(),
        id.clone(),
        error_id.clone(),
        field.title.clone(),
    );
    let controls = editable.then(move || {
        view! {
            <div class="secret-controls">
                <ActionForm action=set attr:class="secret-form">
                    <input type="hidden" name="slug" value=slug2/>
                    <input type="hidden" name="field" value=key2/>
                    <input
                        node_ref=input_ref
                        id=id2
                        type="password"
                        name="value"
                        autocomplete="new-password"
                        spellcheck="false"
                        placeholder=if is_set { "Novo valor" } else { "Valor" }
                        aria-describedby=error_id2
                        aria-invalid=move || error().is_some().to_string()
                    />
                    <button type="submit" class="btn btn-small btn-primary" disabled=move || set.pending().get()>
                        {if from_vault { "Substituir" } else { "Salvar" }}
                    </button>
                </ActionForm>
                {from_vault.then(move || view! {
                    <ActionForm action=remove attr:class="secret-form">
                        <input type="hidden" name="slug" value=slug3/>
                        <input type="hidden" name="field" value=key3/>
                        <button type="submit" class="btn btn-small" disabled=move || remove.pending().get()
                            aria-label=format!("Remover {title}")>
                            "Remover"
                        </button>
                    </ActionForm>
                })}
            </div>
        }
    });
    view! {
        <div class="field field-inline secret-field" data-field=field.key.clone()>
            <label for=id.clone()>{label}</label>
            <div>
                <p class="secret-status" data-testid=format!("secret-status-{}", field.key)
                   data-state=if is_set { "set" } else { "unset" }>
                    {field.secret_state.label()}
                </p>
                {controls}
                <small class="help">{field.description.clone().unwrap_or_default()}</small>
                <p id=error_id class="field-error">{error}</p>
            </div>
        </div>
    }
}
