//! `/integracoes/auditoria`: the tenant's whole audit trail (every integration), for tenant
//! admins and global admins.

use leptos::prelude::*;
use leptos_meta::Title;
use model::SessionUser;

use crate::components::{AppHeader, AuditTrail, ErrorBox, RequireUser};

#[component]
pub fn AuditoriaPage() -> impl IntoView {
    view! {
        <Title text="Auditoria · Integrações · Portal Contmax"/>
        <RequireUser let:user>
            <Auditoria user/>
        </RequireUser>
    }
}

#[component]
fn Auditoria(user: SessionUser) -> impl IntoView {
    let allowed = user.can_configure();
    view! {
        <AppHeader user/>
        <main class="page">
            <nav class="breadcrumb" aria-label="Navegação">
                <a href="/">"Início"</a>
                <span aria-hidden="true">" / "</span>
                <a href="/integracoes">"Integrações"</a>
                <span aria-hidden="true">" / "</span>
                <span>"Auditoria"</span>
            </nav>
            <h1>"Auditoria das integrações"</h1>
            {if allowed {
                view! {
                    <AuditTrail
                        slug=Signal::stored(None::<String>)
                        path=Signal::stored("/integracoes/auditoria".to_owned())
                    />
                }
                .into_any()
            } else {
                view! {
                    <ErrorBox message="Apenas administradores da organização podem ver a auditoria.".to_owned()/>
                }
                .into_any()
            }}
        </main>
    }
}
