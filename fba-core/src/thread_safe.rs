//! [`ThreadSafeFixedBufferAllocator`]: the fixed buffer allocator for blocks
//! shared between threads, bumping with compare-and-swap instead of a lock.

use core::alloc::{GlobalAlloc, Layout};
use core::fmt;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use allocator_api2::alloc::AllocError;

use crate::bump::{dangling, is_aligned_to, place, pointer_at};
use crate::exhaustion::exhausted;
use crate::{Breakdown, BudgetExceeded, Exhaustion, FailAllocation, Observer, Stats, text};

// Every change of `end` that hands bytes over (a free that rewinds, a shrink
// of the last block) releases them, and every change that takes bytes (an
// allocation, an in-place grow) acquires them, so what one thread wrote into
// a block happens before another thread gets the same bytes.
const TAKE: Ordering = Ordering::AcqRel;
const LOOK: Ordering = Ordering::Relaxed;

/// The `Sync` fixed buffer allocator: the semantics of
/// [`FixedBufferAllocator`], shared by any number of threads.
///
/// The end of the used region moves by compare-and-swap. Unlike Zig's
/// thread-safe allocator, which never frees and tries a resize once, a free
/// or resize of the most recent block retries until it either happens or the
/// block is no longer the most recent one: no free is lost and no resize is
/// reported that did not happen.
///
/// Statistics read while other threads allocate are each exact at some
/// moment, not necessarily the same moment.
///
/// [`FixedBufferAllocator`]: crate::FixedBufferAllocator
///
/// # Examples
///
/// ```
/// use fba_core::Buffer;
/// use allocator_api2::vec::Vec;
/// use fba_core::ThreadSafeFixedBufferAllocator;
///
/// let mut memory = Buffer::<4096>::new();
/// let alloc = ThreadSafeFixedBufferAllocator::new(&mut memory);
/// std::thread::scope(|s| {
///     for worker in 0..4u64 {
///         let alloc = &alloc;
///         s.spawn(move || {
///             let mut squares = Vec::new_in(alloc);
///             squares.extend((0..10).map(|i| i * worker));
///             assert_eq!(squares[9], 9 * worker);
///         });
///     }
/// });
/// assert_eq!(alloc.stats().live_allocations, 0);
/// ```
#[repr(C)]
pub struct ThreadSafeFixedBufferAllocator<'buf> {
    /// The buffer's first byte; every block's pointer is derived from it.
    base: NonNull<u8>,
    /// Where an allocation may end and take the fast path: `capacity`, or 0
    /// while an [`Observer`] watches (see `FixedBufferAllocator`).
    fit: usize,
    /// Bytes in use (Zig's `end_index`). An offset rather than an address, so
    /// that `new` can be a `const fn` and the allocator a `static`.
    end: AtomicUsize,
    /// The largest `end` seen when `end` last moved back (see
    /// `FixedBufferAllocator`).
    high_water: AtomicUsize,
    allocations: AtomicUsize,
    deallocations: AtomicUsize,
    /// Bytes below `end` in no live block (see `FixedBufferAllocator`).
    padding: AtomicUsize,
    freed: AtomicUsize,
    /// `padding` and `freed` when the high-water mark was first reached.
    peak_padding: AtomicUsize,
    peak_freed: AtomicUsize,
    released: AtomicUsize,
    failed: AtomicUsize,
    exhaustion: AtomicU8,
    first_failure: FirstFailure,
    capacity: usize,
    observer: Option<&'buf dyn Observer>,
    /// The allocations to fail on purpose (see `FixedBufferAllocator`).
    failing: Option<FailAllocation>,
    attempts: AtomicUsize,
    injected: AtomicUsize,
    _buffer: PhantomData<&'buf mut [MaybeUninit<u8>]>,
}

// SAFETY: the allocator is the only user of the buffer it borrows mutably,
// every piece of its own state is atomic, and blocks are handed out to one
// owner at a time with acquire/release ordering on the end of the used
// region (see `TAKE`).
unsafe impl Send for ThreadSafeFixedBufferAllocator<'_> {}
// SAFETY: as for `Send`: all shared state is atomic.
unsafe impl Sync for ThreadSafeFixedBufferAllocator<'_> {}

