//! How a budget test runs, in one place: the attribute's test goes through
//! its trials (explicit mode: [`search`](crate::search), global mode:
//! [`global::measure`]), which end in a verdict, judged against the count
//! budget ([`count_budget`]) and, with failures injected, by the runs of
//! [`injection`]; [`conclude`] then updates the budgets (`FBA_UPDATE`),
//! guards against stale budgets (`FBA_MAX_HEADROOM`), records the row
//! (`FBA_REPORT`, the harness's table), annotates failures for GitHub, and
//! ends the test with the pass line, the body's own failure unchanged, or
//! the runtime's message.

use std::panic;
use std::thread;

use fba_core::{FixedBufferAllocator, ThreadSafeFixedBufferAllocator};

use crate::budget_test::BudgetTest;
use crate::child::{self, Role};
use crate::count_budget;
use crate::global;
use crate::injection::{self, Place};
use crate::measurement::{Measurement, Verdict};
use crate::message::{self, Site};
use crate::outcome::{Outcome, Returned};
use crate::output;
use crate::quiet::Printing;
use crate::report::{self, Row};
use crate::search;
use crate::settings::{Reporting, Settings};
use crate::trial::{self, Trials, Watch};
use crate::update::{self, Budget, Rewrite};

/// Runs a budget test whose body takes a `&FixedBufferAllocator`.
#[track_caller]
pub(crate) fn fixed(
    test: &BudgetTest,
    body: &mut dyn FnMut(&FixedBufferAllocator<'_>) -> Returned,
) -> Returned {
    explicit(test, trial::fixed(body))
}

/// Runs a budget test whose body takes a `&ThreadSafeFixedBufferAllocator`.
#[track_caller]
pub(crate) fn thread_safe(
    test: &BudgetTest,
    body: &mut dyn FnMut(&ThreadSafeFixedBufferAllocator<'_>) -> Returned,
) -> Returned {
    explicit(test, trial::thread_safe(body))
}

/// Runs a budget test whose trials `trial` runs (explicit mode: the body
/// takes an allocator).
#[track_caller]
fn explicit(test: &BudgetTest, mut trial: impl Trials<Returned>) -> Returned {
    let settings = settings(test);
    let mut runs = injection::Trials::new(&mut trial, test.budget);
    if let Some(role) = child::role() {
        // A child process of this test's run: failure injection's runs.
        match role {
            Ok(role @ Role::Inject { .. }) => injection::act(role, &mut runs),
            Ok(_) => unusable(
                test,
                "FBA_CHILD asks for a global-mode child (measure, verify) of a test with an allocator parameter: unset it",
            ),
            Err(reason) => unusable(test, &reason),
        }
    }
    let search = test.search.unwrap_or(true) && settings.search;
    let mut run = search::run(
        test.budget,
        search,
        test.runs.unwrap_or(1),
        settings,
        settings.sites.for_tests(),
        &mut trial,
    );
    count_budget::judge(&mut run.measurement, test.allocations);
    if let Some(policy) = test.failing
        && run.measurement.verdict == Verdict::Passed
    {
        let name = test.name();
        let left_live = run.measurement.stats.live_allocations;
        injection::inject(
            &mut run.measurement,
            injection_plan(test, policy, &settings),
            Place::Children { name: &name },
            left_live,
            &mut injection::Trials::new(&mut trial, test.budget),
        );
    }
    conclude(test, run.measurement, run.at_limit, |capacity| {
        trial(capacity, Printing::Quiet, Watch::NOTHING)
            .ok()
            .map(|trial| trial.result)
    })
}

/// Runs a budget test whose body allocates through the global allocator.
#[track_caller]
pub(crate) fn global(test: &BudgetTest, mut body: &mut dyn FnMut() -> Returned) -> Returned {
    let name = test.name();
    let settings = settings(test);
    if let Some(role) = child::role() {
        // A child process of this test's own run: play the role, report
        // nothing.
        if let Ok(role @ Role::Inject { .. }) = role {
            let mut runs = injection::GlobalRuns {
                body: &mut body,
                limit: test.budget,
                max_bytes: settings.max_bytes,
            };
            global::suspended(|| runs.warm_up());
            global::suspended(|| injection::act(role, &mut runs));
        }
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
    let (mut measurement, result) = global::suspended(|| global::measure(plan, &mut body));
    count_budget::judge(&mut measurement, test.allocations);
    if let Some(policy) = test.failing
        && measurement.verdict == Verdict::Passed
    {
        let left_live = measurement
            .heap
            .as_ref()
            .map_or(0, |heap| heap.escaped.count);
        global::suspended(|| {
            injection::inject(
                &mut measurement,
                injection_plan(test, policy, &settings),
                Place::Children { name: &name },
                left_live,
                &mut injection::GlobalRuns {
                    body: &mut body,
                    limit: test.budget,
                    max_bytes: settings.max_bytes,
                },
            )
        });
    }
    // A global-mode body never fails for want of memory: its first run's
    // result is the test's, whatever the budget.
    conclude(test, measurement, result, |_| None)
}

/// How `test`'s failure injection goes.
fn injection_plan(
    test: &BudgetTest,
    policy: injection::FailurePolicy,
    settings: &Settings,
) -> injection::Plan {
    injection::Plan {
        policy,
        allow_swallowed: test.allow_swallowed,
        max_runs: settings.max_injections,
    }
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
fn conclude(
    test: &BudgetTest,
    measurement: Measurement,
    mut result: Option<thread::Result<Returned>>,
    mut rerun: impl FnMut(usize) -> Option<thread::Result<Returned>>,
) -> Returned {
    let name = test.name();
    let site = test.site(&name);
    let reporting =
        Reporting::from_env().unwrap_or_else(|error| unusable(test, &error.to_string()));
    let shown = settings(test).sites.shown;
    let mut row = Row::new(name.clone(), test.file, test.line, &measurement);
    let mut failure = message::failure(&site, &measurement, passed(&result), shown);
    let shared = test.shares_its_literal();

    if reporting.update {
        let updated = update(test, &site, &measurement, &reporting, shared, &row);
        if updated.any() {
            row.verdict = "updated";
            row.updated_to = updated.bytes;
            if let Some(count) = &mut row.allocations
                && updated.allocations.is_some()
            {
                count.verdict = Some("updated");
                count.updated_to = updated.allocations;
            }
            if updated.fixes(&measurement) {
                failure = None;
            }
            if measurement.verdict == Verdict::OverBudget
                && let Some(value) = updated.bytes
                && let Some(again) = rerun(value)
            {
                // The run at the declared budget failed for want of memory:
                // the test's result is a run at the new one.
                result = Some(again);
            }
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

/// The budgets `FBA_UPDATE=1` gave a test: bytes, allocations.
#[derive(Clone, Copy, Debug, Default)]
struct Updated {
    bytes: Option<usize>,
    allocations: Option<usize>,
}

impl Updated {
    fn any(self) -> bool {
        self.bytes.is_some() || self.allocations.is_some()
    }

    /// Whether the budgets the test has now make `measurement` pass.
    fn fixes(self, measurement: &Measurement) -> bool {
        let counts = !count_budget::exceeded(measurement) || self.allocations.is_some();
        match measurement.verdict {
            Verdict::Passed => true,
            Verdict::OverBudget => self.bytes.is_some() && counts,
            Verdict::TooManyAllocations => counts,
            _ => false,
        }
    }
}

/// `FBA_UPDATE=1`: rewrites the budgets to what was measured: the bytes
/// (the minimum, or what an over-budget body needs) and the allocations.
/// Returns the budgets the test has now, where the update changed them.
#[track_caller]
fn update(
    test: &BudgetTest,
    site: &Site<'_>,
    measurement: &Measurement,
    reporting: &Reporting,
    shared: bool,
    row: &Row,
) -> Updated {
    let bytes = match measurement.verdict {
        Verdict::Passed | Verdict::TooManyAllocations => measurement.minimum,
        Verdict::OverBudget => measurement.needed,
        _ => return Updated::default(),
    };
    let allocations = test.allocations.and(measurement.allocations);
    if bytes.is_none() && allocations.is_none() {
        return Updated::default();
    }
    if reporting.ci {
        if let Err(reason) = report::record(row.clone(), reporting.report.as_deref()) {
            unusable(test, &reason);
        }
        panic!(
            "FBA_UPDATE=1 is refused where CI is set: update budgets on your machine and commit them \
             (unset CI to update anyway)"
        );
    }
    Updated {
        bytes: bytes.and_then(|measured| {
            let value = update::budget_value(measured, reporting.margin);
            rewrite(test, site, Budget::Bytes, test.budget, value, shared)
        }),
        allocations: allocations.and_then(|measured| {
            let value = update::count_value(measured, reporting.margin);
            let declared = test.allocations.unwrap_or(0);
            rewrite(test, site, Budget::Allocations, declared, value, shared)
        }),
    }
}

/// Rewrites `test`'s literal of `budget`, declared as `declared`, to
/// `value`, saying so. Returns the budget the test has now, if the update
/// changed it.
fn rewrite(
    test: &BudgetTest,
    site: &Site<'_>,
    budget: Budget,
    declared: usize,
    value: usize,
    shared: bool,
) -> Option<usize> {
    if value == declared && !shared {
        return None;
    }
    let name = site.name;
    let at = format!("{}:{}", test.file, test.line);
    let what = match budget {
        Budget::Bytes => "budget",
        Budget::Allocations => "allocation budget",
    };
    match update::rewrite(test, budget, value, shared) {
        Ok(Rewrite::Changed { from, to }) => {
            output::say(&format!(
                "memory_budget {name}: {what} updated from {from} to {to} at {at}"
            ));
            Some(to)
        }
        Ok(Rewrite::Kept { value: kept }) if kept == declared => None,
        Ok(Rewrite::Kept { value: kept }) => {
            let unit = match budget {
                Budget::Bytes => "bytes",
                Budget::Allocations => "allocations",
            };
            output::say(&format!(
                "memory_budget {name}: {what} kept at {kept} at {at} (a test sharing it needs {kept} {unit})"
            ));
            Some(kept)
        }
        Err(reason) => {
            output::say(&format!(
                "memory_budget {name}: {what} not updated: {reason}"
            ));
            None
        }
    }
}

/// `FBA_MAX_HEADROOM`: the failure of a passing test whose budget (of
/// bytes, or of allocations) is far above what it needs.
fn stale(
    site: &Site<'_>,
    measurement: &Measurement,
    reporting: &Reporting,
    row: &mut Row,
) -> Option<String> {
    let max = reporting.max_headroom?;
    let mut texts = Vec::new();
    if let (Some(headroom), Some(minimum)) = (row.headroom(), measurement.minimum)
        && headroom > max
    {
        row.verdict = "stale";
        texts.push(message::stale(
            site,
            measurement.limit,
            minimum,
            headroom,
            max,
        ));
    }
    if let (Some(headroom), Some(count), Some(limit)) = (
        count_budget::headroom(measurement),
        measurement.allocations,
        measurement.allocation_limit,
    ) && headroom > max
    {
        row.verdict = "stale";
        if let Some(allocations) = &mut row.allocations {
            allocations.verdict = Some("stale");
        }
        texts.push(message::stale_count(site, limit, count, headroom, max));
    }
    (!texts.is_empty())
        .then(|| format!("{}\nmeasured for {}", texts.join("\n"), measurement.target))
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
