//! [`Budget`]: what `#[memory_budget(..)]` declares, for measuring a body
//! without the macro: the bytes, a count budget, and failure injection.

use fba_core::{FixedBufferAllocator, ThreadSafeFixedBufferAllocator};

use crate::count_budget;
use crate::global;
use crate::injection::{self, FailurePolicy, Place};
use crate::measurement::{Measurement, Verdict};
use crate::outcome::Outcome;
use crate::search;
use crate::settings::{DEFAULT_MAX_BYTES, Settings};
use crate::trial::{self, Trials};

/// A memory budget, as `#[memory_budget(bytes, ..)]` declares one, to
/// measure a body with it without the macro: [`fba::measure`](crate::measure)
/// is `Budget::bytes(limit).measure(body)`.
///
/// # Examples
///
/// A count budget (`allocations = N`): the verdict says whether the body
/// makes more allocations than it allows.
///
/// ```
/// use fba::{Budget, Verdict};
/// use fba::allocator_api2::vec::Vec;
///
/// let pushed = Budget::bytes(4096).allocations(1).measure(|alloc| {
///     let mut numbers = Vec::new_in(alloc);
///     numbers.extend_from_slice(&[1u32, 2, 3, 4, 5]);
///     numbers.push(6); // past its capacity of 5: grows in place, no allocation
/// });
/// assert_eq!((pushed.allocations, pushed.verdict), (Some(1), Verdict::Passed));
///
/// // Two vectors, each growing in turn: each growth moves a block.
/// let moved = Budget::bytes(4096).allocations(2).measure(|alloc| {
///     let (mut a, mut b) = (Vec::new_in(alloc), Vec::new_in(alloc));
///     for i in 0..8u32 {
///         a.push(i);
///         b.push(i);
///     }
/// });
/// assert_eq!(moved.verdict, Verdict::TooManyAllocations);
/// ```
///
/// Failure injection (Zig's `checkAllAllocationFailures`): each allocation
/// is failed in turn, and every run must handle it.
///
/// ```
/// use fba::{Budget, FixedBufferAllocator, InjectedOutcome, Verdict};
/// use fba::allocator_api2::{boxed::Box, vec::Vec};
///
/// fn field_lengths(alloc: &FixedBufferAllocator<'_>, text: &str) -> Result<usize, fba::AllocError> {
///     let mut lengths = Vec::new_in(alloc);
///     lengths.try_reserve(4).map_err(|_| fba::AllocError)?;
///     lengths.extend(text.split(',').map(str::len));
///     Ok(lengths.iter().sum())
/// }
///
/// let handled = Budget::bytes(4096)
///     .fail_each_allocation()
///     .measure(|alloc| field_lengths(alloc, "GET,/,HTTP"));
/// assert!(handled.passed());
/// assert_eq!(handled.injection.unwrap().runs, 1);
///
/// let unwrapped = Budget::bytes(4096).fail_each_allocation().measure(|alloc| {
///     let header = Box::try_new_in(7u64, alloc).unwrap();
///     drop(header);
/// });
/// let injection = unwrapped.injection.unwrap();
/// assert_eq!((injection.allocations, injection.failures.len()), (1, 1));
/// assert!(matches!(injection.failures[0].outcome, InjectedOutcome::Panicked { .. }));
/// assert!(matches!(unwrapped.verdict, Verdict::FailureNotHandled { .. }));
/// ```
///
/// Without the macro, failure injection runs in this process: an allocation
/// failure that reaches an infallible API (`Vec::push`, `Box::new_in`) ends
/// it in `handle_alloc_error`'s abort. The attribute runs them in child
/// processes, where an abort is reported as the run's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    bytes: usize,
    allocations: Option<usize>,
    failing: Option<FailurePolicy>,
    allow_swallowed: bool,
}

impl Budget {
    /// A budget of `limit` bytes, as `#[memory_budget(limit)]`.
    pub const fn bytes(limit: usize) -> Budget {
        Budget {
            bytes: limit,
            allocations: None,
            failing: None,
            allow_swallowed: false,
        }
    }

    /// At most `count` allocations too, as `allocations = count`.
    pub const fn allocations(self, count: usize) -> Budget {
        Budget {
            allocations: Some(count),
            ..self
        }
    }