impl<'buf> ThreadSafeFixedBufferAllocator<'buf> {
    /// Creates an allocator that hands out the bytes of `buffer`.
    ///
    /// It is a `const fn`, so the allocator can be a `static`.
    ///
    /// # Examples
    ///
    /// ```
    /// use fba_core::Buffer;
    /// use fba_core::ThreadSafeFixedBufferAllocator;
    ///
    /// static mut HEAP: Buffer<1024> = Buffer::new();
    /// // SAFETY: the allocator is the only user of `HEAP`.
    /// static ALLOC: ThreadSafeFixedBufferAllocator<'static> =
    ///     ThreadSafeFixedBufferAllocator::new(unsafe { Buffer::static_bytes(&raw mut HEAP) });
    ///
    /// assert_eq!(ALLOC.alloc_str("shared").unwrap(), "shared");
    /// assert_eq!(ALLOC.capacity(), 1024);
    /// ```
    pub const fn new(buffer: &'buf mut [MaybeUninit<u8>]) -> Self {
        let capacity = buffer.len();
        // SAFETY: a slice's pointer is never null.
        let base = unsafe { NonNull::new_unchecked(buffer.as_mut_ptr().cast::<u8>()) };
        ThreadSafeFixedBufferAllocator {
            base,
            fit: capacity,
            end: AtomicUsize::new(0),
            high_water: AtomicUsize::new(0),
            allocations: AtomicUsize::new(0),
            deallocations: AtomicUsize::new(0),
            padding: AtomicUsize::new(0),
            freed: AtomicUsize::new(0),
            peak_padding: AtomicUsize::new(0),
            peak_freed: AtomicUsize::new(0),
            released: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            exhaustion: AtomicU8::new(Exhaustion::Error.to_u8()),
            first_failure: FirstFailure::new(),
            capacity,
            observer: None,
            failing: None,
            attempts: AtomicUsize::new(0),
            injected: AtomicUsize::new(0),
            _buffer: PhantomData,
        }
    }

    /// The buffer's size in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fba_core::Buffer;
    /// # use fba_core::ThreadSafeFixedBufferAllocator;
    /// let mut memory = Buffer::<256>::new();
    /// assert_eq!(ThreadSafeFixedBufferAllocator::new(&mut memory).capacity(), 256);
    /// ```
    #[inline]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes in use, from the buffer's start to the end of the last block.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fba_core::Buffer;
    /// # use fba_core::ThreadSafeFixedBufferAllocator;
    /// let mut memory = Buffer::<256>::new();
    /// let alloc = ThreadSafeFixedBufferAllocator::new(&mut memory);
    /// alloc.alloc_str("abc").unwrap();
    /// assert_eq!(alloc.used(), 3);
    /// ```
    #[inline]
    pub fn used(&self) -> usize {
        self.end.load(LOOK)
    }

    /// Bytes still free at the end of the buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fba_core::Buffer;
    /// # use fba_core::ThreadSafeFixedBufferAllocator;
    /// let mut memory = Buffer::<256>::new();
    /// let alloc = ThreadSafeFixedBufferAllocator::new(&mut memory);
    /// alloc.alloc_str("abc").unwrap();
    /// assert_eq!(alloc.remaining(), 253);
    /// ```
    #[inline]
    pub fn remaining(&self) -> usize {
        self.capacity - self.used()
    }

    /// The most bytes that have been in use at once.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fba_core::Buffer;
    /// # use fba_core::ThreadSafeFixedBufferAllocator;
    /// use allocator_api2::boxed::Box;
    ///
    /// let mut memory = Buffer::<256>::new();
    /// let alloc = ThreadSafeFixedBufferAllocator::new(&mut memory);
    /// drop(Box::new_in([0u64; 8], &alloc));
    /// assert_eq!((alloc.used(), alloc.high_water_mark()), (0, 64));
    /// ```
    #[inline]
    pub fn high_water_mark(&self) -> usize {
        // Read `end` first: a free folds the old end into `high_water` before
        // moving `end` back, so no moment is missed.
        let end = self.end.load(Ordering::Acquire);
        self.high_water.load(Ordering::Acquire).max(end)
    }

    /// A snapshot of the allocator's statistics.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fba_core::Buffer;
    /// # use fba_core::ThreadSafeFixedBufferAllocator;
    /// let mut memory = Buffer::<256>::new();
    /// let alloc = ThreadSafeFixedBufferAllocator::new(&mut memory);
    /// alloc.alloc_str("a").unwrap();
    /// alloc.alloc_slice_copy(&[7u32]).unwrap(); // 3 bytes of padding, then 4
    /// let stats = alloc.stats();
    /// assert_eq!((stats.used, stats.live_bytes, stats.allocations), (8, 5, 2));
    /// ```
    pub fn stats(&self) -> Stats {
        let end = self.end.load(Ordering::Acquire);
        let high_water = self.high_water.load(Ordering::Acquire);
        let high_water_mark = high_water.max(end);
        let used = self.used();
        let (padding, freed) = (self.padding.load(LOOK), self.freed.load(LOOK));
        let deallocations = self.deallocations.load(LOOK);
        let released = self.released.load(LOOK);
        let allocations = self.allocations.load(LOOK);
        let at_high_water = Breakdown::at_high_water(
            high_water_mark,
            end > high_water,
            (freed, padding),
            (self.peak_freed.load(LOOK), self.peak_padding.load(LOOK)),
        );
        Stats {
            capacity: self.capacity,
            used,
            high_water_mark,
            allocations,
            deallocations,
            failed_allocations: self.failed.load(LOOK),
            live_allocations: allocations.saturating_sub(deallocations + released),
            live_bytes: used.saturating_sub(padding + freed),
            injected_failures: self.injected.load(LOOK),
            at_high_water,
        }
    }

