//! [`FailAllocation`]: allocations an allocator fails on purpose, to test
//! that code handles allocation failure (Zig's `std.testing.FailingAllocator`).

/// Which allocations an allocator fails on purpose (set with
/// `set_failing`), to test the code's error paths: Zig's
/// `std.testing.FailingAllocator`, and what `checkAllAllocationFailures`
/// runs a function with once per allocation.
///
/// Allocations are counted from 1, from the moment the plan is set: every
/// call that needs a new block (an allocation, or a grow or shrink that
/// cannot happen in place), whether it would fit or not. Zero-size
/// allocations and resizes in place are not counted and never fail. An
/// injected failure returns `Err(AllocError)` (a null pointer through
/// `GlobalAlloc`) whatever the [`Exhaustion`](crate::Exhaustion) policy: it is
/// a refusal, not the buffer being full, and it is counted in
/// [`Stats::injected_failures`](crate::Stats::injected_failures), not in
/// `failed_allocations`.
///
/// # Examples
///
/// ```
/// use fba_core::{Buffer, FailAllocation, FixedBufferAllocator};
///
/// let mut memory = Buffer::<256>::new();
/// let mut alloc = FixedBufferAllocator::new(&mut memory);
/// alloc.set_failing(Some(FailAllocation::Only(2)));
/// assert!(alloc.alloc_str("first").is_ok());
/// assert!(alloc.alloc_str("second").is_err());
/// assert!(alloc.alloc_str("third").is_ok());
///
/// alloc.set_failing(Some(FailAllocation::From(2)));
/// assert!(alloc.alloc_str("first again").is_ok());
/// assert!(alloc.alloc_str("second again").is_err());
/// assert!(alloc.alloc_str("and every one after").is_err());
/// assert_eq!(alloc.stats().injected_failures, 3);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailAllocation {
    /// Allocation `n` fails and every other one is served.
    Only(usize),
    /// Allocation `n` and every one after it fail (SQLite's "persistent"
    /// failures), for code that retries.
    From(usize),
}

impl FailAllocation {
    /// Whether allocation `attempt` (counting from 1) fails.
    #[inline]
    pub const fn fails(self, attempt: usize) -> bool {
        match self {
            FailAllocation::Only(n) => attempt == n,
            FailAllocation::From(n) => attempt >= n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FailAllocation;

    #[test]
    fn only_fails_its_own_allocation_and_from_every_one_after() {
        let only: [bool; 4] = core::array::from_fn(|i| FailAllocation::Only(2).fails(i + 1));
        assert_eq!(only, [false, true, false, false]);
        let from: [bool; 4] = core::array::from_fn(|i| FailAllocation::From(2).fails(i + 1));
        assert_eq!(from, [false, true, true, true]);
    }
}
