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

/// One open EventSource and the callbacks it holds.
#[cfg(feature = "hydrate")]
struct Connection {
    source: web_sys::EventSource,
    _callbacks: Vec<wasm_bindgen::closure::Closure<dyn FnMut(web_sys::Event)>>,
}

#[cfg(feature = "hydrate")]
impl Drop for Connection {
    fn drop(&mut self) {
        self.source.close();
    }
}

/// Opens the stream while the tab is visible and closes it while it is hidden: a browser
/// talking HTTP/1.1 to the server gives each site six connections, and a stream per open
/// tab would otherwise use them up. A tab shown again reopens it and gets, first, where
/// every integration stands.
#[cfg(feature = "hydrate")]
fn open(
    on_run: impl Fn(IntegrationSummary) + 'static,
    on_resync: impl Fn() + 'static,
    set_connected: WriteSignal<bool>,
) {
    use std::cell::RefCell;
    use std::rc::Rc;

    use send_wrapper::SendWrapper;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let on_run: Rc<dyn Fn(IntegrationSummary)> = Rc::new(on_run);
    let on_resync: Rc<dyn Fn()> = Rc::new(on_resync);
    let connect = move || -> Option<Connection> {
        let source = web_sys::EventSource::new("/api/run-events").ok()?;
        let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| set_connected.set(true));
        // The browser reconnects by itself; until then the page polls.
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| set_connected.set(false));
        let on_message = {
            let on_run = on_run.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
                if let Some(summary) = e
                    .dyn_ref::<web_sys::MessageEvent>()
                    .and_then(|m| m.data().as_string())
                    .and_then(|text| serde_json::from_str::<IntegrationSummary>(&text).ok())
                {
                    on_run(summary);
                }
            })
        };
        let on_resync_event = {
            let on_resync = on_resync.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_| on_resync())
        };
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let _ = source.add_event_listener_with_callback("run", on_message.as_ref().unchecked_ref());
        let _ = source
            .add_event_listener_with_callback("resync", on_resync_event.as_ref().unchecked_ref());
        Some(Connection {
            source,
            _callbacks: vec![on_open, on_error, on_message, on_resync_event],
        })
    };
    let current = Rc::new(RefCell::new(if document.hidden() {
        None
    } else {
        connect()
    }));
    let on_visibility = {
        let current = current.clone();
        let document = document.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            if document.hidden() {
                current.borrow_mut().take();
                set_connected.set(false);
            } else if current.borrow().is_none() {
                *current.borrow_mut() = connect();
            }
        })
    };
    let _ = document.add_event_listener_with_callback(
        "visibilitychange",
        on_visibility.as_ref().unchecked_ref(),
    );
    let kept = SendWrapper::new((document, on_visibility, current));
    on_cleanup(move || {
        let (document, on_visibility, current) = &*kept;
        let _ = document.remove_event_listener_with_callback(
            "visibilitychange",
            on_visibility.as_ref().unchecked_ref(),
        );
        current.borrow_mut().take();
        drop(kept);
    });
}
