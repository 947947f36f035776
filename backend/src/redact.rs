//! Sanitising what goes into `integration_logs.payload` and `.response`: logs never hold
//! secrets, personal data (LGPD) is masked down to a hint, and a size cap keeps one log row
//! small.
//!
//! Two passes, both over every value at any depth:
//!
//! - **By key.** Each object key is classified (`classify`): a *secret* key's value is
//!   replaced by [`REDACTED`] whatever its type; an *e-mail*, *phone* or *document* key's
//!   value is masked (below); any other key's value is scanned by value.
//! - **By value.** Every string is scanned, whatever its key, and keeps its text except for:
//!   - a whole value that is an `Authorization` credential (`Bearer x`, `Basic x`,
//!     `ApiKey x`, `Token x`, …) → [`REDACTED`]; inside longer text only the credential
//!     goes: `Bearer [redacted]`;
//!   - URLs: the userinfo (`https://[redacted]@host/…`); the URL is otherwise kept as
//!     written (no re-serialisation);
//!   - `name=value` pairs (query strings, fragments, form bodies, connection strings),
//!     `"name": value` pairs (JSON held as text) and `Name: value` lines (header dumps):
//!     the value is treated as the value of the key `name`, so `?token=…`, `&api_key=…`,
//!     `;Password=…`, `"senha":"…"` lose their value;
//!   - JSON Web Tokens (three base64url segments, the first starting `eyJ`) → [`REDACTED`];
//!   - e-mail addresses → first character of the local part, `***@`, the domain kept
//!     (`j***@dominio.com.br`); a WhatsApp id (`5519999990000@c.us`) has its number masked
//!     as a phone, a group id (`…@g.us`) is kept;
//!   - CPFs written `000.000.000-00` → `***.***.***-00` (last two digits kept);
//!   - Brazilian phone numbers (`+55 19 99999-0000`, `(19) 99999-0000`, `19 3333-4444`,
//!     `5519999990000`) and international ones written with `+` → one `*` per hidden digit,
//!     the last four digits kept (`*********0000`); formatting is dropped.
//!
//! Masks for keyed personal data: under an e-mail key anything with an `@` is masked as an
//! address even when it is not a valid one; under a phone key (and OneCode's `number`) every
//! run of 8 or more digits is masked as a phone, JSON numbers included; under a document key
//! (`documento`, `tax_id`, …) a bare 11-digit value is masked as a CPF. CNPJs identify
//! companies, not people: they are hidden only under a `cnpj` key, as before.
//!
//! Not detected: bare 11-digit CPFs or phones without a country code in free text (too many
//! identifiers look the same), phones without an area code, personal data in object keys.

use std::sync::LazyLock;

use percent_encoding::percent_decode_str;
use regex::{Captures, Regex};
use serde_json::{Map, Number, Value};

/// What replaces a sensitive value.
pub const REDACTED: &str = "[redacted]";

/// Largest serialised payload kept in a log row; beyond it the value is replaced by a
/// summary that says how big it was.
pub const MAX_BYTES: usize = 16 * 1024;

// Keys are compared as their words (split on anything not a letter or digit, on camelCase
// and on letter/digit changes), lowercased, trailing all-digit words dropped
// (`x-hub-signature-256` → `x hub signature`), and as those words joined
// (`xhubsignature`). Every entry also matches its plural with a trailing `s`.

/// Secret when the joined key is one of these or ends with one (`x-api-key`, `accessToken`,
/// `client_secret`, `aws_secret_access_key`). Long enough not to end other words by chance
/// (`tokenizer`, `secretaria` are kept).
const SECRET_SUFFIXES: &[&str] = &[
    "token",
    "apikey",
    "authorization",
    "password",
    "passwd",
    "senha",
    "secret",
    "secretid",
    "cpf",
    "cnpj",
    "cookie",
    "signature",
    "credential",
    "privatekey",
    "accesskey",
    "accesskeyid",
    "secretkey",
    "clientkey",
    "signingkey",
    "encryptionkey",
    "masterkey",
    "licensekey",
    "sessionkey",
    "authkey",
    "hmackey",
    "sharedkey",
    "sessionid",
    "sessid",
    "tokenacesso",
    "tokendeacesso",
    "tokenapi",
    "chaveapi",
    "chavedeapi",
    "chaveacesso",
    "chavedeacesso",
    "chavesecreta",
    "chaveprivada",
    "chavepix",
];

/// Secret when the key's last word is one of these: short words that would end unrelated
/// words as plain suffixes (`compass`, `oauth`, `passo` are kept; `db_pass`, `userPwd`,
/// `basic_auth`, `id_jwt`, `hub.sig` are not).
const SECRET_LAST_WORDS: &[&str] = &[
    "pass", "pwd", "auth", "jwt", "session", "sig", "pin", "otp", "cvv", "cvc",
];

