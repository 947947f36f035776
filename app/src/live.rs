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

/// What a page's stream needs, shared by its callbacks.
#[cfg(feature = "hydrate")]
struct Live {
    document: web_sys::Document,
    on_run: Box<dyn Fn(IntegrationSummary)>,
    on_resync: Box<dyn Fn()>,
    set_connected: WriteSignal<bool>,
    current: std::cell::RefCell<Option<Connection>>,
    /// Refusals in a row (reset when a stream opens): the wait before the next try.
    refusals: std::cell::Cell<u32>,
    /// A reopen is already waiting.
    reopening: std::cell::Cell<bool>,
}

/// Refusals in a row after which a page stops reopening its stream (about five minutes of
/// tries): a signed-out browser is answered 204 (which an EventSource cannot tell from a
/// 429 or a proxy's 502) and must not knock forever. Shown again, a tab tries anew.
#[cfg(any(feature = "hydrate", test))]
const MAX_REOPENS: u32 = 8;

/// The wait before reopening a stream the server refused `n` times in a row: 5 s, 10 s,
/// 20 s, 40 s, then every minute, each stretched by `jitter` (0..1, up to 30% longer) so
/// that the pages a restart cut off do not all come back in the same instant. `None` once
/// [`MAX_REOPENS`] tries were refused.
#[cfg(any(feature = "hydrate", test))]
fn reopen_after(n: u32, jitter: f64) -> Option<std::time::Duration> {
    if n > MAX_REOPENS {
        return None;
    }
    let base = (5u64 << n.saturating_sub(1).min(4)).min(60);
    Some(std::time::Duration::from_secs(base).mul_f64(1.0 + 0.3 * jitter.clamp(0.0, 1.0)))
}

/// Opens a stream and keeps it in `live.current` (the one before it is closed).
///
/// The browser reconnects by itself after a network break, but not after an answer other
/// than 200 (a 429 when too many are open, a 502 from a proxy while the server restarts, a
/// 204 once signed out): the source is then closed for good. Such a page polls, and tries
/// again after [`reopen_after`], at most [`MAX_REOPENS`] times in a row.
#[cfg(feature = "hydrate")]
fn connect(live: &std::rc::Rc<Live>) {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    live.current.borrow_mut().take();
    let Ok(source) = web_sys::EventSource::new("/api/run-events") else {
        return;
    };
    let weak = std::rc::Rc::downgrade(live);
    let on_open = {
        let weak = weak.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            if let Some(live) = weak.upgrade() {
                live.refusals.set(0);
                live.set_connected.set(true);
            }
        })
    };
    let on_error = {
        let weak = weak.clone();
        let source = source.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            let Some(live) = weak.upgrade() else { return };
            // Until the stream is back the page polls.
            live.set_connected.set(false);
            if source.ready_state() != web_sys::EventSource::CLOSED || live.reopening.get() {
                return;
            }
            let n = live.refusals.get().saturating_add(1);
            live.refusals.set(n);
            let Some(wait) = reopen_after(n, js_sys::Math::random()) else {
                return;
            };
            live.reopening.set(true);
            let weak = weak.clone();
            // Not from here: this callback belongs to the connection being replaced.
            set_timeout(
                move || {
                    let Some(live) = weak.upgrade() else { return };
                    live.reopening.set(false);
                    // The tab may have been hidden and shown meanwhile, and opened a
                    // stream of its own: that one stays.
                    let closed = live
                        .current
                        .borrow()
                        .as_ref()
                        .is_none_or(|c| c.source.ready_state() == web_sys::EventSource::CLOSED);
                    if !closed {
                        return;
                    }
                    if live.document.hidden() {
                        // Shown again, the tab opens a new one.
                        live.current.borrow_mut().take();
                    } else {
                        connect(&live);
                    }
                },
                wait,
            );
        })
    };
    let on_message = {
        let weak = weak.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            let summary = e
                .dyn_ref::<web_sys::MessageEvent>()
                .and_then(|m| m.data().as_string())
                .and_then(|text| serde_json::from_str::<IntegrationSummary>(&text).ok());
            if let (Some(summary), Some(live)) = (summary, weak.upgrade()) {
                (live.on_run)(summary);
            }
        })
    };
    let on_resync = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        if let Some(live) = weak.upgrade() {
            (live.on_resync)();
        }
    });
    source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    let _ = source.add_event_listener_with_callback("run", on_message.as_ref().unchecked_ref());
    let _ = source.add_event_listener_with_callback("resync", on_resync.as_ref().unchecked_ref());
    *live.current.borrow_mut() = Some(Connection {
        source,
        _callbacks: vec![on_open, on_error, on_message, on_resync],
    });
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
    use std::rc::Rc;

    use send_wrapper::SendWrapper;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let live = Rc::new(Live {
        document: document.clone(),
        on_run: Box::new(on_run),
        on_resync: Box::new(on_resync),
        set_connected,
        current: Default::default(),
        refusals: Default::default(),
        reopening: Default::default(),
    });
    if !document.hidden() {
        connect(&live);
    }
    let on_visibility = {
        let live = Rc::downgrade(&live);
        Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            let Some(live) = live.upgrade() else { return };
            if live.document.hidden() {
                live.current.borrow_mut().take();
                live.set_connected.set(false);
            } else if live.current.borrow().is_none() {
                // A new try, whatever was refused before.
                live.refusals.set(0);
                connect(&live);
            }
        })
    };
    let _ = document.add_event_listener_with_callback(
        "visibilitychange",
        on_visibility.as_ref().unchecked_ref(),
    );
    let kept = SendWrapper::new((document, on_visibility, live));
    on_cleanup(move || {
        let (document, on_visibility, live) = &*kept;
        let _ = document.remove_event_listener_with_callback(
            "visibilitychange",
            on_visibility.as_ref().unchecked_ref(),
        );
        live.current.borrow_mut().take();
        drop(kept);
    });
}

#[cfg(test)]
mod tests {
    use super::{reopen_after, MAX_REOPENS};

    #[test]
    fn a_refused_stream_is_tried_again_less_and_less_often_then_no_more() {
        let secs: Vec<Option<u64>> = (1..=9)
            .map(|n| reopen_after(n, 0.0).map(|d| d.as_secs()))
            .collect();
        let tries = [5, 10, 20, 40, 60, 60, 60, 60].map(Some);
        assert_eq!(secs[..8], tries);
        assert_eq!(secs[MAX_REOPENS as usize], None);
        // Jitter stretches a wait by at most 30%.
        assert_eq!(reopen_after(1, 1.0).map(|d| d.as_millis()), Some(6_500));
        assert_eq!(reopen_after(1, 7.0), reopen_after(1, 1.0));
    }
}
