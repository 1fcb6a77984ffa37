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
    /// Blocks allocated and not yet freed (nor released by `reset`).
    pub live_allocations: usize,
    /// Bytes in live blocks: `used` minus padding and the bytes of frees and
    /// shrinks that could not move the end back.
    pub live_bytes: usize,
}
