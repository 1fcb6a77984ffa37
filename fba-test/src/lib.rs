//! The runtime of `fba`'s memory budget tests: it runs a body as trials on
//! fixed buffer allocators of given sizes, searches for the smallest that
//! passes, and reports what it found.
//!
//! Use it through the `fba` facade: `#[fba::memory_budget(N)]` on a test, or
//! [`measure`] to do the same work without a macro.

#![deny(unsafe_code)]

mod assert;
mod block_on;
mod budget;
mod budget_test;
mod buffer;
mod child;
mod count_budget;
mod global;
pub mod harness;
mod injection;
#[doc(hidden)]
pub mod macro_support;
mod measurement;
mod message;
mod outcome;
mod output;
mod profile;
mod quiet;
mod report;
mod run;
mod search;
mod settings;
mod sites;
pub mod summary;
mod trial;
mod update;

use fba_core::{FixedBufferAllocator, ThreadSafeFixedBufferAllocator};

pub use assert::{assert_budget, assert_budget_global};
pub use block_on::block_on;
pub use budget::Budget;
pub use buffer::BUFFER_ALIGNMENT;
pub use global::{BudgetScope, GlobalBudget};
pub use injection::{FailurePolicy, InjectedFailure, InjectedOutcome, Injection};
pub use measurement::{
    AllocationSite, Blocks, Frame, HeapProfile, MeasuredState, Measurement, Sites, Target, Verdict,
};
pub use outcome::Outcome;
pub use profile::Profile;
pub use settings::{DEFAULT_MAX_BYTES, DEFAULT_MAX_INJECTIONS};

/// Measures `body` under a memory budget of `limit` bytes, as
/// `#[memory_budget(limit)]` does, without a macro.
///
/// The body runs on a fresh [`FixedBufferAllocator`] with
/// `Exhaustion::Panic`, its panics caught, so collections' infallible APIs
/// fail the trial instead of aborting. If it passes with a high-water mark H,
/// a trial at H must pass and one at H - 1 must fail: then the minimum is H
/// (3 trials). If it needs more than `limit`, trials at growing budgets (up
/// to `FBA_MAX_BYTES`) find what it needs. `FBA_SEARCH=0` turns both
/// searches off.
///
/// `body` may return `()`, `bool` or `Result<T, E>` (`false` and `Err` fail
/// the trial).
///
/// # Examples
///
/// ```
/// use fba::allocator_api2::vec::Vec;
///
/// let small = fba::measure(1024, |alloc| {
///     let mut header = Vec::with_capacity_in(16, alloc);
///     header.extend_from_slice(b"GET / HTTP/1.1\r\n");
/// });
/// assert_eq!((small.minimum, small.trials), (Some(16), 3));
///
/// let large = fba::measure(64, |alloc| alloc.alloc_str(&"x".repeat(100)).is_ok());
/// assert_eq!(large.needed, Some(100));
/// ```
pub fn measure<R: Outcome>(
    limit: usize,
    body: impl FnMut(&FixedBufferAllocator<'_>) -> R,
) -> Measurement {
    Budget::bytes(limit).measure(body)
}

/// [`measure`] for a body that shares its allocator between threads: it
/// gets a [`ThreadSafeFixedBufferAllocator`].
///
/// # Examples
///
/// ```
/// let measurement = fba::measure_thread_safe(4096, |alloc| {
///     std::thread::scope(|s| {
///         for id in 0..4u32 {
///             s.spawn(move || alloc.alloc_fmt(format_args!("worker {id}")).map(|_| ()));
///         }
///     });
/// });
/// assert_eq!(measurement.minimum, Some(4 * 8));
/// ```
pub fn measure_thread_safe<R: Outcome>(
    limit: usize,
    body: impl FnMut(&ThreadSafeFixedBufferAllocator<'_>) -> R,
) -> Measurement {
    Budget::bytes(limit).measure_thread_safe(body)
}

/// Measures the global allocations of `body` (on the calling thread, and on
/// threads it hands its [`BudgetScope`] to) under a budget of `limit` bytes,
/// as a `#[memory_budget(limit)]` test without an allocator parameter does,
/// without a macro. [`GlobalBudget`] must be the global allocator.
///
/// The body runs once as a warm-up, whose leftovers (lazily initialised
/// statics, a thread's destructor list) are reported as
/// [`one_time`](Measurement::one_time) state. Then it runs with those
/// allocations in a fixed buffer far larger than the limit
/// (`FBA_MAX_BYTES`), so nothing fails: the high-water mark H is exactly
/// what a fixed buffer would need, and a second run checks that H is stable
/// (`FBA_SEARCH=0`: one run). The measurement also has the heap profile:
/// peak live bytes and blocks, allocations, the largest block, and the
/// blocks that escaped.
///
/// Nested in another budget's body, it measures its own body alone, and
/// the outer budget does not see those allocations.
///
/// # Examples
///
/// ```
/// #[global_allocator]
/// static GLOBAL: fba::GlobalBudget = fba::GlobalBudget::system();
///
/// let measurement = fba::measure_global(1024, || {
///     let mut words = Vec::with_capacity(4);
///     words.extend(["parse", "a", "header", "!"].map(String::from));
///     assert_eq!(words.concat(), "parseaheader!");
/// });
/// let heap = measurement.heap.as_ref().unwrap();
/// // 4 x 24 bytes of `String`s, 5 + 1 + 6 + 1 bytes of text, and the
/// // concatenation's 13 bytes, all live at once.
/// assert_eq!(measurement.minimum, Some(96 + 13 + 13));
/// assert_eq!((heap.allocations, heap.largest_allocation), (6, 96));
/// // A warm-up, then two runs that agree.
/// assert_eq!((measurement.trials, measurement.runs), (3, 2));
/// ```
pub fn measure_global<R: Outcome>(limit: usize, body: impl FnMut() -> R) -> Measurement {
    Budget::bytes(limit).measure_global(body)
}
