//! What an allocator does when a block does not fit: [`Exhaustion`] is the
//! policy, [`BudgetExceeded`] describes the allocation that failed.

use core::alloc::Layout;
use core::fmt;

use allocator_api2::alloc::AllocError;

/// What an allocator does when an allocation does not fit in its buffer.
///
/// # Examples
///
/// ```
/// use fba_core::Buffer;
/// use fba_core::{Exhaustion, FixedBufferAllocator};
///
/// let mut memory = Buffer::<16>::new();
/// let alloc = FixedBufferAllocator::new(&mut memory);
/// assert_eq!(alloc.exhaustion(), Exhaustion::Error);
/// assert!(alloc.alloc_str("longer than sixteen bytes").is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Exhaustion {
    /// Return `Err(AllocError)`, as Zig does: memory failure is not hidden.
    ///
    /// Note that infallible APIs of collections (`Vec::push`, `Box::new_in`)
    /// turn that `Err` into `handle_alloc_error`, which aborts the process on
    /// stable Rust. Use [`Exhaustion::Panic`] where that must be survivable.
    #[default]
    Error,
    /// Panic with a [`BudgetExceeded`] payload (with the `std` feature, the
    /// payload is the value itself and can be downcast from
    /// `std::panic::catch_unwind`'s error; without it, the panic message is
    /// its `Display`).
    ///
    /// An allocator cannot tell its callers apart, so fallible APIs such as
    /// `Vec::try_reserve` panic too under this policy.
    Panic,
}

impl Exhaustion {
    pub(crate) const fn to_u8(self) -> u8 {
        match self {
            Exhaustion::Error => 0,
            Exhaustion::Panic => 1,
        }
    }

    pub(crate) const fn from_u8(value: u8) -> Exhaustion {
        match value {
            0 => Exhaustion::Error,
            _ => Exhaustion::Panic,
        }
    }
}

/// An allocation that did not fit: what was asked for and what was left.
///
/// Under [`Exhaustion::Panic`] it is the panic payload; every allocator also
/// remembers its first one (`first_failure`).
///
/// # Examples
///
/// ```
/// use core::alloc::Layout;
/// use fba_core::BudgetExceeded;
///
/// let failure = BudgetExceeded { layout: Layout::new::<[u64; 4]>(), used: 24, capacity: 32 };
/// assert_eq!(failure.remaining(), 8);
/// assert_eq!(
///     failure.to_string(),
///     "allocation of 32 bytes (align 8) does not fit: 24 of 32 bytes in use, 8 free",
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BudgetExceeded {
    /// The size and alignment that were requested.
    pub layout: Layout,
    /// Bytes of the buffer in use when the allocation failed.
    pub used: usize,
    /// The buffer's size in bytes.
    pub capacity: usize,
}

impl BudgetExceeded {
    /// Bytes that were still free when the allocation failed.
    ///
    /// # Examples
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use fba_core::BudgetExceeded;
    /// let failure = BudgetExceeded { layout: Layout::new::<u64>(), used: 60, capacity: 64 };
    /// assert_eq!(failure.remaining(), 4);
    /// ```
    pub const fn remaining(&self) -> usize {
        self.capacity.saturating_sub(self.used)
    }
}

impl fmt::Display for BudgetExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "allocation of {} bytes (align {}) does not fit: {} of {} bytes in use, {} free",
            self.layout.size(),
            self.layout.align(),
            self.used,
            self.capacity,
            self.remaining()
        )
    }
}

impl core::error::Error for BudgetExceeded {}

/// Carries out `policy` for `failure`: panics under [`Exhaustion::Panic`],
/// otherwise returns the error to give the caller. Kept out of line so the
/// allocation fast path stays small.
#[cold]
#[inline(never)]
pub(crate) fn exhausted(policy: Exhaustion, failure: BudgetExceeded) -> AllocError {
    if policy == Exhaustion::Panic {
        panic_with(failure);
    }
    AllocError
}

#[cfg(feature = "std")]
fn panic_with(failure: BudgetExceeded) -> ! {
    std::panic::panic_any(failure)
}

#[cfg(not(feature = "std"))]
fn panic_with(failure: BudgetExceeded) -> ! {
    panic!("{failure}")
}
