//! The OneCode contact matcher over a table of real-looking Brazilian company names and
//! the names people save WhatsApp contacts under, each with the outcome a person at the
//! firm would expect: exact names, accents and case, legal forms (LTDA, ME, EIRELI, S/A),
//! abbreviations, swapped words, a person's name beside the company's, typos, near-misses
//! that a person must confirm, companies with near-identical names, strangers, groups,
//! blocked contacts, and the certain evidence (phone, CNPJ, an existing link).

use backend::providers::common::documents;
use backend::providers::onecode::matcher::{
    decide, Companies, Company, Contact, Motivo, Thresholds, Verdict,
};
use uuid::Uuid;

/// (id, name, CNPJ, WhatsApp)
const COMPANIES: &[(u128, &str, &str, &str)] = &[
    (1, "Padaria Estrela do Vale Ltda", "48.392.017/0001-68", ""),
    (2, "Auto Peças São João ME", "", "(19) 3232-1000"),
    (3, "Contabilidade Horizonte EIRELI", "", ""),
    (4, "Mercado Bom Preço S/A", "", ""),
    (5, "Mercado Bom Preço Filial Centro", "", ""),
    (6, "Transportes Rápido Sul Ltda", "", ""),
    (7, "Comércio de Alimentos Silva Ltda", "", ""),
    (8, "Indústria Metalúrgica Ferreira S.A.", "", ""),
    (9, "Clínica Odontológica Sorriso Ltda", "", ""),
    (10, "Farmácia Popular Santa Luzia ME", "", ""),
    (11, "Construtora Alves & Filhos Ltda", "", ""),
    (12, "Distribuidora de Bebidas Guaraná EPP", "", ""),
    (14, "Oficina Mecânica do Zé", "", "(11) 98765-4321"),
    (15, "Restaurante Sabor Mineiro Ltda", "", ""),
    (16, "Restaurante Sabor Mineiro II Ltda", "", ""),
    (17, "Tecnologia e Serviços Digitais Nova Era Ltda", "", ""),
    (18, "Imobiliária Casa Forte", "", ""),
    (19, "Posto de Combustíveis Estrada Real", "", ""),
    (20, "Academia Corpo em Forma ME", "", ""),
    (21, "Pet Shop Amigo Fiel", "", ""),
    (22, "Salão de Beleza Bela Vida", "", ""),
    (23, "Laticínios Serra Azul S/A", "", ""),
    (24, "Papelaria Central Ltda", "", ""),
    (25, "Papelaria Central Norte Ltda", "", ""),
    (
        26,
        "Consultoria Vieira Associados",
        "11.444.777/0001-61",
        "(21) 3333-4444",
    ),
    (27, "Vieira Consultoria Tributária", "", "(21) 3333-4444"),
];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Want {
    Matched(u128),
    /// In review, with this company suggested.
    Review(u128),
    Ignored,
}

struct Case {
    name: &'static str,
    number: &'static str,
    extra: &'static str,
    group: bool,
    blocked: bool,
    linked: Option<u128>,
    want: Want,
}

const fn case(name: &'static str, want: Want) -> Case {
    Case {
        name,
        number: "5531900000000",
        extra: "",
        group: false,
        blocked: false,
        linked: None,
        want,
    }
}

use Want::{Ignored, Matched, Review};

