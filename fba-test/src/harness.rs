//! The budget harness: a `harness = false` test target whose `main` is
//!
//! ```ignore
//! fn main() -> std::process::ExitCode {
//!     fba::harness::main()
//! }
//! ```
//!
//! runs every `#[memory_budget]` test of its binary with libtest-mimic, so it
//! keeps the whole `cargo test` command line (one filter or several,
//! `--exact`, `--skip`, `--list`, `--ignored`, `--test-threads` or
//! `RUST_TEST_THREADS`, `--no-capture`, `--format json`) and the nextest
//! contract (`--list --format terse`, `<name> --exact --nocapture`), and
//! after the run prints one table of every budget: declared, minimum,
//! headroom, trials and verdict. The table goes to stdout after the summary,
//! or to stderr with `--format json`, so that the JSON stream stays valid.

use std::ffi::OsString;
use std::process::ExitCode;

use libtest_mimic::{Arguments, Failed, FormatSetting, Trial};
use serde::Deserialize;

use crate::budget_test;
use crate::message;
use crate::output;
use crate::report::{self, Row};
use crate::summary::{self, ReportRow};

/// Runs the budget tests registered in this binary and prints the table.
pub fn main() -> ExitCode {
    let command_line = std::env::args_os().collect();
    let (args, filters) = match arguments(command_line, std::env::var_os("RUST_TEST_THREADS")) {
        Ok(parsed) => parsed,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(101);
        }
    };
    output::harness_starts(matches!(args.format, Some(FormatSetting::Json)));
    let trials: Vec<Trial> = budget_test::registered()
        .map(|registered| {
            let run = registered.run;
            let name = registered.test.name();
            Trial::test(name.clone(), move || {
                output::running_test(&name, || run.call()).map_err(Failed::from)
            })
            .with_ignored_flag(registered.ignored)
        })
        .collect();
    let args = match filters {
        Some(filters) => any_of(args, &filters, &trials),
        None => args,
    };
    let conclusion = libtest_mimic::run(&args, trials);
    if !args.list {
        let rows = report::rows();
        output::print(&table(&rows));
        output::print(&passing_sites(&rows));
        if let Err(error) = job_summary(&rows) {
            output::print(&format!("\n{error}\n"));
        }
    }
    conclusion.exit_code()
}

/// The command line, parsed as libtest-mimic does, and the filters when
/// there are several: libtest runs the tests that match any of its filters
/// (`cargo test -- parse format`), libtest-mimic takes one. libtest's
/// `--no-capture` (since Rust 1.88) is libtest-mimic's `--nocapture`, and
/// `RUST_TEST_THREADS` (`rust_test_threads`) stands for `--test-threads`
/// when that is not given and tests are run, not listed.
fn arguments(
    command_line: Vec<OsString>,
    rust_test_threads: Option<OsString>,
) -> Result<(Arguments, Option<Vec<String>>), String> {
    let (filters, options) = positional(&command_line);
    let mut args = Arguments::from_iter(options);
    let mut filters: Vec<String> = filters
        .iter()
        .map(|filter| filter.to_string_lossy().into_owned())
        .collect();
    if filters.len() == 1 {
        args.filter = filters.pop();
    }
    // libtest reads it only to run tests: a listing never fails on it.
    if args.test_threads.is_none() && !args.list {
        args.test_threads = test_threads(rust_test_threads)?;
    }
    Ok((args, (!filters.is_empty()).then_some(filters)))
}

/// The threads `RUST_TEST_THREADS` asks for, which libtest honours when
/// `--test-threads` is not given (libtest-mimic does not read it).
fn test_threads(value: Option<OsString>) -> Result<Option<usize>, String> {
    let Some(value) = value else {
        return Ok(None);
    };
    match value.to_str().and_then(|text| text.parse::<usize>().ok()) {
        Some(threads) if threads > 0 => Ok(Some(threads)),
        _ => Err(format!(
            "RUST_TEST_THREADS is `{}`, which is not a number of threads: give a whole number of at least 1, \
             or unset it",
            value.to_string_lossy()
        )),
    }
}

