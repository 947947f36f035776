//! Pieces shared by the pages.

pub mod audit;
pub mod cancel;
pub mod connection_test;
pub mod get_form;
pub mod header;
pub mod icon;
pub mod notices;
pub mod paused;
pub mod require_user;
pub mod status;
pub mod toast;
pub mod toggle;

pub use audit::AuditTrail;
pub use cancel::CancelButton;
pub use connection_test::TestButton;
pub use get_form::GetForm;
pub use header::AppHeader;
pub use icon::{category_icon, LucideIcon};
pub use notices::NoticeBell;
pub use paused::PausedNotice;
pub use require_user::RequireUser;
pub use status::{Ago, ErrorBox, Metric, StatusBadge};
pub use toast::{push_toast, Toasts};
pub use toggle::ToggleButton;

use leptos::prelude::ServerFnError;

/// The message of a server function error as a person should read it (pt-BR): the server's
/// own message when it sent one, a generic one when the request itself failed.
pub fn error_text(e: &ServerFnError) -> String {
    match e {
        ServerFnError::ServerError(msg) => msg.clone(),
        _ => "Não foi possível falar com o servidor. Tente novamente.".to_owned(),
    }
}