    /// Fails each allocation in turn after the measurement, one run each,
    /// as `fail_each_allocation = true`.
    pub const fn fail_each_allocation(self) -> Budget {
        Budget {
            failing: Some(FailurePolicy::EachAllocation),
            ..self
        }
    }

    /// Fails every allocation from each one on, one run each, as
    /// `fail_from_allocation = true` (for code that retries).
    pub const fn fail_from_allocation(self) -> Budget {
        Budget {
            failing: Some(FailurePolicy::FromAllocation),
            ..self
        }
    }

    /// Lets a run that returns `Ok` although an allocation failed pass, as
    /// `swallowed = "allow"` (a body that recovers on purpose).
    pub const fn allow_swallowed(self) -> Budget {
        Budget {
            allow_swallowed: true,
            ..self
        }
    }

    /// Measures `body` on a [`FixedBufferAllocator`], as a
    /// `#[memory_budget]` test with that parameter (see
    /// [`fba::measure`](crate::measure)).
    pub fn measure<R: Outcome>(
        self,
        body: impl FnMut(&FixedBufferAllocator<'_>) -> R,
    ) -> Measurement {
        self.measure_with(trial::fixed(body))
    }

    /// Measures `body` on a [`ThreadSafeFixedBufferAllocator`] (see
    /// [`fba::measure_thread_safe`](crate::measure_thread_safe)).
    pub fn measure_thread_safe<R: Outcome>(
        self,
        body: impl FnMut(&ThreadSafeFixedBufferAllocator<'_>) -> R,
    ) -> Measurement {
        self.measure_with(trial::thread_safe(body))
    }

    /// Measures the global allocations of `body`, as a `#[memory_budget]`
    /// test without a parameter (see
    /// [`fba::measure_global`](crate::measure_global)).
    /// [`GlobalBudget`](crate::GlobalBudget) must be the global allocator.
    pub fn measure_global<R: Outcome>(self, mut body: impl FnMut() -> R) -> Measurement {
        let settings = match Settings::from_env() {
            Ok(settings) => settings,
            Err(error) => return unusable(self.bytes, error.to_string()),
        };
        let plan = global::Plan::new(self.bytes, settings, settings.sites.for_measurements());
        global::suspended(|| {
            let (mut measurement, _) = global::measure(plan, &mut body);
            count_budget::judge(&mut measurement, self.allocations);
            if let Some(plan) = self.injection_plan(&settings)
                && measurement.verdict == Verdict::Passed
            {
                let left_live = measurement
                    .heap
                    .as_ref()
                    .map_or(0, |heap| heap.escaped.count);
                injection::inject(
                    &mut measurement,
                    plan,
                    Place::Here,
                    left_live,
                    &mut injection::GlobalRuns {
                        body: &mut body,
                        limit: self.bytes,
                        max_bytes: settings.max_bytes,
                    },
                );
            }
            measurement
        })
    }

    fn measure_with<R: Outcome>(self, mut trial: impl Trials<R>) -> Measurement {
        let settings = match Settings::from_env() {
            Ok(settings) => settings,
            Err(error) => return unusable(self.bytes, error.to_string()),
        };
        let mut measurement = search::run(
            self.bytes,
            settings.search,
            1,
            settings,
            settings.sites.for_measurements(),
            &mut trial,
        )
        .measurement;
        count_budget::judge(&mut measurement, self.allocations);
        if let Some(plan) = self.injection_plan(&settings)
            && measurement.verdict == Verdict::Passed
        {
            let left_live = measurement.stats.live_allocations;
            injection::inject(
                &mut measurement,
                plan,
                Place::Here,
                left_live,
                &mut injection::Trials::new(&mut trial, self.bytes),
            );
        }
        measurement
    }

    fn injection_plan(self, settings: &Settings) -> Option<injection::Plan> {
        self.failing.map(|policy| injection::Plan {
            policy,
            allow_swallowed: self.allow_swallowed,
            max_runs: settings.max_injections,
        })
    }
}

fn unusable(limit: usize, reason: String) -> Measurement {
    let mut measurement = Measurement::new(limit, false, DEFAULT_MAX_BYTES);
    measurement.verdict = Verdict::Unusable { reason };
    measurement
}
