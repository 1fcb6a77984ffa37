//! Measuring a body in global-allocator mode. A run puts the calling
//! thread's allocations in a region far larger than the budget, so nothing
//! fails; the high-water mark H is then compared with the limit.
//!
//! A body runs once as a warm-up first: what it leaves allocated (lazily
//! initialised statics, a thread's destructor list, a runtime's globals) is
//! one-time state, reported apart. The runs after it measure the steady
//! state: for code whose allocations do not depend on timing, H is exactly
//! the minimum, and a second run checks that it is stable. With
//! `cold = true` the runs are first runs, each in a fresh child process.

use std::thread;

use super::child;
use super::observed::{self, Observed};
use super::region;
use crate::measurement::{Blocks, HeapProfile, MeasuredState, Measurement, Verdict};
use crate::outcome::Outcome;
use crate::quiet::{self, Printing};
use crate::settings::{Diagnosis, Settings};

/// What to do with blocks that escape the budget.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Leaks {
    /// Report them; the test still passes.
    #[default]
    Allow,
    /// Fail the test (Zig's testing allocator fails leaking tests).
    Deny,
}

/// How a global-mode measurement goes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan<'a> {
    pub(crate) limit: usize,
    /// Report the minimum (and what an over-budget body needs).
    pub(crate) search: bool,
    /// Measuring runs after the warm-up (or first runs, cold): 2 check that
    /// the body is stable, 1 does not.
    pub(crate) runs: usize,
    /// `runs = K` was declared: the body's memory depends on timing, so
    /// runs may differ and the largest is judged.
    pub(crate) timing_dependent: bool,
    pub(crate) leaks: Leaks,
    /// Measure first runs in fresh processes instead of the steady state.
    pub(crate) cold: bool,
    /// Prove the minimum by real failure in child processes.
    pub(crate) verify: bool,
    /// The test's name, to run it in child processes (cold, verify).
    pub(crate) name: Option<&'a str>,
    /// When the diagnostic run (allocation sites) is wanted.
    pub(crate) diagnosis: Diagnosis,
    pub(crate) settings: Settings,
}

impl Plan<'_> {
    /// The plan of a measurement without a test behind it
    /// (`fba::measure_global`, `fba::assert_budget_global`): a warm-up, then
    /// two runs that must agree (one with the search off).
    pub(crate) fn new(limit: usize, settings: Settings, diagnosis: Diagnosis) -> Plan<'static> {
        Plan {
            limit,
            search: settings.search,
            runs: if settings.search { 2 } else { 1 },
            timing_dependent: false,
            leaks: Leaks::Allow,
            cold: false,
            verify: false,
            name: None,
            diagnosis,
            settings,
        }
    }
}

pub(crate) const NOT_INSTALLED: &str = "a #[memory_budget] test without an allocator parameter measures the global \
     allocator, but fba::GlobalBudget is not the global allocator of this test binary; add these two lines once to \
     the test crate (src/lib.rs for unit tests, the test file for an integration test):\n\
     \n    #[global_allocator]\n    static GLOBAL: fba::GlobalBudget = fba::GlobalBudget::system();";

/// Measures `body` in global-allocator mode. Returns the measurement and
/// what the body's first run left: its return value or its panic.
pub(crate) fn measure<R: Outcome>(
    plan: Plan<'_>,
    mut body: impl FnMut() -> R,
) -> (Measurement, Option<thread::Result<R>>) {
    quiet::install();
    let mut measurement = Measurement::new(plan.limit, plan.search, plan.settings.max_bytes);
    measurement.state = if plan.cold {
        MeasuredState::FirstRun
    } else {
        MeasuredState::SteadyState
    };
    if !region::installed() {
        measurement.verdict = Verdict::Unusable {
            reason: NOT_INSTALLED.to_owned(),
        };
        return (measurement, None);
    }
    // What the output capture moved out for an earlier test on this thread
    // is not this one's.
    drop(super::capture::take_moved_out());
    // The first run in this process: the warm-up (and, cold, the run whose
    // result the test returns).
    let (first, result) = match observe(&plan, &mut body, Printing::Trial) {
        Ok(first) => first,
        Err(verdict) => {
            measurement.verdict = verdict;
            return (measurement, None);
        }
    };
    measurement.trials = 1;
    // Until the measuring runs report, the numbers are the warm-up's.
    record(&mut measurement, &first);
    if let Err(verdict) = usable(&first, None) {
        measurement.verdict = verdict;
        return (measurement, Some(result));
    }
    let runs = if plan.cold {
        first_runs(&plan, &mut measurement)
    } else {
        steady_runs(&plan, &mut body, &first, &mut measurement)
    };
    let runs = match runs {
        Ok(runs) => runs,
        Err(verdict) => {
            measurement.verdict = verdict;
            return (measurement, Some(result));
        }
    };
    judge(&plan, &runs, &mut measurement);
    diagnose(&plan, &mut body, &mut measurement);
    if plan.settings.profile {
        // In this process, after the warm-up: the steady state's profile.
        measurement.trials += 1;
        measurement.profile = observed::profile(&mut body, plan.limit, plan.settings.max_bytes)
            .ok()
            .flatten();
    }
    (measurement, Some(result))
}

