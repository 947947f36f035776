//! Which of the tenant's companies a WhatsApp contact belongs to. Pure: the sync and the
//! webhook give it the contact and the companies, and store what it decides.
//!
//! Certain evidence first, in this order: groups and blocked contacts are ignored; a
//! contact already linked stays linked; a phone equal to a company's `whatsapp`; a valid
//! CNPJ/CPF in the contact's name or `extraInfo`. Each names exactly one company, or the
//! contact goes to review (`ambiguo`): nothing is guessed. Only then the name, normalised
//! (accents, case, punctuation, legal suffixes such as LTDA/ME/EIRELI, connecting words)
//! and compared word by word ([`similarity`], Jaro-Winkler from `strsim`) with every company that shares a word's first
//! three letters with it: at or above `link` → matched, unless a second company is as
//! close (review); from `review` up → review with the best as suggestion; below → ignored.

use std::collections::{HashMap, HashSet};

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

use crate::providers::common::documents;

/// The two similarity thresholds (0..=1), from the integration's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub link: f64,
    pub review: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            link: 0.93,
            review: 0.80,
        }
    }
}

impl Thresholds {
    /// From `config` (`limiar_vinculo`, `limiar_revisao`), each in 0.5..=1, the review
    /// threshold never above the link one.
    pub fn from_config(config: &serde_json::Value) -> Self {
        let d = Self::default();
        let read = |key: &str, default: f64| {
            config
                .get(key)
                .and_then(|v| v.as_f64().or_else(|| v.as_str()?.trim().parse().ok()))
                .filter(|v| v.is_finite())
                .map_or(default, |v| v.clamp(0.5, 1.0))
        };
        let link = read("limiar_vinculo", d.link);
        let review = read("limiar_revisao", d.review).min(link);
        Self { link, review }
    }
}

/// A company of the tenant, prepared once per run.
#[derive(Debug, Clone)]
pub struct Company {
    pub id: Uuid,
    pub nome: String,
    /// Its document's digits (typed `cnpj` or synced `external_key`).
    pub documents: Vec<String>,
    /// [`phone_key`] of its `whatsapp`.
    pub phone: Option<String>,
    /// `whatsapp` was empty: a match may fill it.
    pub whatsapp_empty: bool,
    norm: String,
}

impl Company {
    pub fn new(id: Uuid, nome: &str, documents: Vec<String>, whatsapp: &str) -> Self {
        let norm = normalise(nome);
        Self {
            id,
            nome: nome.to_owned(),
            documents,
            phone: phone_key(whatsapp),
            whatsapp_empty: whatsapp.trim().is_empty(),
            norm,
        }
    }
}

/// The tenant's companies with their indexes (by phone, by document, by word prefix).
#[derive(Debug, Default)]
pub struct Companies {
    list: Vec<Company>,
    by_id: HashMap<Uuid, usize>,
    by_phone: HashMap<String, Vec<usize>>,
    by_document: HashMap<String, Vec<usize>>,
    by_prefix: HashMap<String, Vec<usize>>,
}

impl Companies {
    pub fn new(list: Vec<Company>) -> Self {
        let mut c = Companies {
            list,
            ..Self::default()
        };
        for (i, co) in c.list.iter().enumerate() {
            c.by_id.insert(co.id, i);
            if let Some(p) = &co.phone {
                c.by_phone.entry(p.clone()).or_default().push(i);
            }
            for d in &co.documents {
                let list = c.by_document.entry(d.clone()).or_default();
                if !list.contains(&i) {
                    list.push(i);
                }
            }
            for p in prefixes(&co.norm) {
                c.by_prefix.entry(p).or_default().push(i);
            }
        }
        c
    }

    pub fn get(&self, id: Uuid) -> Option<&Company> {
        self.by_id.get(&id).map(|&i| &self.list[i])
    }

