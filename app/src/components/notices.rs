//! The portal header's notices (tenant admins): integrations paused after consecutive
//! failures and their recoveries, newest first, with how many are new to this person.
//! Opening the list marks what it shows seen.

use leptos::prelude::*;

use crate::components::Ago;
use crate::use_alerts::{load_notices, MarkNoticesSeen};

/// The bell. `refresh` (optional) makes it read again when it changes: the dashboard bumps
/// it when a run ends, which is when a notice can appear.
#[component]
pub fn NoticeBell(#[prop(optional)] refresh: Option<RwSignal<u32>>) -> impl IntoView {
    let seen = ServerAction::<MarkNoticesSeen>::new();
    // Seen since the last read: the count goes, and the open list stays as it is (reading
    // the notices again would render a closed one in its place).
    let cleared = RwSignal::new(false);
    let notices = Resource::new(
        move || refresh.map(|r| r.get()),
        move |_| {
            cleared.set(false);
            load_notices()
        },
    );
    let on_toggle = move |ev: leptos::ev::Event| {
        let open = event_target::<leptos::web_sys::Element>(&ev).has_attribute("open");
        // The newest notice this list shows: one that came after it stays new.
        let shown = notices
            .get_untracked()
            .and_then(Result::ok)
            .filter(|n| n.unread > 0)
            .and_then(|n| n.items.first().map(|i| i.id));
        if let (true, Some(up_to), false) = (open, shown, cleared.get_untracked()) {
            seen.dispatch(MarkNoticesSeen { up_to });
            cleared.set(true);
        }
    };
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let Ok(n) = notices.await else { return ().into_any() };
                let count = move || if cleared.get() { 0 } else { n.unread };
                let label = move || match count() {
                    0 => "Avisos".to_owned(),
                    1 => "Avisos (1 novo)".to_owned(),
                    c if c >= 100 => "Avisos (99+ novos)".to_owned(),
                    c => format!("Avisos ({c} novos)"),
                };
                view! {
                    <details class="notices" data-testid="notices" on:toggle=on_toggle>
                        <summary class="btn btn-ghost btn-small" aria-label=label>
                            "Avisos"
                            {move || (count() > 0).then(|| view! {
                                <span class="notice-count" data-testid="notice-count">
                                    {if count() >= 100 { "99+".to_owned() } else { count().to_string() }}
                                </span>
                            })}
                        </summary>
                        <div class="notice-list">
                            {if n.items.is_empty() {
                                view! { <p class="muted">"Nenhum aviso."</p> }.into_any()
                            } else {
                                view! {
                                    <ul aria-label="Avisos das integrações">
                                        {n.items.into_iter().map(|item| {
                                            let href = format!("/integracoes/{}", item.provider_slug);
                                            let message = item.message();
                                            view! {
                                                <li class="notice" class:unread=item.unread data-kind=item.kind.as_str()>
                                                    <a href=href>{message}</a>
                                                    <small class="muted"><Ago seconds=Some(item.seconds_ago) exact=Some(item.created_at)/></small>
                                                </li>
                                            }
                                        }).collect_view()}
                                    </ul>
                                }
                                .into_any()
                            }}
                        </div>
                    </details>
                }
                .into_any()
            })}
        </Transition>
    }
}
