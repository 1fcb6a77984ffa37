//! Count budgets, `#[memory_budget(4096, allocations = 12)]`: the most
//! allocations a body may make, with the workflow of the byte budget (the
//! message and what to write, `FBA_UPDATE`, `FBA_MAX_HEADROOM`). Counted
//! are new blocks, a `realloc` that moves its block included, a resize in
//! place not; in the run the numbers describe (the trial at the limit, or
//! global mode's steady state).

use crate::measurement::{Measurement, Verdict};

/// Judges `measurement`'s allocations against the count budget `limit`:
/// a body within its byte budget that makes more fails.
pub(crate) fn judge(measurement: &mut Measurement, limit: Option<usize>) {
    measurement.allocation_limit = limit;
    if measurement.verdict == Verdict::Passed && exceeded(measurement) {
        measurement.verdict = Verdict::TooManyAllocations;
    }
}

/// Whether the body makes more allocations than its count budget.
pub(crate) fn exceeded(measurement: &Measurement) -> bool {
    matches!(
        (measurement.allocations, measurement.allocation_limit),
        (Some(count), Some(limit)) if count > limit
    )
}

/// `(budget - count) / budget`, in percent (`None` without a count budget
/// or with one of 0).
pub(crate) fn headroom(measurement: &Measurement) -> Option<f64> {
    let (count, limit) = (measurement.allocations?, measurement.allocation_limit?);
    (limit > 0 && count <= limit).then(|| (limit - count) as f64 * 100.0 / limit as f64)
}