    /// The first allocation that did not fit, if any has failed.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fba_core::Buffer;
    /// # use fba_core::ThreadSafeFixedBufferAllocator;
    /// let mut memory = Buffer::<4>::new();
    /// let alloc = ThreadSafeFixedBufferAllocator::new(&mut memory);
    /// assert!(alloc.alloc_str("hello").is_err());
    /// assert_eq!(alloc.first_failure().unwrap().layout.size(), 5);
    /// ```
    #[inline]
    pub fn first_failure(&self) -> Option<BudgetExceeded> {
        self.first_failure.get(self.capacity)
    }

    /// Makes the whole buffer free again; `&mut self` proves that no block is
    /// still in use. The high-water mark and the counts are kept.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fba_core::Buffer;
    /// # use fba_core::ThreadSafeFixedBufferAllocator;
    /// let mut memory = Buffer::<256>::new();
    /// let mut alloc = ThreadSafeFixedBufferAllocator::new(&mut memory);
    /// alloc.alloc_str("first round").unwrap();
    /// alloc.reset();
    /// assert_eq!((alloc.used(), alloc.high_water_mark()), (0, 11));
    /// ```
    pub fn reset(&mut self) {
        let end = *self.end.get_mut();
        self.fold_high_water(end);
        *self.end.get_mut() = 0;
        *self.padding.get_mut() = 0;
        *self.freed.get_mut() = 0;
        *self.released.get_mut() = *self.allocations.get_mut() - *self.deallocations.get_mut();
        if let Some(observer) = self.observer {
            observer.reset();
        }
    }

    /// Has `observer` told of every block handed out, freed or resized from
    /// now on (`None`: nobody), from any thread. For diagnostics: while
    /// observed, every allocation takes the allocator's slow path; the
    /// blocks and the statistics are the same as without.
    pub fn set_observer(&mut self, observer: Option<&'buf dyn Observer>) {
        self.observer = observer;
        self.refit();
    }

    /// Fails the allocations `failing` names from now on, on purpose
    /// (`None`: none), counting allocations from 1 again, on every thread
    /// together. For tests of error paths: while failures are injected,
    /// every allocation takes the allocator's slow path.
    ///
    /// # Examples
    ///
    /// ```
    /// use fba_core::{Buffer, FailAllocation, ThreadSafeFixedBufferAllocator};
    ///
    /// let mut memory = Buffer::<1024>::new();
    /// let mut alloc = ThreadSafeFixedBufferAllocator::new(&mut memory);
    /// alloc.set_failing(Some(FailAllocation::From(2)));
    /// assert!(alloc.alloc_str("one").is_ok());
    /// assert!(alloc.alloc_str("two").is_err());
    /// assert!(alloc.alloc_str("three").is_err());
    /// assert_eq!(alloc.stats().injected_failures, 2);
    /// ```
    pub fn set_failing(&mut self, failing: Option<FailAllocation>) {
        self.failing = failing;
        *self.attempts.get_mut() = 0;
        self.refit();
    }

    /// Sends every allocation down the slow path while it has more to do
    /// than bump.
    fn refit(&mut self) {
        self.fit = if self.observer.is_some() || self.failing.is_some() {
            0
        } else {
            self.capacity
        };
    }

    /// Whether `ptr` points into the buffer (Zig's `ownsPtr`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use fba_core::Buffer;
    /// # use fba_core::ThreadSafeFixedBufferAllocator;
    /// let mut memory = Buffer::<256>::new();
    /// let alloc = ThreadSafeFixedBufferAllocator::new(&mut memory);
    /// let name = alloc.alloc_str("Ada").unwrap();
    /// assert!(alloc.owns(name.as_ptr()));
    /// assert!(!alloc.owns("Ada".as_ptr()));
    /// ```
    #[inline]
    pub fn owns(&self, ptr: *const u8) -> bool {
        ptr.addr().wrapping_sub(self.base_addr()) < self.capacity
    }

    /// The policy applied when an allocation does not fit.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fba_core::Buffer;
    /// # use fba_core::{Exhaustion, ThreadSafeFixedBufferAllocator};
    /// let mut memory = Buffer::<16>::new();
    /// let alloc = ThreadSafeFixedBufferAllocator::new(&mut memory);
    /// assert_eq!(alloc.exhaustion(), Exhaustion::Error);
    /// ```
    #[inline]
    pub fn exhaustion(&self) -> Exhaustion {
        Exhaustion::from_u8(self.exhaustion.load(LOOK))
    }