/// Secret when any word of the key is one of these: Portuguese puts the noun first
/// (`senha_atual`, `segredo_cliente`, `cpf_titular`), and anything about a password is
/// kept out of logs (`password_hint`, `password_confirmation`).
const SECRET_ANY_WORDS: &[&str] = &["password", "passwd", "senha", "segredo", "cpf"];

/// Secret only as the whole key (`key`, `chave`); `idempotency_key`, `chave_nfe` are kept.
const SECRET_WHOLE: &[&str] = &["key", "chave"];

const EMAIL_SUFFIXES: &[&str] = &["email", "emailaddress"];
const EMAIL_LAST_WORDS: &[&str] = &["mail"];

const PHONE_SUFFIXES: &[&str] = &[
    "telefone",
    "phone",
    "phonenumber",
    "celular",
    "whatsapp",
    "whatsappnumber",
    "msisdn",
];
const PHONE_LAST_WORDS: &[&str] = &["fone", "tel", "cel", "mobile"];
/// OneCode's contacts carry the phone in `number`; `order_number` and the like are kept.
const PHONE_WHOLE: &[&str] = &["number"];

const DOCUMENT_SUFFIXES: &[&str] = &[
    "documento",
    "document",
    "documentnumber",
    "numerodocumento",
    "taxid",
    "federaltaxnumber",
];
const DOCUMENT_WHOLE: &[&str] = &["doc", "nif"];

/// What a key says about its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// Never stored: replaced by [`REDACTED`].
    Secret,
    /// Personal: masked.
    Email,
    Phone,
    Document,
    /// Scanned by value only.
    Plain,
}

/// The words of a key, lowercased: `XApiKey` → `x api key`, `client_secret` →
/// `client secret`, `password2` → `password 2`.
fn words(key: &str) -> Vec<String> {
    let chars: Vec<char> = key.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            continue;
        }
        if !word.is_empty() {
            // `word` is not empty, so the previous character is a letter or digit.
            let prev = chars[i - 1];
            let next = chars.get(i + 1).copied();
            let camel = prev.is_lowercase() && c.is_uppercase();
            let acronym_end =
                prev.is_uppercase() && c.is_uppercase() && next.is_some_and(char::is_lowercase);
            let digits = prev.is_ascii_digit() != c.is_ascii_digit();
            if camel || acronym_end || digits {
                words.push(std::mem::take(&mut word));
            }
        }
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// `word` is `entry` or its plural.
fn is_word(word: &str, entry: &str) -> bool {
    word == entry || word.strip_suffix('s') == Some(entry)
}

/// `joined` ends with `entry` or with its plural.
fn ends_with(joined: &str, entry: &str) -> bool {
    joined.ends_with(entry) || joined.strip_suffix('s').is_some_and(|j| j.ends_with(entry))
}

fn classify(key: &str) -> Class {
    let mut words = words(key);
    while words
        .last()
        .is_some_and(|w| w.chars().all(|c| c.is_ascii_digit()))
    {
        words.pop();
    }
    let Some(last) = words.last() else {
        return Class::Plain;
    };
    let joined = words.concat();
    let suffix = |list: &[&str]| list.iter().any(|e| ends_with(&joined, e));
    let last_word = |list: &[&str]| list.iter().any(|e| is_word(last, e));
    let whole = |list: &[&str]| list.iter().any(|e| is_word(&joined, e));
    if suffix(SECRET_SUFFIXES)
        || last_word(SECRET_LAST_WORDS)
        || whole(SECRET_WHOLE)
        || words
            .iter()
            .any(|w| SECRET_ANY_WORDS.iter().any(|e| is_word(w, e)))
    {
        Class::Secret
    } else if suffix(EMAIL_SUFFIXES) || last_word(EMAIL_LAST_WORDS) {
        Class::Email
    } else if suffix(PHONE_SUFFIXES) || last_word(PHONE_LAST_WORDS) || whole(PHONE_WHOLE) {
        Class::Phone
    } else if suffix(DOCUMENT_SUFFIXES) || whole(DOCUMENT_WHOLE) {
        Class::Document
    } else {
        Class::Plain
    }
}

fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| panic!("redact: bad pattern {pattern}: {e}"))
}

/// `"name": value` inside text (a JSON body kept as a string, maybe cut short).
static JSON_PAIR: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r#""((?:[^"\\]|\\.){1,100})"(\s*:\s*)("(?:[^"\\]|\\.)*(?:"|\z)|-?[0-9][0-9.eE+\-]*|true|false|null)"#,
    )
});