/// The positional arguments of a libtest command line (the filters), and
/// the command line without them, for libtest-mimic: its options that take
/// a value (`--skip X`, `--format X`, `-Z X`, ...) keep it, libtest's
/// `--no-capture` becomes its `--nocapture`, and after `--` every argument
/// is positional.
fn positional(command_line: &[OsString]) -> (Vec<OsString>, Vec<OsString>) {
    const TAKE_A_VALUE: [&str; 5] = [
        "--test-threads",
        "--logfile",
        "--skip",
        "--color",
        "--format",
    ];
    let (mut filters, mut rest) = (Vec::new(), Vec::new());
    let mut arguments = command_line.iter();
    rest.extend(arguments.next().cloned());
    let mut value_next = false;
    let mut options_end = false;
    for argument in arguments {
        let text = argument.to_string_lossy();
        if value_next {
            value_next = false;
            rest.push(argument.clone());
        } else if options_end || !text.starts_with('-') || text == "-" {
            filters.push(argument.clone());
        } else {
            if text == "--" {
                options_end = true;
            } else if text == "--no-capture" {
                rest.push(OsString::from("--nocapture"));
                continue;
            } else if let Some(long) = text.strip_prefix("--") {
                value_next = !long.contains('=') && TAKE_A_VALUE.contains(&text.as_ref());
            } else {
                // Short flags, which may be grouped (`-qZ x`): `-Z`'s value
                // is the rest of the argument or, when `Z` ends it, the next.
                value_next = text.ends_with('Z');
            }
            rest.push(argument.clone());
        }
    }
    (filters, rest)
}

/// `args` made to run the trials that match any of `filters` as libtest
/// does: each test the filters leave out is skipped by its exact name, so
/// libtest-mimic lists, runs and counts as filtered out exactly those.
fn any_of(args: Arguments, filters: &[String], trials: &[Trial]) -> Arguments {
    let each: Vec<Arguments> = filters
        .iter()
        .map(|filter| Arguments {
            filter: Some(filter.clone()),
            ..args.clone()
        })
        .collect();
    let skip = trials
        .iter()
        .filter(|trial| each.iter().all(|one| one.is_filtered_out(trial)))
        .map(|trial| trial.name().to_owned())
        .collect();
    Arguments {
        filter: None,
        exact: true,
        skip,
        ..args
    }
}

/// The table of `rows` (sorted by test path), or nothing without rows.
pub(crate) fn table(rows: &[Row]) -> String {
    summary::table(&read_back(rows), crate::Target::this().triple, usize::BITS)
}

/// `rows` as a reader of the report sees them.
fn read_back(rows: &[Row]) -> Vec<ReportRow> {
    rows.iter()
        .map(|row| {
            serde_json::to_value(row)
                .and_then(ReportRow::deserialize)
                .expect("a report row reads back as the report's rows do")
        })
        .collect()
}

/// Under GitHub Actions, appends this binary's budget table to the job
/// summary (`$GITHUB_STEP_SUMMARY`), as one markdown section written with
/// one `write` under the file's lock, so binaries running in parallel each
/// add a whole section. Under nextest a process runs one test, so there
/// `cargo fba report --format markdown` writes the summary instead.
fn job_summary(rows: &[Row]) -> Result<(), String> {
    let github = std::env::var("GITHUB_ACTIONS").is_ok_and(|value| value == "true");
    let under_nextest =
        std::env::var_os("NEXTEST").is_some() || std::env::var_os("NEXTEST_RUN_ID").is_some();
    let path = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|path| !path.is_empty());
    let (true, false, Some(path), false) = (github, under_nextest, path, rows.is_empty()) else {
        return Ok(());
    };
    let binary = std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
        })
        .map(|stem| binary_name(&stem).to_owned())
        .unwrap_or_else(|| "tests".to_owned());
    let section = format!(
        "### Memory budgets: `{binary}` ({}, {}-bit)\n\n{}\n",
        crate::Target::this().triple,
        usize::BITS,
        summary::markdown(&read_back(rows))
    );
    report::append_locked(
        std::path::Path::new(&path),
        section.as_bytes(),
        "the job summary GITHUB_STEP_SUMMARY",
    )
}