    /// Sets the policy applied when an allocation does not fit, for every
    /// thread.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fba_core::Buffer;
    /// use fba_core::{BudgetExceeded, Exhaustion, ThreadSafeFixedBufferAllocator};
    ///
    /// let mut memory = Buffer::<16>::new();
    /// let alloc = ThreadSafeFixedBufferAllocator::new(&mut memory);
    /// alloc.set_exhaustion(Exhaustion::Panic);
    /// let result = std::thread::scope(|s| s.spawn(|| alloc.alloc_str("too long for 16 bytes")).join());
    /// let failure = result.unwrap_err().downcast::<BudgetExceeded>().unwrap();
    /// assert_eq!(failure.layout.size(), 21);
    /// ```
    #[inline]
    pub fn set_exhaustion(&self, policy: Exhaustion) {
        self.exhaustion.store(policy.to_u8(), LOOK);
    }

    /// Copies `items` into a new block (Zig's `dupe`).
    ///
    /// # Errors
    ///
    /// `AllocError` when the copy does not fit (under [`Exhaustion::Error`]).
    ///
    /// # Panics
    ///
    /// With a [`BudgetExceeded`] payload when it does not fit under
    /// [`Exhaustion::Panic`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use fba_core::Buffer;
    /// # use fba_core::ThreadSafeFixedBufferAllocator;
    /// let mut memory = Buffer::<64>::new();
    /// let alloc = ThreadSafeFixedBufferAllocator::new(&mut memory);
    /// assert_eq!(alloc.alloc_slice_copy(&[1u16, 2, 3]).unwrap(), &[1, 2, 3]);
    /// ```
    #[inline]
    #[expect(
        clippy::mut_from_ref,
        reason = "each call returns a new block, disjoint from all others, as an arena does"
    )]
    pub fn alloc_slice_copy<T: Copy>(&self, items: &[T]) -> Result<&mut [T], AllocError> {
        let block = text::copy_into(self, items)?;
        // SAFETY: the block is new, holds `items.len()` initialised `T`s and
        // is never handed out again while `self` is borrowed.
        Ok(unsafe { &mut *block.as_ptr() })
    }

    /// Copies `text` into a new block.
    ///
    /// # Errors
    ///
    /// `AllocError` when the copy does not fit (under [`Exhaustion::Error`]).
    ///
    /// # Panics
    ///
    /// With a [`BudgetExceeded`] payload when it does not fit under
    /// [`Exhaustion::Panic`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use fba_core::Buffer;
    /// # use fba_core::ThreadSafeFixedBufferAllocator;
    /// let mut memory = Buffer::<64>::new();
    /// let alloc = ThreadSafeFixedBufferAllocator::new(&mut memory);
    /// assert_eq!(alloc.alloc_str("Ada").unwrap(), "Ada");
    /// ```
    #[inline]
    #[expect(
        clippy::mut_from_ref,
        reason = "each call returns a new block, disjoint from all others, as an arena does"
    )]
    pub fn alloc_str(&self, text: &str) -> Result<&mut str, AllocError> {
        let bytes = self.alloc_slice_copy(text.as_bytes())?;
        // SAFETY: the bytes were copied from a `str`.
        Ok(unsafe { core::str::from_utf8_unchecked_mut(bytes) })
    }

    /// Formats `args` into a new block (Zig's `allocPrint`).
    ///
    /// Other threads may allocate meanwhile, so the free end cannot be
    /// reserved for the text as [`FixedBufferAllocator::alloc_fmt`] does:
    /// this formats twice, once to measure and once into a block of exactly
    /// that size.
    ///
    /// [`FixedBufferAllocator::alloc_fmt`]: crate::FixedBufferAllocator::alloc_fmt
    ///
    /// # Errors
    ///
    /// `AllocError` when the text does not fit (under [`Exhaustion::Error`]).
    ///
    /// # Panics
    ///
    /// With a [`BudgetExceeded`] payload when it does not fit under
    /// [`Exhaustion::Panic`]; as `format!` does, when a formatting trait
    /// returns an error of its own; and when the values format longer the
    /// second time than the first.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fba_core::Buffer;
    /// # use fba_core::ThreadSafeFixedBufferAllocator;
    /// let mut memory = Buffer::<64>::new();
    /// let alloc = ThreadSafeFixedBufferAllocator::new(&mut memory);
    /// let text = alloc.alloc_fmt(format_args!("{} + {} = {}", 2, 2, 2 + 2)).unwrap();
    /// assert_eq!(text, "2 + 2 = 4");
    /// ```
    #[expect(
        clippy::mut_from_ref,
        reason = "each call returns a new block, disjoint from all others, as an arena does"
    )]
    pub fn alloc_fmt(&self, args: fmt::Arguments<'_>) -> Result<&mut str, AllocError> {
        if let Some(literal) = args.as_str() {
            return self.alloc_str(literal);
        }
        let mut counter = text::SliceWriter::new(dangling(1), 0);
        let outcome = fmt::write(&mut counter, args);
        let len = counter.finish(outcome).unwrap_or_else(|len| len);
        if len == 0 {
            return Ok(<&mut str>::default());
        }
        let layout = text::byte_layout(len);
        let block = self.allocate_block(layout, self.exhaustion())?;
        // Frees the block if the second pass panics (a formatting trait, or
        // the checks below).
        struct Unwritten<'a, 'buf> {
            alloc: &'a ThreadSafeFixedBufferAllocator<'buf>,
            block: NonNull<u8>,
            layout: Layout,
        }
        impl Drop for Unwritten<'_, '_> {
            fn drop(&mut self) {
                // SAFETY: the block was allocated with `layout` and nothing
                // refers to it yet.
                unsafe { self.alloc.deallocate_block(self.block, self.layout) }
            }
        }
        let unwritten = Unwritten {
            alloc: self,
            block,
            layout,
        };
        let mut writer = text::SliceWriter::new(block, len);
        let outcome = fmt::write(&mut writer, args);
        let Ok(written) = writer.finish(outcome) else {
            panic!("a value formatted longer the second time than the first");
        };
        core::mem::forget(unwritten);
        // SAFETY: the writer filled `written <= len` bytes of the new block
        // with the UTF-8 of whole `str`s; any rest is given back by shrinking.
        unsafe {
            if written < len {
                self.shrink_block(block, layout, text::byte_layout(written), self.exhaustion())?;
            }
            Ok(core::str::from_utf8_unchecked_mut(
                core::slice::from_raw_parts_mut(block.as_ptr(), written),
            ))
        }
    }

    #[inline(always)]
    fn base_addr(&self) -> usize {
        self.base.as_ptr().addr()
    }

    /// Folds `end`, a value `end` has had (about to move back or to have
    /// bytes below it freed), into the high-water mark, with what the bytes
    /// were at that mark.
    #[inline(always)]
    fn fold_high_water(&self, end: usize) {
        if end > self.high_water.load(LOOK)
            && end > self.high_water.fetch_max(end, Ordering::Release)
        {
            self.peak_padding.store(self.padding.load(LOOK), LOOK);
            self.peak_freed.store(self.freed.load(LOOK), LOOK);
        }
    }

    /// Records a failed allocation of `layout` at `used` bytes in use and
    /// applies `policy`.
    #[cold]
    #[inline(never)]
    fn fail(&self, layout: Layout, used: usize, policy: Exhaustion) -> AllocError {
        self.failed.fetch_add(1, LOOK);
        let failure = BudgetExceeded {
            layout,
            used,
            capacity: self.capacity,
        };
        self.first_failure.record(failure);
        exhausted(policy, failure)
    }

    /// Allocates a block; on failure applies `policy` (the allocator's own,
    /// or `Error` where a panic is not allowed, as in `GlobalAlloc`).
    #[inline(always)]
    fn allocate_block(
        &self,
        layout: Layout,
        policy: Exhaustion,
    ) -> Result<NonNull<u8>, AllocError> {
        if layout.size() == 0 {
            return Ok(dangling(layout.align()));
        }
        match self.bump(layout, self.fit) {
            Ok(block) => Ok(block),
            Err(used) => self.allocate_slowly(layout, used, policy),
        }
    }

    /// Bumps a block of `layout` that ends at `fit` or before; `Err` with
    /// the bytes in use when it does not fit.
    #[inline(always)]
    fn bump(&self, layout: Layout, fit: usize) -> Result<NonNull<u8>, usize> {
        let base = self.base_addr();
        let limit = base + fit;
        let mut used = self.end.load(LOOK);
        loop {
            let end = base + used;
            let Some((start, new_end)) = place(end, limit, layout) else {
                return Err(used);
            };
            match self
                .end
                .compare_exchange_weak(used, new_end - base, TAKE, LOOK)
            {
                Ok(_) => {
                    self.allocations.fetch_add(1, LOOK);
                    if start != end {
                        self.padding.fetch_add(start - end, LOOK);
                    }
                    // SAFETY: `place` put the block inside the buffer.
                    return Ok(unsafe { pointer_at(self.base, start) });
                }
                Err(now) => used = now,
            }
        }
    }

    /// An allocation past `fit`: a failure, or one an observer watches.
    #[cold]
    #[inline(never)]
    fn allocate_slowly(
        &self,
        layout: Layout,
        used: usize,
        policy: Exhaustion,
    ) -> Result<NonNull<u8>, AllocError> {
        if let Some(failing) = self.failing {
            let attempt = self.attempts.fetch_add(1, LOOK) + 1;
            if failing.fails(attempt) {
                self.injected.fetch_add(1, LOOK);
                return Err(AllocError);
            }
        }
        if self.fit == self.capacity {
            // Nothing else watches: it did not fit.
            return Err(self.fail(layout, used, policy));
        }
        match self.bump(layout, self.capacity) {
            Ok(block) => {
                if let Some(observer) = self.observer {
                    observer.allocated(block, layout, self.used());
                }
                Ok(block)
            }
            Err(used) => Err(self.fail(layout, used, policy)),
        }
    }

    /// # Safety
    ///
    /// `ptr` and `layout` describe a live block of this allocator (or a
    /// zero-size one).
    #[inline(always)]
    unsafe fn deallocate_block(&self, ptr: NonNull<u8>, layout: Layout) {
        let size = layout.size();
        if size == 0 {
            return;
        }
        self.deallocations.fetch_add(1, LOOK);
        let start = ptr.as_ptr().addr() - self.base_addr();
        let mut used = self.end.load(LOOK);
        self.free_bytes(start, size, &mut used);
        if let Some(observer) = self.observer {
            observer.freed(ptr, layout, self.used());
        }
    }

    /// Frees `size` bytes from `start` up: moves `end` (in use: `used`) back
    /// over them when they are its last bytes, or counts them freed.
    #[inline(always)]
    fn free_bytes(&self, start: usize, size: usize, used: &mut usize) {
        loop {
            self.fold_high_water(*used);
            if start + size != *used {
                self.freed.fetch_add(size, LOOK);
                return;
            }
            match self.end.compare_exchange_weak(*used, start, TAKE, LOOK) {
                Ok(_) => return,
                Err(now) => *used = now,
            }
        }
    }

    /// # Safety
    ///
    /// As [`Allocator::grow`].
    #[inline(always)]
    unsafe fn grow_block(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
        policy: Exhaustion,
    ) -> Result<NonNull<u8>, AllocError> {
        if old.size() == 0 {
            return self.allocate_block(new, policy);
        }
        if is_aligned_to(ptr, new.align()) {
            let extra = new.size() - old.size();
            if extra == 0 {
                return Ok(ptr);
            }
            let old_end = ptr.as_ptr().addr() - self.base_addr() + old.size();
            let mut used = self.end.load(LOOK);
            while old_end == used && extra <= self.capacity - used {
                match self
                    .end
                    .compare_exchange_weak(used, used + extra, TAKE, LOOK)
                {
                    Ok(_) => {
                        if let Some(observer) = self.observer {
                            observer.resized(ptr, old, new, used + extra);
                        }
                        return Ok(ptr);
                    }
                    Err(now) => used = now,
                }
            }
        }
        let moved = self.allocate_block(new, policy)?;
        // SAFETY: the old block holds `old.size()` bytes, the new one at least
        // as many, and the two are disjoint blocks.
        unsafe {
            ptr::copy_nonoverlapping(ptr.as_ptr(), moved.as_ptr(), old.size());
            self.deallocate_block(ptr, old);
        }
        Ok(moved)
    }

    /// # Safety
    ///
    /// As [`Allocator::shrink`].
    #[inline(always)]
    unsafe fn shrink_block(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
        policy: Exhaustion,
    ) -> Result<NonNull<u8>, AllocError> {
        if new.size() == 0 {
            // SAFETY: the caller's block.
            unsafe { self.deallocate_block(ptr, old) };
            return Ok(dangling(new.align()));
        }
        if !is_aligned_to(ptr, new.align()) {
            let moved = self.allocate_block(new, policy)?;
            // SAFETY: the old block holds at least `new.size()` bytes, and the
            // two are disjoint blocks.
            unsafe {
                ptr::copy_nonoverlapping(ptr.as_ptr(), moved.as_ptr(), new.size());
                self.deallocate_block(ptr, old);
            }
            return Ok(moved);
        }
        let freed = old.size() - new.size();
        if freed == 0 {
            return Ok(ptr);
        }
        let start = ptr.as_ptr().addr() - self.base_addr() + new.size();
        let mut used = self.end.load(LOOK);
        self.free_bytes(start, freed, &mut used);
        if let Some(observer) = self.observer {
            observer.resized(ptr, old, new, self.used());
        }
        Ok(ptr)
    }
}