/// `Name: value` at the start of a line (a header dump, `key: value` text).
static HEADER_LINE: LazyLock<Regex> =
    LazyLock::new(|| compile(r"(?m)^([ \t]*)([A-Za-z][A-Za-z0-9_\-]*)([ \t]*:[ \t]*)([^\r\n]+)"));

/// A URL's scheme and userinfo (up to the last `@` of the authority).
static URL_USERINFO: LazyLock<Regex> =
    LazyLock::new(|| compile(r#"(?i)\b([a-z][a-z0-9+.\-]*://)([^\s/?#"'<>]+)@"#));

/// `name=value` after the start, `?`, `&`, `;`, `#`, `,`, `|` or a space.
static KEY_VALUE: LazyLock<Regex> =
    LazyLock::new(|| compile(r#"(^|[?&;#\s,|])([A-Za-z0-9_.\-\[\]%]+)=([^&;#\s"',|]*)"#));

/// An authorization scheme followed by a credential, inside text.
static AUTH_IN_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    compile(r"(?i)\b(bearer|basic|apikey|api-key|token)([ \t]+)([A-Za-z0-9._~+/=:\-]+)")
});

/// A JSON Web Token (JWS: three segments; JWE: five).
static JWT: LazyLock<Regex> = LazyLock::new(|| {
    compile(r"\beyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{2,}(?:\.[A-Za-z0-9_\-]*){1,3}")
});

static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| compile(r"([A-Za-z0-9._%+\-]+)@((?:[A-Za-z0-9\-]+\.)+[A-Za-z]{2,})\b"));

/// Anything with an `@`, under an e-mail key.
static LOOSE_EMAIL: LazyLock<Regex> =
    LazyLock::new(|| compile(r#"([^\s@,;<>"'()\[\]]+)@([^\s@,;<>"'()\[\]]+)"#));

static CPF: LazyLock<Regex> =
    LazyLock::new(|| compile(r"\b[0-9]{3}\.[0-9]{3}\.[0-9]{3}-[0-9]{2}\b"));

static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        // +55 19 99999-0000, +55 (19) 3333-4444, +5519999990000
        r"\+55[ .\-]?\(?[1-9]{2}\)?[ .\-]?9?[0-9]{4}[ .\-]?[0-9]{4}\b",
        // other countries: +14155550000, +1 415 555 0000, +44 (20) 7946-0000
        r"|\+[1-9][0-9]{9,14}\b",
        r"|\+[1-9][0-9]{0,2}[ .\-]\(?[0-9]{1,4}\)?(?:[ .\-][0-9]{2,5}){1,3}\b",
        // (19) 99999-0000, 55 (19) 3333-4444
        r"|(?:\b55[ .\-]?)?\(0?[1-9]{2}\)[ .\-]?9?[0-9]{4}[ .\-]?[0-9]{4}\b",
        // 19 99999-0000, 55 19 99999 0000
        r"|\b(?:55[ \-])?[1-9]{2}[ \-]9[0-9]{4}[ \-]?[0-9]{4}\b",
        // 19 3333-4444
        r"|\b(?:55[ \-])?[1-9]{2} [2-5][0-9]{3}-[0-9]{4}\b",
        // 5519999990000, 551933334444
        r"|\b55[1-9]{2}(?:9[0-9]{8}|[2-5][0-9]{7})\b",
    ))
});

/// A run of digits and phone punctuation, under a phone key.
static PHONE_RUN: LazyLock<Regex> = LazyLock::new(|| compile(r"[+(]?[0-9][0-9 ().\-]*[0-9]"));

/// `text` with the matches of `re` for which `f` (given the whole text and the match)
/// returns a replacement replaced; `text` itself when none is.
fn replace(
    text: String,
    re: &Regex,
    mut f: impl FnMut(&str, &Captures) -> Option<String>,
) -> String {
    let mut out = String::new();
    let mut last = 0;
    let mut changed = false;
    for caps in re.captures_iter(&text) {
        let Some(m) = caps.get(0) else { continue };
        if let Some(new) = f(&text, &caps) {
            out.push_str(&text[last..m.start()]);
            out.push_str(&new);
            last = m.end();
            changed = true;
        }
    }
    if !changed {
        return text;
    }
    out.push_str(&text[last..]);
    out
}

fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// One `*` per digit but the last four, which are kept: `*********0000` (all `*` when
/// there are four digits or fewer).
fn mask_digits(digits: &str) -> String {
    let keep = if digits.len() > 4 { 4 } else { 0 };
    let (hidden, kept) = digits.split_at(digits.len() - keep);
    format!("{}{kept}", "*".repeat(hidden.len()))
}

