//! *Revisar contatos* on `/integracoes/onecode`: the WhatsApp contacts whose company the
//! matcher was unsure of, each with its suggestion and score, and three ways out:
//! *Aceitar* (the suggestion), *Escolher outra empresa* (search by name or CNPJ, pick,
//! confirm) and *Ignorar*. A decision takes the contact off the list and raises a toast.
//! The list, its filter and its pages are plain links and a GET form (they work without
//! JavaScript); *Aceitar* and *Ignorar* are forms too; choosing another company needs the
//! hydrated page.

use leptos::prelude::*;
use model::{percent_pt, phone_pt, CompanyChoice, ReviewItem, ReviewPage, ReviewQuery};
use uuid::Uuid;

use crate::components::get_form::query_href;
use crate::components::{error_text, push_toast, ErrorBox, GetForm};
use crate::use_contact_reviews::{DecideContact, SearchReviewCompanies};

/// `N contatos aguardando revisão`.
fn waiting_pt(n: i64) -> String {
    match n {
        1 => "1 contato aguardando revisão".to_owned(),
        n => format!("{n} contatos aguardando revisão"),
    }
}

/// This page with the queue's filter and cursor (the history's parameters are dropped, as
/// the history's own links drop these).
fn href(slug: &str, busca: Option<&str>, after: Option<&str>) -> String {
    let pairs = [("contatos", busca), ("contatos_apos", after)];
    let path = format!("/integracoes/{slug}");
    query_href(
        &path,
        pairs.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))),
    ) + "#revisar-contatos"
}

