//! [`Stats`]: what an allocator has done, read in one call.

/// A snapshot of an allocator's statistics.
///
/// Counts cover the allocator's whole life: [`reset`] frees the buffer but
/// keeps its history (the high-water mark and the counts). Zero-size
/// allocations use no memory and are not counted. A grow or shrink that
/// cannot happen in place moves the block, which counts as one allocation and
/// one deallocation, as it does in Zig.
///
/// [`reset`]: crate::FixedBufferAllocator::reset
///
/// # Examples
///
/// ```
/// use fba_core::Buffer;
/// use fba_core::FixedBufferAllocator;
///
/// let mut memory = Buffer::<64>::new();
/// let alloc = FixedBufferAllocator::new(&mut memory);
/// alloc.alloc_str("hello").unwrap();
/// let stats = alloc.stats();
/// assert_eq!((stats.capacity, stats.used, stats.live_allocations), (64, 5, 1));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Stats {
    /// The buffer's size in bytes.
    pub capacity: usize,
    /// Bytes in use: from the buffer's start to the end of the last block
    /// (Zig's `end_index`), padding and unreclaimed frees included.
    pub used: usize,
    /// The largest `used` has ever been: the smallest buffer that would have
    /// served every allocation so far.
    pub high_water_mark: usize,
    /// Successful allocations.
    pub allocations: usize,
    /// Deallocations (a shrink to zero bytes counts as one).
    pub deallocations: usize,
    /// Allocations that did not fit.
    pub failed_allocations: usize,
    /// Allocations failed on purpose (`set_failing`), not counted in
    /// `failed_allocations`.
    pub injected_failures: usize,
    /// Blocks allocated and not yet freed (nor released by `reset`).
    pub live_allocations: usize,
    /// Bytes in live blocks: `used` minus padding and the bytes of frees and
    /// shrinks that could not move the end back.
    pub live_bytes: usize,
    /// What the bytes below the high-water mark were when it was first
    /// reached: `at_high_water.total() == high_water_mark`.
    pub at_high_water: Breakdown,
}

/// What the bytes in use are: every byte below the end of the last block is
/// in a live block, in a block freed (or the part of one shrunk) without
/// moving the end back, or padding before a block.
///
/// # Examples
///
/// ```
/// use fba_core::{Buffer, FixedBufferAllocator};
/// use allocator_api2::boxed::Box;
///
/// let mut memory = Buffer::<256>::new();
/// let alloc = FixedBufferAllocator::new(&mut memory);
/// let name = alloc.alloc_str("Ada").unwrap(); // 3 bytes
/// let scratch = Box::new_in([0u64; 4], &alloc); // 5 bytes of padding, then 32
/// let kept = Box::new_in(1u64, &alloc); // 8 more: the high-water mark, 48
/// drop(scratch); // not the last block: its bytes are not reclaimed
/// let peak = alloc.stats().at_high_water;
/// assert_eq!((peak.live_bytes, peak.freed_bytes, peak.padding_bytes), (43, 0, 5));
/// assert_eq!(peak.total(), alloc.high_water_mark());
/// # let _ = (name, kept);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Breakdown {
    /// Bytes in live blocks.
    pub live_bytes: usize,
    /// Bytes of blocks freed, or of the parts of blocks shrunk, that the end
    /// could not move back over (they were not the last block).
    pub freed_bytes: usize,
    /// Bytes of padding before blocks, to align them.
    pub padding_bytes: usize,
}

impl Breakdown {
    /// The bytes broken down: live, freed and padding together.
    pub const fn total(&self) -> usize {
        self.live_bytes + self.freed_bytes + self.padding_bytes
    }

    /// The breakdown of the high-water mark `high_water_mark`: now, when the
    /// end is at it (`at_mark`: the current `freed` and `padding`), or as
    /// recorded when the end last left it (`peak`: freed and padding then).
    pub(crate) fn at_high_water(
        high_water_mark: usize,
        at_mark: bool,
        now: (usize, usize),
        peak: (usize, usize),
    ) -> Breakdown {
        let (freed, padding) = if at_mark { now } else { peak };
        Breakdown::of(high_water_mark, freed, padding)
    }

    /// The breakdown of `used` bytes of which `freed` are freed and
    /// `padding` are padding (the rest live). Under concurrent use the
    /// counts may come from slightly different moments: the parts never
    /// exceed `used`.
    pub(crate) fn of(used: usize, freed: usize, padding: usize) -> Breakdown {
        let padding = padding.min(used);
        let freed = freed.min(used - padding);
        Breakdown {
            live_bytes: used - padding - freed,
            freed_bytes: freed,
            padding_bytes: padding,
        }
    }
}
