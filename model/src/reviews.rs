//! *Revisar contatos* (OneCode): the WhatsApp contacts whose company a person must confirm,
//! and the decision a person makes about one of them.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Contacts a page of the review queue lists at most.
pub const REVIEW_PAGE_SIZE: i64 = 50;
/// Companies the "Escolher outra empresa" search returns at most.
pub const COMPANY_SEARCH_LIMIT: i64 = 10;
/// The longest text the queue's filter and the company search accept, in characters.
pub const REVIEW_SEARCH_MAX: usize = 100;

/// A company as the review queue shows it (a suggestion, or a search result).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompanyChoice {
    pub id: Uuid,
    pub nome: String,
    /// As stored (formatted or digits only).
    pub cnpj: String,
    /// Closed (`data_baixa` set): still selectable, shown as such.
    pub baixada: bool,
}

/// One contact waiting for a person.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReviewItem {
    pub id: Uuid,
    pub nome: String,
    /// As OneCode sends it (digits, usually with the country code).
    pub numero: String,
    /// Name similarity to the suggestion, 0..1.
    pub score: Option<f32>,
    /// Why it is in review (`semelhanca`, `ambiguo`, …).
    pub motivo: String,
    /// The suggested company, when there is one (it may have been deleted since).
    pub sugestao: Option<CompanyChoice>,
}

/// A page of the queue, best suggestions first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReviewPage {
    /// Contacts waiting in all (with the filter), not only on this page.
    pub total: i64,
    pub rows: Vec<ReviewItem>,
    /// The cursor of the next page, when there is one.
    pub next_after: Option<String>,
}

/// The filter and cursor of a page of the queue, as the query string carries them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReviewQuery {
    /// Contact name, phone digits, or the suggested company's name or CNPJ.
    pub busca: Option<String>,
    /// Contacts after this one (a contact id from `next_after`).
    pub after: Option<String>,
}

/// What a person decided about a contact in review.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReviewDecision {
    /// The suggested company is the contact's.
    Accept,
    /// Another company of the tenant is.
    Choose(Uuid),
    /// The contact belongs to no company.
    Ignore,
}

impl ReviewDecision {
    /// As `onecode_contatos.decisao` stores it, and as forms send it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "aceita",
            Self::Choose(_) => "escolhida",
            Self::Ignore => "ignorada",
        }
    }

    /// From a form's `decisao` and `empresa_id`; the error is pt-BR.
    pub fn from_form(decisao: &str, empresa_id: Option<&str>) -> Result<Self, &'static str> {
        match decisao.trim() {
            "aceita" => Ok(Self::Accept),
            "ignorada" => Ok(Self::Ignore),
            "escolhida" => match empresa_id.map(str::trim).filter(|s| !s.is_empty()) {
                None => Err("Escolha uma empresa da lista."),
                Some(id) => Uuid::parse_str(id)
                    .map(Self::Choose)
                    .map_err(|_| "Empresa inválida."),
            },
            _ => Err("Decisão inválida."),
        }
    }
}

/// How a decision ended, for the toast.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReviewOutcome {
    pub contato: String,
    /// The linked company (accept/choose).
    pub empresa: Option<String>,
    /// `aceita`, `escolhida` or `ignorada`.
    pub decisao: String,
    /// The company's empty WhatsApp got the contact's number.
    pub whatsapp_preenchido: bool,
}

impl ReviewOutcome {
    /// What the toast says, in pt-BR.
    pub fn message(&self) -> String {
        match &self.empresa {
            Some(empresa) if self.whatsapp_preenchido => format!(
                "Contato “{}” vinculado a “{empresa}”; WhatsApp da empresa preenchido.",
                self.contato
            ),
            Some(empresa) => format!("Contato “{}” vinculado a “{empresa}”.", self.contato),
            None => format!("Contato “{}” ignorado.", self.contato),
        }
    }
}

/// A WhatsApp number as people read it: `5511987654321` → `+55 (11) 98765-4321`,
/// `1133334444` → `(11) 3333-4444`; anything else as it came.
pub fn phone_pt(raw: &str) -> String {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    let local = |d: &str| -> Option<String> {
        let (ddd, rest) = (d.get(..2)?, d.get(2..)?);
        let split = rest.len().checked_sub(4)?;
        Some(format!(
            "({ddd}) {}-{}",
            rest.get(..split)?,
            rest.get(split..)?
        ))
    };
    // `+` and another country's code: left as written.
    let international = raw.trim_start().starts_with('+');
    let formatted = match digits.len() {
        12 | 13 if digits.starts_with("55") => {
            digits.get(2..).and_then(local).map(|l| format!("+55 {l}"))
        }
        10 | 11 if !international => local(&digits),
        _ => None,
    };
    formatted.unwrap_or_else(|| raw.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_read_as_brazilians_write_them() {
        assert_eq!(phone_pt("5511987654321"), "+55 (11) 98765-4321");
        assert_eq!(phone_pt("551133334444"), "+55 (11) 3333-4444");
        assert_eq!(phone_pt("11987654321"), "(11) 98765-4321");
        assert_eq!(phone_pt("+1 415 555 0100"), "+1 415 555 0100");
        assert_eq!(phone_pt(""), "");
    }

    #[test]
    fn decisions_come_from_forms_and_go_back_to_their_text() {
        let id = Uuid::nil();
        assert_eq!(
            ReviewDecision::from_form("aceita", None),
            Ok(ReviewDecision::Accept)
        );
        assert_eq!(
            ReviewDecision::from_form("escolhida", Some(&id.to_string())),
            Ok(ReviewDecision::Choose(id))
        );
        assert!(ReviewDecision::from_form("escolhida", Some("")).is_err());
        assert!(ReviewDecision::from_form("escolhida", Some("x")).is_err());
        assert!(ReviewDecision::from_form("apagar", None).is_err());
        for d in [
            ReviewDecision::Accept,
            ReviewDecision::Choose(id),
            ReviewDecision::Ignore,
        ] {
            let again = ReviewDecision::from_form(d.as_str(), Some(&id.to_string()));
            assert_eq!(again, Ok(d));
        }
    }

    #[test]
    fn outcomes_say_what_happened() {
        let o = ReviewOutcome {
            contato: "Maria".into(),
            empresa: Some("Padaria Sol".into()),
            decisao: "aceita".into(),
            whatsapp_preenchido: false,
        };
        assert_eq!(o.message(), "Contato “Maria” vinculado a “Padaria Sol”.");
        let o = ReviewOutcome {
            empresa: None,
            decisao: "ignorada".into(),
            ..o
        };
        assert_eq!(o.message(), "Contato “Maria” ignorado.");
    }
}
