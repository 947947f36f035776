//! The three providers of the catalog whose connectors arrive with their own issues
//! (OneCode; Acessórias and BomControle have arrived). Until then each is registered so that the catalog
//! check holds, and a run of one ends at once with a clear, permanent error instead of
//! pretending to sync. The real connectors, each with its sandbox, replace these (DESIGN.md §5).

use futures::future::BoxFuture;

use super::{Outcome, Provider, ProviderError, RunContext};

pub struct PendingProvider {
    pub slug: &'static str,
    pub name: &'static str,
}

pub const PENDING: &[PendingProvider] = &[PendingProvider {
    slug: "onecode",
    name: "OneCode",
}];

pub struct Pending(pub &'static PendingProvider);

impl Pending {
    fn unavailable(&self) -> ProviderError {
        ProviderError::Permanent(format!(
            "O conector {} ainda não está disponível nesta versão do portal.",
            self.0.name
        ))
    }
}

impl Provider for Pending {
    fn slug(&self) -> &'static str {
        self.0.slug
    }
    fn name(&self) -> &'static str {
        self.0.name
    }
    fn run<'a>(&'a self, _ctx: RunContext) -> BoxFuture<'a, Result<Outcome, ProviderError>> {
        Box::pin(async move { Err(self.unavailable()) })
    }
    fn check<'a>(&'a self, _ctx: RunContext) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move { Err(self.unavailable()) })
    }
}
