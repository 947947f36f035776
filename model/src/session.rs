//! Who is signed in, as the pages see it.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A tenant the user belongs to, with the user's role in it (`admin` or `staff`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TenantRef {
    pub id: Uuid,
    pub nome: String,
    pub slug: String,
    pub role: String,
}

impl TenantRef {
    pub fn is_admin(&self) -> bool {
        self.role == "admin"
    }
}

impl SessionUser {
    /// Whether the user may configure the current tenant's integrations (tenant admin or
    /// global admin).
    pub fn can_configure(&self) -> bool {
        self.is_global_admin
            || self
                .current_tenant
                .as_ref()
                .is_some_and(TenantRef::is_admin)
    }
}

/// The organizations a search found (the header's suggestions), with the text searched
/// for: the page shows an answer only while the field still holds that text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TenantMatches {
    pub query: String,
    pub tenants: Vec<TenantRef>,
}

/// The signed-in user and the tenant the portal currently shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionUser {
    pub id: Uuid,
    pub nome: String,
    pub email: String,
    pub is_global_admin: bool,
    /// The tenants the header lists: those the user belongs to and, for a global admin
    /// (who may act in every organization and finds the others by searching), the current
    /// one and the default one.
    pub tenants: Vec<TenantRef>,
    /// The tenant chosen in the header (remembered in a cookie); the first one otherwise.
    pub current_tenant: Option<TenantRef>,
}