    /// A match filled this company's empty `whatsapp`: later contacts see it taken.
    pub fn whatsapp_filled(&mut self, id: Uuid, number: &str) {
        if let Some(&i) = self.by_id.get(&id) {
            let co = &mut self.list[i];
            co.whatsapp_empty = false;
            if co.phone.is_none() {
                co.phone = phone_key(number);
                if let Some(p) = co.phone.clone() {
                    self.by_phone.entry(p).or_default().push(i);
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// A OneCode contact, as the matcher needs it.
#[derive(Debug, Clone, Default)]
pub struct Contact {
    pub name: String,
    pub number: String,
    pub is_group: bool,
    pub blocked: bool,
    /// `extraInfo` values (a CNPJ among them, sometimes).
    pub extra: Vec<String>,
}

/// Why a contact ended where it did (`onecode_contatos.motivo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Motivo {
    Vinculo,
    Telefone,
    Cnpj,
    Nome,
    Grupo,
    Bloqueado,
    Ambiguo,
    Semelhanca,
    SemCorrespondencia,
}

impl Motivo {
    pub fn as_str(self) -> &'static str {
        match self {
            Motivo::Vinculo => "vinculo",
            Motivo::Telefone => "telefone",
            Motivo::Cnpj => "cnpj",
            Motivo::Nome => "nome",
            Motivo::Grupo => "grupo",
            Motivo::Bloqueado => "bloqueado",
            Motivo::Ambiguo => "ambiguo",
            Motivo::Semelhanca => "semelhanca",
            Motivo::SemCorrespondencia => "sem_correspondencia",
        }
    }
}

/// What the matcher decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Matched {
        company: Uuid,
        motivo: Motivo,
        score: Option<f64>,
    },
    Review {
        suggestion: Option<Uuid>,
        motivo: Motivo,
        score: Option<f64>,
    },
    Ignored {
        motivo: Motivo,
        score: Option<f64>,
    },
}

impl Verdict {
    pub fn status(&self) -> &'static str {
        match self {
            Verdict::Matched { .. } => "matched",
            Verdict::Review { .. } => "review",
            Verdict::Ignored { .. } => "ignored",
        }
    }
}

/// Two companies within this much of each other at the top are a tie: a person decides.
const TIE: f64 = 0.02;

/// Decides `contact` among `companies`; `linked` is the company it is already linked to.
pub fn decide(
    contact: &Contact,
    companies: &Companies,
    t: Thresholds,
    linked: Option<Uuid>,
) -> Verdict {
    if contact.is_group {
        return Verdict::Ignored {
            motivo: Motivo::Grupo,
            score: None,
        };
    }
    if contact.blocked {
        return Verdict::Ignored {
            motivo: Motivo::Bloqueado,
            score: None,
        };
    }
    if let Some(id) = linked.filter(|id| companies.get(*id).is_some()) {
        return Verdict::Matched {
            company: id,
            motivo: Motivo::Vinculo,
            score: None,
        };
    }
    let by_phone: &[usize] = phone_key(&contact.number)
        .and_then(|p| companies.by_phone.get(&p))
        .map_or(&[], Vec::as_slice);
    let mut by_document: Vec<usize> = Vec::new();
    for text in std::iter::once(&contact.name).chain(contact.extra.iter()) {
        for d in documents_in(text) {
            for &i in companies.by_document.get(&d).into_iter().flatten() {
                if !by_document.contains(&i) {
                    by_document.push(i);
                }
            }
        }
    }
    // One company named by either is certain; several named by both are a question.
    match (by_phone, by_document.as_slice()) {
        // The phone says one company, the document another: a person decides.
        ([p], [d]) if p != d => return certain(companies, &[*d, *p], Motivo::Cnpj),
        ([one], _) => return certain(companies, &[*one], Motivo::Telefone),
        (_, [one]) => return certain(companies, &[*one], Motivo::Cnpj),
        ([], []) => {}
        (phone, []) => return certain(companies, phone, Motivo::Telefone),
        (_, docs) => return certain(companies, docs, Motivo::Cnpj),
    }
    by_name(contact, companies, t)
}