/// The diagnostic run, where it is wanted (a body over its budget, or
/// `FBA_SITES` set): where the bytes of the high-water mark were allocated,
/// in a fresh process when measured cold.
fn diagnose<R: Outcome>(
    plan: &Plan<'_>,
    body: &mut impl FnMut() -> R,
    measurement: &mut Measurement,
) {
    let over = measurement.verdict == Verdict::OverBudget;
    // Over budget without a number (the region spilled, or the search is
    // off) there is no mark to explain.
    let mark = match measurement.verdict {
        Verdict::Passed => measurement.high_water_mark,
        Verdict::OverBudget if measurement.needed.is_some() => measurement.high_water_mark,
        _ => return,
    };
    if !plan.diagnosis.wanted(over) {
        return;
    }
    let observed = match (plan.cold, plan.name) {
        (true, Some(name)) => {
            measurement.trials += 2;
            child::measure(name, true).map(|(first, _)| first).ok()
        }
        _ => {
            measurement.trials += 1;
            observed::observe(
                body,
                plan.limit,
                plan.settings.max_bytes,
                Printing::Quiet,
                Some(mark),
            )
            .ok()
            .map(|(observed, _)| observed)
        }
    };
    measurement.sites = observed.and_then(|observed| observed.sites);
}

/// A measuring run, and the blocks it left alive that are not one-time
/// state.
struct MeasuringRun {
    observed: Observed,
    escaped: Blocks,
}

/// The verdict on a run that did not give a measurement: it failed, or a
/// thread it handed the budget to was still inside it long after it ended
/// (so its high-water mark is not the body's).
/// `later` names a run after the first, whose failure means the body is not
/// deterministic (the first run's is the body's own).
fn usable(run: &Observed, later: Option<&str>) -> Result<(), Verdict> {
    if let Some(reason) = run.failure.clone() {
        return Err(match later {
            None => Verdict::Failed { reason },
            Some(which) => Verdict::NotDeterministic {
                reason: format!("it passed its first run, then failed in {which}: {reason}"),
            },
        });
    }
    if run.abandoned {
        return Err(Verdict::Failed {
            reason: abandoned(),
        });
    }
    Ok(())
}

/// One run of the body in a tracked region, as `plan` says.
fn observe<R: Outcome>(
    plan: &Plan<'_>,
    body: &mut impl FnMut() -> R,
    printing: Printing,
) -> Result<(Observed, thread::Result<R>), Verdict> {
    observed::observe(body, plan.limit, plan.settings.max_bytes, printing, None)
        .map_err(|error| unusable(error.to_string()))
}

/// The measuring runs after the warm-up `warm_up`, which gives the
/// one-time state.
fn steady_runs<R: Outcome>(
    plan: &Plan<'_>,
    body: &mut impl FnMut() -> R,
    warm_up: &Observed,
    measurement: &mut Measurement,
) -> Result<Vec<MeasuringRun>, Verdict> {
    let mut runs = Vec::with_capacity(plan.runs);
    for index in 0..plan.runs.max(1) {
        let (run, _) = observe(plan, body, Printing::Quiet)?;
        measurement.trials += 1;
        record(measurement, &run);
        usable(&run, Some(&format!("run {} after the warm-up", index + 1)))?;
        runs.push(MeasuringRun {
            escaped: run.escaped(),
            observed: run,
        });
    }
    // The output capture's block, first allocated by the warm-up's prints
    // and moved out when a later run grew it, is the harness's.
    let capture = super::capture::take_moved_out();
    measurement.one_time = Some(warm_up.one_time_state(&runs[0].observed, &capture));
    Ok(runs)
}

/// The first runs, each in a fresh child process (which also runs the body
/// once more to tell one-time state from the steady state).
fn first_runs(
    plan: &Plan<'_>,
    measurement: &mut Measurement,
) -> Result<Vec<MeasuringRun>, Verdict> {
    let Some(name) = plan.name else {
        return Err(unusable(
            "cold = true measures first runs in child processes, which need the test's name"
                .to_owned(),
        ));
    };
    let mut runs = Vec::with_capacity(plan.runs);
    for _ in 0..plan.runs.max(1) {
        let (first, second) = child::measure(name, false).map_err(unusable)?;
        measurement.trials += 2;
        record(measurement, &first);
        usable(&first, Some("a fresh process"))?;
        usable(&second, Some("a second run in a fresh process"))?;
        if measurement.one_time.is_none() {
            measurement.one_time = Some(first.one_time_state(&second, &[]));
        }
        // What the first run left alive beyond the one-time state is what
        // every run leaves: the second run's.
        runs.push(MeasuringRun {
            escaped: second.escaped(),
            observed: first,
        });
    }
    Ok(runs)
}