impl fmt::Debug for ThreadSafeFixedBufferAllocator<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadSafeFixedBufferAllocator")
            .field("stats", &self.stats())
            .field("exhaustion", &self.exhaustion())
            .finish()
    }
}

/// The first failed allocation, written once by whichever thread fails first.
struct FirstFailure {
    /// `EMPTY`, `WRITING` or `WRITTEN`.
    state: AtomicU8,
    size: AtomicUsize,
    align: AtomicUsize,
    used: AtomicUsize,
}

const EMPTY: u8 = 0;
const WRITING: u8 = 1;
const WRITTEN: u8 = 2;

impl FirstFailure {
    const fn new() -> FirstFailure {
        FirstFailure {
            state: AtomicU8::new(EMPTY),
            size: AtomicUsize::new(0),
            align: AtomicUsize::new(1),
            used: AtomicUsize::new(0),
        }
    }

    fn record(&self, failure: BudgetExceeded) {
        if self
            .state
            .compare_exchange(EMPTY, WRITING, Ordering::Acquire, LOOK)
            .is_ok()
        {
            self.size.store(failure.layout.size(), LOOK);
            self.align.store(failure.layout.align(), LOOK);
            self.used.store(failure.used, LOOK);
            self.state.store(WRITTEN, Ordering::Release);
        }
    }

