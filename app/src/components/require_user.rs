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
    view! {
        <Transition fallback=|| view! { <p class="loading" role="status">"Carregando…"</p> }>
            {move || {
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
            }}
        </Transition>
    }
}
