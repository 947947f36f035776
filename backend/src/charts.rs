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
    // Both axes get integer ticks (counts are whole; charts-rs writes decimals with a
    // point, which pt-BR does not use): the same number of steps, each a whole number. The
    // time is in whole seconds from 1 s up (charts-rs would write 1500 ms as "1.5k"), else in
    // milliseconds.
    let totals = column(&|d| (d.success + d.partial + d.error) as f32);
    let max_runs = totals.iter().copied().fold(0.0_f32, f32::max);
    let max_avg_ms = per_day
        .iter()
        .filter_map(|d| d.avg_ms)
        .fold(0.0_f64, f64::max);
    let (unit_label, divisor) = if max_avg_ms >= 1_000.0 {
        ("Tempo médio (s)", 1000.0)
    } else {
        ("Tempo médio (ms)", 1.0)
    };
    let steps = integer_steps(max_runs);
    let mut avg = series(
        unit_label,
        column(&|d| d.avg_ms.map_or(0.0, |ms| (ms / divisor).round() as f32)),
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
    chart.base.width = WIDTH;
    chart.base.height = HEIGHT;
    let mut runs_axis = chart.y_axis_configs[0].clone();
    runs_axis.min = Some(0.0);
    runs_axis.max = Some(axis_max(max_runs, steps));
    runs_axis.split_number = steps;
    let mut time_axis = runs_axis.clone();
    time_axis.max = Some(axis_max((max_avg_ms / divisor).ceil() as f32, steps));
    chart.y_axis_configs = vec![runs_axis, time_axis];
    chart.svg().ok().map(|svg| scalable(&svg))
}

/// The size the chart is drawn at; the page scales it to its width.
const WIDTH: f32 = 720.0;
const HEIGHT: f32 = 300.0;

/// The SVG with a `viewBox` on its root, so that a page narrower than the chart (a phone)
/// scales it down instead of cutting it (charts-rs writes only `width` and `height`).
fn scalable(svg: &str) -> String {
    let root_end = svg.find('>').unwrap_or(0);
    if svg[..root_end].contains("viewBox") || !svg.starts_with("<svg") {
        return svg.to_owned();
    }
    format!(
        "<svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" preserveAspectRatio=\"xMinYMin meet\"{}",
        &svg["<svg".len()..]
    )
}

/// How many steps an axis from 0 to `max` gets: one per unit up to 5, else 5.
fn integer_steps(max: f32) -> usize {
    (max.ceil() as usize).clamp(1, 5)
}

/// The top of an axis from 0 with `steps` whole steps that reaches `max`.
fn axis_max(max: f32, steps: usize) -> f32 {
    let steps = steps.max(1) as f32;
    let step = (max.max(1.0) / steps).ceil();
    step * steps
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
        let root = &svg[..svg.find('>').expect("root tag")];
        assert_eq!(root.matches("viewBox=\"0 0 720 300\"").count(), 1, "{root}");
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

    #[test]
    fn axes_have_whole_steps() {
        assert_eq!((integer_steps(1.0), axis_max(1.0, 1)), (1, 1.0));
        assert_eq!((integer_steps(3.0), axis_max(3.0, 3)), (3, 3.0));
        assert_eq!((integer_steps(12.0), axis_max(12.0, 5)), (5, 15.0));
        assert_eq!(axis_max(0.0, 1), 1.0);
        let today = NaiveDate::from_ymd_opt(2026, 11, 29).expect("date");
        let per_day = vec![Day {
            day: today,
            success: 1,
            partial: 0,
            error: 0,
            avg_ms: Some(1234.0),
        }];
        let svg = runs_per_day_svg(&per_day, 30, today).expect("svg");
        assert!(svg.contains("Tempo médio (s)"));
        for fraction in [">0.2<", ">0.4<", ">1.2<", "k<"] {
            assert!(!svg.contains(fraction), "fractional tick {fraction}");
        }
    }
}
