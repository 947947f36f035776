//! *Testar conexão*: the button and its answer ("Conexão OK (120 ms)" or what is wrong),
//! on the detail page and on each card, for tenant admins.

use leptos::prelude::*;
use model::ConnectionCheck;

use crate::components::error_text;
use crate::use_credentials::TestConnection;

/// *Testar conexão* and its answer.
#[component]
pub fn TestButton(slug: String, test: ServerAction<TestConnection>) -> impl IntoView {
    let result = move || test.value().get();
    view! {
        <div class="connection-test">
            <ActionForm action=test>
                <input type="hidden" name="slug" value=slug/>
                <button type="submit" class="btn btn-small" disabled=move || test.pending().get()>
                    {move || if test.pending().get() { "Testando…" } else { "Testar conexão" }}
                </button>
            </ActionForm>
            {move || result().map(|r| match r {
                Ok(ConnectionCheck { ok, message, .. }) => view! {
                    <p class=if ok { "connection-result ok" } else { "connection-result fail" }
                       role="status" data-testid="connection-result" data-ok=ok.to_string()>
                        {message}
                    </p>
                }
                .into_any(),
                Err(e) => view! {
                    <p class="connection-result fail" role="status" data-testid="connection-result" data-ok="false">
                        {error_text(&e)}
                    </p>
                }
                .into_any(),
            })}
        </div>
    }
}