    fn get(&self, capacity: usize) -> Option<BudgetExceeded> {
        if self.state.load(Ordering::Acquire) != WRITTEN {
            return None;
        }
        let layout = Layout::from_size_align(self.size.load(LOOK), self.align.load(LOOK)).ok()?;
        Some(BudgetExceeded {
            layout,
            used: self.used.load(LOOK),
            capacity,
        })
    }
}

// SAFETY: as for `&FixedBufferAllocator`: blocks are disjoint regions of the
// borrowed buffer, which outlives every reference to the allocator; bytes are
// handed out again only after a free moved the end of the used region back
// over them (by compare-and-swap, so one thread wins them), or after `reset`,
// which needs `&mut self`.
crate::allocator_api::implement!(allocator_api2 for ThreadSafeFixedBufferAllocator, policy exhaustion);

// SAFETY: as for allocator-api2 0.2's trait above: the same methods.
#[cfg(feature = "allocator-api2-04")]
crate::allocator_api::implement!(allocator_api2_04 for ThreadSafeFixedBufferAllocator, policy exhaustion);

// SAFETY: as for allocator-api2 0.2's trait above: the same methods.
#[cfg(feature = "nightly")]
crate::allocator_api::implement!(core for ThreadSafeFixedBufferAllocator, policy exhaustion);