#[component]
pub fn ReviewSection(
    slug: Memo<String>,
    /// The page's queue (created with the page's other resources; `None` off OneCode).
    reviews: Resource<Result<Option<ReviewPage>, ServerFnError>>,
    query: Memo<ReviewQuery>,
    decide: ServerAction<DecideContact>,
    toasts: RwSignal<Vec<(u32, String)>>,
    /// Tenant admins decide (a decision may fill a company's WhatsApp, which only admins
    /// edit); staff see the queue.
    can_decide: bool,
) -> impl IntoView {
    // The contact whose "Escolher outra empresa" box is open (one at a time), and the box's
    // state, kept here so that the list refreshing (every 2 s while a sync runs) does not
    // lose what was typed and found.
    let choosing = RwSignal::new(None::<Uuid>);
    let chooser = Chooser {
        search: ServerAction::<SearchReviewCompanies>::new(),
        typed: RwSignal::new(String::new()),
        picked: RwSignal::new(None::<Uuid>),
    };
    Effect::new(move |_| {
        choosing.track();
        chooser.search.value().set(None);
        chooser.typed.set(String::new());
        chooser.picked.set(None);
    });
    // A toast for each decision that went through, and the box closes. Keyed on the
    // action's version so that a decision made before this section rendered is not
    // announced again.
    Effect::new(move |seen: Option<usize>| {
        let value = decide.value().get();
        let version = decide.version().get_untracked();
        if seen.is_some_and(|s| s != version) {
            if let Some(Ok(outcome)) = value {
                push_toast(toasts, outcome.message());
                choosing.set(None);
            }
        }
        version
    });
    let busca = move || query.get().busca.unwrap_or_default();
    view! {
        <section id="revisar-contatos" class="reviews" aria-labelledby="revisar-contatos-titulo">
            <h2 id="revisar-contatos-titulo">"Revisar contatos"</h2>
            <p class="muted">
                "Contatos do WhatsApp que a sincronização não vinculou com certeza a uma empresa. "
                "Aceite a sugestão, escolha outra empresa ou ignore o contato: a decisão vale para "
                "as próximas sincronizações."
            </p>
            <GetForm action=Signal::derive(move || format!("/integracoes/{}", slug.get())) class="filters" role="search">
                <div class="filter">
                    <label for="contatos-busca">"Buscar contato"</label>
                    <input
                        id="contatos-busca"
                        type="search"
                        name="contatos"
                        maxlength="100"
                        placeholder="Nome, telefone, empresa ou CNPJ"
                        value=busca
                    />
                </div>
                <button type="submit" class="btn btn-small btn-primary">"Buscar"</button>
                {move || query.get().busca.filter(|b| !b.is_empty()).map(|_| view! {
                    <a class="btn btn-small" href=href(&slug.get(), None, None)>"Limpar"</a>
                })}
            </GetForm>
            {move || decide.value().get().and_then(Result::err).map(|e| view! { <ErrorBox message=error_text(&e)/> })}
            <Transition fallback=|| view! { <p class="loading" role="status">"Carregando contatos…"</p> }>
                {move || Suspend::new(async move {
                    match reviews.await {
                        Ok(Some(page)) => {
                            let slug = slug.get_untracked();
                            let q = query.get_untracked();
                            view! { <ReviewList page slug q decide choosing chooser can_decide/> }.into_any()
                        }
                        Ok(None) => ().into_any(),
                        Err(e) => view! { <ErrorBox message=error_text(&e)/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn ReviewList(
    page: ReviewPage,
    slug: String,
    q: ReviewQuery,
    decide: ServerAction<DecideContact>,
    choosing: RwSignal<Option<Uuid>>,
    chooser: Chooser,
    can_decide: bool,
) -> impl IntoView {
    let filtered = q.busca.as_deref().is_some_and(|b| !b.trim().is_empty());
    if page.rows.is_empty() {
        let text = if filtered {
            "Nenhum contato encontrado com esta busca."
        } else {
            "Nenhum contato aguardando revisão."
        };
        return view! { <p class="empty" data-testid="reviews-empty">{text}</p> }.into_any();
    }
    let next = page
        .next_after
        .as_deref()
        .map(|after| href(&slug, q.busca.as_deref(), Some(after)));
    let first = q
        .after
        .is_some()
        .then(|| href(&slug, q.busca.as_deref(), None));
    view! {
        <p class="muted total" data-testid="reviews-total">{waiting_pt(page.total)}</p>
        {(!can_decide).then(|| view! {
            <p class="muted" data-testid="reviews-admins-only">
                "Só os administradores da organização decidem sobre os contatos."
            </p>
        })}
        <ul class="review-list" aria-label="Contatos aguardando revisão">
            {page
                .rows
                .into_iter()
                .map(|item| view! { <ReviewRow item decide choosing chooser can_decide/> }.into_any())
                .collect_view()}
        </ul>
        <nav class="pager" aria-label="Páginas de contatos">
            {first.map(|h| view! { <a class="btn btn-small" href=h>"Primeira página"</a> })}
            {next.map(|h| view! { <a class="btn btn-small" rel="next" href=h>"Próxima página"</a> })}
        </nav>
    }
    .into_any()
}

#[component]
fn ReviewRow(
    item: ReviewItem,
    decide: ServerAction<DecideContact>,
    choosing: RwSignal<Option<Uuid>>,
    chooser: Chooser,
    can_decide: bool,
) -> impl IntoView {
    let id = item.id;
    let name_id = format!("contato-{id}");
    let phone = phone_pt(&item.numero);
    let score = percent_pt(item.score.map(f64::from));
    let has_suggestion = item.sugestao.is_some();
    let suggestion = match item.sugestao.clone() {
        Some(s) => view! {
            <p class="review-suggestion">
                "Sugestão: " <strong class="review-company">{s.nome}</strong>
                " " <span class="mono">{s.cnpj}</span>
                {s.baixada.then(|| view! { " " <span class="badge badge-muted">"Baixada"</span> })}
            </p>
        }
        .into_any(),
        None => view! { <p class="review-suggestion muted">"Sem empresa sugerida."</p> }.into_any(),
    };
    let open = move || choosing.get() == Some(id);
    let (d1, d2, d3) = (name_id.clone(), name_id.clone(), name_id.clone());
    let sugestao = item
        .sugestao
        .as_ref()
        .map(|s| s.id.to_string())
        .unwrap_or_default();
    view! {
        <li class="review-item" data-contato=id.to_string()>
            <div class="review-head">
                <div>
                    <strong id=name_id.clone() class="review-name">{item.nome.clone()}</strong>
                    <span class="review-phone mono">
                        {if phone.is_empty() { "sem número".to_owned() } else { phone }}
                    </span>
                </div>
                <span class="badge badge-muted review-score" title="Semelhança entre o nome do contato e o da empresa sugerida">
                    {format!("Semelhança {score}")}
                </span>
            </div>
            {suggestion}
            {can_decide.then(|| view! {
            <div class="card-actions">
                <ActionForm action=decide>
                    <input type="hidden" name="contato_id" value=id.to_string()/>
                    <input type="hidden" name="decisao" value="aceita"/>
                    <input type="hidden" name="sugestao" value=sugestao/>
                    <button
                        type="submit"
                        class="btn btn-small btn-primary"
                        aria-describedby=d1
                        disabled=move || !has_suggestion || decide.pending().get()
                    >
                        "Aceitar"
                    </button>
                </ActionForm>
                <button
                    type="button"
                    class="btn btn-small"
                    aria-describedby=d2
                    aria-expanded=move || open().to_string()
                    on:click=move |_| choosing.update(|c| *c = if *c == Some(id) { None } else { Some(id) })
                >
                    "Escolher outra empresa"
                </button>
                <ActionForm action=decide>
                    <input type="hidden" name="contato_id" value=id.to_string()/>
                    <input type="hidden" name="decisao" value="ignorada"/>
                    <button
                        type="submit"
                        class="btn btn-small"
                        aria-describedby=d3
                        disabled=move || decide.pending().get()
                    >
                        "Ignorar"
                    </button>
                </ActionForm>
            </div>
            }.into_any())}
            {move || open().then(|| view! { <ChooseCompany contato=id decide choosing chooser/> }.into_any())}
        </li>
    }
}

/// The state of the "Escolher outra empresa" box.
#[derive(Clone, Copy)]
struct Chooser {
    search: ServerAction<SearchReviewCompanies>,
    /// What is in the search field.
    typed: RwSignal<String>,
    /// The company picked among the results.
    picked: RwSignal<Option<Uuid>>,
}

/// The inline "Escolher outra empresa" box: a search by name or CNPJ, the companies found
/// as radio buttons, *Confirmar*.
#[component]
fn ChooseCompany(
    contato: Uuid,
    decide: ServerAction<DecideContact>,
    choosing: RwSignal<Option<Uuid>>,
    chooser: Chooser,
) -> impl IntoView {
    let Chooser {
        search,
        typed,
        picked,
    } = chooser;
    let input = NodeRef::<leptos::html::Input>::new();
    let search_id = format!("busca-empresa-{contato}");
    // The box opens with the cursor in its search field.
    Effect::new(move |_| {
        if let Some(el) = input.get() {
            let _ = el.focus();
        }
    });
    let on_search = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let busca = typed.get_untracked();
        picked.set(None);
        search.dispatch(SearchReviewCompanies { busca });
    };
    let results = move || match search.value().get() {
        None => view! {
            <p class="help">"Digite parte do nome ou do CNPJ da empresa e clique em Buscar."</p>
        }
        .into_any(),
        Some(Err(e)) => view! { <ErrorBox message=error_text(&e)/> }.into_any(),
        Some(Ok(list)) if list.is_empty() => view! {
            <p class="empty">"Nenhuma empresa encontrada."</p>
        }
        .into_any(),
        Some(Ok(list)) => view! {
            <fieldset class="company-choices">
                <legend>"Empresas encontradas"</legend>
                {list.into_iter().map(|c| view! { <CompanyOption c picked/> }).collect_view()}
            </fieldset>
        }
        .into_any(),
    };
    view! {
        <div class="review-choose">
            <form class="filters" role="search" on:submit=on_search>
                <div class="filter">
                    <label for=search_id.clone()>"Buscar empresa por nome ou CNPJ"</label>
                    <input
                        node_ref=input
                        id=search_id
                        type="search"
                        maxlength="100"
                        autocomplete="off"
                        prop:value=move || typed.get()
                        on:input=move |ev| typed.set(event_target_value(&ev))
                    />
                </div>
                <button type="submit" class="btn btn-small" disabled=move || search.pending().get()>"Buscar"</button>
            </form>
            <ActionForm action=decide>
                <input type="hidden" name="contato_id" value=contato.to_string()/>
                <input type="hidden" name="decisao" value="escolhida"/>
                {results}
                <div class="card-actions">
                    <button
                        type="submit"
                        class="btn btn-small btn-primary"
                        disabled=move || picked.get().is_none() || decide.pending().get()
                    >
                        "Confirmar"
                    </button>
                    <button type="button" class="btn btn-small btn-ghost" on:click=move |_| choosing.set(None)>
                        "Cancelar"
                    </button>
                </div>
            </ActionForm>
        </div>
    }
}

#[component]
fn CompanyOption(c: CompanyChoice, picked: RwSignal<Option<Uuid>>) -> impl IntoView {
    let id = c.id;
    view! {
        <label class="company-choice">
            <input
                type="radio"
                name="empresa_id"
                value=id.to_string()
                prop:checked=move || picked.get() == Some(id)
                on:change=move |_| picked.set(Some(id))
            />
            <span>{c.nome}</span>
            <span class="mono">{c.cnpj}</span>
            {c.baixada.then(|| view! { <span class="badge badge-muted">"Baixada"</span> })}
        </label>
    }
}
