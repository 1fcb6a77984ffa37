//! Measuring a body in global-allocator mode: a trial runs it with the
//! calling thread's allocations in a region far larger than the budget, so
//! nothing fails; the high-water mark H is then compared with the limit. For
//! code whose allocations do not depend on timing, H is exactly the minimum:
//! one trial measures it, a second checks it is stable.

use std::thread;

use super::escapes::Escapes;
use super::region::{self, ClaimError, Snapshot};
use super::scope;
use super::verify;
use crate::measurement::{HeapProfile, Measurement, Verdict};
use crate::outcome::Outcome;
use crate::quiet::{self, Printing};
use crate::settings::Settings;
use crate::trial::panic_message;

/// What to do with blocks that escape the budget.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Leaks {
    /// Report them; the test still passes.
    #[default]
    Allow,
    /// Fail the test (Zig's testing allocator fails leaking tests).
    Deny,
}

/// How a global-mode run goes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan<'a> {
    pub(crate) limit: usize,
    /// Run the second trial (stability) as well.
    pub(crate) search: bool,
    pub(crate) leaks: Leaks,
    /// The test's name, to re-run it in child processes, when it is to be
    /// verified by real failure.
    pub(crate) verify: Option<&'a str>,
    pub(crate) settings: Settings,
}

/// One run of the body in a region.
struct Trial<R> {
    result: thread::Result<R>,
    snapshot: Snapshot,
    escapes: Option<Escapes>,
}

impl<R: Outcome> Trial<R> {
    fn failure(&self) -> Option<String> {
        match &self.result {
            Ok(returned) => returned.failure(),
            Err(payload) => Some(panic_message(payload.as_ref())),
        }
    }

    fn high_water(&self) -> usize {
        self.snapshot.stats.high_water_mark
    }
}

fn trial<R>(
    body: &mut impl FnMut() -> R,
    plan: &Plan<'_>,
    tracked: bool,
    printing: Printing,
) -> Result<Trial<R>, ClaimError> {
    let region = region::claim(plan.settings.max_bytes, plan.limit, false, tracked)?;
    let result = {
        let _in_budget = scope::set(region);
        crate::trial::caught(printing, &mut *body)
    };
    let (snapshot, escapes) = region.finish();
    Ok(Trial {
        result,
        snapshot,
        escapes,
    })
}

pub(crate) const NOT_INSTALLED: &str = "a #[memory_budget] test without an allocator parameter measures the global \
     allocator, but fba::GlobalBudget is not the global allocator of this test binary; add these two lines once to \
     the test crate (src/lib.rs for unit tests, the test file for an integration test):\n\
     \n    #[global_allocator]\n    static GLOBAL: fba::GlobalBudget = fba::GlobalBudget::system();";

/// Measures `body` in global-allocator mode. Returns the measurement and
/// what the first trial left: the body's return value or its panic.
pub(crate) fn measure<R: Outcome>(
    plan: Plan<'_>,
    mut body: impl FnMut() -> R,
) -> (Measurement, Option<thread::Result<R>>) {
    quiet::install();
    let mut measurement = Measurement::new(plan.limit, plan.search, plan.settings.max_bytes);
    if !region::installed() {
        measurement.verdict = Verdict::Unusable {
            reason: NOT_INSTALLED.to_owned(),
        };
        return (measurement, None);
    }
    let first = match trial(&mut body, &plan, false, Printing::Trial) {
        Ok(first) => first,
        Err(error) => {
            measurement.verdict = Verdict::Unusable {
                reason: error.to_string(),
            };
            return (measurement, None);
        }
    };
    measurement.trials = 1;
    record(&mut measurement, &first);
    if let Some(reason) = first.failure() {
        measurement.verdict = Verdict::Failed { reason };
        return (measurement, Some(first.result));
    }
    if first.snapshot.abandoned {
        measurement.verdict = Verdict::Failed {
            reason: abandoned(),
        };
        return (measurement, Some(first.result));
    }
    if plan.search {
        // Tracked if blocks escaped, to name them.
        let tracked = first.snapshot.stats.live_allocations > 0;
        match trial(&mut body, &plan, tracked, Printing::Quiet) {
            Ok(second) => {
                measurement.trials = 2;
                if let Some(escapes) = &second.escapes
                    && escapes.complete
                    && let Some(heap) = &mut measurement.heap
                {
                    heap.first_escapes = escapes.blocks.iter().take(4).copied().collect();
                }
                if let Some(verdict) = unstable(&first, &second) {
                    measurement.verdict = verdict;
                    return (measurement, Some(first.result));
                }
            }
            Err(error) => {
                measurement.verdict = Verdict::Unusable {
                    reason: error.to_string(),
                };
                return (measurement, Some(first.result));
            }
        }
    }
    let high_water = first.high_water();
    if first.snapshot.spilled {
        measurement.verdict = Verdict::OverBudget;
    } else if high_water > plan.limit {
        measurement.verdict = Verdict::OverBudget;
        measurement.needed = plan.search.then_some(high_water);
    } else {
        measurement.minimum = plan.search.then_some(high_water);
    }
    if measurement.verdict == Verdict::Passed
        && plan.leaks == Leaks::Deny
        && let Some(heap) = &measurement.heap
        && heap.escaped_blocks > 0
    {
        measurement.verdict = Verdict::Leaked {
            reason: crate::message::escapes(heap),
        };
    }
    if measurement.verdict == Verdict::Passed
        && plan.search
        && let Some(name) = plan.verify
    {
        match verify::by_failure(name, high_water) {
            Ok(()) => measurement.verified_by_failure = true,
            Err(reason) => measurement.verdict = Verdict::NotVerified { reason },
        }
    }
    (measurement, Some(first.result))
}

/// Copies what the trial measured into the measurement.
fn record<R>(measurement: &mut Measurement, trial: &Trial<R>) {
    let snapshot = &trial.snapshot;
    measurement.stats = snapshot.stats;
    measurement.high_water_mark = snapshot.stats.high_water_mark;
    measurement.first_failure = snapshot.over_limit;
    measurement.heap = Some(HeapProfile {
        peak_live_bytes: snapshot.peak_live_bytes,
        peak_live_blocks: snapshot.peak_live_blocks,
        allocations: snapshot.stats.allocations,
        largest_allocation: snapshot.largest,
        escaped_blocks: snapshot.stats.live_allocations,
        escaped_bytes: snapshot.stats.live_bytes,
        first_escapes: Vec::new(),
    });
}

/// The verdict when the second trial did not repeat the first.
fn unstable<R: Outcome>(first: &Trial<R>, second: &Trial<R>) -> Option<Verdict> {
    let reason = if let Some(failure) = second.failure() {
        format!("it passed the first time, then failed: {failure}")
    } else if second.high_water() != first.high_water() {
        format!(
            "its high-water mark was {} bytes the first time and {} bytes the second \
             (lazily initialised statics, printing, and work that depends on timing change it)",
            first.high_water(),
            second.high_water()
        )
    } else {
        return None;
    };
    Some(Verdict::NotDeterministic { reason })
}

fn abandoned() -> String {
    "a thread that entered the budget (BudgetScope::enter) was still inside it 10 seconds after the body returned: \
     join the threads a budget body hands its scope to before the body returns"
        .to_owned()
}
