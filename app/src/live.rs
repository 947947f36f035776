//! The browser's side of live run status: one `EventSource` on `/api/run-events` per page
//! (`server/src/live.rs`). The server pushes the summary of each integration whose run
//! changed (started, progressed, ended), read under the user's own row-level security;
//! the page puts it in place without asking for anything.
//!
//! Server rendering does nothing here. While the stream is not open (before it opens,
//! while the browser reconnects, or where EventSource fails) [`subscribe`]'s signal says
//! so and the pages fall back to polling.

use leptos::prelude::*;
use model::IntegrationSummary;

/// Opens the stream for the current page: `on_run` gets each summary pushed (when the
/// stream opens, and again after the browser reconnected, every integration as it stands;
/// then each change); `on_resync` is called when the server says this stream fell behind
/// and the page should read its data again. Returns whether the stream is open. Closed
/// when the page goes.
pub fn subscribe(
    on_run: impl Fn(IntegrationSummary) + 'static,
    on_resync: impl Fn() + 'static,
) -> ReadSignal<bool> {
    let (connected, set_connected) = signal(false);
    #[cfg(feature = "hydrate")]
    open(on_run, on_resync, set_connected);
    #[cfg(not(feature = "hydrate"))]
    let _ = (on_run, on_resync, set_connected);
    connected
}

#[cfg(feature = "hydrate")]
fn open(
    on_run: impl Fn(IntegrationSummary) + 'static,
    on_resync: impl Fn() + 'static,
    set_connected: WriteSignal<bool>,
) {
    use send_wrapper::SendWrapper;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    let Ok(source) = web_sys::EventSource::new("/api/run-events") else {
        return;
    };
    let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| set_connected.set(true));
    // The browser reconnects by itself; until then the page polls.
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| set_connected.set(false));
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            if let Some(summary) = e
                .data()
                .as_string()
                .and_then(|text| serde_json::from_str::<IntegrationSummary>(&text).ok())
            {
                on_run(summary);
            }
        });
    let on_resync_event = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| on_resync());
    source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    let _ = source.add_event_listener_with_callback("run", on_message.as_ref().unchecked_ref());
    let _ =
        source.add_event_listener_with_callback("resync", on_resync_event.as_ref().unchecked_ref());
    let kept = SendWrapper::new((source, on_open, on_error, on_message, on_resync_event));
    on_cleanup(move || {
        let (source, ..) = &*kept;
        source.close();
        drop(kept);
    });
}