/// One company: matched; several: review, the first as suggestion.
fn certain(companies: &Companies, hits: &[usize], motivo: Motivo) -> Verdict {
    match hits {
        [one] => Verdict::Matched {
            company: companies.list[*one].id,
            motivo,
            score: None,
        },
        many => Verdict::Review {
            suggestion: many.first().map(|&i| companies.list[i].id),
            motivo: Motivo::Ambiguo,
            score: None,
        },
    }
}

fn by_name(contact: &Contact, companies: &Companies, t: Thresholds) -> Verdict {
    let variants: Vec<String> = name_variants(&contact.name)
        .into_iter()
        .filter(|n| !n.is_empty())
        .collect();
    let mut candidates: HashSet<usize> = HashSet::new();
    for n in &variants {
        for p in prefixes(n) {
            candidates.extend(companies.by_prefix.get(&p).into_iter().flatten().copied());
        }
    }
    // Best score per company, then the two best companies.
    let mut best: Option<(f64, usize)> = None;
    let mut second: Option<(f64, usize)> = None;
    let mut ordered: Vec<usize> = candidates.into_iter().collect();
    ordered.sort_unstable();
    for i in ordered {
        let co = &companies.list[i];
        let score = variants
            .iter()
            .map(|n| similarity(n, &co.norm))
            .fold(0.0_f64, f64::max);
        if best.is_none_or(|(b, _)| score > b) {
            second = best;
            best = Some((score, i));
        } else if second.is_none_or(|(s, _)| score > s) {
            second = Some((score, i));
        }
    }
    let Some((score, i)) = best else {
        return Verdict::Ignored {
            motivo: Motivo::SemCorrespondencia,
            score: None,
        };
    };
    let id = companies.list[i].id;
    // The same name after normalising wins unless another company has it too; otherwise
    // a runner-up within [`TIE`] makes it a person's call.
    let tie = match second {
        Some((s, _)) if score >= 1.0 => s >= 1.0,
        Some((s, _)) => s >= t.review && score - s < TIE,
        None => false,
    };
    if score >= t.link && !tie {
        Verdict::Matched {
            company: id,
            motivo: Motivo::Nome,
            score: Some(score),
        }
    } else if score >= t.review {
        Verdict::Review {
            suggestion: Some(id),
            motivo: if tie {
                Motivo::Ambiguo
            } else {
                Motivo::Semelhanca
            },
            score: Some(score),
        }
    } else {
        Verdict::Ignored {
            motivo: Motivo::SemCorrespondencia,
            score: Some(score),
        }
    }
}

/// How alike two normalised names are, word by word: each word of one side meets the most
/// similar word of the other (Jaro-Winkler, `strsim`; numbers must be equal), weighted by
/// its length, and both directions are combined. Whole-string Jaro-Winkler would call
/// "padaria estrela sul" and "padaria estrela vale" 0.95 alike for their shared start; word
/// by word they are 0.90 (review), while a typo ("padria") stays close to 1. The same
/// words in any order score 1.
pub fn similarity(a: &str, b: &str) -> f64 {
    if a == b {
        return 1.0;
    }
    let wa: Vec<&str> = a.split_whitespace().collect();
    let wb: Vec<&str> = b.split_whitespace().collect();
    let (x, y) = (covered(&wa, &wb), covered(&wb, &wa));
    // The better direction weighs more: a shortened name ("Posto Estrada Real" for "Posto
    // de Combustíveis Estrada Real") is covered whole one way and stays worth a review.
    0.6 * x.max(y) + 0.4 * x.min(y)
}

