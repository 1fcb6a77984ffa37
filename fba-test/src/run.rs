//! How a budget test runs, in one place: the attribute's test goes through
//! its trials (explicit mode: [`search`](crate::search), global mode:
//! [`global::measure`]), which end in a verdict; [`conclude`] then updates
//! the budget (`FBA_UPDATE`), guards against stale budgets
//! (`FBA_MAX_HEADROOM`), records the row (`FBA_REPORT`, the harness's
//! table), annotates failures for GitHub, and ends the test with the pass
//! line, the body's own failure unchanged, or the runtime's message.

use std::panic;
use std::thread;

use crate::budget_test::BudgetTest;
use crate::global;
use crate::measurement::{Measurement, Verdict};
use crate::message::{self, Site};
use crate::outcome::Outcome;
use crate::output;
use crate::quiet::Printing;
use crate::report::{self, Row};
use crate::search;
use crate::settings::{Reporting, Settings};
use crate::trial::{self, Trials};
use crate::update::{self, Rewrite};

/// Runs a budget test whose trials `trial` runs (explicit mode: the body
/// takes an allocator).
#[track_caller]
pub(crate) fn explicit<R: Outcome>(test: &BudgetTest, mut trial: impl Trials<R>) -> R {
    let settings = settings(test);
    let search = test.search.unwrap_or(true) && settings.search;
    let run = search::run(
        test.budget,
        search,
        test.runs.unwrap_or(1),
        settings,
        settings.sites.for_tests(),
        &mut trial,
    );
    conclude(test, run.measurement, run.at_limit, |capacity| {
        trial(capacity, Printing::Quiet, None)
            .ok()
            .map(|trial| trial.result)
    })
}

/// Runs a budget test whose body allocates through the global allocator.
#[track_caller]
pub(crate) fn global<R: Outcome>(test: &BudgetTest, mut body: impl FnMut() -> R) -> R {
    let name = test.name();
    let settings = settings(test);
    if let Some(role) = global::child_role() {
        // A child process of this test's own run: play the role, report
        // nothing.
        let returned = role.and_then(|role| {
            global::act_as_child(role, test.budget, settings.max_bytes, &mut body)
        });
        return returned
            .unwrap_or_else(|reason| panic!("{}", message::unusable(&test.site(&name), &reason)));
    }
    let search = test.search.unwrap_or(true) && settings.search;
    let plan = global::Plan {
        limit: test.budget,
        search,
        runs: test.runs.unwrap_or(if search { 2 } else { 1 }),
        timing_dependent: test.runs.is_some(),
        leaks: if test.deny_leaks {
            global::Leaks::Deny
        } else {
            global::Leaks::Allow
        },
        cold: test.cold,
        verify: test.verify.unwrap_or(settings.verify),
        name: Some(&name),
        diagnosis: settings.sites.for_tests(),
        settings,
    };
    let (measurement, result) = global::suspended(|| global::measure(plan, body));
    // A global-mode body never fails for want of memory: its first run's
    // result is the test's, whatever the budget.
    conclude(test, measurement, result, |_| None)
}

#[track_caller]
fn settings(test: &BudgetTest) -> Settings {
    Settings::from_env().unwrap_or_else(|error| unusable(test, &error.to_string()))
}

#[track_caller]
fn unusable(test: &BudgetTest, reason: &str) -> ! {
    let name = test.name();
    panic!("{}", message::unusable(&test.site(&name), reason))
}

