//! The timeline of one attempt (issue "The engine under pressure", item 11): what the run
//! did, as the drawer shows it. Recorded by the engine while the provider works
//! (`backend::providers::timeline`), stored with the attempt (`integration_logs.events`),
//! bounded, and merged as it goes (a thousand pages in a row are one entry).

use serde::{Deserialize, Serialize};

/// At most this many entries per attempt (then one [`RunEvent::Omitted`] says how many
/// more there were).
pub const MAX_EVENTS: usize = 100;

/// One entry. `at_ms`: milliseconds from the attempt's start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub enum RunEvent {
    /// Pages `first..=last` fetched in a row, in `ms` in all, of which `waited_ms` waiting
    /// for the integration's request budget (the rate limiter).
    Pages {
        at_ms: u64,
        first: u32,
        last: u32,
        ms: u64,
        waited_ms: u64,
    },
    /// A call failed and is tried again after `pause_ms` (`reason`: pt-BR, redacted).
    Retry {
        at_ms: u64,
        reason: String,
        pause_ms: u64,
    },
    /// Records written, in `batches` writes (merged until the next retry).
    Rows { at_ms: u64, n: u64, batches: u32 },
    /// The checkpoint of `stream` moved (`times` in a row).
    Checkpoint {
        at_ms: u64,
        stream: String,
        times: u32,
    },
    /// Entries left out beyond [`MAX_EVENTS`].
    Omitted { n: u32 },
}

/// "1,2 s", "350 ms", "2 min 05 s".
pub fn elapsed_pt(ms: u64) -> String {
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        let tenths = (ms + 50) / 100;
        format!("{},{} s", tenths / 10, tenths % 10)
    } else {
        let s = (ms + 500) / 1_000;
        format!("{} min {:02} s", s / 60, s % 60)
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

impl RunEvent {
    /// When it happened, from the attempt's start (none for [`RunEvent::Omitted`]).
    pub fn at_ms(&self) -> Option<u64> {
        match self {
            Self::Pages { at_ms, .. }
            | Self::Retry { at_ms, .. }
            | Self::Rows { at_ms, .. }
            | Self::Checkpoint { at_ms, .. } => Some(*at_ms),
            Self::Omitted { .. } => None,
        }
    }

    /// What it says, in pt-BR.
    pub fn describe_pt(&self) -> String {
        match self {
            Self::Pages {
                first,
                last,
                ms,
                waited_ms,
                ..
            } => {
                let what = if first == last {
                    format!("Página {first} buscada")
                } else {
                    format!("Páginas {first}–{last} buscadas")
                };
                if *waited_ms > 0 {
                    format!(
                        "{what} em {} ({} aguardando o limite de requisições)",
                        elapsed_pt(*ms),
                        elapsed_pt(*waited_ms)
                    )
                } else {
                    format!("{what} em {}", elapsed_pt(*ms))
                }
            }
            Self::Retry {
                reason, pause_ms, ..
            } => format!(
                "Falha: {reason}; nova tentativa em {}",
                elapsed_pt(*pause_ms)
            ),
            Self::Rows { n, batches, .. } => {
                let rows = if *n == 1 {
                    "1 registro gravado".to_owned()
                } else {
                    format!("{} registros gravados", thousands(*n))
                };
                if *batches > 1 {
                    format!("{rows} em {batches} lotes")
                } else {
                    rows
                }
            }
            Self::Checkpoint { stream, times, .. } if *times > 1 => {
                format!(
                    "Ponto de retomada {} salvo {times} vezes",
                    stream_pt(stream)
                )
            }
            Self::Checkpoint { stream, .. } => {
                format!("Ponto de retomada {} salvo", stream_pt(stream))
            }
            Self::Omitted { n } => format!("… mais {n} eventos não registrados"),
        }
    }
}

/// What a connector's stream reads, as a user says it ("das empresas"); a stream this
/// build does not know keeps its name.
fn stream_pt(stream: &str) -> String {
    match stream {
        "companies" => "das empresas".into(),
        "deliveries" => "das entregas".into(),
        "clients" => "dos clientes".into(),
        "entries" => "dos lançamentos".into(),
        "contacts" => "dos contatos".into(),
        other => format!("de “{other}”"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_read_in_portuguese() {
        let pages = RunEvent::Pages {
            at_ms: 0,
            first: 1,
            last: 250,
            ms: 12_340,
            waited_ms: 8_100,
        };
        assert_eq!(
            pages.describe_pt(),
            "Páginas 1–250 buscadas em 12,3 s (8,1 s aguardando o limite de requisições)"
        );
        assert_eq!(
            RunEvent::Rows {
                at_ms: 5,
                n: 100_000,
                batches: 5_000
            }
            .describe_pt(),
            "100.000 registros gravados em 5000 lotes"
        );
        assert_eq!(
            RunEvent::Retry {
                at_ms: 1,
                reason: "HTTP 503".into(),
                pause_ms: 400
            }
            .describe_pt(),
            "Falha: HTTP 503; nova tentativa em 400 ms"
        );
        assert_eq!(
            RunEvent::Checkpoint {
                at_ms: 9,
                stream: "companies".into(),
                times: 4
            }
            .describe_pt(),
            "Ponto de retomada das empresas salvo 4 vezes"
        );
        assert_eq!(
            RunEvent::Checkpoint {
                at_ms: 9,
                stream: "novo".into(),
                times: 1
            }
            .describe_pt(),
            "Ponto de retomada de “novo” salvo"
        );
        assert_eq!(elapsed_pt(125_000), "2 min 05 s");
        // Stored compactly, tagged.
        let json = serde_json::to_string(&RunEvent::Omitted { n: 3 }).expect("json");
        assert_eq!(json, r#"{"k":"omitted","n":3}"#);
    }
}