/// How much of `from` (by length) finds a similar word in `to`, each word of `to` taken
/// once (longest words of `from` choose first), so "bela" cannot lean on "beleza" when
/// "beleza" already answered for itself.
fn covered(from: &[&str], to: &[&str]) -> f64 {
    let numeric = |w: &str| w.chars().all(|c| c.is_ascii_digit());
    let mut order: Vec<&str> = from.to_vec();
    order.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
    let mut used = vec![false; to.len()];
    let mut total = 0.0;
    let mut sum = 0.0;
    for w in order {
        total += w.chars().count() as f64;
        // Numbers meet numbers and must be equal; words meet words.
        let best = to
            .iter()
            .enumerate()
            .filter(|(j, u)| !used[*j] && numeric(u) == numeric(w))
            .map(|(j, u)| {
                let score = if numeric(w) {
                    f64::from(u8::from(w == *u))
                } else {
                    strsim::jaro_winkler(w, u)
                };
                (score, j)
            })
            .fold(None, |best: Option<(f64, usize)>, x| match best {
                Some(b) if b.0 >= x.0 => Some(b),
                _ => Some(x),
            });
        // A partner that shares nothing is not taken from a word that may need it.
        if let Some((score, j)) = best.filter(|(score, _)| *score > 0.0) {
            used[j] = true;
            sum += w.chars().count() as f64 * score;
        }
    }
    if total == 0.0 {
        0.0
    } else {
        sum / total
    }
}

/// Words that say nothing about which company it is: legal forms and connecting words.
const NOISE: &[&str] = &[
    "ltda",
    "limitada",
    "me",
    "mei",
    "epp",
    "eireli",
    "sa",
    "ss",
    "cia",
    "companhia",
    "de",
    "da",
    "do",
    "das",
    "dos",
    "e",
    "em",
    "the",
];