/// A test binary's name without the hash cargo adds (`it-0123abcd` is `it`).
fn binary_name(stem: &str) -> &str {
    match stem.rsplit_once('-') {
        Some((name, hash))
            if hash.len() == 16 && hash.bytes().all(|byte| byte.is_ascii_hexdigit()) =>
        {
            name
        }
        _ => stem,
    }
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

    fn command_line(arguments: &[&str]) -> Vec<OsString> {
        arguments.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_filters_are_the_positional_arguments_not_the_options_values() {
        let line = [
            "budgets",
            "parse",
            "--skip",
            "slow",
            "--skip=slower",
            "--color",
            "never",
            "--logfile",
            "log.txt",
            "-Zunstable-options",
            "--format=terse",
            "--test-threads",
            "2",
            "-qZ",
            "unstable-options",
            "format",
            "--exact",
            "--",
            "--odd-name",
        ];
        let filters = ["parse", "format", "--odd-name"];
        let options: Vec<&str> = line
            .into_iter()
            .filter(|argument| !filters.contains(argument))
            .collect();
        assert_eq!(
            positional(&command_line(&line)),
            (command_line(&filters), command_line(&options))
        );
    }

    #[test]
    fn no_capture_is_taken_in_both_spellings() {
        for spelling in ["--nocapture", "--no-capture"] {
            let (args, _) = arguments(command_line(&["budgets", spelling]), None).unwrap();
            assert!(args.nocapture, "{spelling}");
        }
        let (args, _) = arguments(command_line(&["budgets", "--", "--no-capture"]), None).unwrap();
        assert_eq!(
            args.filter.as_deref(),
            Some("--no-capture"),
            "a filter after `--`"
        );
    }

    #[test]
    fn rust_test_threads_gives_the_threads_and_a_bad_value_is_a_sentence() {
        assert_eq!(test_threads(None), Ok(None));
        let (args, _) = arguments(command_line(&["budgets"]), Some("3".into())).unwrap();
        assert_eq!(args.test_threads, Some(3));
        // `--test-threads` wins, and the variable is not read.
        let (args, _) = arguments(
            command_line(&["budgets", "--test-threads", "2"]),
            Some("bad".into()),
        )
        .unwrap();
        assert_eq!(args.test_threads, Some(2));
        // A listing does not read it (nextest lists with `--list`).
        let (args, _) =
            arguments(command_line(&["budgets", "--list"]), Some("bad".into())).unwrap();
        assert_eq!(args.test_threads, None);
        assert_eq!(test_threads(Some("1".into())), Ok(Some(1)));
        assert_eq!(test_threads(Some("8".into())), Ok(Some(8)));
        for bad in ["0", "two", "-1", ""] {
            assert_eq!(
                test_threads(Some(bad.into())),
                Err(format!(
                    "RUST_TEST_THREADS is `{bad}`, which is not a number of threads: give a whole number of at \
                     least 1, or unset it"
                ))
            );
        }
    }

    #[test]
    fn one_filter_goes_to_libtest_mimic_as_it_is() {
        let (args, filters) =
            arguments(command_line(&["budgets", "parse", "--exact"]), None).unwrap();
        assert_eq!(filters, None);
        assert_eq!(args.filter.as_deref(), Some("parse"));
        assert!(args.exact);
    }

    #[test]
    fn several_filters_run_the_tests_that_match_any_of_them() {
        let trials = ["a::parse", "a::format", "b::parse_slowly", "b::other"]
            .map(|name| Trial::test(name, || Ok(())));
        let selected = |line: &[&str]| {
            let (args, filters) = arguments(command_line(line), None).unwrap();
            let args = any_of(args, &filters.expect("two filters or more"), &trials);
            trials
                .iter()
                .filter(|trial| !args.is_filtered_out(trial))
                .map(|trial| trial.name().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            selected(&["budgets", "parse", "format"]),
            ["a::parse", "a::format", "b::parse_slowly"]
        );
        // `--exact` and `--skip` keep their meaning for each filter.
        assert_eq!(
            selected(&["budgets", "a::parse", "b::other", "--exact"]),
            ["a::parse", "b::other"]
        );
        assert_eq!(
            selected(&["budgets", "parse", "other", "--skip", "slow"]),
            ["a::parse", "b::other"]
        );
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
    fn a_binary_is_named_without_the_hash_cargo_adds() {
        assert_eq!(binary_name("it-0123456789abcdef"), "it");
        assert_eq!(binary_name("budget-tests-0123456789abcdef"), "budget-tests");
        assert_eq!(binary_name("my-tests"), "my-tests");
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