const CASES: &[Case] = &[
    // The name as the company has it, in any case, with or without accents.
    case("Padaria Estrela do Vale Ltda", Matched(1)),
    case("padaria estrela do vale", Matched(1)),
    case("PADARIA ESTRELA DO VALE", Matched(1)),
    case("Auto Pecas Sao Joao", Matched(2)),
    case("Clinica Odontologica Sorriso", Matched(9)),
    case("Oficina Mecanica do Ze", Matched(14)),
    case("Imobiliaria Casa Forte", Matched(18)),
    // Another legal form, or none.
    case("AUTO PEÇAS SÃO JOÃO LTDA", Matched(2)),
    case("Contabilidade Horizonte", Matched(3)),
    case("Contabilidade Horizonte Ltda ME", Matched(3)),
    case("Comercio Alimentos Silva ME", Matched(7)),
    case("Laticinios Serra Azul Ltda", Matched(23)),
    case("Academia Corpo Forma", Matched(20)),
    // Abbreviations.
    case("Com. de Alimentos Silva", Matched(7)),
    case("Ind. Metalúrgica Ferreira", Matched(8)),
    case("Dist. de Bebidas Guaraná", Matched(12)),
    case("Tec. e Serv. Digitais Nova Era", Matched(17)),
    // Swapped words, "&" and "e".
    case("Rápido Sul Transportes", Matched(6)),
    case("Metalurgica Ferreira Industria SA", Matched(8)),
    case("Salão de Beleza Vida Bela", Matched(22)),
    case("Construtora Alves e Filhos", Matched(11)),
    // A person beside the company.
    case("PADARIA ESTRELA DO VALE - Marcos", Matched(1)),
    case("Marcos (Contabilidade Horizonte)", Matched(3)),
    case("Juliana | Transportes Rápido Sul", Matched(6)),
    // Typos.
    case("Farmacia Popular Santa Lucia", Matched(10)),
    case("Padria Estrela do Vale", Matched(1)),
    // Near-identical companies: the one with exactly this name.
    case("Restaurante Sabor Mineiro", Matched(15)),
    case("Restaurante Sabor Mineiro II", Matched(16)),
    case("Papelaria Central", Matched(24)),
    case("Papelaria Central Norte", Matched(25)),
    case("Mercado Bom Preço", Matched(4)),
    // Close, but another word: a person confirms.
    case("Padaria Estrela do Sul", Review(1)),
    case("Farmacia Santa Luzia", Review(10)),
    case("Imobiliária Casa Nova", Review(18)),
    case("Salão Beleza Nova Vida", Review(22)),
    case("Posto Estrada Real", Review(19)),
    // Strangers.
    case("Ana Beatriz Lopes", Ignored),
    // The one word that tells companies apart has nothing in common with the company's.
    case("Laticínios Serra Verde", Ignored),
    case("João da Silva", Ignored),
    case("Financeiro", Ignored),
    case("Mãe", Ignored),
    case("+55 19 99999-0000", Ignored),
    case("", Ignored),
    // Groups and blocked contacts, whatever their name.
    Case {
        group: true,
        ..case("Padaria Estrela do Vale Ltda", Ignored)
    },
    Case {
        blocked: true,
        ..case("Padaria Estrela do Vale Ltda", Ignored)
    },
    // Certain evidence before the name.
    Case {
        number: "551932321000",
        ..case("Seu Zé", Matched(2))
    },
    Case {
        number: "5511987654321",
        ..case("Zé da oficina", Matched(14))
    },
    Case {
        extra: "48.392.017/0001-68",
        ..case("Financeiro", Matched(1))
    },
    case("48392017000168 - contas a pagar", Matched(1)),
    Case {
        // Two companies share this phone: a person decides.
        number: "552133334444",
        ..case("Dr. Vieira", Review(26))
    },
    Case {
        // A CNPJ settles what a shared phone leaves open.
        number: "552133334444",
        extra: "11.444.777/0001-61",
        ..case("Dr. Vieira", Matched(26))
    },
    Case {
        linked: Some(21),
        ..case("Qualquer nome", Matched(21))
    },
];

fn companies() -> Companies {
    Companies::new(
        COMPANIES
            .iter()
            .map(|(id, nome, cnpj, whatsapp)| {
                Company::new(
                    Uuid::from_u128(*id),
                    nome,
                    documents::document_key(cnpj).into_iter().collect(),
                    whatsapp,
                )
            })
            .collect(),
    )
}

#[test]
fn every_contact_of_the_table_lands_where_a_person_would_put_it() {
    assert!(CASES.len() >= 40, "at least 40 pairs");
    let cs = companies();
    let t = Thresholds::default();
    let mut wrong = Vec::new();
    for c in CASES {
        let contact = Contact {
            name: c.name.into(),
            number: c.number.into(),
            is_group: c.group,
            blocked: c.blocked,
            extra: if c.extra.is_empty() {
                vec![]
            } else {
                vec![c.extra.into()]
            },
        };
        let v = decide(&contact, &cs, t, c.linked.map(Uuid::from_u128));
        let got = match &v {
            Verdict::Matched { company, .. } => Matched(company.as_u128()),
            Verdict::Review { suggestion, .. } => Review(suggestion.map_or(0, |s| s.as_u128())),
            Verdict::Ignored { .. } => Ignored,
        };
        if got != c.want {
            wrong.push(format!("{:?}: want {:?}, got {v:?}", c.name, c.want));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {}:\n{}",
        wrong.len(),
        CASES.len(),
        wrong.join("\n")
    );
}

#[test]
fn a_shared_phone_is_a_question_with_a_suggestion_and_a_reason() {
    let v = decide(
        &Contact {
            name: "Dr. Vieira".into(),
            number: "552133334444".into(),
            ..Contact::default()
        },
        &companies(),
        Thresholds::default(),
        None,
    );
    assert!(
        matches!(
            v,
            Verdict::Review {
                suggestion: Some(_),
                motivo: Motivo::Ambiguo,
                score: None
            }
        ),
        "{v:?}"
    );
}
