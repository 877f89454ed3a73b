//! The summary of a bench run: every system figure with the ceiling it is compared to, the ratio,
//! the target and whether it was met, printed as a Markdown table (ready for BENCHMARKS.md).

use std::time::Duration;

/// One line of the summary.
pub struct Row {
    figure: String,
    measured: String,
    ceiling: String,
    ratio: Option<f64>,
    target: String,
    met: Option<bool>,
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

impl Row {
    /// A throughput compared with a ceiling; met when `rate / ceiling >= min_ratio`.
    pub fn rate(figure: &str, rate: f64, ceiling_name: &str, ceiling: f64, min_ratio: f64) -> Self {
        let ratio = rate / ceiling;
        Self {
            figure: figure.into(),
            measured: format!("{rate:.0} /s"),
            ceiling: format!("{ceiling_name} {ceiling:.0} /s"),
            ratio: Some(ratio),
            target: format!("≥ {min_ratio:.2}×"),
            met: Some(ratio >= min_ratio),
        }
    }

    /// A latency compared with a ceiling; met when `took / ceiling <= max_ratio`.
    pub fn latency(
        figure: &str,
        took: Duration,
        ceiling_name: &str,
        ceiling: Duration,
        max_ratio: Option<f64>,
    ) -> Self {
        let ratio = took.as_secs_f64() / ceiling.as_secs_f64();
        Self {
            figure: figure.into(),
            measured: ms(took),
            ceiling: format!("{ceiling_name} {}", ms(ceiling)),
            ratio: Some(ratio),
            target: max_ratio.map_or("—".into(), |m| format!("≤ {m}×")),
            met: max_ratio.map(|m| ratio <= m),
        }
    }

    /// A figure with an absolute target (or none), no ceiling.
    pub fn absolute(figure: &str, measured: String, target: &str, met: Option<bool>) -> Self {
        Self {
            figure: figure.into(),
            measured,
            ceiling: "—".into(),
            ratio: None,
            target: target.into(),
            met,
        }
    }
}

/// Prints the rows as a Markdown table.
pub fn print(rows: &[Row]) {
    println!("\nsummary: figures against the ceilings measured in this run\n");
    println!("| figure | measured | ceiling | ratio | target | met |");
    println!("|---|---:|---:|---:|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            r.figure,
            r.measured,
            r.ceiling,
            r.ratio.map_or("—".into(), |x| format!("{x:.2}×")),
            r.target,
            match r.met {
                Some(true) => "met",
                Some(false) => "**missed**",
                None => "—",
            }
        );
    }
}