// SAFETY: the same disjoint blocks as the `Allocator` impl, from a buffer
// borrowed for `'static`. The methods never unwind: exhaustion returns null
// whatever the policy (a `GlobalAlloc` must not panic), which is what lets
// `handle_alloc_error` report it.
unsafe impl GlobalAlloc for ThreadSafeFixedBufferAllocator<'static> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.allocate_block(layout, Exhaustion::Error)
            .map_or(ptr::null_mut(), NonNull::as_ptr)
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match self.allocate_block(layout, Exhaustion::Error) {
            Ok(block) => {
                // SAFETY: the block is `layout.size()` writable bytes.
                unsafe { ptr::write_bytes(block.as_ptr(), 0, layout.size()) };
                block.as_ptr()
            }
            Err(AllocError) => ptr::null_mut(),
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `GlobalAlloc::dealloc`'s contract: `ptr` is a live block of
        // this allocator with `layout`, so not null.
        unsafe { self.deallocate_block(NonNull::new_unchecked(ptr), layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `GlobalAlloc::realloc`'s contract: `ptr` is a live block of
        // this allocator with `layout`, and `new_size` with `layout`'s
        // alignment is a valid layout.
        unsafe {
            let block = NonNull::new_unchecked(ptr);
            let new = Layout::from_size_align_unchecked(new_size, layout.align());
            let result = if new_size >= layout.size() {
                self.grow_block(block, layout, new, Exhaustion::Error)
            } else {
                self.shrink_block(block, layout, new, Exhaustion::Error)
            };
            result.map_or(ptr::null_mut(), NonNull::as_ptr)
        }
    }
}

#[cfg(test)]
mod tests {
    //! What differs from `FixedBufferAllocator`; the shared semantics are
    //! checked against the model in `tests/it/model.rs` for both.

    use super::*;
    use crate::testing::{Aligned, layout};
    use allocator_api2::alloc::Allocator;
    use core::cell::Cell;

    /// Formats as `first` the first time and `second` after.
    struct Changes {
        calls: Cell<u32>,
        first: &'static str,
        second: &'static str,
    }

    impl fmt::Display for Changes {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let calls = self.calls.get();
            self.calls.set(calls + 1);
            f.write_str(if calls == 0 { self.first } else { self.second })
        }
    }

    #[test]
    fn alloc_fmt_measures_then_writes_exactly() {
        let mut memory = Aligned::<64>::new();
        let alloc = ThreadSafeFixedBufferAllocator::new(memory.bytes());
        let text = alloc.alloc_fmt(format_args!("{}-{}", 12, "ab")).unwrap();
        assert_eq!(text, "12-ab");
        assert_eq!((alloc.used(), alloc.stats().allocations), (5, 1));
    }

    #[test]
    fn alloc_fmt_gives_back_what_a_shorter_second_pass_left_unused() {
        let mut memory = Aligned::<64>::new();
        let alloc = ThreadSafeFixedBufferAllocator::new(memory.bytes());
        let value = Changes {
            calls: Cell::new(0),
            first: "longer",
            second: "short",
        };
        assert_eq!(alloc.alloc_fmt(format_args!("{value}")).unwrap(), "short");
        assert_eq!(alloc.used(), 5);
    }

    #[test]
    fn alloc_fmt_panics_and_frees_when_the_second_pass_is_longer() {
        let mut memory = Aligned::<64>::new();
        let alloc = ThreadSafeFixedBufferAllocator::new(memory.bytes());
        let value = Changes {
            calls: Cell::new(0),
            first: "short",
            second: "longer",
        };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            alloc.alloc_fmt(format_args!("{value}")).map(|_| ())
        }));
        assert!(result.is_err());
        let stats = alloc.stats();
        assert_eq!((stats.used, stats.live_allocations), (0, 0));
    }

    #[test]
    fn alloc_fmt_that_does_not_fit_reports_the_whole_length() {
        let mut memory = Aligned::<8>::new();
        let alloc = ThreadSafeFixedBufferAllocator::new(memory.bytes());
        assert_eq!(
            alloc.alloc_fmt(format_args!("{}", "twelve bytes")),
            Err(AllocError)
        );
        assert_eq!(alloc.first_failure().unwrap().layout, layout(12, 1));
    }

    #[test]
    fn first_failure_is_the_first_of_any_thread() {
        let mut memory = Aligned::<16>::new();
        let alloc = ThreadSafeFixedBufferAllocator::new(memory.bytes());
        std::thread::scope(|s| {
            s.spawn(|| assert!((&alloc).allocate(layout(32, 8)).is_err()));
        });
        assert!((&alloc).allocate(layout(64, 8)).is_err());
        let failure = alloc.first_failure().unwrap();
        assert_eq!(
            (failure.layout, failure.used, failure.capacity),
            (layout(32, 8), 0, 16)
        );
        assert_eq!(alloc.stats().failed_allocations, 2);
    }

    #[test]
    fn debug_shows_the_stats_and_policy() {
        let mut memory = Aligned::<16>::new();
        let alloc = ThreadSafeFixedBufferAllocator::new(memory.bytes());
        alloc.set_exhaustion(Exhaustion::Panic);
        let text = std::format!("{alloc:?}");
        assert!(
            text.starts_with("ThreadSafeFixedBufferAllocator { stats: Stats { capacity: 16,"),
            "{text}"
        );
        assert!(text.ends_with("exhaustion: Panic }"), "{text}");
    }
    #[test]
    fn as_a_global_allocator_it_returns_null_when_full_whatever_the_policy() {
        static mut MEMORY: crate::Buffer<64> = crate::Buffer::new();
        // SAFETY: this test is the only user of `MEMORY`.
        static HEAP: ThreadSafeFixedBufferAllocator<'static> =
            ThreadSafeFixedBufferAllocator::new(unsafe {
                crate::Buffer::static_bytes(&raw mut MEMORY)
            });
        HEAP.set_exhaustion(Exhaustion::Panic);
        // SAFETY: layouts are non-zero; blocks are freed with their layouts.
        unsafe {
            let a = HEAP.alloc(layout(48, 8));
            assert!(!a.is_null());
            assert!(HEAP.alloc(layout(32, 8)).is_null(), "no panic, null");
            let grown = HEAP.realloc(a, layout(48, 8), 64);
            assert_eq!(grown, a, "the last block grows in place");
            assert!(HEAP.realloc(a, layout(64, 8), 65).is_null());
            let shrunk = HEAP.realloc(a, layout(64, 8), 16);
            assert_eq!((shrunk, HEAP.used()), (a, 16));
            let zeroed = HEAP.alloc_zeroed(layout(16, 8));
            assert_eq!(core::slice::from_raw_parts(zeroed, 16), &[0; 16]);
            HEAP.dealloc(zeroed, layout(16, 8));
            HEAP.dealloc(a, layout(16, 8));
        }
        let stats = HEAP.stats();
        assert_eq!(
            (stats.used, stats.live_allocations, stats.failed_allocations),
            (0, 0, 2)
        );
    }

    #[test]
    fn an_injected_failure_is_null_through_global_alloc_and_an_err_under_panic() {
        // `GlobalAlloc` is for an allocator of a `'static` buffer.
        static mut MEMORY: crate::Buffer<256> = crate::Buffer::new();
        // SAFETY: this test is the only user of `MEMORY`.
        let mut alloc = ThreadSafeFixedBufferAllocator::new(unsafe {
            crate::Buffer::static_bytes(&raw mut MEMORY)
        });
        alloc.set_exhaustion(Exhaustion::Panic);
        alloc.set_failing(Some(FailAllocation::Only(2)));
        // SAFETY: layouts are non-zero; blocks are freed with their layouts.
        unsafe {
            let a = alloc.alloc(layout(16, 8));
            assert!(!a.is_null());
            // The last block grows in place: not an allocation.
            assert_eq!(alloc.realloc(a, layout(16, 8), 32), a);
            assert!(alloc.alloc(layout(8, 8)).is_null(), "the second allocation");
            let b = alloc.alloc(layout(8, 8));
            assert!(!b.is_null(), "the third");
            alloc.dealloc(b, layout(8, 8));
            alloc.dealloc(a, layout(32, 8));
        }
        let stats = alloc.stats();
        assert_eq!(
            (
                stats.allocations,
                stats.injected_failures,
                stats.failed_allocations
            ),
            (2, 1, 0)
        );
        assert_eq!(
            alloc.first_failure(),
            None,
            "an injected failure is not the buffer being full"
        );
        alloc.set_failing(None);
        assert!(alloc.alloc_str("served again").is_ok());
    }
}
