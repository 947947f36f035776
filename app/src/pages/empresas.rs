//! `/empresas`: the tenant's client companies (those the Acessórias sync brought and those
//! typed by hand), with their CNPJ, WhatsApp (typed, or linked from OneCode), situation and
//! deliveries pending this month.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use model::{phone_pt, EmpresasPage, SessionUser};

use crate::components::{AppHeader, ErrorBox, RequireUser};

/// The current tenant's companies, filtered by name or CNPJ.
#[server(endpoint = "list-empresas")]
pub async fn list_empresas(busca: Option<String>) -> Result<EmpresasPage, ServerFnError> {
    use crate::ssr;
    let (state, claims, user) = ssr::caller_session().await?;
    let Some(tenant) = user.current_tenant else {
        return Ok(EmpresasPage::default());
    };
    if busca.as_deref().is_some_and(|b| b.chars().count() > 100) {
        return Err(ssr::fail(backend::Error::Invalid(
            "A busca aceita no máximo 100 caracteres.".into(),
        )));
    }
    if busca
        .as_deref()
        .is_some_and(|b| b.chars().any(char::is_control))
    {
        return Err(ssr::fail(backend::Error::Invalid(
            "A busca contém caracteres inválidos.".into(),
        )));
    }
    let mut tx = ssr::begin(&state, &claims).await?;
    let page = backend::portal::empresas(&mut tx, tenant.id, busca.as_deref())
        .await
        .map_err(|e| ssr::fail(e.into()))?;
    ssr::end_read(tx);
    Ok(page)
}

#[component]
pub fn EmpresasPage() -> impl IntoView {
    view! {
        <Title text="Empresas · Portal Contmax"/>
        <RequireUser let:user>
            <Empresas user/>
        </RequireUser>
    }
}

#[component]
fn Empresas(user: SessionUser) -> impl IntoView {
    let query = use_query_map();
    let busca = Signal::derive(move || query.read().get("busca").filter(|b| !b.trim().is_empty()));
    let page = Resource::new(move || busca.get(), list_empresas);
    view! {
        <AppHeader user/>
        <main class="page">
            <nav class="breadcrumb" aria-label="Navegação">
                <a href="/">"Início"</a>
                <span aria-hidden="true">" / "</span>
                <span>"Empresas"</span>
            </nav>
            <h1>"Empresas"</h1>
            <form method="get" action="/empresas" class="filters" role="search">
                <label>
                    "Buscar por nome ou CNPJ"
                    <input type="search" name="busca" maxlength="100" prop:value=move || busca.get().unwrap_or_default()/>
                </label>
                <button type="submit" class="btn">"Buscar"</button>
            </form>
            <Suspense fallback=|| view! { <p class="muted">"Carregando empresas…"</p> }>
                {move || page.get().map(|r| match r {
                    Err(e) => view! { <ErrorBox message=crate::components::error_text(&e)/> }.into_any(),
                    Ok(p) if p.rows.is_empty() => view! {
                        <p class="empty">"Nenhuma empresa encontrada. Execute a integração Acessórias para trazer as empresas do escritório."</p>
                    }.into_any(),
                    Ok(p) => view! { <EmpresasTable page=p/> }.into_any(),
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn EmpresasTable(page: EmpresasPage) -> impl IntoView {
    let shown = page.rows.len();
    let total = page.total;
    view! {
        <p class="muted total">{format!("{total} empresas")}{(i64::try_from(shown).unwrap_or(0) < total).then(|| format!(" (mostrando {shown})"))}</p>
        <div class="table-wrap">
            <table class="empresas-table">
                <thead>
                    <tr>
                        <th scope="col">"Empresa"</th>
                        <th scope="col">"CNPJ/CPF"</th>
                        <th scope="col">"WhatsApp"</th>
                        <th scope="col">"Regime"</th>
                        <th scope="col">"Situação"</th>
                        <th scope="col">"Origem"</th>
                        <th scope="col" class="num">"Entregas pendentes no mês"</th>
                    </tr>
                </thead>
                <tbody>
                    {page.rows.into_iter().map(|e| {
                        let situacao = match &e.data_baixa {
                            Some(d) => format!("Baixada em {}", date_pt(d)),
                            None => "Ativa".to_owned(),
                        };
                        let origem = match e.external_source.as_deref() {
                            Some("acessorias") => "Acessórias",
                            Some(other) => other,
                            None => "Cadastro manual",
                        }.to_owned();
                        view! {
                            <tr data-baixada=e.data_baixa.is_some().to_string()>
                                <td>{e.nome}</td>
                                <td class="mono">{e.cnpj}</td>
                                <td class="whatsapp">{e.whatsapp.as_deref().map_or_else(|| "—".to_owned(), phone_pt)}</td>
                                <td>{e.regime_tributario.unwrap_or_else(|| "—".into())}</td>
                                <td>{situacao}</td>
                                <td>{origem}</td>
                                <td class="num">{e.entregas_pendentes_mes}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// `2026-11-29` as `29/11/2026`; anything else as it is.
fn date_pt(d: &str) -> String {
    let parts: Vec<&str> = d.get(..10).unwrap_or(d).split('-').collect();
    match parts.as_slice() {
        [y, m, dd] if y.len() == 4 && m.len() == 2 && dd.len() == 2 => format!("{dd}/{m}/{y}"),
        _ => d.to_owned(),
    }
}
