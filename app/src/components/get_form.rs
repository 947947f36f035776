//! A GET form (the filters of a page): without JavaScript the browser submits it as any
//! form; hydrated, it moves within the app to `action?…` with only the fields that have a
//! value, in the form's order, and keeps the scroll where the form is. Leptos's own `Form`
//! wrote every empty field and a nameless `=` for its submit button (`…&de=&ate=&=`).

use leptos::prelude::*;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// What a query-string value keeps as is: letters, digits and `-_.` (cursors, dates, ids).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

/// A query-string name or value, percent-encoded.
pub fn query_value(v: &str) -> String {
    utf8_percent_encode(v, QUERY_VALUE).to_string()
}

/// `path?name=value&…` of the pairs that have a value (both non-empty).
pub fn query_href<'a>(path: &str, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let qs: Vec<String> = pairs
        .into_iter()
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .map(|(k, v)| format!("{}={}", query_value(k), query_value(v)))
        .collect();
    if qs.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", qs.join("&"))
    }
}

#[component]
pub fn GetForm(
    /// The page the form leads to (its own path, usually).
    #[prop(into)]
    action: Signal<String>,
    #[prop(optional)] class: &'static str,
    /// `search` for a form that searches a list.
    #[prop(optional)]
    role: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    let navigate = leptos_router::hooks::use_navigate();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        #[cfg(feature = "hydrate")]
        if let Some(pairs) = submitted_pairs(&ev) {
            ev.prevent_default();
            let href = query_href(
                &action.get_untracked(),
                pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            );
            navigate(
                &href,
                leptos_router::NavigateOptions {
                    scroll: false,
                    ..Default::default()
                },
            );
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    view! {
        <form method="get" action=move || action.get() class=class role=role on:submit=on_submit>
            {children()}
        </form>
    }
}

/// The form's named fields and their values, as the browser would send them; `None` if
/// the event or the form cannot be read (the browser then submits it itself).
#[cfg(feature = "hydrate")]
fn submitted_pairs(ev: &leptos::ev::SubmitEvent) -> Option<Vec<(String, String)>> {
    use wasm_bindgen::JsCast;
    let form = ev.target()?.dyn_into::<web_sys::HtmlFormElement>().ok()?;
    let data = web_sys::FormData::new_with_form(&form).ok()?;
    let entries = js_sys::try_iter(&data).ok()??;
    let mut pairs = Vec::new();
    for entry in entries {
        let entry: js_sys::Array = entry.ok()?.dyn_into().ok()?;
        // A file input's value is not a string: such a form is the browser's to send.
        pairs.push((entry.get(0).as_string()?, entry.get(1).as_string()?));
    }
    Some(pairs)
}
