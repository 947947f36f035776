//! Pages that need a signed-in user: anonymous visitors go to the login page and come back
//! where they were going.

use std::sync::Arc;

use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_location;
use model::SessionUser;

use super::{error_text, ErrorBox};
use crate::session::use_session;

#[component]
pub fn RequireUser<F, IV>(children: F) -> impl IntoView
where
    F: Fn(SessionUser) -> IV + Send + Sync + 'static,
    IV: IntoView + 'static,
{
    let session = use_session();
    let location = use_location();
    let children = Arc::new(children);
    let gate = move || {
        let children = children.clone();
        Suspend::new(async move {
            match session.user.await {
                Ok(Some(user)) => children(user).into_any(),
                Ok(None) => {
                    let next = location.pathname.get_untracked();
                    view! { <Redirect path=format!("/login?next={next}")/> }.into_any()
                }
                Err(e) => view! { <ErrorBox message=error_text(&e)/> }.into_any(),
            }
        })
    };
    // In the browser the gate is a closure: the page is built again when the session
    // changes (a tenant switched in the header). On the server a page renders once, so it
    // is built once: the server's rendering calls a closure child up to three times (its
    // Suspense walks the tree before and after its resources load, then renders), and
    // each call built the page again, with every panel's resource: each server function
    // ran twice or three times, and the HTML carried each answer twice. `{gate()}` is
    // still called inside the Transition (its children are), under its owner.
    #[cfg(feature = "ssr")]
    let view = view! { <Transition fallback=loading>{gate()}</Transition> };
    #[cfg(not(feature = "ssr"))]
    let view = view! { <Transition fallback=loading>{gate}</Transition> };
    view
}

fn loading() -> impl IntoView {
    view! { <p class="loading" role="status">"Carregando…"</p> }
}
