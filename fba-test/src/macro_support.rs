//! What `#[memory_budget]` expands to calls: not a public API (the facade
//! re-exports it as `fba::__private`), and free to change with the macro.

use std::panic;

use fba_core::{FixedBufferAllocator, ThreadSafeFixedBufferAllocator};

pub use inventory;

use crate::global;
use crate::harness;
use crate::measurement::Verdict;
use crate::message::{self, Site};
use crate::outcome::Outcome;
use crate::quiet::Printing;
use crate::report::{self, Row};
use crate::search::{self, Run};
use crate::settings::{Reporting, Settings};
use crate::trial;
use crate::update;

/// A budget test, as the attribute describes it.
#[derive(Clone, Copy, Debug)]
pub struct BudgetTest {
    /// `module_path!()` where the test is declared.
    pub module_path: &'static str,
    /// The function's name.
    pub function: &'static str,
    /// `file!()` of the attribute.
    pub file: &'static str,
    /// `line!()` of the attribute.
    pub line: u32,
    /// `env!("CARGO_MANIFEST_DIR")` of the crate the test is in.
    pub manifest_dir: &'static str,
    /// The declared budget in bytes.
    pub budget: usize,
    /// The `search = ...` option, if given.
    pub search: Option<bool>,
    /// `leaks = "deny"` (global mode).
    pub deny_leaks: bool,
    /// The `verify = ...` option, if given (global mode).
    pub verify: Option<bool>,
    /// The budget's integer literal, if it is one (for `FBA_UPDATE`).
    pub literal: Option<BudgetLiteral>,
}

/// Where a budget's integer literal is in the source.
#[derive(Clone, Copy, Debug)]
pub struct BudgetLiteral {
    /// The literal as written (`4_096`, `4096usize`).
    pub text: &'static str,
    /// Its line, from 1.
    pub line: u32,
    /// Its column, in characters from 0.
    pub column: u32,
}

impl BudgetTest {
    /// The test's path as the test harness lists it: the module path without
    /// the crate's name, then the function (`tests::parses_a_header`).
    pub fn name(&self) -> String {
        match self.module_path.split_once("::") {
            Some((_crate, modules)) => format!("{modules}::{}", self.function),
            None => self.function.to_owned(),
        }
    }
}

/// A budget test registered for the budget harness.
#[derive(Debug)]
pub struct RegisteredTest {
    /// The test.
    pub test: &'static BudgetTest,
    /// Whether the function is `#[ignore]`d.
    pub ignored: bool,
    /// Runs it: `Err` with the reason when it fails by returning (a panic
    /// fails it too).
    pub run: fn() -> Result<(), String>,
}

inventory::collect!(RegisteredTest);

/// A test's result as the harness takes it.
pub fn conclude<R: Outcome>(returned: R) -> Result<(), String> {
    returned.failure().map_or(Ok(()), Err)
}

