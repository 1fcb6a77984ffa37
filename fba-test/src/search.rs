//! The search: a trial at the limit, then *measure, then verify* for the
//! minimum (a trial at the high-water mark H must pass, one at H - 1 must
//! fail: 3 trials in all), bisecting only for bodies that pass below H; and
//! for a body over its limit, trials at growing budgets to find what it needs.

use fba_core::BudgetExceeded;

use crate::buffer::BufferUnavailable;
use crate::measurement::{Measurement, Verdict};
use crate::outcome::Outcome;
use crate::quiet::Printing;
use crate::settings::Settings;
use crate::trial::{Judgement, Trial};

/// A measurement, and what the trial at the limit left for the caller: the
/// body's return value or its panic.
pub(crate) struct Run<R> {
    pub(crate) measurement: Measurement,
    pub(crate) at_limit: Option<std::thread::Result<R>>,
}

/// Runs the trials for a body with `limit` bytes. `trial(capacity, printing)`
/// runs the body once.
pub(crate) fn run<R: Outcome>(
    limit: usize,
    search: bool,
    settings: Settings,
    mut trial: impl FnMut(usize, Printing) -> Result<Trial<R>, BufferUnavailable>,
) -> Run<R> {
    let mut measurement = Measurement::new(limit, search, settings.max_bytes);
    let mut trials = Trials {
        trial: &mut trial,
        count: 0,
    };
    let first = match trials.run(limit, Printing::Trial) {
        Ok(first) => first,
        Err(unavailable) => {
            measurement.verdict = Verdict::Unusable {
                reason: unavailable.to_string(),
            };
            return Run {
                measurement,
                at_limit: None,
            };
        }
    };
    measurement.high_water_mark = first.stats.high_water_mark;
    measurement.stats = first.stats;
    measurement.first_failure = first.first_failure;
    let outcome = match first.judgement() {
        Judgement::Passed if search => minimum(&mut trials, first.stats.high_water_mark, limit)
            .map(|minimum| measurement.minimum = Some(minimum)),
        Judgement::Passed => Ok(()),
        Judgement::OverBudget => {
            measurement.verdict = Verdict::OverBudget;
            if search {
                needed(&mut trials, limit, first.first_failure, settings.max_bytes)
                    .map(|needed| measurement.needed = needed)
            } else {
                Ok(())
            }
        }
        Judgement::Failed(reason) => {
            measurement.verdict = Verdict::Failed { reason };
            Ok(())
        }
    };
    if let Err(verdict) = outcome {
        measurement.verdict = verdict;
    }
    measurement.trials = trials.count;
    Run {
        measurement,
        at_limit: Some(first.result),
    }
}

/// Counts the trials it runs.
struct Trials<'a, R> {
    trial: &'a mut dyn FnMut(usize, Printing) -> Result<Trial<R>, BufferUnavailable>,
    count: usize,
}

impl<R: Outcome> Trials<'_, R> {
    fn run(&mut self, capacity: usize, printing: Printing) -> Result<Trial<R>, BufferUnavailable> {
        self.count += 1;
        (self.trial)(capacity, printing)
    }

    /// A trial whose failure the search expects: quiet, and a buffer that
    /// cannot be allocated ends the search.
    fn quiet(&mut self, capacity: usize) -> Result<Trial<R>, Verdict> {
        self.run(capacity, Printing::Quiet)
            .map_err(|unavailable| Verdict::Unusable {
                reason: unavailable.to_string(),
            })
    }

    /// The smallest capacity the body passes with, given that it passed with
    /// high-water mark `high_water` (at `seen_at` bytes) and fails at
    /// `fails_below` - 1 bytes and less (as far as is known).
    fn smallest_passing(
        &mut self,
        high_water: usize,
        seen_at: usize,
        fails_below: usize,
    ) -> Result<usize, Verdict> {
        let at_high_water = self.quiet(high_water)?;
        if !at_high_water.passed() {
            return Err(not_deterministic(seen_at, high_water, &at_high_water));
        }
        if high_water <= fails_below {
            return Ok(high_water);
        }
        if !self.quiet(high_water - 1)?.passed() {
            return Ok(high_water);
        }
        // It passes below its high-water mark (it reacts to failing
        // allocations): bisect between what fails and what passes.
        let (mut failing_below, mut passing) = (fails_below, high_water - 1);
        while failing_below < passing {
            let middle = failing_below + (passing - failing_below) / 2;
            if self.quiet(middle)?.passed() {
                passing = middle;
            } else {
                failing_below = middle + 1;
            }
        }
        Ok(passing)
    }
}

/// The minimum of a body that passed at `limit` with high-water mark `high_water`.
fn minimum<R: Outcome>(
    trials: &mut Trials<'_, R>,
    high_water: usize,
    limit: usize,
) -> Result<usize, Verdict> {
    trials.smallest_passing(high_water, limit, 0)
}

/// What a body over its `limit` needs: trials at budgets growing from what
/// its first failure shows it needs at least, doubling up to `max_bytes`.
/// `Ok(None)` when even `max_bytes` is not enough.
fn needed<R: Outcome>(
    trials: &mut Trials<'_, R>,
    limit: usize,
    first_failure: Option<BudgetExceeded>,
    max_bytes: usize,
) -> Result<Option<usize>, Verdict> {
    let at_least = first_failure
        .map(|failure| failure.used.saturating_add(failure.layout.size()))
        .unwrap_or(0);
    let mut fails_below = limit.saturating_add(1);
    let mut capacity = limit.saturating_mul(2).max(at_least).max(fails_below);
    loop {
        if capacity > max_bytes {
            if fails_below > max_bytes {
                return Ok(None);
            }
            capacity = max_bytes;
        }
        let trial = trials.quiet(capacity)?;
        match trial.judgement() {
            Judgement::Passed => {
                let high_water = trial.stats.high_water_mark;
                return trials
                    .smallest_passing(high_water, capacity, fails_below)
                    .map(Some);
            }
            Judgement::OverBudget => {
                fails_below = capacity.saturating_add(1);
                capacity = capacity.saturating_mul(2);
            }
            Judgement::Failed(reason) => {
                return Err(Verdict::Failed {
                    reason: format!(
                        "the budget of {limit} bytes was exceeded, and with {capacity} bytes the body failed: {reason}"
                    ),
                });
            }
        }
    }
}

fn not_deterministic<R: Outcome>(seen_at: usize, high_water: usize, again: &Trial<R>) -> Verdict {
    let what = match again.judgement() {
        Judgement::OverBudget => match again.first_failure {
            Some(failure) => format!("an allocation did not fit ({failure})"),
            None => "an allocation did not fit".to_owned(),
        },
        Judgement::Failed(reason) => reason,
        Judgement::Passed => unreachable!("a trial that passed is not a failure"),
    };
    Verdict::NotDeterministic {
        reason: format!(
            "it passed with {seen_at} bytes and a high-water mark of {high_water} bytes, \
             then failed with {high_water} bytes: {what}"
        ),
    }
}
