//! The browser entry point: hydrate the page the server rendered.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Asynchronously: a page's code is loaded when it is first visited (`app::routes`), so
    // hydration waits for the current page's part of the wasm before it walks the page.
    wasm_bindgen_futures::spawn_local(async {
        let Some(body) = leptos::prelude::document().body() else {
            return;
        };
        leptos::mount::hydrate_from_async(body.clone(), app::App)
            .await
            .forget();
        // A mark for end-to-end tests and operators: the wasm client is alive on this page.
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
