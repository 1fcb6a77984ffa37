//! The budget harness: a `harness = false` test target whose `main` is
//!
//! ```ignore
//! fn main() -> std::process::ExitCode {
//!     fba::harness::main()
//! }
//! ```
//!
//! runs every `#[memory_budget]` test of its binary with libtest-mimic, so it
//! keeps the whole `cargo test` command line (filters, `--exact`, `--skip`,
//! `--list`, `--ignored`, `--test-threads`, `--format json`) and the nextest
//! contract (`--list --format terse`, `<name> --exact --nocapture`), and
//! after the run prints one table of every budget: declared, minimum,
//! headroom, trials and verdict. The table goes to stdout after the summary,
//! or to stderr with `--format json`, so that the JSON stream stays valid.

use std::process::ExitCode;

use libtest_mimic::{Arguments, Failed, FormatSetting, Trial};

use crate::budget_test;
use crate::message;
use crate::output;
use crate::report::{self, Row};

/// Runs the budget tests registered in this binary and prints the table.
pub fn main() -> ExitCode {
    let args = Arguments::from_args();
    output::harness_starts(matches!(args.format, Some(FormatSetting::Json)));
    let trials = budget_test::registered()
        .map(|registered| {
            let run = registered.run;
            let name = registered.test.name();
            Trial::test(name.clone(), move || {
                output::running_test(&name, run).map_err(Failed::from)
            })
            .with_ignored_flag(registered.ignored)
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    if !args.list {
        let rows = report::rows();
        output::print(&table(&rows));
        output::print(&passing_sites(&rows));
    }
    conclusion.exit_code()
}

/// The table of `rows` (sorted by test path), or nothing without rows.
pub(crate) fn table(rows: &[Row]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let header = [
        "test",
        "declared",
        "minimum",
        "headroom",
        "allocations",
        "trials",
        "one-time",
        "verdict",
    ]
    .map(String::from);
    let columns = header.len();
    let mut lines = vec![header];
    for row in rows {
        let verdict = match (row.verdict, row.needed, row.updated_to) {
            ("over budget", Some(needed), _) => format!("needs {needed}"),
            ("over budget", None, _) => {
                format!("needs more than {}", row.high_water_mark.max(row.declared))
            }
            ("updated", _, Some(value)) => format!("updated to {value}"),
            ("updated", _, None) => {
                match row.allocations.as_ref().and_then(|count| count.updated_to) {
                    Some(value) => format!("updated to {value} allocations"),
                    None => "updated".to_owned(),
                }
            }
            (verdict, _, _) => verdict.to_owned(),
        };
        // Global mode's one-time state: beside the minimum after a warm-up,
        // in it when measured cold.
        let one_time = match (&row.one_time, row.measured) {
            (None, _) => "-".to_owned(),
            (Some(blocks), "first run") => format!("in: {}", blocks.bytes),
            (Some(blocks), _) => blocks.bytes.to_string(),
        };
        // The allocations it makes, over its count budget if it has one.
        let allocations = match &row.allocations {
            None => "-".to_owned(),
            Some(count) => match count.budget {
                Some(budget) => format!("{}/{budget}", count.count),
                None => count.count.to_string(),
            },
        };
        lines.push([
            row.test.clone(),
            row.declared.to_string(),
            row.minimum
                .map_or_else(|| "-".to_owned(), |minimum| minimum.to_string()),
            row.headroom()
                .map_or_else(|| "-".to_owned(), |headroom| format!("{headroom:.1}%")),
            allocations,
            row.trials.to_string(),
            one_time,
            verdict,
        ]);
    }
    let widths: Vec<usize> = (0..columns)
        .map(|column| {
            lines
                .iter()
                .map(|line| line[column].len())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut text = format!(
        "\nmemory budgets ({}, {}-bit):\n",
        crate::Target::this().triple,
        usize::BITS
    );
    for line in &lines {
        let cells: Vec<String> = line
            .iter()
            .enumerate()
            .map(|(column, cell)| {
                if column == 0 || column == columns - 1 {
                    format!("{cell:<width$}", width = widths[column])
                } else {
                    format!("{cell:>width$}", width = widths[column])
                }
            })
            .collect();
        text.push_str(cells.join("  ").trim_end());
        text.push('\n');
    }
    text
}

/// The allocation sites of the passing tests that have them (`FBA_SITES`
/// set: a failing test's message has its own).
fn passing_sites(rows: &[Row]) -> String {
    let shown = crate::settings::Sites::shown_from_env();
    let mut text = String::new();
    for row in rows.iter().filter(|row| row.verdict == "passed") {
        if let Some(sites) = &row.sites {
            text += &format!(
                "\n{}:{}\n",
                row.test,
                message::where_the_bytes_go(&row.at_high_water, sites, shown)
            );
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measurement::{Blocks, MeasuredState, Measurement, Verdict};

    fn row(test: &str, verdict: Verdict, minimum: Option<usize>, needed: Option<usize>) -> Row {
        let mut measurement = Measurement::new(4096, true, 1 << 30);
        measurement.verdict = verdict;
        measurement.minimum = minimum;
        measurement.needed = needed;
        measurement.trials = 3;
        Row::new(test.to_owned(), "src/lib.rs", 1, &measurement)
    }

    #[test]
    fn the_table_has_one_row_per_test_with_headroom_and_needs() {
        let rows = [
            row("tests::a", Verdict::Passed, Some(3104), None),
            row("tests::b", Verdict::OverBudget, None, Some(5120)),
        ];
        assert_eq!(
            table(&rows),
            format!(
                "\nmemory budgets ({}, {}-bit):\n\
             test      declared  minimum  headroom  allocations  trials  one-time  verdict\n\
             tests::a      4096     3104     24.2%            -       3         -  passed\n\
             tests::b      4096        -         -            -       3         -  needs 5120\n",
                crate::Target::this().triple,
                usize::BITS
            )
        );
        assert_eq!(table(&[]), "");
    }

    #[test]
    fn the_table_shows_one_time_state_beside_a_warm_minimum_and_in_a_cold_one() {
        let mut warm = Measurement::new(4096, true, 1 << 30);
        warm.minimum = Some(100);
        warm.trials = 3;
        warm.state = MeasuredState::SteadyState;
        warm.one_time = Some(Blocks::new(1, 256, Vec::new()));
        let mut cold = warm.clone();
        // The cold minimum is the warm one plus the one-time state.
        cold.minimum = Some(100 + 256);
        cold.trials = 5;
        cold.state = MeasuredState::FirstRun;
        let rows = [
            Row::new("t::cold".to_owned(), "src/lib.rs", 1, &cold),
            Row::new("t::warm".to_owned(), "src/lib.rs", 2, &warm),
        ];
        let table = table(&rows);
        let cells: Vec<Vec<&str>> = table
            .lines()
            .skip(3)
            .map(|line| {
                line.split("  ")
                    .map(str::trim)
                    .filter(|cell| !cell.is_empty())
                    .collect()
            })
            .collect();
        assert_eq!(
            cells,
            [
                [
                    "t::cold", "4096", "356", "91.3%", "-", "5", "in: 256", "passed"
                ],
                ["t::warm", "4096", "100", "97.6%", "-", "3", "256", "passed"],
            ],
            "{table}"
        );
    }
}
