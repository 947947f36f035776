//! The audit trail of the current tenant (or one integration of it), newest first: who,
//! when, what, from where. Filters by action and person, keyset pages ("Mais antigas"),
//! all in the query string (`aud_acao`, `aud_pessoa`, `aud_antes`), so it works without
//! JavaScript. Tenant admins and global admins only (the server answers 403 to staff).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use model::{audit_action_label, audit_source_label, AuditPage, AUDIT_ACTIONS};

use crate::components::get_form::query_href;
use crate::components::{error_text, Ago, ErrorBox, GetForm};
use crate::use_credentials::{load_audit_page, load_audit_people};

#[component]
pub fn AuditTrail(
    /// One integration's trail, or the tenant's.
    #[prop(into)]
    slug: Signal<Option<String>>,
    /// The page this section is on (`/integracoes/auditoria`, `/integracoes/<slug>`).
    #[prop(into)]
    path: Signal<String>,
    /// Bumped by the page when it changed something the trail records: the trail refetches.
    #[prop(into, default = Signal::stored(0))]
    changes: Signal<u32>,
) -> impl IntoView {
    let query = use_query_map();
    let filters = Memo::new(move |_| {
        let q = query.read();
        (q.get("aud_acao"), q.get("aud_pessoa"), q.get("aud_antes"))
    });
    let page = Resource::new(
        move || (slug.get(), filters.get(), changes.get()),
        move |(slug, (action, person, before), _)| load_audit_page(slug, action, person, before),
    );
    let people = Resource::new(move || changes.get(), |_| load_audit_people());
    let show_provider = move || slug.with(Option::is_none);
    let href = move |before: Option<String>| {
        let (action, person, _) = filters.get_untracked();
        let pairs = [
            ("aud_acao", action),
            ("aud_pessoa", person),
            ("aud_antes", before),
        ];
        let pairs = pairs
            .iter()
            .filter_map(|(k, v)| v.as_deref().map(|v| (*k, v)));
        query_href(&path.get_untracked(), pairs) + "#auditoria"
    };
    let selected_action = move |v: &str| filters.get().0.as_deref() == Some(v);
    let selected_person = move |v: &str| filters.get().1.as_deref() == Some(v);
    view! {
        <section id="auditoria" class="audit" aria-labelledby="auditoria-titulo">
            <h2 id="auditoria-titulo">"Auditoria"</h2>
            <GetForm action=path class="filters">
                <div class="filter">
                    <label for="aud-acao">"Ação"</label>
                    <select id="aud-acao" name="aud_acao">
                        <option value="">"Todas"</option>
                        {AUDIT_ACTIONS
                            .iter()
                            .map(|a| view! { <option value=*a selected=move || selected_action(a)>{audit_action_label(a)}</option> })
                            .collect_view()}
                    </select>
                </div>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let options = people
                            .await
                            .unwrap_or_default()
                            .into_iter()
                            .map(|p| {
                                let id = p.id.clone();
                                view! { <option value=p.id selected=move || selected_person(&id)>{p.name}</option> }
                            })
                            .collect_view();
                        view! {
                            <div class="filter">
                                <label for="aud-pessoa">"Pessoa"</label>
                                <select id="aud-pessoa" name="aud_pessoa">
                                    <option value="">"Todas"</option>
                                    {options}
                                </select>
                            </div>
                        }
                    })}
                </Transition>
                <button type="submit" class="btn btn-small btn-primary">"Aplicar filtros"</button>
            </GetForm>
            <Transition fallback=|| view! { <p class="loading" role="status">"Carregando auditoria…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(AuditPage { rows, .. }) if rows.is_empty() => view! {
                            <p class="empty">"Nenhuma ação registrada com estes filtros."</p>
                        }
                        .into_any(),
                        Ok(AuditPage { rows, next_before }) => view! {
                            <div class="table-wrap">
                            <table class="audit-table">
                                <thead>
                                    <tr>
                                        <th scope="col">"Quando"</th>
                                        <th scope="col">"Quem"</th>
                                        {show_provider().then(|| view! { <th scope="col">"Integração"</th> })}
                                        <th scope="col">"Ação"</th>
                                        <th scope="col">"Detalhes"</th>
                                        <th scope="col">"Origem"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {rows
                                        .into_iter()
                                        .map(|r| view! {
                                            <tr data-action=r.action.clone()>
                                                <td><Ago seconds=Some(r.seconds_ago) exact=Some(r.created_at.clone())/></td>
                                                // The account's e-mail is who it was; the name is what
                                                // they call themselves.
                                                <td>
                                                    {match (r.actor_name.clone(), r.actor_email.clone()) {
                                                        (None, None) => view! { <span>"Sistema"</span> }.into_any(),
                                                        (name, email) => view! {
                                                            <span>{name.clone().or(email.clone()).unwrap_or_default()}</span>
                                                            {email.filter(|_| name.is_some()).map(|e| view! { <br/><small class="muted">{e}</small> })}
                                                        }
                                                        .into_any(),
                                                    }}
                                                </td>
                                                {show_provider().then(|| view! {
                                                    <td>{r.provider_name.clone().or(r.provider_slug.clone()).unwrap_or_default()}</td>
                                                })}
                                                <td>{audit_action_label(&r.action)}</td>
                                                <td>{r.summary.clone()}</td>
                                                <td>{audit_source_label(&r.source)}</td>
                                            </tr>
                                        })
                                        .collect_view()}
                                </tbody>
                            </table>
                            </div>
                            {next_before.map(|c| view! {
                                <nav class="pager" aria-label="Páginas da auditoria">
                                    <a class="btn btn-small" href=href(Some(c))>"Mais antigas"</a>
                                </nav>
                            })}
                        }
                        .into_any(),
                        Err(e) => view! { <ErrorBox message=error_text(&e)/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
