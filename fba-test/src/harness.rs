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
use std::sync::atomic::{AtomicBool, Ordering};

use libtest_mimic::{Arguments, Failed, FormatSetting, Trial};

use crate::macro_support::RegisteredTest;
use crate::report::{self, Row};

/// Whether this process runs the budget harness: its table replaces the
/// pass lines (which libtest-mimic, capturing nothing, would interleave).
static RUNNING: AtomicBool = AtomicBool::new(false);
/// Whether the harness writes JSON to stdout (`--format json`).
static JSON: AtomicBool = AtomicBool::new(false);

pub(crate) fn running() -> bool {
    RUNNING.load(Ordering::Relaxed)
}

/// Prints a line of the runtime's own (an update, an annotation): to stdout,
/// or to stderr where the harness's stdout is a JSON stream.
pub(crate) fn say(line: &str) {
    if JSON.load(Ordering::Relaxed) {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
}

/// Runs the budget tests registered in this binary and prints the table.
pub fn main() -> ExitCode {
    RUNNING.store(true, Ordering::Relaxed);
    let args = Arguments::from_args();
    let json = matches!(args.format, Some(FormatSetting::Json));
    JSON.store(json, Ordering::Relaxed);
    let trials = inventory::iter::<RegisteredTest>
        .into_iter()
        .map(|registered| {
            let run = registered.run;
            Trial::test(registered.test.name(), move || run().map_err(Failed::from))
                .with_ignored_flag(registered.ignored)
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    if !args.list {
        let table = table(&report::rows());
        if json {
            eprint!("{table}");
        } else {
            print!("{table}");
        }
    }
    conclusion.exit_code()
}

/// The table of `rows` (sorted by test path), or nothing without rows.
pub(crate) fn table(rows: &[Row]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let header = [
        "test", "declared", "minimum", "headroom", "trials", "verdict",
    ]
    .map(String::from);
    let mut lines = vec![header];
    for row in rows {
        let verdict = match (row.verdict, row.needed, row.updated_to) {
            ("over budget", Some(needed), _) => format!("needs {needed}"),
            ("over budget", None, _) => {
                format!("needs more than {}", row.high_water_mark.max(row.declared))
            }
            ("updated", _, Some(value)) => format!("updated to {value}"),
            (verdict, _, _) => verdict.to_owned(),
        };
        lines.push([
            row.test.clone(),
            row.declared.to_string(),
            row.minimum
                .map_or_else(|| "-".to_owned(), |minimum| minimum.to_string()),
            row.headroom()
                .map_or_else(|| "-".to_owned(), |headroom| format!("{headroom:.1}%")),
            row.trials.to_string(),
            verdict,
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|column| {
            lines
                .iter()
                .map(|line| line[column].len())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut text = String::from("\nmemory budgets:\n");
    for line in &lines {
        let cells: Vec<String> = line
            .iter()
            .enumerate()
            .map(|(column, cell)| match column {
                0 | 5 => format!("{cell:<width$}", width = widths[column]),
                _ => format!("{cell:>width$}", width = widths[column]),
            })
            .collect();
        text.push_str(cells.join("  ").trim_end());
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measurement::{Measurement, Verdict};

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
            "\nmemory budgets:\n\
             test      declared  minimum  headroom  trials  verdict\n\
             tests::a      4096     3104     24.2%       3  passed\n\
             tests::b      4096        -         -       3  needs 5120\n"
        );
        assert_eq!(table(&[]), "");
    }
}
