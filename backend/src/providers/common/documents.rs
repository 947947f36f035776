//! CNPJ and CPF as the providers send them: formatted (`48.392.017/0001-68`), bare digits,
//! or neither. Companies are matched by their digits; a document is only a document when
//! it has 11 (CPF) or 14 (CNPJ) digits and valid check digits.

/// The digits of `raw`, whatever punctuation came with them.
pub fn digits(raw: &str) -> String {
    raw.chars().filter(char::is_ascii_digit).collect()
}

/// The digits of a valid CPF or CNPJ, or `None` (empty, wrong length, wrong check digits,
/// all digits equal).
pub fn document_key(raw: &str) -> Option<String> {
    let d = digits(raw);
    let ok = match d.len() {
        11 => valid_cpf(&d),
        14 => valid_cnpj(&d),
        _ => false,
    };
    ok.then_some(d)
}

/// The formatted document, as the portal shows it and as `empresas.cnpj` keeps it.
pub fn format_document(key: &str) -> String {
    let d = key.as_bytes();
    let s = |r: std::ops::Range<usize>| std::str::from_utf8(&d[r]).unwrap_or_default();
    match d.len() {
        14 => format!(
            "{}.{}.{}/{}-{}",
            s(0..2),
            s(2..5),
            s(5..8),
            s(8..12),
            s(12..14)
        ),
        11 => format!("{}.{}.{}-{}", s(0..3), s(3..6), s(6..9), s(9..11)),
        _ => key.to_owned(),
    }
}

fn nums(d: &str) -> Vec<u32> {
    d.chars().filter_map(|c| c.to_digit(10)).collect()
}

fn all_equal(n: &[u32]) -> bool {
    n.windows(2).all(|w| w[0] == w[1])
}

/// The CPF check digit that follows `n` (9 digits, then 10): weights `len + 1` down to 2.
fn cpf_digit(n: &[u32]) -> u32 {
    let len = n.len() as u32;
    let sum: u32 = n.iter().zip((2..=len + 1).rev()).map(|(v, w)| v * w).sum();
    match (sum * 10) % 11 {
        10 => 0,
        r => r,
    }
}

/// The CNPJ check digit that follows `n` (12 digits, then 13): weights 2..=9 from the
/// right, cycling.
fn cnpj_digit(n: &[u32]) -> u32 {
    let sum: u32 = n
        .iter()
        .rev()
        .zip((2..=9).cycle())
        .map(|(v, w)| v * w)
        .sum();
    match sum % 11 {
        r if r < 2 => 0,
        r => 11 - r,
    }
}

fn valid_cpf(d: &str) -> bool {
    let n = nums(d);
    !all_equal(&n) && cpf_digit(&n[..9]) == n[9] && cpf_digit(&n[..10]) == n[10]
}

fn valid_cnpj(d: &str) -> bool {
    let n = nums(d);
    !all_equal(&n) && cnpj_digit(&n[..12]) == n[12] && cnpj_digit(&n[..13]) == n[13]
}

/// Completes 12 CNPJ digits (or 9 CPF digits) with their check digits: the sandboxes make
/// valid documents with it.
pub fn with_check_digits(base: &str) -> String {
    let mut n = nums(base);
    let (target, digit): (usize, fn(&[u32]) -> u32) = if n.len() == 12 {
        (14, cnpj_digit)
    } else {
        (11, cpf_digit)
    };
    while n.len() < target {
        let next = digit(&n);
        n.push(next);
    }
    n.iter().filter_map(|v| char::from_digit(*v, 10)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_from_the_research_notes_are_valid_in_any_format() {
        for raw in [
            "48.392.017/0001-68",
            "48392017000168",
            "27.516.084/0001-77",
            "39087156000197",
            "318.452.907-04",
            "52601938498",
        ] {
            assert!(document_key(raw).is_some(), "{raw}");
        }
        assert_eq!(
            document_key(" 48.392.017/0001-68 ").as_deref(),
            Some("48392017000168")
        );
    }

    #[test]
    fn wrong_lengths_check_digits_and_repeated_digits_are_not_documents() {
        for raw in [
            "",
            "0000-00-00",
            "48.392.017/0001-69",
            "11111111111",
            "123",
            "00000000000000",
        ] {
            assert_eq!(document_key(raw), None, "{raw}");
        }
    }

    #[test]
    fn formatting_round_trips() {
        assert_eq!(format_document("48392017000168"), "48.392.017/0001-68");
        assert_eq!(format_document("31845290704"), "318.452.907-04");
        assert_eq!(with_check_digits("483920170001"), "48392017000168");
        assert_eq!(with_check_digits("318452907"), "31845290704");
    }
}
