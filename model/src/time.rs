//! Relative times in pt-BR ("há 5 minutos"), for last runs.

/// How long ago, in words, from a number of seconds in the past.
pub fn relative_time_pt(seconds_ago: i64) -> String {
    let s = seconds_ago.max(0);
    let (n, one, many) = match s {
        0..=44 => return "agora mesmo".to_owned(),
        45..=3_599 => ((s + 30) / 60, "minuto", "minutos"),
        3_600..=86_399 => ((s + 1_800) / 3_600, "hora", "horas"),
        86_400..=2_591_999 => ((s + 43_200) / 86_400, "dia", "dias"),
        2_592_000..=31_535_999 => ((s + 1_296_000) / 2_592_000, "mês", "meses"),
        _ => ((s + 15_768_000) / 31_536_000, "ano", "anos"),
    };
    let n = n.max(1);
    format!("há {n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::relative_time_pt;

    #[test]
    fn words_for_each_range() {
        assert_eq!(relative_time_pt(-3), "agora mesmo");
        assert_eq!(relative_time_pt(10), "agora mesmo");
        assert_eq!(relative_time_pt(60), "há 1 minuto");
        assert_eq!(relative_time_pt(5 * 60 + 10), "há 5 minutos");
        assert_eq!(relative_time_pt(3_600), "há 1 hora");
        assert_eq!(relative_time_pt(3 * 86_400), "há 3 dias");
        assert_eq!(relative_time_pt(65 * 86_400), "há 2 meses");
        assert_eq!(relative_time_pt(800 * 86_400), "há 2 anos");
    }
}
