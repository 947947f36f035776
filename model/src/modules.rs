//! The portal's module grid (seed: `Portal.tsx` and its `MODULE_ROUTES`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The seed's `MODULE_ROUTES`: which page a module card of the portal home opens.
/// A module without a route is shown but not clickable ("em breve").
/// The client modules (`clientes-<tenant>`) open the tenant's companies.
pub const MODULE_ROUTES: &[(&str, &str)] = &[
    ("integracoes", "/integracoes"),
    ("clientes-contmax", "/empresas"),
    ("clientes-pg", "/empresas"),
];

/// The route of a module's page, if the portal has one.
pub fn module_route(slug: &str) -> Option<&'static str> {
    MODULE_ROUTES
        .iter()
        .find(|(s, _)| *s == slug)
        .map(|(_, route)| *route)
}

/// One card of the portal home, read from the `modules` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModuleCard {
    pub id: Uuid,
    pub nome: String,
    pub slug: String,
    pub descricao: Option<String>,
    pub icone: String,
}

impl ModuleCard {
    pub fn href(&self) -> Option<&'static str> {
        module_route(&self.slug)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integracoes_leads_to_its_page_and_unknown_modules_to_none() {
        assert_eq!(module_route("integracoes"), Some("/integracoes"));
        assert_eq!(module_route("clientes-pg"), Some("/empresas"));
        assert_eq!(module_route("financeiro"), None);
    }
}