/// The verdict on the measuring `runs`.
fn judge(plan: &Plan<'_>, runs: &[MeasuringRun], measurement: &mut Measurement) {
    let high_water = |run: &&MeasuringRun| run.observed.high_water_mark();
    let largest = runs.iter().max_by_key(high_water).expect("a measuring run");
    let smallest = runs.iter().min_by_key(high_water).expect("a measuring run");
    record(measurement, &largest.observed);
    if let Some(heap) = &mut measurement.heap {
        heap.escaped = largest.escaped.clone();
    }
    measurement.runs = runs.len();
    measurement.lowest_high_water_mark = smallest.observed.high_water_mark();
    measurement.allocations = runs.iter().map(|run| run.observed.stats.allocations).max();
    if !plan.timing_dependent
        && let Some(reason) = unstable(runs, plan.cold)
    {
        measurement.verdict = Verdict::NotDeterministic { reason };
        return;
    }
    let high_water = largest.observed.high_water_mark();
    // A run that spilled past the region needed more than it: whichever it
    // was, the body is over budget.
    if runs.iter().any(|run| run.observed.spilled) {
        measurement.verdict = Verdict::OverBudget;
    } else if high_water > plan.limit {
        measurement.verdict = Verdict::OverBudget;
        measurement.needed = plan.search.then_some(high_water);
    } else {
        measurement.minimum = plan.search.then_some(high_water);
    }
    if measurement.verdict == Verdict::Passed
        && plan.leaks == Leaks::Deny
        && !largest.escaped.is_empty()
    {
        measurement.verdict = Verdict::Leaked {
            reason: crate::message::blocks(&largest.escaped, "escaped"),
        };
    }
    if measurement.verdict == Verdict::Passed
        && plan.search
        && plan.verify
        && let Some(name) = plan.name
    {
        match child::verify(name, high_water, !plan.cold) {
            Ok(()) => measurement.verified_by_failure = true,
            Err(reason) => measurement.verdict = Verdict::NotVerified { reason },
        }
    }
}

/// Copies what `run` measured into the measurement.
fn record(measurement: &mut Measurement, run: &Observed) {
    measurement.stats = run.stats;
    measurement.breakdown = run.stats.at_high_water;
    measurement.high_water_mark = run.high_water_mark();
    measurement.lowest_high_water_mark = run.high_water_mark();
    measurement.first_failure = run.over_limit(measurement.limit);
    measurement.heap = Some(HeapProfile {
        peak_live_bytes: run.peak_live_bytes,
        peak_live_blocks: run.peak_live_blocks,
        allocations: run.stats.allocations,
        largest_allocation: run.largest,
        escaped: run.escaped(),
    });
}

/// Why measuring runs that should agree did not: by how much, and which
/// blocks one left alive and the other did not.
fn unstable(runs: &[MeasuringRun], cold: bool) -> Option<String> {
    let first = &runs[0].observed;
    let (index, other) = runs
        .iter()
        .map(|run| &run.observed)
        .enumerate()
        .skip(1)
        .find(|(_, run)| run.high_water_mark() != first.high_water_mark())?;
    let (a, b) = (first.high_water_mark(), other.high_water_mark());
    let runs_were = if cold {
        "first runs, each in a fresh process"
    } else {
        "runs after a warm-up"
    };
    let mut reason = format!(
        "its high-water mark differed between {runs_were}: {a} bytes in run 1, {b} bytes in run {} ({}{} bytes)",
        index + 1,
        if b > a { "+" } else { "-" },
        a.abs_diff(b),
    );
    for (left, right, name) in [(other, first, index + 1), (first, other, 1)] {
        match left.left_alive_beyond(right) {
            Some(blocks) if !blocks.is_empty() => {
                reason += &format!(
                    "\nrun {name} left alive {} that the other did not: {}",
                    crate::message::plural(blocks.len(), "block"),
                    crate::message::layouts(&blocks, blocks.len())
                );
            }
            _ => {}
        }
    }
    Some(reason)
}

fn unusable(reason: String) -> Verdict {
    Verdict::Unusable { reason }
}

fn abandoned() -> String {
    "a thread that entered the budget (BudgetScope::enter) was still inside it 10 seconds after the body returned: \
     join the threads a budget body hands its scope to before the body returns"
        .to_owned()
}
