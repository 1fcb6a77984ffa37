//! The search: a trial at the limit, then *measure, then verify* for the
//! minimum (a trial at the high-water mark H must pass, one at H - 1 must
//! fail: 3 trials in all), bisecting only for bodies that pass below H; and
//! for a body over its limit, trials at growing budgets to find what it needs.
//! Then, for a body over its limit (or with `FBA_SITES` set), one diagnostic
//! trial at the capacity found records where the bytes of its high-water
//! mark were allocated.

use fba_core::{BudgetExceeded, Stats};

use crate::buffer::BufferUnavailable;
use crate::measurement::{Measurement, Verdict};
use crate::outcome::Outcome;
use crate::profile::Profile;
use crate::quiet::Printing;
use crate::settings::{Diagnosis, Settings};
use crate::sites::{self, Recorder};
use crate::trial::{self, Judgement, Trial, Watch};

/// A measurement, and what the trial at the limit left for the caller: the
/// body's return value or its panic.
pub(crate) struct Run<R> {
    pub(crate) measurement: Measurement,
    pub(crate) at_limit: Option<std::thread::Result<R>>,
}

/// Runs the trials for a body with `limit` bytes. `trial(capacity, printing)`
/// runs the body once. With `runs` > 1 (a body whose memory depends on
/// thread timing), that many trials at the limit give a range of high-water
/// marks and the largest is the minimum. `diagnosis` says when the
/// diagnostic trial runs.
pub(crate) fn run<R: Outcome>(
    limit: usize,
    search: bool,
    runs: usize,
    settings: Settings,
    diagnosis: Diagnosis,
    mut trial: impl trial::Trials<R>,
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
    measurement.runs = 1;
    record(&mut measurement, &first);
    let mut judgement = first.judgement();
    let mut high_waters = (first.stats.high_water_mark, first.stats.high_water_mark);
    let mut allocations = first.stats.allocations;
    while judgement == Judgement::Passed && measurement.runs < runs {
        let again = match trials.quiet(limit) {
            Ok(again) => again,
            Err(verdict) => {
                measurement.verdict = verdict;
                measurement.trials = trials.count;
                return Run {
                    measurement,
                    at_limit: Some(first.result),
                };
            }
        };
        measurement.runs += 1;
        judgement = again.judgement();
        let high_water = again.stats.high_water_mark;
        if judgement != Judgement::Passed || high_water > high_waters.1 {
            record(&mut measurement, &again);
        }
        high_waters = (high_waters.0.min(high_water), high_waters.1.max(high_water));
        allocations = allocations.max(again.stats.allocations);
    }
    measurement.lowest_high_water_mark = high_waters.0;
    // The breakdown of the high-water mark is of the trial the result
    // comes from: the one at the limit, unless a search finds another.
    measurement.breakdown = measurement.stats.at_high_water;
    if judgement == Judgement::Passed {
        measurement.allocations = Some(allocations);
    }
    let outcome = match judgement {
        Judgement::Passed if search && runs > 1 => {
            measurement.minimum = Some(high_waters.1);
            Ok(())
        }
        Judgement::Passed if search => minimum(&mut trials, first.stats.high_water_mark, limit)
            .map(|(minimum, stats)| {
                measurement.minimum = Some(minimum);
                measurement.breakdown = stats.at_high_water;
            }),
        Judgement::Passed => Ok(()),
        Judgement::OverBudget => {
            measurement.verdict = Verdict::OverBudget;
            if search {
                needed(
                    &mut trials,
                    limit,
                    measurement.first_failure,
                    settings.max_bytes,
                )
                .map(|needed| {
                    if let Some((needed, stats)) = needed {
                        measurement.needed = Some(needed);
                        measurement.breakdown = stats.at_high_water;
                        // What it allocates where it passes.
                        measurement.allocations = Some(stats.allocations);
                    }
                })
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
    diagnose(&mut trials, &mut measurement, diagnosis);
    if settings.profile {
        profile(&mut trials, &mut measurement);
    }
    measurement.trials = trials.count;
    Run {
        measurement,
        at_limit: Some(first.result),
    }
}

/// Copies what `trial` measured into the measurement.
fn record<R>(measurement: &mut Measurement, trial: &Trial<R>) {
    measurement.high_water_mark = trial.stats.high_water_mark;
    measurement.stats = trial.stats;
    measurement.first_failure = trial.first_failure;
}

/// The diagnostic trial, where it is wanted: at the capacity the body
/// passes with (its minimum, what it needs, or its limit without a search),
/// recording where the bytes of its high-water mark were allocated.
fn diagnose<R: Outcome>(
    trials: &mut Trials<'_, R>,
    measurement: &mut Measurement,
    diagnosis: Diagnosis,
) {
    let capacity = match measurement.verdict {
        Verdict::Passed => measurement.minimum.or(Some(measurement.limit)),
        Verdict::OverBudget => measurement.needed,
        _ => None,
    };
    let over = measurement.verdict == Verdict::OverBudget;
    let Some(capacity) = capacity.filter(|_| diagnosis.wanted(over)) else {
        return;
    };
    // A body that passes with `capacity` bytes reaches them at its peak
    // (unless it adapts to failure): nothing after that is recorded.
    let recorder = Recorder::explaining(capacity);
    trials.count += 1;
    if let Ok(trial) = (trials.trial)(capacity, Printing::Quiet, Watch::recorded(&recorder))
        && trial.passed()
    {
        // Resolving stacks allocates: the runtime's work, outside any budget.
        measurement.sites = Some(crate::global::suspended(|| {
            sites::sites(recorder.take(), trial.stats.high_water_mark)
        }));
        measurement.breakdown = trial.stats.at_high_water;
    }
}

/// The profiling trial (`FBA_PROFILE`): how the buffer filled, at the
/// capacity the body passes with, or at the limit.
fn profile<R: Outcome>(trials: &mut Trials<'_, R>, measurement: &mut Measurement) {
    let capacity = measurement
        .minimum
        .or(measurement.needed)
        .unwrap_or(measurement.limit);
    let recorder = Recorder::profiling();
    trials.count += 1;
    if (trials.trial)(capacity, Printing::Quiet, Watch::recorded(&recorder)).is_ok() {
        measurement.profile = Some(crate::global::suspended(|| Profile::of(&recorder.take())));
    }
}

/// Counts the trials it runs.
struct Trials<'a, R> {
    trial: &'a mut dyn trial::Trials<R>,
    count: usize,
}

impl<R: Outcome> Trials<'_, R> {
    fn run(&mut self, capacity: usize, printing: Printing) -> Result<Trial<R>, BufferUnavailable> {
        self.count += 1;
        (self.trial)(capacity, printing, Watch::NOTHING)
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
    /// `fails_below` - 1 bytes and less (as far as is known), with the
    /// statistics of the trial there.
    fn smallest_passing(
        &mut self,
        high_water: usize,
        seen_at: usize,
        fails_below: usize,
    ) -> Result<(usize, Stats), Verdict> {
        let at_high_water = self.quiet(high_water)?;
        if !at_high_water.passed() {
            return Err(not_deterministic(seen_at, high_water, &at_high_water));
        }
        let found = (high_water, at_high_water.stats);
        if high_water <= fails_below {
            return Ok(found);
        }
        let below = self.quiet(high_water - 1)?;
        if !below.passed() {
            return Ok(found);
        }
        // It passes below its high-water mark (it reacts to failing
        // allocations): bisect between what fails and what passes.
        let (mut failing_below, mut passing) = (fails_below, (high_water - 1, below.stats));
        while failing_below < passing.0 {
            let middle = failing_below + (passing.0 - failing_below) / 2;
            let trial = self.quiet(middle)?;
            if trial.passed() {
                passing = (middle, trial.stats);
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
) -> Result<(usize, Stats), Verdict> {
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
) -> Result<Option<(usize, Stats)>, Verdict> {
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

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use allocator_api2::vec::Vec;
    use fba_core::{FixedBufferAllocator, ThreadSafeFixedBufferAllocator};

    use super::*;
    use crate::trial;

    const SETTINGS: Settings = Settings {
        search: true,
        max_bytes: 1 << 20,
        verify: false,
        sites: crate::settings::Sites {
            shown: Some(0),
            asked: false,
        },
        max_injections: crate::settings::DEFAULT_MAX_INJECTIONS,
        profile: false,
    };

    fn fixed<R: Outcome>(
        limit: usize,
        body: impl FnMut(&FixedBufferAllocator<'_>) -> R,
    ) -> Measurement {
        run(limit, true, 1, SETTINGS, Diagnosis::Off, trial::fixed(body)).measurement
    }

    /// Allocates `n` bytes in one block, and frees them.
    fn bytes(alloc: &FixedBufferAllocator<'_>, n: usize) {
        drop(block(alloc, n));
    }

    /// A block of `n` bytes.
    fn block<'a>(
        alloc: &'a FixedBufferAllocator<'_>,
        n: usize,
    ) -> Vec<u8, &'a FixedBufferAllocator<'a>> {
        let mut block = Vec::with_capacity_in(n, alloc);
        block.resize(n, 1);
        block
    }

    #[test]
    fn a_passing_body_gets_its_exact_minimum_in_three_trials() {
        let m = fixed(4096, |alloc| {
            bytes(alloc, 3000);
            bytes(alloc, 104);
        });
        assert_eq!(
            (m.verdict.clone(), m.minimum, m.trials),
            (Verdict::Passed, Some(3000), 3)
        );
        assert_eq!(m.high_water_mark, 3000);
    }

    #[test]
    fn the_minimum_counts_padding_from_the_aligned_buffer() {
        let m = fixed(4096, |alloc| {
            alloc.alloc_str("abc").unwrap();
            alloc.alloc_slice_copy(&[1u64; 4]).unwrap();
        });
        assert_eq!(m.minimum, Some(3 + 5 + 32));
    }

    #[test]
    fn a_body_that_allocates_nothing_has_a_minimum_of_zero_in_two_trials() {
        let m = fixed(64, |_alloc| {});
        assert_eq!((m.minimum, m.trials), (Some(0), 2));
    }

    #[test]
    fn a_body_that_passes_below_its_high_water_mark_is_bisected() {
        // Tries a big scratch block first and falls back to a small one.
        let m = fixed(4096, |alloc| {
            let big = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| bytes(alloc, 2000)));
            if big.is_err() {
                bytes(alloc, 100);
            }
        });
        assert_eq!(m.minimum, Some(100));
        assert!(m.trials > 3, "{m:?}");
        assert!(
            m.trials <= 3 + 11,
            "bisection of 0..2000 takes at most 11 trials: {m:?}"
        );
    }

    #[test]
    fn an_over_budget_body_gets_what_it_needs_and_its_first_failure() {
        let m = fixed(4096, |alloc| {
            let _kept = block(alloc, 4000);
            bytes(alloc, 1120);
        });
        assert_eq!(
            (m.verdict.clone(), m.needed),
            (Verdict::OverBudget, Some(5120))
        );
        let failure = m.first_failure.unwrap();
        assert_eq!(
            (failure.layout.size(), failure.used, failure.capacity),
            (1120, 4000, 4096)
        );
        // The trial at the limit, one at the lower bound the failure gives
        // (8192, the doubled limit, is larger), then 5120 and 5119.
        assert_eq!(m.trials, 4);
    }

    #[test]
    fn a_body_over_the_search_bound_needs_more_than_it() {
        let m = fixed(1024, |alloc| bytes(alloc, 2 << 20));
        assert_eq!((m.verdict, m.needed), (Verdict::OverBudget, None));
        assert_eq!(m.max_bytes, 1 << 20);
    }

    #[test]
    fn a_body_that_fails_otherwise_keeps_its_message() {
        let m = fixed(4096, |alloc| {
            bytes(alloc, 10);
            assert_eq!(1 + 1, 3, "arithmetic is broken");
        });
        let Verdict::Failed { reason } = m.verdict else {
            panic!("{m:?}")
        };
        assert!(
            reason.starts_with("assertion `left == right` failed: arithmetic is broken"),
            "{reason}"
        );
        assert_eq!(m.trials, 1);
    }

    #[test]
    fn an_err_fails_the_trial_with_its_debug() {
        let m = fixed(4096, |_alloc| Err::<(), _>("no header"));
        assert_eq!(
            m.verdict,
            Verdict::Failed {
                reason: "Error: \"no header\"".to_owned()
            }
        );
    }

    #[test]
    fn false_fails_the_trial() {
        let m = fixed(4096, |_alloc| false);
        assert_eq!(
            m.verdict,
            Verdict::Failed {
                reason: "the body returned false".to_owned()
            }
        );
    }

    #[test]
    fn a_body_whose_memory_grows_each_run_is_not_deterministic() {
        let runs = Cell::new(0);
        let m = fixed(4096, |alloc| {
            runs.set(runs.get() + 1);
            bytes(alloc, 100 * runs.get());
        });
        let Verdict::NotDeterministic { reason } = m.verdict else {
            panic!("{m:?}")
        };
        assert!(reason.starts_with("it passed with 4096 bytes and a high-water mark of 100 bytes, then failed with 100 bytes: an allocation did not fit"), "{reason}");
    }

    #[test]
    fn a_budget_exceeded_on_another_thread_is_over_budget() {
        let m = run(
            256,
            true,
            1,
            SETTINGS,
            Diagnosis::Off,
            trial::thread_safe(|alloc: &ThreadSafeFixedBufferAllocator<'_>| {
                std::thread::scope(|s| {
                    s.spawn(|| alloc.alloc_slice_copy(&[0u8; 300]).map(|_| ()))
                        .join()
                })
                .map_err(|_| "the worker panicked")
            }),
        )
        .measurement;
        assert_eq!((m.verdict, m.needed), (Verdict::OverBudget, Some(300)));
    }

    #[test]
    fn without_search_one_trial_decides() {
        let passing = run(
            4096,
            false,
            1,
            SETTINGS,
            Diagnosis::Off,
            trial::fixed(|alloc: &FixedBufferAllocator<'_>| bytes(alloc, 10)),
        )
        .measurement;
        assert_eq!(
            (passing.minimum, passing.high_water_mark, passing.trials),
            (None, 10, 1)
        );
        let failing = run(
            8,
            false,
            1,
            SETTINGS,
            Diagnosis::Off,
            trial::fixed(|alloc: &FixedBufferAllocator<'_>| bytes(alloc, 10)),
        )
        .measurement;
        assert_eq!(
            (failing.verdict.clone(), failing.needed, failing.trials),
            (Verdict::OverBudget, None, 1)
        );
        assert_eq!(failing.needs_at_least(), Some(10));
    }

    #[test]
    fn a_limit_too_large_to_allocate_is_unusable_not_an_abort() {
        let m = fixed(usize::MAX / 2, |alloc| bytes(alloc, 10));
        let Verdict::Unusable { reason } = m.verdict else {
            panic!("{m:?}")
        };
        assert!(
            reason.starts_with("could not allocate a buffer of"),
            "{reason}"
        );
    }

    /// Runs `body` as `run` does with `diagnosis`; returns the measurement
    /// and how many of its trials were observed.
    fn observed_trials(
        limit: usize,
        diagnosis: Diagnosis,
        body: impl FnMut(&FixedBufferAllocator<'_>),
    ) -> (Measurement, usize) {
        let observed = Cell::new(0);
        let mut trial = trial::fixed(body);
        let counting = |capacity, printing, watch: Watch<'_>| {
            observed.set(observed.get() + usize::from(watch.recorder.is_some()));
            trial(capacity, printing, watch)
        };
        let measurement = run(limit, true, 1, SETTINGS, diagnosis, counting).measurement;
        (measurement, observed.get())
    }

    #[test]
    fn measuring_trials_are_never_observed_and_the_diagnostic_trial_is_one_more() {
        let (m, observed) = observed_trials(4096, Diagnosis::Failures, |alloc| bytes(alloc, 100));
        assert_eq!((observed, m.trials, m.sites.is_none()), (0, 3, true));
        let (m, observed) = observed_trials(4096, Diagnosis::Always, |alloc| bytes(alloc, 100));
        assert_eq!((observed, m.trials), (1, 4));
        let sites = m.sites.expect("the diagnostic trial's sites");
        assert_eq!((sites.high_water_mark, sites.live.len()), (100, 1));
        let (m, observed) = observed_trials(64, Diagnosis::Failures, |alloc| bytes(alloc, 100));
        assert_eq!((m.verdict, observed), (Verdict::OverBudget, 1));
        assert_eq!(m.breakdown.total(), 100);
        let (_, observed) = observed_trials(64, Diagnosis::Off, |alloc| bytes(alloc, 100));
        assert_eq!(observed, 0);
    }
}