/// `***.***.***-00`: the last two digits of an 11-digit CPF.
fn mask_cpf(digits: &str) -> String {
    format!("***.***.***-{}", &digits[digits.len().saturating_sub(2)..])
}

/// First character, `***@`, the domain.
fn mask_address(local: &str, domain: &str) -> Option<String> {
    let first = local.chars().next()?;
    Some(format!("{first}***@{domain}"))
}

/// A match at `start..end` of `text` is not part of a longer number, word or decimal.
fn isolated(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let mut after = text[end..].chars();
    let (next, next2) = (after.next(), after.next());
    let glued_before =
        before.is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | ',' | '-' | '*'));
    let glued_after = next.is_some_and(|c| {
        c.is_alphanumeric()
            || c == '_'
            || (matches!(c, '.' | ',' | '-') && next2.is_some_and(|d| d.is_ascii_digit()))
    });
    !glued_before && !glued_after
}

/// Looks like a credential rather than a word: 8 characters or more with a digit, a symbol
/// base64 and tokens use, or a capital letter past the first character.
fn looks_secret(word: &str) -> bool {
    word.len() >= 8
        && (word.chars().any(|c| c.is_ascii_digit())
            || word.chars().any(|c| "+/=_-~:".contains(c))
            || (word.chars().skip(1).any(|c| c.is_ascii_uppercase())
                && word.chars().any(|c| c.is_ascii_lowercase())))
}

/// The whole value is an `Authorization` header's value: a scheme and a credential.
fn is_credential_value(text: &str) -> bool {
    let Some((scheme, rest)) = text.trim().split_once(char::is_whitespace) else {
        return false;
    };
    let rest = rest.trim();
    let one_word = !rest.is_empty() && !rest.contains(char::is_whitespace);
    match scheme.to_ascii_lowercase().as_str() {
        "bearer" | "apikey" | "api-key" | "negotiate" | "ntlm" => one_word,
        "basic" | "token" => one_word && looks_secret(rest),
        "digest" => rest.contains('='),
        _ => false,
    }
}

/// `text` (the value of a key of class `class`) as it may be logged.
fn clean_text(class: Class, text: &str) -> String {
    // PostgreSQL's text and jsonb refuse NUL: one in a provider's answer would make the
    // attempt's write fail (and the run stay running until the reaper).
    let without_nul;
    let text = if text.contains('\0') {
        without_nul = text.replace('\0', "");
        without_nul.as_str()
    } else {
        text
    };
    match class {
        Class::Secret => REDACTED.to_owned(),
        Class::Plain => scan(text),
        Class::Email => replace(scan(text), &LOOSE_EMAIL, |t, c| {
            let m = c.get(0)?;
            if t[..m.start()].ends_with('*') || c[1].ends_with('*') {
                return None; // already masked
            }
            mask_address(&c[1], &c[2])
        }),
        Class::Phone => replace(scan(text), &PHONE_RUN, |_, c| {
            let d = digits(&c[0]);
            (d.len() >= 8).then(|| mask_digits(&d))
        }),
        Class::Document => {
            let t = text.trim();
            let d = digits(t);
            let only_cpf_chars = t
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '/' | ' '));
            if only_cpf_chars && d.len() == 11 {
                mask_cpf(&d)
            } else {
                scan(text)
            }
        }
    }
}

/// The text of a value found inside a string under the key `name` (a query parameter,
/// a JSON pair, a header line): `None` when it stays as it is.
fn clean_named(name: &str, value: &str) -> Option<String> {
    let class = classify(name);
    match class {
        Class::Plain => None,
        _ if value.is_empty() || value == REDACTED => None,
        _ => Some(clean_text(class, value)).filter(|new| new != value),
    }
}