/// Lower case, without accents, punctuation, legal suffixes and connecting words; words
/// separated by one space.
pub fn normalise(name: &str) -> String {
    let plain: String = name
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    plain
        .split_whitespace()
        // One letter alone is what is left of "S/A", "S.A." or "& C"; one digit is a
        // number that tells companies apart ("Loja 2").
        .filter(|w| {
            (w.chars().count() > 1 || w.chars().all(|c| c.is_ascii_digit())) && !NOISE.contains(w)
        })
        .map(expand)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The abbreviations company names are saved with ("Com. de Alimentos", "Ind. e Com.",
/// "Dist. de Bebidas"), as the whole word.
fn expand(word: &str) -> &str {
    match word {
        "com" => "comercio",
        "coml" => "comercial",
        "ind" | "inds" => "industria",
        "serv" | "servs" => "servicos",
        "dist" | "distrib" => "distribuidora",
        "adm" | "admin" => "administracao",
        "tec" | "tecn" => "tecnologia",
        "eng" => "engenharia",
        "transp" => "transportes",
        "part" => "participacoes",
        "emp" | "empreend" => "empreendimentos",
        "assoc" => "associacao",
        "contab" => "contabilidade",
        "cons" => "consultoria",
        "prod" => "produtos",
        "alim" => "alimentos",
        "const" | "constr" => "construtora",
        "imob" => "imobiliaria",
        "farm" => "farmacia",
        "lab" => "laboratorio",
        "odont" => "odontologia",
        "vet" => "veterinaria",
        other => other,
    }
}

/// The first three letters of each word of a normalised name (words of two letters as
/// they are): the blocking keys that pick the companies worth comparing.
fn prefixes(norm: &str) -> Vec<String> {
    let mut out: Vec<String> = norm
        .split_whitespace()
        .filter(|w| !w.chars().all(|c| c.is_ascii_digit()))
        .map(|w| w.chars().take(3).collect())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The name as a whole and its parts around " - ", " | ", "/", "(": contacts are saved as
/// "PADARIA ESTRELA - Marcos" or "Marcos (Padaria Estrela)".
fn name_variants(name: &str) -> Vec<String> {
    // Bounded work per contact, whatever its name: 150 characters, six variants.
    let name: String = name.chars().take(150).collect();
    let mut out = vec![normalise(&name)];
    let parts = name.split(['(', ')', '|', '/', '–']);
    for part in parts.flat_map(|p| p.split(" - ")) {
        if out.len() >= MAX_VARIANTS {
            break;
        }
        let n = normalise(part);
        if !n.is_empty() && !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

const MAX_VARIANTS: usize = 6;

/// A phone as a comparable key: the area code and the last 8 digits (Brazil's country
/// code dropped, the mobile ninth digit ignored). `None` for anything too short.
pub fn phone_key(raw: &str) -> Option<String> {
    let mut d = documents::digits(raw);
    if d.len() >= 12 && d.starts_with("55") {
        d.drain(..2);
    }
    if !(10..=11).contains(&d.len()) {
        return None;
    }
    let area = &d[..2];
    let last = &d[d.len() - 8..];
    Some(format!("{area}{last}"))
}

/// The valid CNPJs and CPFs written in `text` (with or without punctuation).
pub fn documents_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut Vec<String>| {
        if let Some(k) = documents::document_key(run) {
            if !out.contains(&k) {
                out.push(k);
            }
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else if matches!(c, '.' | '/' | '-') && !run.is_empty() {
            // punctuation inside a document
        } else {
            flush(&mut run, &mut out);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn co(n: u128, nome: &str, doc: &str, whatsapp: &str) -> Company {
        Company::new(
            Uuid::from_u128(n),
            nome,
            documents::document_key(doc).into_iter().collect(),
            whatsapp,
        )
    }

    fn companies() -> Companies {
        Companies::new(vec![
            co(1, "Padaria Estrela do Vale Ltda", "48.392.017/0001-68", ""),
            co(2, "Auto Peças São João ME", "", "(19) 3232-1000"),
            co(3, "Contabilidade Horizonte EIRELI", "", ""),
            co(4, "Mercado Bom Preço S/A", "", ""),
            co(5, "Mercado Bom Preço Filial", "", ""),
            co(6, "Transportes Rápido Sul Ltda", "", ""),
        ])
    }

    fn contact(name: &str) -> Contact {
        Contact {
            name: name.into(),
            number: "5511900000000".into(),
            ..Contact::default()
        }
    }

    #[test]
    fn names_lose_accents_case_punctuation_and_legal_forms() {
        assert_eq!(normalise("Auto Peças São João ME"), "auto pecas sao joao");
        assert_eq!(normalise("MERCADO BOM PREÇO S/A"), "mercado bom preco");
        assert_eq!(
            normalise("Padaria Estrela do Vale Ltda."),
            "padaria estrela vale"
        );
        assert_eq!(normalise("  EIRELI  "), "");
    }

    #[test]
    fn phones_compare_by_area_and_last_eight_digits() {
        assert_eq!(phone_key("5519991230001"), Some("1991230001".into()));
        assert_eq!(phone_key("(19) 99123-0001"), Some("1991230001".into()));
        assert_eq!(phone_key("(19) 9123-0001"), Some("1991230001".into()));
        assert_eq!(phone_key("120363041234567890"), None);
        assert_eq!(phone_key(""), None);
    }

    #[test]
    fn documents_are_found_in_free_text() {
        assert_eq!(
            documents_in("CNPJ 48.392.017/0001-68, tel 19 3232"),
            vec!["48392017000168".to_string()]
        );
        assert_eq!(
            documents_in("48392017000168"),
            vec!["48392017000168".to_string()]
        );
        assert!(documents_in("48.392.017/0001-69").is_empty());
    }

    #[test]
    fn certain_evidence_comes_before_the_name() {
        let c = companies();
        let t = Thresholds::default();
        let mut phone = contact("Seu Zé");
        phone.number = "551932321000".into();
        assert_eq!(
            decide(&phone, &c, t, None),
            Verdict::Matched {
                company: Uuid::from_u128(2),
                motivo: Motivo::Telefone,
                score: None
            }
        );
        let mut doc = contact("Financeiro");
        doc.extra = vec!["48.392.017/0001-68".into()];
        assert_eq!(
            decide(&doc, &c, t, None),
            Verdict::Matched {
                company: Uuid::from_u128(1),
                motivo: Motivo::Cnpj,
                score: None
            }
        );
        assert_eq!(
            decide(&contact("Qualquer"), &c, t, Some(Uuid::from_u128(3))),
            Verdict::Matched {
                company: Uuid::from_u128(3),
                motivo: Motivo::Vinculo,
                score: None
            }
        );
        // A link to a company that is gone is not kept.
        assert_eq!(
            decide(&contact("Qualquer"), &c, t, Some(Uuid::from_u128(99))).status(),
            "ignored"
        );
        let mut group = contact("Padaria Estrela do Vale");
        group.is_group = true;
        assert_eq!(decide(&group, &c, t, None).status(), "ignored");
    }

    #[test]
    fn names_match_through_accents_suffixes_and_a_person_after_a_dash() {
        let c = companies();
        let t = Thresholds::default();
        for name in [
            "PADARIA ESTRELA DO VALE - Marcos",
            "padaria estrela do vale",
            "Auto Pecas Sao Joao",
            "AUTO PEÇAS SÃO JOÃO LTDA",
            "Marcos (Contabilidade Horizonte)",
            "Transportes Rapido Sul",
        ] {
            assert_eq!(
                decide(&contact(name), &c, t, None).status(),
                "matched",
                "{name}"
            );
        }
    }

    #[test]
    fn near_misses_go_to_review_and_strangers_are_ignored() {
        let c = companies();
        let t = Thresholds::default();
        let v = decide(&contact("Padaria Estrela do Sul"), &c, t, None);
        assert_eq!(v.status(), "review", "{v:?}");
        // The company with exactly this name, not the longer near-identical one.
        assert!(matches!(
            decide(&contact("Mercado Bom Preço"), &c, t, None),
            Verdict::Matched { company, .. } if company == Uuid::from_u128(4)
        ));
        // Two companies with the same name: a person decides.
        let twins = Companies::new(vec![
            co(4, "Mercado Bom Preço S/A", "", ""),
            co(7, "MERCADO BOM PREÇO LTDA", "", ""),
        ]);
        let v = decide(&contact("Mercado Bom Preço"), &twins, t, None);
        assert!(
            matches!(
                v,
                Verdict::Review {
                    motivo: Motivo::Ambiguo,
                    ..
                }
            ),
            "{v:?}"
        );
        assert_eq!(
            decide(&contact("Ana Beatriz Lopes"), &c, t, None).status(),
            "ignored"
        );
        assert_eq!(decide(&contact("???"), &c, t, None).status(), "ignored");
    }

    #[test]
    fn similarity_is_word_by_word() {
        assert_eq!(
            similarity("padaria estrela vale", "vale padaria estrela"),
            1.0
        );
        let typo = similarity("padria estrela vale", "padaria estrela vale");
        assert!(typo > 0.95, "{typo}");
        let other_word = similarity("padaria estrela sul", "padaria estrela vale");
        assert!((0.80..0.93).contains(&other_word), "{other_word}");
        assert!(similarity("padaria estrela 7", "padaria estrela 17") < 0.95);
        assert!(similarity("ana beatriz lopes", "padaria estrela vale") < 0.7);
    }

    #[test]
    fn thresholds_come_from_the_settings_within_bounds() {
        let t = Thresholds::from_config(
            &serde_json::json!({"limiar_vinculo": 0.9, "limiar_revisao": 0.95}),
        );
        assert_eq!(
            t,
            Thresholds {
                link: 0.9,
                review: 0.9
            }
        );
        let t = Thresholds::from_config(&serde_json::json!({"limiar_vinculo": "2"}));
        assert_eq!(t.link, 1.0);
        assert_eq!(
            Thresholds::from_config(&serde_json::json!({})),
            Thresholds::default()
        );
    }
}
