//! The runtime of `fba`'s memory budget tests: it runs a body as trials on
//! fixed buffer allocators of given sizes, searches for the smallest that
//! passes, and reports what it found.
//!
//! Use it through the `fba` facade: `#[fba::memory_budget(N)]` on a test, or
//! [`measure`] to do the same work without a macro.

#![deny(unsafe_code)]

mod buffer;
#[doc(hidden)]
pub mod macro_support;
mod measurement;
mod message;
mod outcome;
mod quiet;
mod search;
mod settings;
mod trial;

use fba_core::{FixedBufferAllocator, ThreadSafeFixedBufferAllocator};

pub use buffer::BUFFER_ALIGNMENT;
pub use measurement::{Measurement, Verdict};
pub use outcome::Outcome;
pub use settings::DEFAULT_MAX_BYTES;

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
    measure_with(limit, trial::fixed(body))
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
    measure_with(limit, trial::thread_safe(body))
}

fn measure_with<R: Outcome>(
    limit: usize,
    trial: impl FnMut(usize, quiet::Printing) -> Result<trial::Trial<R>, buffer::BufferUnavailable>,
) -> Measurement {
    match settings::Settings::from_env() {
        Ok(settings) => search::run(limit, settings.search, settings, trial).measurement,
        Err(error) => unusable(limit, error.to_string()),
    }
}

fn unusable(limit: usize, reason: String) -> Measurement {
    let mut measurement = Measurement::new(limit, false, DEFAULT_MAX_BYTES);
    measurement.verdict = Verdict::Unusable { reason };
    measurement
}
