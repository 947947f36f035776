//! The signed-in user: server functions to sign in, sign out and switch tenant, and the
//! session resource every page reads.

use leptos::prelude::*;
use model::SessionUser;

/// What pages share about the session: the resource, and the actions that change it (so
/// the resource refetches when any of them completes).
#[derive(Clone, Copy)]
pub struct SessionCtx {
    pub user: Resource<Result<Option<SessionUser>, ServerFnError>>,
    pub login: ServerAction<Login>,
    pub logout: ServerAction<Logout>,
    pub switch_tenant: ServerAction<SwitchTenant>,
}

pub fn provide_session() {
    let login = ServerAction::<Login>::new();
    let logout = ServerAction::<Logout>::new();
    let switch_tenant = ServerAction::<SwitchTenant>::new();
    let user = Resource::new(
        move || {
            (
                login.version().get(),
                logout.version().get(),
                switch_tenant.version().get(),
            )
        },
        |_| get_session(),
    );
    provide_context(SessionCtx {
        user,
        login,
        logout,
        switch_tenant,
    });
}

pub fn use_session() -> SessionCtx {
    expect_context::<SessionCtx>()
}

/// The signed-in user, or `None` for an anonymous visitor (or an expired session).
#[server(endpoint = "get-session")]
pub async fn get_session() -> Result<Option<SessionUser>, ServerFnError> {
    use crate::ssr;
    let state = ssr::state()?;
    // Read from the request before any database await (see `ssr::session_scope`).
    let headers = ssr::headers().await?;
    let preferred = ssr::preferred_tenant().await?;
    // The session's check, the profile and the tenants: read once per request, shared
    // with the page's panels (`ssr::request_session`), usually by the page's gate already.
    match ssr::request_session()
        .check(&state.pool, &state.jwt, &headers, preferred.as_deref())
        .await
    {
        Ok(user) => Ok(Some(user)),
        Err(backend::Error::Unauthenticated(_)) => Ok(None),
        Err(e) => Err(ssr::fail(e)),
    }
}

/// Signs in and goes to `next` (a path of this site only).
#[server(endpoint = "login")]
pub async fn login(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), ServerFnError> {
    use crate::ssr;
    let state = ssr::state()?;
    let address = ssr::client_address().await;
    let headers = ssr::headers().await?;
    state
        .login_limiter
        .check_address(&address)
        .map_err(ssr::fail)?;
    // Keyed by the account the database matches, and not held back on a browser the
    // account signed in from before.
    let account = backend::auth::attempt_key(&state.pool, &email)
        .await
        .map_err(ssr::fail)?;
    let known_device = backend::cookies::read(&headers, backend::cookies::DEVICE)
        .and_then(|t| state.jwt.device_user(&t))
        .is_some_and(|user| account == format!("user:{user}"));
    state
        .login_limiter
        .check_account(&account, &address, known_device)
        .map_err(ssr::fail)?;
    let user_id = match backend::auth::authenticate(&state.pool, &email, &password).await {
        Ok(id) => {
            // A known browser's success does not forgive strangers' failures from here.
            if !known_device {
                state.login_limiter.succeeded(&account, &address);
            }
            id
        }
        Err(e) => {
            if matches!(e, backend::Error::Unauthenticated(_)) {
                state.login_limiter.failed(&account, &address);
            }
            return Err(ssr::fail(e));
        }
    };
    let user_agent = headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let token =
        backend::auth::start_session(&state.pool, &state.jwt, user_id, email.trim(), user_agent)
            .await
            .map_err(ssr::fail)?;
    ssr::set_cookie(&backend::cookies::session(&token, ssr::secure_cookies()));
    ssr::set_cookie(&backend::cookies::device(
        &state.jwt.device_token(user_id),
        ssr::secure_cookies(),
    ));
    leptos_axum::redirect(&safe_next(next.as_deref()));
    Ok(())
}

/// Ends the session: the token stops working at once, not when it expires.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), ServerFnError> {
    use crate::ssr;
    let state = ssr::state()?;
    let headers = ssr::headers().await?;
    if let Ok(claims) = backend::auth::token_claims(&state.jwt, &headers) {
        backend::auth::end_session(&state.pool, &claims)
            .await
            .map_err(ssr::fail)?;
    }
    ssr::set_cookie(&backend::cookies::clear_session(ssr::secure_cookies()));
    leptos_axum::redirect("/login");
    Ok(())
}

/// "Sair de todos os dispositivos": ends every session of the caller, on every browser
/// and API client.
#[server(endpoint = "logout-all")]
pub async fn logout_all() -> Result<(), ServerFnError> {
    use crate::ssr;
    let (state, claims) = ssr::caller().await?;
    backend::auth::end_all_sessions(&state.pool, claims.sub)
        .await
        .map_err(ssr::fail)?;
    ssr::set_cookie(&backend::cookies::clear_session(ssr::secure_cookies()));
    leptos_axum::redirect("/login");
    Ok(())
}

/// Remembers the tenant chosen in the header (only one the user may act in): by its slug
/// (the list's options, the search's suggestions) or its whole name, as typed.
#[server(endpoint = "switch-tenant")]
pub async fn switch_tenant(slug: String, back_to: Option<String>) -> Result<(), ServerFnError> {
    use crate::ssr;
    let (state, claims) = ssr::caller().await?;
    let mut tx = ssr::begin(&state, &claims).await?;
    let found = backend::tenants::resolve(&mut tx, &slug)
        .await
        .map_err(ssr::fail)?;
    ssr::end_read(tx);
    let Some(tenant) = found else {
        return Err(ssr::fail(backend::Error::Forbidden(
            "Organização não encontrada entre as suas: escolha uma das sugestões.".into(),
        )));
    };
    ssr::set_cookie(&backend::cookies::tenant(
        &tenant.slug,
        ssr::secure_cookies(),
    ));
    leptos_axum::redirect(&safe_next(back_to.as_deref()));
    Ok(())
}

/// The organizations whose name or slug contains `query`, among those the caller may act
/// in: the header's suggestions for a platform administrator.
#[server(endpoint = "search-tenants")]
pub async fn search_tenants(query: String) -> Result<model::TenantMatches, ServerFnError> {
    use crate::ssr;
    let (state, claims) = ssr::caller().await?;
    let mut tx = ssr::begin(&state, &claims).await?;
    let tenants = backend::tenants::search(&mut tx, &query)
        .await
        .map_err(ssr::fail)?;
    ssr::end_read(tx);
    Ok(model::TenantMatches { query, tenants })
}

/// A redirect target that stays on this site: a path, never `//host` or a full URL.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        // A path of this site: one leading slash, then no second one (`//host`), no
        // backslash (`/\host`), and no control character or space anywhere — browsers drop
        // tabs and newlines from URLs (`/\t/evil.example` becomes `//evil.example`), and a
        // CR/LF cannot go into a `Location` header.
        Some(p)
            if p.starts_with('/')
                && !p[1..].starts_with('/')
                && !p.contains('\\')
                && !p.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            p.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_never_leaves_the_site() {
        assert_eq!(safe_next(Some("/integracoes")), "/integracoes");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil")), "/");
        assert_eq!(safe_next(Some("/\t/evil.example")), "/");
        assert_eq!(safe_next(Some("/\n/evil.example")), "/");
        assert_eq!(safe_next(Some("/x\r\nSet-Cookie: a=b")), "/");
        assert_eq!(safe_next(Some("/ /evil.example")), "/");
        assert_eq!(
            safe_next(Some("/integracoes/acessorias?status=error")),
            "/integracoes/acessorias?status=error"
        );
        assert_eq!(safe_next(None), "/");
    }
}
