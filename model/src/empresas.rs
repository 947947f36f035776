//! The tenant's companies as the portal lists them (`/empresas`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmpresaRow {
    pub id: Uuid,
    pub nome: String,
    pub cnpj: String,
    pub regime_tributario: Option<String>,
    /// The company's WhatsApp number (typed by a person, or linked from OneCode).
    pub whatsapp: Option<String>,
    /// When the company was closed (`data_baixa`), as stored.
    pub data_baixa: Option<String>,
    /// Where it came from (`acessorias`), `None` when a person typed it.
    pub external_source: Option<String>,
    /// Deliveries due this month that are not delivered yet.
    pub entregas_pendentes_mes: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EmpresasPage {
    pub total: i64,
    pub rows: Vec<EmpresaRow>,
}

/// How many companies a page lists at most.
pub const EMPRESAS_PAGE_SIZE: i64 = 200;