/// Runs a budget test whose body takes a `&FixedBufferAllocator`.
#[track_caller]
pub fn run_fixed<R: Outcome>(
    test: &BudgetTest,
    body: impl FnMut(&FixedBufferAllocator<'_>) -> R,
) -> R {
    run_explicit(test, trial::fixed(body))
}

/// Runs a budget test whose body takes a `&ThreadSafeFixedBufferAllocator`.
#[track_caller]
pub fn run_thread_safe<R: Outcome>(
    test: &BudgetTest,
    body: impl FnMut(&ThreadSafeFixedBufferAllocator<'_>) -> R,
) -> R {
    run_explicit(test, trial::thread_safe(body))
}

/// Searches and reports a budget test whose trials `trial` runs.
#[track_caller]
fn run_explicit<R: Outcome>(
    test: &BudgetTest,
    mut trial: impl FnMut(usize, Printing) -> Result<trial::Trial<R>, crate::buffer::BufferUnavailable>,
) -> R {
    let settings = settings(test);
    let search = test.search.unwrap_or(true) && settings.search;
    let run = search::run(test.budget, search, settings, &mut trial);
    finish(test, run, |capacity| {
        trial(capacity, Printing::Quiet)
            .ok()
            .map(|trial| trial.result)
    })
}

/// Runs a budget test without an allocator parameter: global-allocator mode.
#[track_caller]
pub fn run_global<R: Outcome>(test: &BudgetTest, mut body: impl FnMut() -> R) -> R {
    let name = test.name();
    let site = Site {
        name: &name,
        file: test.file,
        line: test.line,
    };
    if let Some(capacity) = global::child_capacity() {
        // A verification child: one run in a buffer of exactly this size.
        let result = capacity
            .map_err(|error| error.to_string())
            .and_then(|capacity| global::run_as_child(capacity, &mut body));
        return result.unwrap_or_else(|reason| panic!("{}", message::unusable(&site, &reason)));
    }
    let settings = settings(test);
    let search = test.search.unwrap_or(true) && settings.search;
    let verify = test
        .verify
        .unwrap_or(settings.verify)
        .then_some(name.as_str());
    let leaks = if test.deny_leaks {
        global::Leaks::Deny
    } else {
        global::Leaks::Allow
    };
    let plan = global::Plan {
        limit: test.budget,
        search,
        leaks,
        verify,
        settings,
    };
    let (measurement, at_limit) = global::measure(plan, body);
    // A global-mode body never fails for want of memory: its run is the one
    // to return after an update.
    finish(
        test,
        Run {
            measurement,
            at_limit,
        },
        |_| None,
    )
}

#[track_caller]
fn settings(test: &BudgetTest) -> Settings {
    match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => unusable(test, &error.to_string()),
    }
}

#[track_caller]
fn unusable(test: &BudgetTest, reason: &str) -> ! {
    let name = test.name();
    let site = Site {
        name: &name,
        file: test.file,
        line: test.line,
    };
    panic!("{}", message::unusable(&site, reason))
}

/// Reports a run as the test's result: updates the budget (`FBA_UPDATE`),
/// guards against stale budgets (`FBA_MAX_HEADROOM`), records the row
/// (`FBA_REPORT`, the harness's table), annotates failures for GitHub, then
/// passes with the pass line, fails with the body's own failure unchanged, or
/// fails with the runtime's message. `rerun(capacity)` runs the body once
/// more, for an over-budget test whose budget was rewritten.
#[track_caller]
fn finish<R: Outcome>(
    test: &BudgetTest,
    run: Run<R>,
    mut rerun: impl FnMut(usize) -> Option<std::thread::Result<R>>,
) -> R {
    let name = test.name();
    let site = Site {
        name: &name,
        file: test.file,
        line: test.line,
    };
    let reporting =
        Reporting::from_env().unwrap_or_else(|error| unusable(test, &error.to_string()));
    let measurement = run.measurement;
    let mut at_limit = run.at_limit;
    let mut row = Row::new(name.clone(), test.file, test.line, &measurement);
    let mut failure = message::failure(&site, &measurement);

    let measured = match measurement.verdict {
        Verdict::Passed => measurement.minimum,
        Verdict::OverBudget => measurement.needed,
        _ => None,
    };
    if reporting.update && measured.is_some() {
        if reporting.ci {
            record(test, row, &reporting);
            panic!(
                "FBA_UPDATE=1 is refused where CI is set: update budgets on your machine and commit them \
                 (unset CI to update anyway)"
            );
        }
        let value = update::budget_value(measured.unwrap_or(0), reporting.margin);
        if value != test.budget {
            match update::rewrite(test, value) {
                Ok(old) => {
                    harness::say(&format!(
                        "memory_budget {name}: budget updated from {old} to {value} at {}:{}",
                        test.file, test.line
                    ));
                    row.verdict = "updated";
                    row.updated_to = Some(value);
                    failure = None;
                    if measurement.verdict == Verdict::OverBudget {
                        // The run at the declared budget failed: run once more
                        // at the new one for the test's own result.
                        at_limit = rerun(value);
                    }
                }
                Err(reason) => harness::say(&format!(
                    "memory_budget {name}: budget not updated: {reason}"
                )),
            }
        }
    }
    if failure.is_none()
        && row.verdict == "passed"
        && let (Some(max), Some(headroom), Some(minimum)) =
            (reporting.max_headroom, row.headroom(), measurement.minimum)
        && headroom > max
    {
        row.verdict = "stale";
        failure = Some(message::stale(
            &site,
            measurement.limit,
            minimum,
            headroom,
            max,
        ));
    }
    record(test, row, &reporting);
    if let Some(text) = failure {
        annotate(test, &reporting, &text);
        panic!("{text}");
    }
    match at_limit {
        Some(Ok(returned)) => {
            if let Some(reason) = returned.failure() {
                annotate(test, &reporting, &reason);
            } else if measurement.verdict == Verdict::Passed && !harness::running() {
                println!("{}", message::pass_line(&site, &measurement));
            }
            // A failure the body returned (`Err`) fails the test as `#[test]` does.
            returned
        }
        // The body's own panic, unchanged (its message was printed when it happened).
        Some(Err(payload)) => {
            annotate(
                test,
                &reporting,
                &crate::trial::panic_message(payload.as_ref()),
            );
            panic::resume_unwind(payload)
        }
        None => panic!("memory budget test {name} has no result to report"),
    }
}

/// Records the test's row; a report that cannot be written fails the test
/// (no row is lost silently).
#[track_caller]
fn record(test: &BudgetTest, row: Row, reporting: &Reporting) {
    if let Err(reason) = report::record(row, reporting.report.as_deref()) {
        unusable(test, &reason);
    }
}

/// With `GITHUB_ACTIONS=true`, prints a failure as an `::error` annotation
/// on the attribute's line (at the start of a line, newlines escaped).
fn annotate(test: &BudgetTest, reporting: &Reporting, text: &str) {
    if reporting.github_actions {
        let text = text
            .replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A");
        harness::say(&format!(
            "\n::error file={},line={}::{text}",
            test.file, test.line
        ));
    }
}
