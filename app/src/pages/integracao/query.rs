//! The detail page's query string: filters (pt-BR names), the history's page cursor and
//! the open execution, as links write them.

use model::HistoryQuery;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

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
        let qs: Vec<String> = pairs
            .iter()
            .filter_map(|(k, v)| {
                v.as_deref()
                    .filter(|v| !v.is_empty())
                    .map(|v| format!("{k}={}", encode(v)))
            })
            .collect();
        if qs.is_empty() {
            format!("/integracoes/{slug}")
        } else {
            format!("/integracoes/{slug}?{}", qs.join("&"))
        }
    }
}

/// What a query-string value keeps as is: letters, digits and `-_.` (cursors, dates, ids).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

pub(super) fn encode(v: &str) -> String {
    utf8_percent_encode(v, QUERY_VALUE).to_string()
}
