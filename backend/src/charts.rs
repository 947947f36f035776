//! The 30-day chart of a tenant integration, drawn on the server as SVG (charts-rs): runs
//! per day stacked by status (green success, yellow partial, red error) and the average
//! time as a line on a second axis. Days without runs are drawn as zero.

use charts_rs::{BarChart, Series, SeriesCategory};
use chrono::{Duration, NaiveDate};

use crate::metrics::Day;

/// The series' colors, the status badges' (style/main.css) in a chart's strength.
const PALETTE: [&str; 4] = ["#2e9d55", "#d9a400", "#c62828", "#0b5cab"];
const GREEN: usize = 0;
const YELLOW: usize = 1;
const RED: usize = 2;
const BLUE: usize = 3;

/// The SVG of the last `days` days up to `today` (UTC), or `None` when charts-rs fails.
pub fn runs_per_day_svg(per_day: &[Day], days: i64, today: NaiveDate) -> Option<String> {
    let dates: Vec<NaiveDate> = (0..days)
        .rev()
        .map(|back| today - Duration::days(back))
        .collect();
    let find = |d: &NaiveDate| per_day.iter().find(|x| x.day == *d);
    let column = |f: &dyn Fn(&Day) -> f32| -> Vec<f32> {
        dates.iter().map(|d| find(d).map_or(0.0, f)).collect()
    };
    let series = |name: &str, data: Vec<f32>, index: usize| {
        let mut s: Series = (name, data).into();
        s.index = Some(index);
        s
    };
    let mut success = series("Sucesso", column(&|d| d.success as f32), GREEN);
    let mut partial = series("Parcial", column(&|d| d.partial as f32), YELLOW);
    let mut error = series("Erro", column(&|d| d.error as f32), RED);
    for s in [&mut success, &mut partial, &mut error] {
        s.stack = Some("execucoes".into());
    }
    let mut avg = series(
        "Tempo médio (s)",
        column(&|d| d.avg_ms.map_or(0.0, |ms| (ms / 1000.0) as f32)),
        BLUE,
    );
    avg.category = Some(SeriesCategory::Line);
    avg.y_axis_index = 1;
    let labels = dates
        .iter()
        .map(|d| d.format("%d/%m").to_string())
        .collect();
    let mut chart = BarChart::new(vec![success, partial, error, avg], labels);
    chart.base.series.colors = PALETTE.iter().map(|c| (*c).into()).collect();
    chart.base.width = 720.0;
    chart.base.height = 300.0;
    chart.svg().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_every_day_of_the_window_with_a_legend_in_portuguese() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 29).expect("date");
        let per_day = vec![Day {
            day: today - Duration::days(2),
            success: 3,
            partial: 1,
            error: 2,
            avg_ms: Some(1500.0),
        }];
        let svg = runs_per_day_svg(&per_day, 30, today).expect("svg");
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        for label in [
            "Sucesso",
            "Parcial",
            "Erro",
            "Tempo médio (s)",
            "31/10",
            "29/11",
        ] {
            assert!(svg.contains(label), "missing {label}");
        }
    }
}
