//! The detail page's query string: filters (pt-BR names), the history's page cursor and
//! the open execution, as links write them.

use crate::components::get_form::query_href;
use model::HistoryQuery;

/// The page's query string: filters (pt-BR names), page cursor and open execution.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct PageQuery {
    pub(super) history: HistoryQuery,
    pub(super) execucao: Option<String>,
}

impl PageQuery {
    /// A link to this page with these parameters (empty ones left out).
    pub(super) fn href(&self, slug: &str) -> String {
        let h = &self.history;
        let pairs = [
            ("status", &h.status),
            ("origem", &h.trigger),
            ("de", &h.from),
            ("ate", &h.to),
            ("por_pagina", &h.page_size),
            ("antes", &h.before),
            ("execucao", &self.execucao),
        ];
        query_href(
            &format!("/integracoes/{slug}"),
            pairs
                .iter()
                .filter_map(|(k, v)| v.as_deref().map(|v| (*k, v))),
        )
    }
}