/// A string value scanned for secrets and personal data (see the module's documentation).
fn scan(text: &str) -> String {
    if is_credential_value(text) {
        return REDACTED.to_owned();
    }
    let mut t = text.to_owned();
    if t.contains('"') && t.contains(':') {
        t = replace(t, &JSON_PAIR, |_, c| {
            // A string's quotes (the closing one may be missing in a body cut short).
            let raw = &c[3];
            let inner = raw
                .strip_prefix('"')
                .map_or(raw, |r| r.strip_suffix('"').unwrap_or(r));
            let new = clean_named(&c[1], inner)?;
            Some(format!("\"{}\"{}\"{new}\"", &c[1], &c[2]))
        });
    }
    if t.contains(':') {
        t = replace(t, &HEADER_LINE, |_, c| {
            let new = clean_named(&c[2], c[4].trim_end())?;
            Some(format!("{}{}{}{new}", &c[1], &c[2], &c[3]))
        });
    }
    if t.contains("://") {
        t = replace(t, &URL_USERINFO, |_, c| {
            let userinfo = &c[2];
            (userinfo != REDACTED).then(|| format!("{}{REDACTED}@", &c[1]))
        });
    }
    if t.contains('=') {
        t = replace(t, &KEY_VALUE, |_, c| {
            let name = percent_decode_str(&c[2]).decode_utf8_lossy();
            let value = percent_decode_str(&c[3]).decode_utf8_lossy();
            let new = clean_named(&name, &value)?;
            Some(format!("{}{}={new}", &c[1], &c[2]))
        });
    }
    t = replace(t, &AUTH_IN_TEXT, |_, c| {
        looks_secret(&c[3]).then(|| format!("{}{}{REDACTED}", &c[1], &c[2]))
    });
    if t.contains("eyJ") {
        t = replace(t, &JWT, |_, _| Some(REDACTED.to_owned()));
    }
    if t.contains('@') {
        t = replace(t, &EMAIL, |t, c| {
            let m = c.get(0)?;
            let (local, domain) = (&c[1], &c[2]);
            if t[..m.start()].ends_with('*') || domain.eq_ignore_ascii_case("g.us") {
                return None; // already masked; a WhatsApp group, not a person
            }
            if local.len() >= 8 && local.bytes().all(|b| b.is_ascii_digit()) {
                return Some(format!("{}@{domain}", mask_digits(local)));
            }
            mask_address(local, domain)
        });
    }
    if t.contains('-') {
        t = replace(t, &CPF, |t, c| {
            let m = c.get(0)?;
            isolated(t, m.start(), m.end()).then(|| mask_cpf(&digits(&c[0])))
        });
    }
    if t.bytes().filter(u8::is_ascii_digit).count() >= 8 {
        t = replace(t, &PHONE, |t, c| {
            let m = c.get(0)?;
            let d = digits(&c[0]);
            let plausible = !c[0].starts_with('+') || (10..=15).contains(&d.len());
            (plausible && isolated(t, m.start(), m.end())).then(|| mask_digits(&d))
        });
    }
    t
}

/// A JSON number under a key of class `class`.
fn clean_number(class: Class, n: &Number) -> Value {
    if n.is_f64() {
        return Value::Number(n.clone());
    }
    let d = digits(&n.to_string());
    match class {
        Class::Phone if d.len() >= 8 => Value::String(mask_digits(&d)),
        // A CPF stored as a number lost its leading zeros.
        Class::Document if (9..=11).contains(&d.len()) => Value::String(mask_cpf(&d)),
        _ => Value::Number(n.clone()),
    }
}

fn clean(class: Class, value: &Value) -> Value {
    match value {
        _ if class == Class::Secret => Value::String(REDACTED.to_owned()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), clean(classify(k), v)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| clean(class, v)).collect()),
        Value::String(s) => Value::String(clean_text(class, s)),
        Value::Number(n) => clean_number(class, n),
        other => other.clone(),
    }
}

/// A copy of `value` with every secret removed and personal data masked, at any depth:
/// by key and by value (see the module's documentation).
pub fn redact(value: &Value) -> Value {
    clean(Class::Plain, value)
}

/// A text (an error message with the provider's own words) with the same secrets removed
/// and personal data masked, before it is stored or shown.
pub fn redact_text(text: &str) -> String {
    clean_text(Class::Plain, text)
}

