//! `cargo fba`: memory budget tests for CI. Runs the tests with a fresh
//! report and prints one table for every binary (`cargo fba test`),
//! rewrites budgets and lists what changed (`cargo fba update`), merges the
//! reports of CI shards, compares them with a baseline and draws them
//! (`cargo fba report`).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::{Args, Parser, Subcommand, ValueEnum};

mod baseline;
mod html;
mod merge;
mod tables;

use merge::Merged;

/// Exit codes, besides 0 (success) and clap's 2 (a usage error).
mod exit {
    /// The tests failed (`cargo test` or `cargo nextest run` did).
    pub(crate) const TESTS_FAILED: u8 = 1;
    /// A report could not be read or written, or a page not written.
    pub(crate) const BAD_REPORT: u8 = 2;
    /// A minimum grew by more than `--fail-on-increase` allows.
    pub(crate) const INCREASE: u8 = 3;
}

const EXIT_CODES: &str = "Exit codes: 0 success; 1 the tests failed; 2 a usage error, or a report that could not be read or written; 3 a test's minimum grew by more than --fail-on-increase allows (checked after the tests passed).";

#[derive(Parser)]
#[command(name = "cargo", bin_name = "cargo", styles = clap::builder::Styles::plain())]
enum Cargo {
    Fba(Fba),
}

/// Memory budget tests for CI: one table for every test binary, reports of
/// CI shards merged, a baseline compared, an HTML page drawn.
#[derive(Args)]
#[command(version, after_help = EXIT_CODES)]
struct Fba {
    #[command(subcommand)]
    command: Action,
}

#[derive(Subcommand)]
enum Action {
    /// Runs the tests (`cargo test`, or `cargo nextest run` with
    /// --nextest) with a fresh report, then prints one table of every
    /// binary's budgets.
    #[command(after_help = EXIT_CODES)]
    Test(Run),
    /// `cargo fba test` with FBA_UPDATE=1: rewrites each budget literal to
    /// what was measured, then lists every literal it changed.
    #[command(after_help = EXIT_CODES)]
    Update(Run),
    /// Merges JSON Lines reports (CI shards, several binaries; of a test
    /// reported twice, the last row counts) and prints them.
    #[command(after_help = EXIT_CODES)]
    Report(Report),
}

#[derive(Args)]
struct Run {
    /// Runs the tests with `cargo nextest run` instead of `cargo test`.
    #[arg(long)]
    nextest: bool,
    /// Where to keep the run's report (replaced at the start).
    #[arg(long, value_name = "FILE", default_value = "target/fba/report.jsonl")]
    report: PathBuf,
    #[command(flatten)]
    output: Output,
    /// Arguments for `cargo test` or `cargo nextest run` (after `--` where
    /// one could be taken for an option of cargo fba).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    args: Vec<String>,
}

#[derive(Args)]
struct Report {
    /// The reports to merge, JSON Lines files written with FBA_REPORT.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    output: Output,
}

#[derive(Args)]
struct Output {
    /// How to print the merged rows.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// One row per test with a column per target, instead of a table per
    /// target.
    #[arg(long)]
    by_target: bool,
    /// Compare with an earlier run's reports: per test the bytes it needs
    /// before and after, new and removed tests, largest increase first.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    baseline: Vec<PathBuf>,
    /// With --baseline: exit with code 3 when a test's minimum grew by more
    /// than this many percent.
    #[arg(long, value_name = "PERCENT", requires = "baseline", value_parser = percent)]
    fail_on_increase: Option<f64>,
    /// Also write a self-contained HTML page of the rows: the table, a bar
    /// per test, and the fill-over-time chart of each profiled test
    /// (FBA_PROFILE=1).
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// The harness's table, one per target.
    Table,
    /// GitHub-flavoured markdown, for a job summary or a comment.
    Markdown,
    /// One JSON document: the merged rows as the reports had them, the
    /// tests reported more than once, and the comparison.
    Json,
}

fn percent(text: &str) -> Result<f64, String> {
    match text.trim().trim_end_matches('%').parse::<f64>() {
        Ok(value) if value.is_finite() && value >= 0.0 => Ok(value),
        _ => Err(format!(
            "{text:?} is not a percent: write a number of 0 or more, such as 5 or 2.5"
        )),
    }
}

