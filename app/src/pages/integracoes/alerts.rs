//! *Alertas* on `/integracoes` (tenant admins): the tenant's outgoing webhook for pauses
//! and recoveries (Slack, Teams or Google Chat incoming webhooks, or a receiver of the
//! firm's own that checks the signature). The address is never shown again once saved
//! (it carries the receiver's token): only its host; the signing secret is shown once.

use leptos::prelude::*;

use crate::components::{error_text, ErrorBox};
use crate::use_alerts::{
    load_alert_webhook, RemoveAlertWebhook, SaveAlertWebhook, TestAlertWebhook, WebhookSaved,
};

#[component]
pub fn AlertsPanel() -> impl IntoView {
    let save = ServerAction::<SaveAlertWebhook>::new();
    let remove = ServerAction::<RemoveAlertWebhook>::new();
    let test = ServerAction::<TestAlertWebhook>::new();
    let status = Resource::new(
        move || (save.version().get(), remove.version().get()),
        |_| load_alert_webhook(),
    );
    let saved = move || save.value().get().and_then(Result::ok);
    let field_error = move || match saved() {
        Some(WebhookSaved::Invalid(m)) => Some(m),
        _ => None,
    };
    // The secret of the last save, shown until the webhook is removed; the address field
    // is emptied once saved (it carries the receiver's token).
    let new_secret = RwSignal::new(None::<String>);
    let url_input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(WebhookSaved::Saved(w)) = saved() {
            new_secret.set(w.new_secret);
            if let Some(input) = url_input.get_untracked() {
                input.set_value("");
            }
        }
    });
    Effect::new(move |before: Option<usize>| {
        let now = remove.version().get();
        if before.is_some_and(|b| b != now) {
            new_secret.set(None);
        }
        now
    });
    // Saving needs the page's script (the secret comes back in the answer): the button
    // waits for hydration.
    let ready = RwSignal::new(false);
    Effect::new(move |_| ready.set(true));
    view! {
        <section class="alerts" aria-labelledby="alertas-titulo">
            <h2 id="alertas-titulo">"Alertas"</h2>
            <p class="muted">
                "Quando uma integração falha seguidas vezes, o agendamento é pausado e os administradores recebem um aviso no portal. "
                "Informe também um webhook (Slack, Microsoft Teams ou Google Chat) para receber os avisos e as recuperações."
            </p>
            {move || save.value().get().and_then(Result::err).map(|e| view! { <ErrorBox message=error_text(&e)/> })}
            {move || remove.value().get().and_then(Result::err).map(|e| view! { <ErrorBox message=error_text(&e)/> })}
            {move || new_secret.get().map(|secret| view! {
                <div class="secret-once" role="status" data-testid="alert-secret">
                    <p>"Webhook salvo. Segredo de assinatura (copie agora: ele não será mostrado de novo):"</p>
                    <code>{secret}</code>
                    <p class="muted">"Cada mensagem traz X-Contmax-Signature: sha256=HMAC-SHA256(segredo, \"<X-Contmax-Timestamp>.<corpo>\")."</p>
                </div>
            })}
            <Transition fallback=|| view! { <p class="loading" role="status">"Carregando alertas…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(w) => view! {
                            {match (w.configured, w.host, w.set_label) {
                                (true, Some(host), label) => view! {
                                    <p data-testid="alert-webhook-state">
                                        "Webhook: " <strong>{host}</strong>
                                        {label.map(|l| format!(" · {l}"))}
                                    </p>
                                    <div class="card-actions">
                                        <ActionForm action=test>
                                            <button type="submit" class="btn btn-small" disabled=move || test.pending().get()>
                                                "Enviar teste"
                                            </button>
                                        </ActionForm>
                                        <ActionForm action=remove>
                                            <button type="submit" class="btn btn-small btn-danger" disabled=move || remove.pending().get()>
                                                "Remover webhook"
                                            </button>
                                        </ActionForm>
                                    </div>
                                }
                                .into_any(),
                                _ => view! { <p class="muted" data-testid="alert-webhook-state">"Nenhum webhook configurado."</p> }.into_any(),
                            }}
                        }
                        .into_any(),
                        Err(e) => view! { <ErrorBox message=error_text(&e)/> }.into_any(),
                    }
                })}
            </Transition>
            {move || test.value().get().map(|r| match r {
                Ok(m) => view! { <p class="saved" role="status" data-testid="alert-test">{m}</p> }.into_any(),
                Err(e) => view! { <ErrorBox message=error_text(&e)/> }.into_any(),
            })}
            <ActionForm action=save attr:class="alert-form" attr:novalidate=true>
                <div class="field">
                    <label for="alert-url">"Endereço do webhook"</label>
                    <input
                        id="alert-url"
                        node_ref=url_input
                        type="url"
                        name="url"
                        autocomplete="off"
                        placeholder="https://hooks.slack.com/services/…"
                        aria-describedby="alert-url-error"
                        aria-invalid=move || field_error().is_some().to_string()
                    />
                    <p id="alert-url-error" class="field-error">{field_error}</p>
                </div>
                <button type="submit" class="btn btn-primary" disabled=move || !ready.get() || save.pending().get()>
                    "Salvar webhook"
                </button>
            </ActionForm>
        </section>
    }
}