/// [`redact`], then the size cap: what may be written to a log row.
pub fn sanitise(value: &Value) -> Value {
    let clean = redact(value);
    let size = clean.to_string().len();
    if size <= MAX_BYTES {
        clean
    } else {
        serde_json::json!({
            "truncated": true,
            "original_bytes": size,
            "note": "conteúdo grande demais para o log",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_characters_never_reach_the_database() {
        assert_eq!(redact_text("HTTP 500: x\0y"), "HTTP 500: xy");
        assert_eq!(text("a\0b"), "ab");
    }

    /// `redact` of one string value under a neutral key.
    fn text(s: &str) -> String {
        redact(&json!({ "msg": s }))["msg"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn sensitive_keys_are_redacted_at_any_depth_and_others_kept() {
        let input = json!({
            "Authorization": "Bearer abc",
            "config": {"api_key": "k", "base_url": "https://x", "X-Api-Key": "k2"},
            "items": [{"CPF": "318.452.907-04", "nome": "Ana"}, {"accessToken": "t"}],
            "cnpj": "48.392.017/0001-68",
            "count": 3,
            "senha": null
        });
        let out = redact(&input);
        assert_eq!(out["Authorization"], REDACTED);
        assert_eq!(out["config"]["api_key"], REDACTED);
        assert_eq!(out["config"]["X-Api-Key"], REDACTED);
        assert_eq!(out["config"]["base_url"], "https://x");
        assert_eq!(out["items"][0]["CPF"], REDACTED);
        assert_eq!(out["items"][0]["nome"], "Ana");
        assert_eq!(out["items"][1]["accessToken"], REDACTED);
        assert_eq!(out["cnpj"], REDACTED);
        assert_eq!(out["count"], 3);
        assert_eq!(out["senha"], REDACTED);
        assert!(!out.to_string().contains("318.452.907-04"));
    }

    #[test]
    fn words_that_merely_contain_a_sensitive_word_are_kept() {
        let out = redact(&json!({"tokenizer": "x", "secretaria": "y", "total": 1}));
        assert_eq!(
            out,
            json!({"tokenizer": "x", "secretaria": "y", "total": 1})
        );
    }

    #[test]
    fn many_key_spellings_are_secret() {
        let keys = [
            "secret_key",
            "access_key",
            "aws_access_key_id",
            "pass",
            "db_pass",
            "smtpPass",
            "pwd",
            "userPWD",
            "passwd",
            "jwt",
            "session",
            "sessionid",
            "JSESSIONID",
            "session_id",
            "chave_api",
            "chave",
            "segredo",
            "segredo_cliente",
            "token_acesso",
            "tokens",
            "secrets",
            "passwords",
            "apikeys",
            "APIKey",
            "private_key",
            "privateKey",
            "client_secret",
            "refresh_token",
            "id_token",
            "set-cookie",
            "Cookie",
            "x-api-key",
            "X-Hub-Signature-256",
            "hub.verify_token",
            "auth",
            "basic_auth",
            "key",
            "senha_atual",
            "nova_senha",
            "password_hint",
            "password2",
            "cpf_titular",
            "credentials",
            "Proxy-Authorization",
            "pin",
        ];
        for key in keys {
            assert_eq!(classify(key), Class::Secret, "{key}");
            let out = redact(&json!({ key: "valor-123", "nested": [{ key: {"a": 1} }] }));
            assert_eq!(out[key], REDACTED, "{key}");
            assert_eq!(out["nested"][0][key], REDACTED, "{key}");
        }
    }

    #[test]
    fn short_secret_words_match_whole_words_only() {
        let keys = [
            "compass",
            "passo",
            "passageiro",
            "bypass",
            "oauth",
            "auth_type",
            "session_count",
            "idempotency_key",
            "primaryKey",
            "keyboard",
            "chave_nfe",
            "pinned",
            "token_type",
            "expires_in",
            "whatsappId",
            "empresas_com_whatsapp_preenchido",
            "order_number",
            "id",
            "status",
        ];
        for key in keys {
            assert_eq!(classify(key), Class::Plain, "{key}");
        }
        let input = json!({"compass": "norte", "passo": 2, "token_type": "Bearer", "pinned": true});
        assert_eq!(redact(&input), input);
    }

    #[test]
    fn urls_lose_their_userinfo_and_sensitive_query_values_only() {
        assert_eq!(
            text("https://user:p%40ss@api.example.com/v1/x?page=2"),
            "https://[redacted]@api.example.com/v1/x?page=2"
        );
        assert_eq!(
            text("postgres://app:s3cr3t@db:5432/portal"),
            "postgres://[redacted]@db:5432/portal"
        );
        assert_eq!(
            text("https://h.com/cb?token=abc&page=2&api_key=k1&access_token=t&signature=s&key=z&senha=123&sig=q&pesquisa="),
            "https://h.com/cb?token=[redacted]&page=2&api_key=[redacted]&access_token=[redacted]&signature=[redacted]&key=[redacted]&senha=[redacted]&sig=[redacted]&pesquisa="
        );
        // In a longer text, in a fragment, in a form body, in a connection string.
        assert_eq!(
            text("GET https://h.com/a#access_token=xyz&state=1 falhou"),
            "GET https://h.com/a#access_token=[redacted]&state=1 falhou"
        );
        assert_eq!(
            text("grant_type=client_credentials&client_secret=abc"),
            "grant_type=client_credentials&client_secret=[redacted]"
        );
        assert_eq!(
            text("Server=db;User Id=sa;Password=abc;"),
            "Server=db;User Id=sa;Password=[redacted];"
        );
        // Personal parameters are masked like their keys.
        assert_eq!(
            text("https://h.com/c?email=joao%40x.com.br&telefone=5519999990000"),
            "https://h.com/c?email=j***@x.com.br&telefone=*********0000"
        );
    }

    #[test]
    fn jwts_are_redacted_anywhere_in_a_string() {
        let jwt =
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(text(jwt), REDACTED);
        let out = text(&format!("falhou com o token {jwt} (expirado)"));
        assert_eq!(out, "falhou com o token [redacted] (expirado)");
        let out = redact(&json!({"headers": [format!("x-id: {jwt}")]}));
        assert!(!out.to_string().contains("dBjftJeZ4CVP"), "{out}");
    }

    #[test]
    fn authorization_values_are_redacted_under_any_key() {
        for v in [
            "Bearer abc",
            "bearer abc.def",
            "Basic dXNlcjpwYXNz",
            "ApiKey 9f8e7d6c",
            "TOKEN 3f9a2b1c4d",
            "  Bearer abc  ",
        ] {
            assert_eq!(text(v), REDACTED, "{v}");
        }
        assert_eq!(
            text("Authorization: Bearer abc123 was refused"),
            "Authorization: [redacted]"
        );
        assert_eq!(
            text("enviado com Bearer abcdef123456 e recusado"),
            "enviado com Bearer [redacted] e recusado"
        );
        assert_eq!(
            text("X-Api-Key: k-123\nAccept: application/json"),
            "X-Api-Key: [redacted]\nAccept: application/json"
        );
        // Words after a scheme name are not credentials.
        for v in [
            "Token inválido ou expirado",
            "Token expired",
            "Basic plan",
            "Use a Bearer token to authenticate",
            "Basic authentication failed",
            "Bearer",
        ] {
            assert_eq!(text(v), v);
        }
    }

    #[test]
    fn json_held_as_text_loses_its_secrets_and_masks_its_personal_data() {
        let body = r#"{"ok":false,"token":"abc","user":{"senha": "x", "email":"ana@x.com","telefone":"19999990000"},"n":1}"#;
        assert_eq!(
            text(body),
            r#"{"ok":false,"token":"[redacted]","user":{"senha": "[redacted]", "email":"a***@x.com","telefone":"*******0000"},"n":1}"#
        );
        // Cut short by a size limit: still cleaned.
        assert_eq!(
            text(r#"{"api_key":"abc","nome":"Ana","cpf":"31845290704"#),
            r#"{"api_key":"[redacted]","nome":"Ana","cpf":"[redacted]""#
        );
        assert_eq!(text(r#"{"cpf":31845290704}"#), r#"{"cpf":"[redacted]"}"#);
    }

    #[test]
    fn cpfs_are_masked_keeping_the_last_two_digits() {
        assert_eq!(
            text("cliente 318.452.907-04 sem cadastro"),
            "cliente ***.***.***-04 sem cadastro"
        );
        // Bare 11 digits only under a key that says it is a document.
        let out = redact(&json!({
            "documento": "31845290704",
            "tax_id": "318 452 907 04",
            "doc": 31845290704_u64,
            "empresa": {"documento": "48.392.017/0001-68"},
            "pedido": "31845290704",
        }));
        assert_eq!(out["documento"], "***.***.***-04");
        assert_eq!(out["tax_id"], "***.***.***-04");
        assert_eq!(out["doc"], "***.***.***-04");
        assert_eq!(
            out["empresa"]["documento"], "48.392.017/0001-68",
            "a CNPJ is kept"
        );
        assert_eq!(out["pedido"], "31845290704");
    }

    #[test]
    fn emails_are_masked_keeping_the_first_character_and_the_domain() {
        assert_eq!(
            text("enviado para joao.silva@dominio.com.br e Maria <m@x.io>"),
            "enviado para j***@dominio.com.br e Maria <m***@x.io>"
        );
        // WhatsApp ids: a person's number is masked as a phone, a group is kept.
        assert_eq!(text("5519999990000@c.us"), "*********0000@c.us");
        assert_eq!(text("120363025246125486@g.us"), "120363025246125486@g.us");
        // Under an e-mail key even an address without a domain suffix is masked.
        let out = redact(
            &json!({"email": "joao@intranet", "e_mail": ["ana@x.com", "b@y.com"], "contactEmail": "—"}),
        );
        assert_eq!(out["email"], "j***@intranet");
        assert_eq!(out["e_mail"], json!(["a***@x.com", "b***@y.com"]));
        assert_eq!(out["contactEmail"], "—");
    }

    #[test]
    fn phones_are_masked_keeping_the_last_four_digits() {
        for (input, masked) in [
            ("+55 19 99999-0000", "*********0000"),
            ("+55 (19) 3333-4444", "********4444"),
            ("+5519999990000", "*********0000"),
            ("(19) 99999-0000", "*******0000"),
            ("19 99999-0000", "*******0000"),
            ("19 3333-4444", "******4444"),
            ("5519999990000", "*********0000"),
            ("+1 415 555 2671", "*******2671"),
            ("+14155552671", "*******2671"),
        ] {
            assert_eq!(text(input), masked, "{input}");
            assert_eq!(
                text(&format!("ligar para {input}, depois")),
                format!("ligar para {masked}, depois"),
                "{input}"
            );
        }
        assert_eq!(
            text("https://wa.me/5519999990000?text=oi"),
            "https://wa.me/*********0000?text=oi"
        );
    }

    #[test]
    fn phone_keys_mask_any_long_run_of_digits() {
        let out = redact(&json!({
            "telefone": "19999990000",
            "phones": ["(19) 3333-4444 / 19 98888-7777", "ramal 12"],
            "celular": 5519999990000_u64,
            "whatsapp": "",
            "number": "5519999990000",
            "contact": {"number": "120363025246125486"},
            "mobilePhone": "+55 19 99999 0000",
        }));
        assert_eq!(out["telefone"], "*******0000");
        assert_eq!(
            out["phones"],
            json!(["******4444 / *******7777", "ramal 12"])
        );
        assert_eq!(out["celular"], "*********0000");
        assert_eq!(out["whatsapp"], "");
        assert_eq!(out["number"], "*********0000");
        assert_eq!(out["contact"]["number"], "**************5486");
        assert_eq!(out["mobilePhone"], "*********0000");
    }

    #[test]
    fn ordinary_values_are_kept() {
        let input = json!({
            "id": 12345,
            "status": "success",
            "compass": "norte",
            "passo": 3,
            "valor": "1234.56",
            "preco": 1234.56,
            "quantia": "1.234.567,89",
            "total": 123456789,
            "timestamp": 1718000000000_u64,
            "data": "2024-05-17",
            "criado_em": "2024-05-17T10:20:30.123456Z",
            "periodo": "2024-01-15 10:00:00",
            "uuid": "550e8400-e29b-41d4-a716-446655440000",
            "razao_social": "Padaria Pão Quente Ltda",
            "cep": "13010-000",
            "ip": "192.168.100.200",
            "latitude": "-22.912345678",
            "base_url": "https://api.acessorias.com/companies?Pagina=2",
            "requests": ["GET Financeiro/Pesquisar?dataInicio&dataTermino&paginacao.itensPorPagina=100&pesquisa="],
            "empresas_com_whatsapp_preenchido": 12,
            "whatsappId": 1,
            "contatos": {"number": "1234"},
            "erro": "Erro: limite excedido (HTTP 429)",
            "cnpj_formatado_no_texto": "empresa 48.392.017/0001-68",
            "token_type": "Bearer",
            "expires_in": 3600,
            "nfe": "35240548392017000168550010000012341000012345",
            "note": "a=b; x=1",
        });
        assert_eq!(redact(&input), input);
    }

    #[test]
    fn error_texts_lose_secrets_and_personal_data() {
        let t = redact_text(
            "HTTP 400: token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl inválido para joao@empresa.com.br (CPF 123.456.789-09)",
        );
        assert!(!t.contains("eyJhbGciOiJIUzI1NiJ9"), "{t}");
        assert!(!t.contains("joao@"), "{t}");
        assert!(!t.contains("123.456.789"), "{t}");
        assert!(t.starts_with("HTTP 400: token"), "{t}");
    }

    #[test]
    fn redacting_twice_changes_nothing_more() {
        let input = json!({
            "u": "https://u:p@h.com/?token=x&email=a%40b.com",
            "m": "ligar 5519999990000 ou (19) 3333-4444, joao@x.com, 318.452.907-04, Bearer abcdef123",
            "email": "ana@x.com",
            "telefone": "19999990000",
            "documento": "31845290704",
            "b": r#"{"password":"x"}"#,
            "w": "5519999990000@c.us",
        });
        let once = redact(&input);
        assert_ne!(once, input);
        assert_eq!(redact(&once), once);
    }

    #[test]
    fn oversized_payloads_are_replaced_by_a_summary() {
        let big = json!({"data": "x".repeat(MAX_BYTES + 10)});
        let out = sanitise(&big);
        assert_eq!(out["truncated"], true);
        assert!(out["original_bytes"].as_u64().unwrap() > MAX_BYTES as u64);
        let small = json!({"ok": true});
        assert_eq!(sanitise(&small), small);
    }
}