/// Ends a budget test on its `measurement`, with `result` (the body's
/// return value or panic in the run at the limit) as its own outcome.
/// `rerun(capacity)` runs the body once more, for an over-budget test whose
/// budget was rewritten (`None` where the result stands as it is).
#[track_caller]
fn conclude<R: Outcome>(
    test: &BudgetTest,
    measurement: Measurement,
    mut result: Option<thread::Result<R>>,
    mut rerun: impl FnMut(usize) -> Option<thread::Result<R>>,
) -> R {
    let name = test.name();
    let site = test.site(&name);
    let reporting =
        Reporting::from_env().unwrap_or_else(|error| unusable(test, &error.to_string()));
    let shown = settings(test).sites.shown;
    let mut row = Row::new(name.clone(), test.file, test.line, &measurement);
    let mut failure = message::failure(&site, &measurement, passed(&result), shown);
    let shared = test.shares_its_literal();

    if reporting.update
        && let Some(value) = update(test, &site, &measurement, &reporting, shared, &row)
    {
        row.verdict = "updated";
        row.updated_to = Some(value);
        failure = None;
        if measurement.verdict == Verdict::OverBudget
            && let Some(again) = rerun(value)
        {
            // The run at the declared budget failed for want of memory: the
            // test's result is a run at the new one.
            result = Some(again);
        }
    }
    if failure.is_none() && row.verdict == "passed" && !shared {
        failure = stale(&site, &measurement, &reporting, &mut row);
    }
    if let Err(reason) = report::record(row, reporting.report.as_deref()) {
        unusable(test, &reason);
    }
    if let Some(text) = failure {
        annotate(test, &reporting, &text);
        panic!("{text}");
    }
    match result {
        Some(Ok(returned)) => {
            if let Some(reason) = returned.failure() {
                annotate(test, &reporting, &reason);
            } else if measurement.verdict == Verdict::Passed && !output::in_harness() {
                let sites = measurement
                    .sites
                    .as_ref()
                    .map(|sites| message::where_the_bytes_go(&measurement.breakdown, sites, shown))
                    .unwrap_or_default();
                println!("{}{sites}", message::pass_line(&site, &measurement));
            }
            // A failure the body returned (`Err`) fails the test as `#[test]` does.
            returned
        }
        // The body's own panic, unchanged (its message was printed when it happened).
        Some(Err(payload)) => {
            annotate(test, &reporting, &trial::panic_message(payload.as_ref()));
            panic::resume_unwind(payload)
        }
        None => unusable(test, "the body did not run"),
    }
}

/// Whether the body's result (of its run at the limit) passed.
pub(crate) fn passed<R: Outcome>(result: &Option<thread::Result<R>>) -> bool {
    matches!(result, Some(Ok(returned)) if returned.failure().is_none())
}

/// `FBA_UPDATE=1`: rewrites the budget to what was measured. Returns the
/// budget the test has now, if the update makes it pass.
#[track_caller]
fn update(
    test: &BudgetTest,
    site: &Site<'_>,
    measurement: &Measurement,
    reporting: &Reporting,
    shared: bool,
    row: &Row,
) -> Option<usize> {
    let measured = match measurement.verdict {
        Verdict::Passed => measurement.minimum,
        Verdict::OverBudget => measurement.needed,
        _ => None,
    }?;
    if reporting.ci {
        if let Err(reason) = report::record(row.clone(), reporting.report.as_deref()) {
            unusable(test, &reason);
        }
        panic!(
            "FBA_UPDATE=1 is refused where CI is set: update budgets on your machine and commit them \
             (unset CI to update anyway)"
        );
    }
    let value = update::budget_value(measured, reporting.margin);
    if value == test.budget && !shared {
        return None;
    }
    let name = site.name;
    let at = format!("{}:{}", test.file, test.line);
    match update::rewrite(test, value, shared) {
        Ok(Rewrite::Changed { from, to }) => {
            output::say(&format!(
                "memory_budget {name}: budget updated from {from} to {to} at {at}"
            ));
            Some(to)
        }
        Ok(Rewrite::Kept { value: kept }) if kept == test.budget => None,
        Ok(Rewrite::Kept { value: kept }) => {
            output::say(&format!(
                "memory_budget {name}: budget kept at {kept} at {at} (a test sharing it needs {kept} bytes)"
            ));
            Some(kept)
        }
        Err(reason) => {
            output::say(&format!(
                "memory_budget {name}: budget not updated: {reason}"
            ));
            None
        }
    }
}

/// `FBA_MAX_HEADROOM`: the failure of a passing test whose budget is far
/// above its minimum.
fn stale(
    site: &Site<'_>,
    measurement: &Measurement,
    reporting: &Reporting,
    row: &mut Row,
) -> Option<String> {
    let (max, headroom, minimum) = (
        reporting.max_headroom?,
        row.headroom()?,
        measurement.minimum?,
    );
    if headroom <= max {
        return None;
    }
    row.verdict = "stale";
    Some(format!(
        "{}\nmeasured for {}",
        message::stale(site, measurement.limit, minimum, headroom, max),
        measurement.target
    ))
}

/// With `GITHUB_ACTIONS=true`, prints a failure as an `::error` annotation
/// on the attribute's line (at the start of a line, newlines escaped).
fn annotate(test: &BudgetTest, reporting: &Reporting, text: &str) {
    if reporting.github_actions {
        let text = text
            .replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A");
        output::say(&format!(
            "\n::error file={},line={}::{text}",
            test.file, test.line
        ));
    }
}