fn main() -> ExitCode {
    let Cargo::Fba(fba) = Cargo::parse();
    let code = match fba.command {
        Action::Test(run) => test(&run, false),
        Action::Update(run) => test(&run, true),
        Action::Report(report) => merge::read(&report.files)
            .map_err(|error| error.to_string())
            .and_then(|merged| print(&merged, &report.output)),
    };
    match code {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(exit::BAD_REPORT)
        }
    }
}

/// Runs the tests with a fresh report (and FBA_UPDATE=1 for `update`), then
/// prints the merged rows as `run.output` asks.
fn test(run: &Run, update: bool) -> Result<u8, String> {
    let report = std::path::absolute(&run.report)
        .map_err(|error| format!("{}: {error}", run.report.display()))?;
    fresh(&report)?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    if run.nextest {
        command.args(["nextest", "run"]);
    } else {
        command.arg("test");
    }
    command.args(&run.args).env("FBA_REPORT", &report);
    if update {
        command.env("FBA_UPDATE", "1");
    }
    let status = command
        .status()
        .map_err(|error| format!("could not run cargo: {error}"))?;
    if !report.exists() {
        println!(
            "\nno budget test reported a row (no #[memory_budget] test ran, or FBA_REPORT was overridden)"
        );
        return Ok(if status.success() {
            0
        } else {
            exit::TESTS_FAILED
        });
    }
    let merged = merge::read(std::slice::from_ref(&report)).map_err(|error| error.to_string())?;
    println!(
        "\ncargo fba: {} budget test(s), from every test binary of the run:",
        merged.rows.len()
    );
    if update {
        print!("{}", tables::updated(&merged));
    }
    let printed = print(&merged, &run.output)?;
    Ok(if status.success() {
        printed
    } else {
        exit::TESTS_FAILED
    })
}

/// Removes the report at `path` left by an earlier run, and makes its
/// directory.
fn fresh(path: &Path) -> Result<(), String> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => {
            return Err(format!(
                "could not replace the report {}: {error}",
                path.display()
            ));
        }
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|error| format!("could not make {}: {error}", parent.display()))?;
    }
    Ok(())
}

/// Prints `merged` as `output` asks, with the comparison and the page it
/// asks for. Returns the exit code: [`exit::INCREASE`] for an increase over
/// `--fail-on-increase`, else 0.
fn print(merged: &Merged, output: &Output) -> Result<u8, String> {
    let comparison = if output.baseline.is_empty() {
        None
    } else {
        let before =
            merge::read(&output.baseline).map_err(|error| format!("the baseline: {error}"))?;
        Some(baseline::compare(&before, merged))
    };
    match output.format {
        Format::Table | Format::Markdown => {
            let markdown = output.format == Format::Markdown;
            print!("{}", tables::rows(merged, output.by_target, markdown));
            if let Some(note) = merged.repeated_note() {
                println!("\n{note}");
            }
            if let Some(comparison) = &comparison {
                print!(
                    "\n{}",
                    if markdown {
                        comparison.markdown()
                    } else {
                        comparison.table()
                    }
                );
            }
        }
        Format::Json => {
            let document = serde_json::json!({
                "schema": 1,
                "rows": merged.rows.iter().map(|(_, raw)| raw).collect::<Vec<_>>(),
                "repeated": merged.repeated.iter().map(|(test, target, rows)| {
                    serde_json::json!({"test": test, "target": target, "rows": rows})
                }).collect::<Vec<_>>(),
                "comparison": comparison,
            });
            println!("{document}");
        }
    }
    if let Some(path) = &output.html {
        std::fs::write(path, html::page(merged))
            .map_err(|error| format!("could not write the page {}: {error}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    let increases = match (&comparison, output.fail_on_increase) {
        (Some(comparison), Some(limit)) => comparison.increases_over(limit),
        _ => Vec::new(),
    };
    if increases.is_empty() {
        return Ok(0);
    }
    let limit = output.fail_on_increase.unwrap_or(0.0);
    eprintln!(
        "\nerror: {} test(s) need more than {limit}% more memory than the baseline:",
        increases.len()
    );
    for change in increases {
        eprintln!(
            "  {} ({}): {} -> {} bytes ({:+.1}%)",
            change.test,
            change.target,
            change.before.unwrap_or(0),
            change.after.unwrap_or(0),
            change.percent.unwrap_or(0.0)
        );
    }
    Ok(exit::INCREASE)
}
