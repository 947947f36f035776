//! One module per page, with the server functions that page calls beside it.

pub mod auditoria;
pub mod empresas;
pub mod integracao;
pub mod integracoes;
pub mod login;
pub mod not_found;
pub mod portal;
