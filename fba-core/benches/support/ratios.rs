//! Prints the ratios of benchmarks that ran side by side: criterion measures
//! each function; this reads back the mean estimates it stored and divides.

use std::path::PathBuf;

/// A row of the ratio table: `subject` divided by `peer`, both in `group`.
#[derive(Debug)]
pub(crate) struct Ratio {
    /// The criterion group both benchmarks belong to.
    pub(crate) group: &'static str,
    /// The benchmark whose time is divided.
    pub(crate) subject: &'static str,
    /// The benchmark it is divided by.
    pub(crate) peer: &'static str,
}

fn criterion_directory() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(target) => PathBuf::from(target).join("criterion"),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/criterion"),
    }
}

/// The mean time of `group/function` in nanoseconds, if it ran.
fn mean_nanoseconds(group: &str, function: &str) -> Option<f64> {
    let path = criterion_directory()
        .join(group)
        .join(function)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let estimates: serde_json::Value = serde_json::from_str(&text).ok()?;
    estimates["mean"]["point_estimate"].as_f64()
}

/// Prints one line per ratio whose two benchmarks both have results.
pub(crate) fn print(title: &str, ratios: &[Ratio]) {
    println!("\n{title}");
    println!(
        "{:<32} {:<24} {:<20} {:>12} {:>12} {:>7}",
        "group", "subject", "peer", "subject", "peer", "ratio"
    );
    for ratio in ratios {
        let (Some(subject), Some(peer)) = (
            mean_nanoseconds(ratio.group, ratio.subject),
            mean_nanoseconds(ratio.group, ratio.peer),
        ) else {
            continue;
        };
        println!(
            "{:<32} {:<24} {:<20} {:>12} {:>12} {:>7.2}",
            ratio.group,
            ratio.subject,
            ratio.peer,
            format_time(subject),
            format_time(peer),
            subject / peer
        );
    }
}

fn format_time(nanoseconds: f64) -> String {
    if nanoseconds >= 1e6 {
        format!("{:.3} ms", nanoseconds / 1e6)
    } else if nanoseconds >= 1e3 {
        format!("{:.3} us", nanoseconds / 1e3)
    } else {
        format!("{nanoseconds:.1} ns")
    }
}
