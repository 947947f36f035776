//! Lucide icons (the customer's icon set: `modules.icone` holds Lucide names such as
//! `Settings`), rendered inline as SVG by leptos_icons from icondata; no CDN, no font.
//! Only the icons named here end up in the bundle.

use leptos::prelude::*;
use leptos_icons::Icon;

/// The Lucide icon of a name the catalog uses, if we ship it.
pub fn lucide(name: &str) -> Option<icondata_core::Icon> {
    use icondata_lu as lu;
    Some(match name {
        "Settings" => lu::LuSettings,
        "Users" => lu::LuUsers,
        "FileText" => lu::LuFileText,
        "Wallet" => lu::LuWallet,
        "LayoutDashboard" => lu::LuLayoutDashboard,
        "MessageCircle" => lu::LuMessageCircle,
        "Plug" => lu::LuPlug,
        "Building2" => lu::LuBuilding2,
        "Landmark" => lu::LuLandmark,
        "ShieldCheck" => lu::LuShieldCheck,
        _ => return None,
    })
}

/// The icon of a provider category (the catalog has no icon column of its own).
pub fn category_icon(category: Option<&str>) -> &'static str {
    match category {
        Some("fiscal") => "FileText",
        Some("financeiro") => "Wallet",
        Some("messaging") => "MessageCircle",
        _ => "Plug",
    }
}

/// The icon named `name`, or `fallback` (initials) when we do not ship that icon.
#[component]
pub fn LucideIcon(
    name: String,
    fallback: String,
    #[prop(optional)] class: &'static str,
) -> impl IntoView {
    let class = if class.is_empty() { "icon" } else { class };
    match lucide(&name) {
        Some(icon) => view! {
            <span class=class aria-hidden="true" data-icon=name><Icon icon width="1.25em" height="1.25em"/></span>
        }
        .into_any(),
        None => view! { <span class=class aria-hidden="true">{fallback}</span> }.into_any(),
    }
}
