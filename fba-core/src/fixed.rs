//! [`FixedBufferAllocator`]: memory from one borrowed buffer, Zig's
//! `std.heap.FixedBufferAllocator` with the borrow checker watching lifetimes.

use core::alloc::Layout;
use core::cell::Cell;
use core::fmt;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::panic::RefUnwindSafe;
use core::ptr::{self, NonNull};

use allocator_api2::alloc::AllocError;

use crate::bump::{dangling, is_aligned_to, place, pointer_at};
use crate::exhaustion::exhausted;
use crate::{Breakdown, BudgetExceeded, Exhaustion, FailAllocation, Observer, Stats, text};

/// An allocator that hands out blocks of one buffer it borrows and fails when
/// the buffer is full. It never asks the operating system for memory.
///
/// Blocks are bumped upwards from the start of the buffer. Freeing, growing or
/// shrinking the most recent block happens in place; freeing any other block
/// reclaims nothing until [`reset`](Self::reset). Use it through
/// [`Allocator`] on `&FixedBufferAllocator` with `allocator_api2`'s
/// collections, or through [`alloc_slice_copy`](Self::alloc_slice_copy),
/// [`alloc_str`](Self::alloc_str) and [`alloc_fmt`](Self::alloc_fmt).
///
/// It is `Send` but not `Sync`; [`ThreadSafeFixedBufferAllocator`] is the
/// lock-free variant for allocators shared between threads.
///
/// [`ThreadSafeFixedBufferAllocator`]: crate::ThreadSafeFixedBufferAllocator
///
/// # Examples
///
/// ```
/// use fba_core::Buffer;
/// use allocator_api2::vec::Vec;
/// use fba_core::FixedBufferAllocator;
///
/// let mut memory = Buffer::<1024>::new();
/// let alloc = FixedBufferAllocator::new(&mut memory);
///
/// let mut numbers = Vec::with_capacity_in(3, &alloc);
/// numbers.extend_from_slice(&[1u32, 2, 3]);
/// assert_eq!(alloc.used(), 12);
///
/// // The buffer is a hard limit.
/// assert!(numbers.try_reserve(1000).is_err());
/// ```
///
/// Returning memory of a buffer that a function owns does not compile
/// (the dangling slice of the seed's "broken example"):
///
/// ```compile_fail
/// use fba_core::Buffer;
/// use fba_core::FixedBufferAllocator;
///
/// fn make_name() -> &'static mut str {
///     let mut memory = Buffer::<64>::new();
///     let alloc = FixedBufferAllocator::new(&mut memory);
///     alloc.alloc_str("Ada").unwrap()
/// }
/// ```
// `repr(C)` pins the field order: `end` and `allocations`, both written by
// every allocation, are kept apart so LLVM does not merge their updates into
// one vector load/add/store that every allocation then waits on.
#[repr(C)]
pub struct FixedBufferAllocator<'buf> {
    /// Address one past the last byte in use (Zig's `end_index`, as an address).
    end: Cell<usize>,
    /// Where an allocation may end and take the fast path: `limit`, or the
    /// buffer's start while an [`Observer`] watches or failures are
    /// injected, so that every allocation takes the slow path that tells it
    /// or counts it (and the fast path checks nothing more).
    fit: usize,
    /// The buffer's first byte; every block's pointer is derived from it.
    base: NonNull<u8>,
    /// The largest `end` seen when `end` last moved back. The high-water mark
    /// is this or the current `end`, whichever is larger: folding it in only
    /// when `end` decreases keeps it off the allocation path.
    high_water: Cell<usize>,
    /// Where a free's `end` must be above to take the slow path, which
    /// folds the high-water mark and tells the observer: `high_water`, or
    /// the buffer's start while an [`Observer`] watches. One test on the
    /// free path for both.
    fold_above: Cell<usize>,
    allocations: Cell<usize>,
    exhaustion: Cell<Exhaustion>,
    deallocations: Cell<usize>,
    /// Bytes below `end` that belong to no live block, as padding and as
    /// blocks freed or shrunk without moving `end` back. Live bytes = used -
    /// padding - freed.
    padding: Cell<usize>,
    freed: Cell<usize>,
    /// `padding` and `freed` when the high-water mark was first reached.
    peak_padding: Cell<usize>,
    peak_freed: Cell<usize>,
    /// Blocks that were live when `reset` released them all.
    released: Cell<usize>,
    failed: Cell<usize>,
    first_failure: Cell<Option<BudgetExceeded>>,
    /// Address one past the buffer.
    limit: usize,
    observer: Option<&'buf dyn Observer>,
    /// The allocations to fail on purpose, counted by `attempts` since the
    /// plan was set; `injected` counts the failures.
    failing: Option<FailAllocation>,
    attempts: Cell<usize>,
    injected: Cell<usize>,
    _buffer: PhantomData<&'buf mut [MaybeUninit<u8>]>,
}

// SAFETY: the allocator is the only user of the buffer it borrows mutably
// (like the `&mut [MaybeUninit<u8>]` it was made from, which is `Send`), and
// its `Cell`s are `Send`; moving it to another thread moves all of that.
unsafe impl Send for FixedBufferAllocator<'_> {}

// Every operation leaves the allocator consistent at every point where it can
// panic (the policy panics after recording the failure; `alloc_fmt` gives its
// reservation back on unwind), so a panic caught while it is shared breaks
// nothing: budget tests catch `Exhaustion::Panic` that way.
impl RefUnwindSafe for FixedBufferAllocator<'_> {}

impl<'buf> FixedBufferAllocator<'buf> {
    /// Creates an allocator that hands out the bytes of `buffer`.
    ///
    /// The buffer is `MaybeUninit<u8>`, Rust's `undefined`: blocks may hold
    /// any value, padding bytes included, so bytes that were `u8` before
    /// could not be read as `u8` again afterwards.
    ///
    /// # Examples
    ///
    /// ```
    /// use fba_core::Buffer;
    /// use fba_core::FixedBufferAllocator;
    ///
    /// let mut memory = Buffer::<1024>::new(); // Zig: `var memory: [1024]u8 = undefined;`
    /// let alloc = FixedBufferAllocator::new(&mut memory);
    /// let buffer = alloc.alloc_slice_copy(&[0u8; 100]).unwrap();
    /// buffer[0] = 42;
    /// assert_eq!(alloc.used(), 100);
    /// ```
    #[inline]
    pub fn new(buffer: &'buf mut [MaybeUninit<u8>]) -> Self {
        let base = NonNull::from(&mut *buffer).cast::<u8>();
        let start = base.as_ptr().addr();
        // A slice never extends past the end of the address space.
        let limit = start + buffer.len();
        FixedBufferAllocator {
            end: Cell::new(start),
            fit: limit,
            base,
            high_water: Cell::new(start),
            fold_above: Cell::new(start),
            allocations: Cell::new(0),
            exhaustion: Cell::new(Exhaustion::Error),
            deallocations: Cell::new(0),
            padding: Cell::new(0),
            freed: Cell::new(0),
            peak_padding: Cell::new(0),
            peak_freed: Cell::new(0),
            released: Cell::new(0),
            failed: Cell::new(0),
            first_failure: Cell::new(None),
            limit,
            observer: None,
            failing: None,
            attempts: Cell::new(0),
            injected: Cell::new(0),
            _buffer: PhantomData,
        }
    }

    /// The buffer's size in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fba_core::Buffer;
    /// # use fba_core::FixedBufferAllocator;
    /// let mut memory = Buffer::<256>::new();
    /// assert_eq!(FixedBufferAllocator::new(&mut memory).capacity(), 256);
    /// ```
    #[inline]
    pub fn capacity(&self) -> usize {
        self.limit - self.base_addr()
    }

    /// Bytes in use, from the buffer's start to the end of the last block
    /// (Zig's `end_index`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use fba_core::Buffer;
    /// # use fba_core::FixedBufferAllocator;
    /// let mut memory = Buffer::<256>::new();
    /// let alloc = FixedBufferAllocator::new(&mut memory);
    /// alloc.alloc_str("abc").unwrap();
    /// assert_eq!(alloc.used(), 3);
    /// ```
    #[inline]
    pub fn used(&self) -> usize {
        self.end.get() - self.base_addr()
    }

    /// Bytes still free at the end of the buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fba_core::Buffer;
    /// # use fba_core::FixedBufferAllocator;
    /// let mut memory = Buffer::<256>::new();
    /// let alloc = FixedBufferAllocator::new(&mut memory);
    /// alloc.alloc_str("abc").unwrap();
    /// assert_eq!(alloc.remaining(), 253);
    /// ```
    #[inline]
    pub fn remaining(&self) -> usize {
        self.limit - self.end.get()
    }

    /// The most bytes that have been in use at once: the smallest buffer that
    /// would have served every allocation so far.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fba_core::Buffer;
    /// # use fba_core::FixedBufferAllocator;
    /// use allocator_api2::boxed::Box;
    ///
    /// let mut memory = Buffer::<256>::new();
    /// let alloc = FixedBufferAllocator::new(&mut memory);
    /// drop(Box::new_in([0u64; 8], &alloc));
    /// assert_eq!((alloc.used(), alloc.high_water_mark()), (0, 64));
    /// ```
    #[inline]
    pub fn high_water_mark(&self) -> usize {
        self.high_water.get().max(self.end.get()) - self.base_addr()
    }

    /// A snapshot of the allocator's statistics.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fba_core::Buffer;
    /// # use fba_core::FixedBufferAllocator;
    /// let mut memory = Buffer::<256>::new();
    /// let alloc = FixedBufferAllocator::new(&mut memory);
    /// alloc.alloc_str("a").unwrap();
    /// alloc.alloc_slice_copy(&[7u32]).unwrap(); // 3 bytes of padding, then 4
    /// let stats = alloc.stats();
    /// assert_eq!((stats.used, stats.live_bytes, stats.allocations), (8, 5, 2));
    /// ```
    pub fn stats(&self) -> Stats {
        let allocations = self.allocations.get();
        let used = self.used();
        let (padding, freed) = (self.padding.get(), self.freed.get());
        let high_water_mark = self.high_water_mark();
        let at_high_water = Breakdown::at_high_water(
            high_water_mark,
            self.end.get() > self.high_water.get(),
            (freed, padding),
            (self.peak_freed.get(), self.peak_padding.get()),
        );
        Stats {
            capacity: self.capacity(),
            used,
            high_water_mark,
            allocations,
            deallocations: self.deallocations.get(),
            failed_allocations: self.failed.get(),
            live_allocations: allocations - self.deallocations.get() - self.released.get(),
            live_bytes: used - padding - freed,
            injected_failures: self.injected.get(),
            at_high_water,
        }
    }

    /// The first allocation that did not fit, if any has failed.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fba_core::Buffer;
    /// # use fba_core::FixedBufferAllocator;
    /// let mut memory = Buffer::<4>::new();
    /// let alloc = FixedBufferAllocator::new(&mut memory);
    /// assert!(alloc.alloc_str("hello").is_err());
    /// let failure = alloc.first_failure().unwrap();
    /// assert_eq!((failure.layout.size(), failure.used, failure.capacity), (5, 0, 4));
    /// ```
    #[inline]
    pub fn first_failure(&self) -> Option<BudgetExceeded> {
        self.first_failure.get()
    }

    /// Makes the whole buffer free again. Taking `&mut self` proves that no
    /// block is still in use. The high-water mark and the counts are kept.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fba_core::Buffer;
    /// # use fba_core::FixedBufferAllocator;
    /// let mut memory = Buffer::<256>::new();
    /// let mut alloc = FixedBufferAllocator::new(&mut memory);
    /// for round in 0..3 {
    ///     let text = alloc.alloc_fmt(format_args!("round {round}")).unwrap();
    ///     assert_eq!(text.len(), 7);
    ///     alloc.reset();
    /// }
    /// assert_eq!((alloc.used(), alloc.high_water_mark()), (0, 7));
    /// ```
    ///
    /// Resetting while a block is alive does not compile:
    ///
    /// ```compile_fail
    /// # use fba_core::Buffer;
    /// # use fba_core::FixedBufferAllocator;
    /// let mut memory = Buffer::<256>::new();
    /// let mut alloc = FixedBufferAllocator::new(&mut memory);
    /// let name = alloc.alloc_str("Ada").unwrap();
    /// alloc.reset();
    /// assert_eq!(name, "Ada");
    /// ```
    pub fn reset(&mut self) {
        let end = self.end.get();
        self.fold_high_water(end);
        self.end.set(self.base_addr());
        self.padding.set(0);
        self.freed.set(0);
        self.released
            .set(self.allocations.get() - self.deallocations.get());
        if let Some(observer) = self.observer {
            observer.reset();
        }
    }

    /// Has `observer` told of every block handed out, freed or resized from
    /// now on (`None`: nobody). For diagnostics: while observed, every
    /// allocation takes the allocator's slow path; the blocks and the
    /// statistics are the same as without.
    ///
    /// # Examples
    ///
    /// See [`Observer`].
    pub fn set_observer(&mut self, observer: Option<&'buf dyn Observer>) {
        self.observer = observer;
        self.refit();
        self.set_high_water(self.high_water.get());
    }

    /// Fails the allocations `failing` names from now on, on purpose
    /// (`None`: none), counting allocations from 1 again. For tests of
    /// error paths: while failures are injected, every allocation takes the
    /// allocator's slow path.
    ///
    /// # Examples
    ///
    /// ```
    /// use fba_core::{Buffer, FailAllocation, FixedBufferAllocator};
    /// use allocator_api2::vec::Vec;
    ///
    /// let mut memory = Buffer::<1024>::new();
    /// let mut alloc = FixedBufferAllocator::new(&mut memory);
    /// alloc.set_failing(Some(FailAllocation::Only(1)));
    /// let mut numbers: Vec<u32, _> = Vec::new_in(&alloc);
    /// assert!(numbers.try_reserve(10).is_err());
    /// assert!(numbers.try_reserve(10).is_ok());
    /// assert_eq!(alloc.stats().injected_failures, 1);
    /// ```
    pub fn set_failing(&mut self, failing: Option<FailAllocation>) {
        self.failing = failing;
        self.attempts.set(0);
        self.refit();
    }

    /// Sends every allocation down the slow path while it has more to do
    /// than bump.
    fn refit(&mut self) {
        self.fit = if self.observer.is_some() || self.failing.is_some() {
            self.base_addr()
        } else {
            self.limit
        };
    }

    /// Whether `ptr` points into the buffer (Zig's `ownsPtr`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use fba_core::Buffer;
    /// # use fba_core::FixedBufferAllocator;
    /// let mut memory = Buffer::<256>::new();
    /// let alloc = FixedBufferAllocator::new(&mut memory);
    /// let name = alloc.alloc_str("Ada").unwrap();
    /// assert!(alloc.owns(name.as_ptr()));
    /// assert!(!alloc.owns("Ada".as_ptr()));
    /// ```
    #[inline]
    pub fn owns(&self, ptr: *const u8) -> bool {
        let addr = ptr.addr();
        addr >= self.base_addr() && addr < self.limit
    }

    /// The policy applied when an allocation does not fit.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fba_core::Buffer;
    /// # use fba_core::{Exhaustion, FixedBufferAllocator};
    /// let mut memory = Buffer::<16>::new();
    /// let alloc = FixedBufferAllocator::new(&mut memory);
    /// assert_eq!(alloc.exhaustion(), Exhaustion::Error);
    /// ```
    #[inline]
    pub fn exhaustion(&self) -> Exhaustion {
        self.exhaustion.get()
    }

    /// Sets the policy applied when an allocation does not fit.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fba_core::Buffer;
    /// use fba_core::{BudgetExceeded, Exhaustion, FixedBufferAllocator};
    /// use allocator_api2::vec::Vec;
    ///
    /// let mut memory = Buffer::<16>::new();
    /// let alloc = FixedBufferAllocator::new(&mut memory);
    /// alloc.set_exhaustion(Exhaustion::Panic);
    /// let result = std::panic::catch_unwind(|| Vec::<u8, _>::with_capacity_in(64, &alloc));
    /// let failure = result.unwrap_err().downcast::<BudgetExceeded>().unwrap();
    /// assert_eq!((failure.layout.size(), failure.capacity), (64, 16));
    /// ```
    #[inline]
    pub fn set_exhaustion(&self, policy: Exhaustion) {
        self.exhaustion.set(policy);
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
    /// # use fba_core::FixedBufferAllocator;
    /// let mut scratch = Buffer::<2048>::new();
    /// let alloc = FixedBufferAllocator::new(&mut scratch);
    /// let copy = alloc.alloc_slice_copy(b"input").unwrap();
    /// copy[0] = b'I';
    /// assert_eq!(copy, b"Input");
    /// ```
    #[inline]
    #[expect(
        clippy::mut_from_ref,
        reason = "each call returns a new block, disjoint from all others, as an arena does"
    )]
    pub fn alloc_slice_copy<T: Copy>(&self, items: &[T]) -> Result<&mut [T], AllocError> {
        let block = text::copy_into(self, items)?;
        // SAFETY: the block is new, holds `items.len()` initialised `T`s and
        // is never handed out again while `self` is borrowed (nothing frees
        // it, and `reset` needs `&mut self`).
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
    /// # use fba_core::FixedBufferAllocator;
    /// let mut memory = Buffer::<64>::new();
    /// let alloc = FixedBufferAllocator::new(&mut memory);
    /// let name = alloc.alloc_str("Ada").unwrap();
    /// name.make_ascii_uppercase();
    /// assert_eq!(name, "ADA");
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

    /// Formats `args` straight into the free end of the buffer (Zig's
    /// `allocPrint`), in one formatting pass.
    ///
    /// While formatting, the whole free end is reserved for the text, so
    /// anything the formatted values allocate from this same allocator fails.
    ///
    /// # Errors
    ///
    /// `AllocError` when the text does not fit (under [`Exhaustion::Error`]);
    /// nothing stays allocated.
    ///
    /// # Panics
    ///
    /// With a [`BudgetExceeded`] payload when it does not fit under
    /// [`Exhaustion::Panic`], and, as `format!` does, when a formatting trait
    /// returns an error of its own.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fba_core::Buffer;
    /// # use fba_core::FixedBufferAllocator;
    /// let mut memory = Buffer::<256>::new();
    /// let alloc = FixedBufferAllocator::new(&mut memory);
    /// let message = alloc.alloc_fmt(format_args!("user {} has score {}", "Ada", 42)).unwrap();
    /// assert_eq!(message, "user Ada has score 42");
    /// assert_eq!(alloc.used(), message.len());
    /// ```
    #[expect(
        clippy::mut_from_ref,
        reason = "each call returns a new block, disjoint from all others, as an arena does"
    )]
    pub fn alloc_fmt(&self, args: fmt::Arguments<'_>) -> Result<&mut str, AllocError> {
        if let Some(literal) = args.as_str() {
            return self.alloc_str(literal);
        }
        let start = self.end.get();
        // Reserve the free end, and give it back however formatting ends.
        self.end.set(self.limit);
        let reservation = Reservation {
            alloc: self,
            start,
            high_water: self.high_water.get(),
            peak: (self.peak_padding.get(), self.peak_freed.get()),
        };
        // SAFETY: `start..limit` is inside the buffer and, reserved, belongs
        // to no block.
        let tail = unsafe { pointer_at(self.base, start) };
        let mut writer = text::SliceWriter::new(tail, self.limit - start);
        let outcome = fmt::write(&mut writer, args);
        drop(reservation);
        match writer.finish(outcome) {
            Ok(0) => Ok(<&mut str>::default()),
            Ok(len) => {
                // Take the bytes the writer filled as the next block.
                let block = self.allocate_block(text::byte_layout(len))?;
                debug_assert_eq!(block, tail);
                // SAFETY: `block` is the new block of `len` bytes at `start`
                // that the writer filled with the UTF-8 of whole `str`s.
                Ok(unsafe {
                    core::str::from_utf8_unchecked_mut(core::slice::from_raw_parts_mut(
                        block.as_ptr(),
                        len,
                    ))
                })
            }
            Err(needed) => Err(self.fail(text::byte_layout(needed))),
        }
    }

    #[inline(always)]
    fn base_addr(&self) -> usize {
        self.base.as_ptr().addr()
    }

    /// Folds `end`, about to move back or to have bytes below it freed, into
    /// the high-water mark, with what the bytes were at that mark.
    #[inline(always)]
    fn fold_high_water(&self, end: usize) {
        if end > self.high_water.get() {
            self.set_high_water(end);
            self.peak_padding.set(self.padding.get());
            self.peak_freed.set(self.freed.get());
        }
    }

    /// Sets the `end` of the high-water mark, and the free path's threshold
    /// with it.
    #[inline(always)]
    fn set_high_water(&self, end: usize) {
        self.high_water.set(end);
        self.fold_above.set(match self.observer {
            Some(_) => self.base_addr(),
            None => end,
        });
    }

    /// Records a failed allocation of `layout` and applies the policy.
    #[cold]
    #[inline(never)]
    fn fail(&self, layout: Layout) -> AllocError {
        self.failed.set(self.failed.get() + 1);
        let failure = BudgetExceeded {
            layout,
            used: self.used(),
            capacity: self.capacity(),
        };
        if self.first_failure.get().is_none() {
            self.first_failure.set(Some(failure));
        }
        exhausted(self.exhaustion.get(), failure)
    }

    #[inline(always)]
    fn allocate_block(&self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        let (size, mask) = (layout.size(), layout.align() - 1);
        if size == 0 {
            return Ok(dangling(layout.align()));
        }
        let end = self.end.get();
        // The fast path's one test: room below `fit` for the block with the
        // most padding its alignment could need. Signed, so that a `fit`
        // below `end` (the buffer's start, while an observer watches or
        // failures are injected) sends every allocation to the slow path;
        // a block that fits only with less padding than that goes there too,
        // and is placed exactly. `Layout` keeps `mask + size` within
        // `isize::MAX`, and a buffer is at most that long, so nothing wraps:
        // passing the test means `end + mask + size <= fit`.
        if (mask + size) as isize <= self.fit.wrapping_sub(end) as isize {
            // For a Rust type's layout (size a multiple of the alignment,
            // and a constant, so the test folds away) the new end is one add
            // and one `and` from the old: the chain every next allocation
            // waits on.
            let (start, new_end) = if size & mask == 0 {
                let new_end = (end + mask + size) & !mask;
                (new_end - size, new_end)
            } else {
                let start = (end + mask) & !mask;
                (start, start + size)
            };
            Ok(self.take(end, start, new_end))
        } else {
            self.allocate_slowly(layout)
        }
    }

    /// Takes the block `start..new_end` placed at `end`.
    #[inline(always)]
    fn take(&self, end: usize, start: usize, new_end: usize) -> NonNull<u8> {
        self.end.set(new_end);
        self.allocations.set(self.allocations.get() + 1);
        if start != end {
            self.padding.set(self.padding.get() + (start - end));
        }
        // SAFETY: `place` put the block inside the buffer.
        unsafe { pointer_at(self.base, start) }
    }

    /// An allocation past `fit`: a failure, one an observer watches, or
    /// one counted for failure injection.
    #[cold]
    #[inline(never)]
    fn allocate_slowly(&self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        if let Some(failing) = self.failing {
            let attempt = self.attempts.get() + 1;
            self.attempts.set(attempt);
            if failing.fails(attempt) {
                self.injected.set(self.injected.get() + 1);
                return Err(AllocError);
            }
        }
        let end = self.end.get();
        match place(end, self.limit, layout) {
            Some((start, new_end)) => {
                let block = self.take(end, start, new_end);
                if let Some(observer) = self.observer {
                    observer.allocated(block, layout, self.used());
                }
                Ok(block)
            }
            None => Err(self.fail(layout)),
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
        self.deallocations.set(self.deallocations.get() + 1);
        let end = self.end.get();
        if end > self.fold_above.get() {
            self.free_slowly(ptr, layout, end);
        } else {
            self.release(ptr.as_ptr().addr(), size, end);
        }
    }

    /// Gives back the `size` bytes at `start`: moves `end` back over them
    /// when they are the last block's, counts them as freed otherwise.
    #[inline(always)]
    fn release(&self, start: usize, size: usize, end: usize) {
        if start + size == end {
            self.end.set(start);
        } else {
            self.freed.set(self.freed.get() + size);
        }
    }

    /// A free at a new high-water mark, or one an observer watches.
    #[cold]
    #[inline(never)]
    fn free_slowly(&self, ptr: NonNull<u8>, layout: Layout, end: usize) {
        self.fold_high_water(end);
        self.release(ptr.as_ptr().addr(), layout.size(), end);
        if let Some(observer) = self.observer {
            observer.freed(ptr, layout, self.used());
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
    ) -> Result<NonNull<u8>, AllocError> {
        if old.size() == 0 {
            return self.allocate_block(new);
        }
        if is_aligned_to(ptr, new.align()) {
            let old_end = ptr.as_ptr().addr() + old.size();
            let extra = new.size() - old.size();
            let end = self.end.get();
            if old_end == end {
                if extra <= self.limit - end {
                    self.end.set(end + extra);
                    if let Some(observer) = self.observer {
                        observer.resized(ptr, old, new, self.used());
                    }
                    return Ok(ptr);
                }
            } else if extra == 0 {
                return Ok(ptr);
            }
        }
        let moved = self.allocate_block(new)?;
        // SAFETY: the old block holds `old.size()` bytes, the new one at least
        // as many, and the new block lies after the end of the old one.
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
    ) -> Result<NonNull<u8>, AllocError> {
        if new.size() == 0 {
            // SAFETY: the caller's block.
            unsafe { self.deallocate_block(ptr, old) };
            return Ok(dangling(new.align()));
        }
        if !is_aligned_to(ptr, new.align()) {
            let moved = self.allocate_block(new)?;
            // SAFETY: the old block holds at least `new.size()` bytes and the
            // new block lies after its end.
            unsafe {
                ptr::copy_nonoverlapping(ptr.as_ptr(), moved.as_ptr(), new.size());
                self.deallocate_block(ptr, old);
            }
            return Ok(moved);
        }
        let freed = old.size() - new.size();
        let end = self.end.get();
        self.fold_high_water(end);
        if ptr.as_ptr().addr() + old.size() == end {
            self.end.set(end - freed);
        } else {
            self.freed.set(self.freed.get() + freed);
        }
        if let Some(observer) = self.observer {
            observer.resized(ptr, old, new, self.used());
        }
        Ok(ptr)
    }
}

/// Gives back the free end reserved while `alloc_fmt` formats, even when a
/// formatting trait panics.
struct Reservation<'a, 'buf> {
    alloc: &'a FixedBufferAllocator<'buf>,
    /// Where the free end started: the real end while it is reserved.
    start: usize,
    /// The high-water mark before the reservation, and what its bytes were.
    high_water: usize,
    peak: (usize, usize),
}

impl Drop for Reservation<'_, '_> {
    fn drop(&mut self) {
        let alloc = self.alloc;
        alloc.end.set(self.start);
        // A free while the end was reserved folded the reserved end into the
        // high-water mark: the real end was `start` (and what the bytes
        // were then is what the fold recorded).
        if alloc.high_water.get() == alloc.limit && self.high_water < alloc.limit {
            if self.start > self.high_water {
                alloc.set_high_water(self.start);
            } else {
                alloc.set_high_water(self.high_water);
                alloc.peak_padding.set(self.peak.0);
                alloc.peak_freed.set(self.peak.1);
            }
        }
    }
}

impl fmt::Debug for FixedBufferAllocator<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FixedBufferAllocator")
            .field("stats", &self.stats())
            .field("exhaustion", &self.exhaustion())
            .finish()
    }
}

// SAFETY: blocks are disjoint regions of the borrowed buffer, which outlives
// every `&FixedBufferAllocator` (it is borrowed for `'buf`); a block is handed
// out again only after it was freed (its bytes rewound), or after `reset`,
// which needs `&mut self` and so no live reference through which a block
// could still be used. Every pointer is derived from the buffer's own.
crate::allocator_api::implement!(allocator_api2 for FixedBufferAllocator);

// SAFETY: as for allocator-api2 0.2's trait above: the same methods.
#[cfg(feature = "allocator-api2-04")]
crate::allocator_api::implement!(allocator_api2_04 for FixedBufferAllocator);

// SAFETY: as for allocator-api2 0.2's trait above: the same methods.
#[cfg(feature = "nightly")]
crate::allocator_api::implement!(core for FixedBufferAllocator);

#[cfg(test)]
mod tests {
    //! One test per behaviour of Zig's `FixedBufferAllocator` (and its tests),
    //! plus what Rust adds: statistics, the exhaustion policy, `alloc_fmt`.

    use super::*;
    use crate::testing::{Aligned, layout};
    use allocator_api2::alloc::Allocator;
    use std::string::ToString;

    fn allocate(alloc: &FixedBufferAllocator<'_>, size: usize, align: usize) -> NonNull<u8> {
        (&alloc).allocate(layout(size, align)).unwrap().cast()
    }

    fn offset(alloc: &FixedBufferAllocator<'_>, ptr: NonNull<u8>) -> usize {
        ptr.as_ptr().addr() - alloc.base_addr()
    }

    #[test]
    fn allocation_within_capacity_takes_its_size() {
        let mut memory = Aligned::<1024>::new();
        let alloc = FixedBufferAllocator::new(memory.bytes());
        let block = (&alloc).allocate(layout(100, 1)).unwrap();
        assert_eq!(block.len(), 100);
        assert_eq!((alloc.used(), alloc.remaining()), (100, 924));
        assert!(alloc.owns(block.cast::<u8>().as_ptr()));
    }

    #[test]
    fn allocation_beyond_capacity_fails_and_changes_nothing() {
        let mut memory = Aligned::<16>::new();
        let alloc = FixedBufferAllocator::new(memory.bytes());
        allocate(&alloc, 10, 1);
        assert_eq!((&alloc).allocate(layout(100, 1)), Err(AllocError));
        assert_eq!((&alloc).allocate(layout(7, 1)), Err(AllocError));
        assert_eq!(alloc.used(), 10);
        let stats = alloc.stats();
        assert_eq!((stats.allocations, stats.failed_allocations), (1, 2));
        let failure = alloc.first_failure().unwrap();
        assert_eq!(
            (failure.layout, failure.used, failure.capacity),
            (layout(100, 1), 10, 16)
        );
        // The buffer's last byte is still there for an allocation that fits.
        assert!((&alloc).allocate(layout(6, 1)).is_ok());
        assert_eq!(alloc.remaining(), 0);
    }

    #[test]
    fn zero_capacity_buffer_fails_every_allocation_but_zero_size_ones() {
        let alloc = FixedBufferAllocator::new(&mut []);
        assert_eq!((&alloc).allocate(layout(1, 1)), Err(AllocError));
        assert!((&alloc).allocate(layout(0, 8)).is_ok());
        assert_eq!(alloc.stats().failed_allocations, 1);
        assert_eq!(alloc.capacity(), 0);
    }

    #[test]
    fn zero_size_allocation_succeeds_without_using_the_buffer() {
        let mut memory = Aligned::<8>::new();
        let alloc = FixedBufferAllocator::new(&mut memory.bytes()[1..]);
        let block = (&alloc).allocate(layout(0, 1 << 20)).unwrap();
        assert_eq!(block.len(), 0);
        assert_eq!(block.cast::<u8>().as_ptr().addr() % (1 << 20), 0);
        assert_eq!((alloc.used(), alloc.stats().allocations), (0, 0));
        // SAFETY: the block was just allocated with this layout.
        unsafe { (&alloc).deallocate(block.cast(), layout(0, 1 << 20)) };
        assert_eq!(alloc.stats().deallocations, 0);
    }

    #[test]
    fn every_power_of_two_alignment_up_to_4096_is_met_from_an_unaligned_base() {
        let mut memory = Aligned::<{ 3 * 8192 }>::new();
        let mut alloc = FixedBufferAllocator::new(&mut memory.bytes()[1..]);
        for shift in 0..=12 {
            let align = 1usize << shift;
            let block = allocate(&alloc, 3, align);
            assert_eq!(block.as_ptr().addr() % align, 0, "align {align}");
            // The block starts at the first multiple of `align` after the
            // base address, which is one past a multiple of 4096.
            let expected = 1usize.next_multiple_of(align) - 1;
            assert_eq!(offset(&alloc, block), expected, "align {align}");
            alloc.reset();
        }
    }

    #[test]
    fn padding_before_a_block_stays_used_and_is_not_live() {
        let mut memory = Aligned::<64>::new();
        let alloc = FixedBufferAllocator::new(memory.bytes());
        allocate(&alloc, 1, 1);
        let block = allocate(&alloc, 8, 8);
        assert_eq!(offset(&alloc, block), 8);
        let stats = alloc.stats();
        assert_eq!((stats.used, stats.live_bytes), (16, 9));
    }

    #[test]
    fn alignment_larger_than_the_buffer_fails() {
        let mut memory = Aligned::<64>::new();
        let alloc = FixedBufferAllocator::new(&mut memory.bytes()[1..]);
        assert_eq!((&alloc).allocate(layout(1, 128)), Err(AllocError));
        assert_eq!(alloc.used(), 0);
    }

    #[test]
    fn sizes_that_overflow_when_aligned_fail() {
        let mut memory = Aligned::<64>::new();
        let alloc = FixedBufferAllocator::new(&mut memory.bytes()[1..]);
        let largest = isize::MAX as usize;
        assert_eq!((&alloc).allocate(layout(largest, 1)), Err(AllocError));
        assert_eq!((&alloc).allocate(layout(largest - 7, 8)), Err(AllocError));
        assert_eq!((&alloc).allocate(layout(1, 1 << 62)), Err(AllocError));
        assert_eq!(alloc.stats().failed_allocations, 3);
    }

    #[test]
    fn free_of_last_allocation_rewinds() {
        let mut memory = Aligned::<64>::new();
        let alloc = FixedBufferAllocator::new(memory.bytes());
        allocate(&alloc, 8, 8);
        let last = allocate(&alloc, 16, 8);
        // SAFETY: `last` is live with this layout.
        unsafe { (&alloc).deallocate(last, layout(16, 8)) };
        assert_eq!(alloc.used(), 8);
        assert_eq!(offset(&alloc, allocate(&alloc, 16, 8)), 8);
    }

    #[test]
    fn free_of_last_allocation_keeps_its_padding_used() {
        let mut memory = Aligned::<64>::new();
        let alloc = FixedBufferAllocator::new(memory.bytes());
        allocate(&alloc, 1, 1);
        let last = allocate(&alloc, 8, 8);
        // SAFETY: `last` is live with this layout.
        unsafe { (&alloc).deallocate(last, layout(8, 8)) };
        assert_eq!(alloc.used(), 8);
        assert_eq!(alloc.stats().live_bytes, 1);
    }

    #[test]
    fn free_of_other_allocation_reclaims_nothing() {
        let mut memory = Aligned::<64>::new();
        let alloc = FixedBufferAllocator::new(memory.bytes());
        let first = allocate(&alloc, 8, 8);
        allocate(&alloc, 8, 8);
        // SAFETY: `first` is live with this layout.
        unsafe { (&alloc).deallocate(first, layout(8, 8)) };
        let stats = alloc.stats();
        assert_eq!(
            (stats.used, stats.live_bytes, stats.live_allocations),
            (16, 8, 1)
        );
        assert_eq!(offset(&alloc, allocate(&alloc, 8, 8)), 16);
    }

    #[test]
    fn grow_of_last_allocation_happens_in_place() {
        // Zig: "FixedBufferAllocator Reuse memory on realloc".
        let mut memory = Aligned::<10>::new();
        let alloc = FixedBufferAllocator::new(memory.bytes());
        let block = allocate(&alloc, 5, 1);
        // SAFETY: `block` is live with the old layout.
        let grown = unsafe { (&alloc).grow(block, layout(5, 1), layout(10, 1)) }.unwrap();
        assert_eq!((grown.cast(), grown.len()), (block, 10));
        assert_eq!(alloc.used(), 10);
        // SAFETY: as above.
        let too_far = unsafe { (&alloc).grow(block, layout(10, 1), layout(11, 1)) };
        assert_eq!(too_far, Err(AllocError));
        assert_eq!((alloc.used(), alloc.stats().allocations), (10, 1));
    }

    #[test]
    fn grow_of_other_allocation_copies_and_frees() {
        // Zig: "we don't re-use the memory if it's not the most recent block".
        let mut memory = Aligned::<16>::new();
        let alloc = FixedBufferAllocator::new(memory.bytes());
        let first = allocate(&alloc, 2, 1);
        // SAFETY: `first` has two writable bytes.
        unsafe {
            first
                .as_ptr()
                .copy_from_nonoverlapping([1u8, 2].as_ptr(), 2)
        };
        let second = allocate(&alloc, 2, 1);
        // SAFETY: `first` is live with the old layout.
        let moved = unsafe { (&alloc).grow(first, layout(2, 1), layout(4, 1)) }.unwrap();
        let moved = moved.cast::<u8>();
        assert_ne!(moved, first);
        assert_ne!(moved, second);
        // SAFETY: `moved` holds at least the two copied bytes.
        assert_eq!(unsafe { *moved.cast::<[u8; 2]>().as_ptr() }, [1, 2]);
        let stats = alloc.stats();
        assert_eq!((stats.used, stats.live_bytes), (8, 6));
        assert_eq!((stats.allocations, stats.deallocations), (3, 1));
    }

    #[test]
    fn grow_to_an_alignment_the_block_lacks_moves_it() {
        let mut memory = Aligned::<64>::new();
        let alloc = FixedBufferAllocator::new(memory.bytes());
        allocate(&alloc, 4, 1);
        let block = allocate(&alloc, 4, 4);
        // SAFETY: `block` has four writable bytes.
        unsafe { block.cast::<u32>().as_ptr().write(0xfeed_beef) };
        // SAFETY: `block` is live with the old layout.
        let moved = unsafe { (&alloc).grow(block, layout(4, 4), layout(8, 16)) }.unwrap();
        assert_eq!(offset(&alloc, moved.cast()), 16);
        // SAFETY: the moved block starts with the old contents.
        assert_eq!(unsafe { moved.cast::<u32>().as_ptr().read() }, 0xfeed_beef);
    }

    #[test]
    fn grow_of_last_allocation_that_does_not_fit_fails_and_keeps_the_block() {
        let mut memory = Aligned::<16>::new();
        let alloc = FixedBufferAllocator::new(memory.bytes());
        let block = allocate(&alloc, 8, 1);
        // SAFETY: `block` is live with the old layout.
        let result = unsafe { (&alloc).grow(block, layout(8, 1), layout(17, 1)) };
        assert_eq!(result, Err(AllocError));
        assert_eq!(alloc.used(), 8);
        assert_eq!(alloc.first_failure().unwrap().layout, layout(17, 1));
    }

    #[test]
    fn grow_zeroed_zeroes_only_the_new_bytes() {
        let mut memory = Aligned::<16>::new();
        let alloc = FixedBufferAllocator::new(memory.bytes());
        let block = (&alloc).allocate_zeroed(layout(2, 1)).unwrap().cast::<u8>();
        // SAFETY: `block` has two writable bytes.
        unsafe { block.as_ptr().write(7) };
        // SAFETY: `block` is live with the old layout.
        let grown = unsafe { (&alloc).grow_zeroed(block, layout(2, 1), layout(6, 1)) }.unwrap();
        // SAFETY: the grown block has six initialised bytes.
        assert_eq!(unsafe { grown.as_ref() }, &[7, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn allocate_zeroed_zeroes_bytes_a_freed_block_wrote() {
        let mut memory = Aligned::<16>::new();
        let alloc = FixedBufferAllocator::new(memory.bytes());
        let dirty = allocate(&alloc, 8, 1);
        // SAFETY: `dirty` has eight writable bytes; it is then freed as the
        // last block, so the next allocation gets the same bytes.
        unsafe {
            dirty.as_ptr().write_bytes(0xAB, 8);
            (&alloc).deallocate(dirty, layout(8, 1));
        }
        let zeroed = (&alloc).allocate_zeroed(layout(8, 1)).unwrap();
        assert_eq!(zeroed.cast::<u8>(), dirty);
        // SAFETY: the block has eight initialised bytes.
        assert_eq!(unsafe { zeroed.as_ref() }, &[0; 8]);
    }

    #[test]
    fn shrink_of_last_allocation_rewinds_by_the_difference() {
        let mut memory = Aligned::<64>::new();
        let alloc = FixedBufferAllocator::new(memory.bytes());
        let block = allocate(&alloc, 32, 8);
        // SAFETY: `block` is live with the old layout.
        let shrunk = unsafe { (&alloc).shrink(block, layout(32, 8), layout(8, 8)) }.unwrap();
        assert_eq!(shrunk.cast(), block);
        assert_eq!((alloc.used(), alloc.high_water_mark()), (8, 32));
    }

    #[test]
    fn shrink_of_other_allocation_stays_in_place_and_reclaims_nothing() {
        let mut memory = Aligned::<64>::new();
        let alloc = FixedBufferAllocator::new(memory.bytes());
        let block = allocate(&alloc, 32, 8);
        allocate(&alloc, 8, 8);
        // SAFETY: `block` is live with the old layout.
        let shrunk = unsafe { (&alloc).shrink(block, layout(32, 8), layout(8, 8)) }.unwrap();
        assert_eq!(shrunk.cast(), block);
        let stats = alloc.stats();
        assert_eq!((stats.used, stats.live_bytes), (40, 16));
    }

    #[test]
    fn shrink_to_zero_frees_the_block() {
        let mut memory = Aligned::<64>::new();
        let alloc = FixedBufferAllocator::new(memory.bytes());
        let block = allocate(&alloc, 32, 8);
        // SAFETY: `block` is live with the old layout.
        let empty = unsafe { (&alloc).shrink(block, layout(32, 8), layout(0, 8)) }.unwrap();
        assert_eq!(empty.len(), 0);
        assert_eq!((alloc.used(), alloc.stats().live_allocations), (0, 0));
    }

    #[test]
    fn shrink_to_an_alignment_the_block_lacks_moves_it() {
        let mut memory = Aligned::<64>::new();
        let alloc = FixedBufferAllocator::new(memory.bytes());
        allocate(&alloc, 4, 1);
        let block = allocate(&alloc, 8, 4);
        // SAFETY: `block` has eight writable bytes.
        unsafe { block.cast::<u32>().as_ptr().write(0xfeed_beef) };
        // SAFETY: `block` is live with the old layout.
        let moved = unsafe { (&alloc).shrink(block, layout(8, 4), layout(4, 16)) }.unwrap();
        assert_eq!(offset(&alloc, moved.cast()), 16);
        // SAFETY: the moved block starts with the old contents.
        assert_eq!(unsafe { moved.cast::<u32>().as_ptr().read() }, 0xfeed_beef);
    }

    #[test]
    fn resize_to_the_same_size_stays_in_place_last_or_not() {
        let mut memory = Aligned::<16>::new();
        let alloc = FixedBufferAllocator::new(memory.bytes());
        let first = allocate(&alloc, 8, 8);
        let last = allocate(&alloc, 8, 8);
        for block in [first, last] {
            // SAFETY: both blocks are live with this layout.
            let same = unsafe { (&alloc).grow(block, layout(8, 8), layout(8, 8)) }.unwrap();
            assert_eq!(same.cast(), block);
            // SAFETY: as above.
            let same = unsafe { (&alloc).shrink(block, layout(8, 8), layout(8, 8)) }.unwrap();
            assert_eq!(same.cast(), block);
        }
        assert_eq!((alloc.used(), alloc.stats().allocations), (16, 2));
    }

    #[test]
    fn reset_frees_the_whole_buffer_and_keeps_the_history() {
        // Zig: "FixedBufferAllocator.reset".
        let mut memory = Aligned::<{ 8 * 2 }>::new();
        let mut alloc = FixedBufferAllocator::new(memory.bytes());
        let x = allocate(&alloc, 8, 8);
        allocate(&alloc, 8, 8);
        assert_eq!((&alloc).allocate(layout(8, 8)), Err(AllocError));
        alloc.reset();
        let y = allocate(&alloc, 8, 8);
        assert_eq!(x, y);
        let stats = alloc.stats();
        assert_eq!(
            (stats.used, stats.high_water_mark, stats.live_allocations),
            (8, 16, 1)
        );
        assert_eq!((stats.allocations, stats.failed_allocations), (3, 1));
    }

    #[test]
    fn stack_backed_buffer_serves_a_dupe() {
        // The seed's `parseSmallInput`.
        fn parse_small_input(input: &[u8]) -> usize {
            let mut scratch = [MaybeUninit::uninit(); 2048];
            let alloc = FixedBufferAllocator::new(&mut scratch);
            let copy = alloc.alloc_slice_copy(input).unwrap();
            copy.iter().filter(|byte| byte.is_ascii_digit()).count()
        }
        assert_eq!(parse_small_input(b"a1b2c3"), 3);
    }

    #[test]
    fn alloc_slice_copy_copies_and_aligns() {
        let mut memory = Aligned::<64>::new();
        let alloc = FixedBufferAllocator::new(memory.bytes());
        alloc.alloc_str("x").unwrap();
        let numbers = alloc.alloc_slice_copy(&[1u64, 2, 3]).unwrap();
        assert_eq!(numbers, &[1, 2, 3]);
        assert_eq!(numbers.as_ptr().addr() % 8, 0);
        assert_eq!(alloc.used(), 32);
    }

    #[test]
    fn alloc_slice_copy_of_zero_sized_items_uses_nothing() {
        let alloc = FixedBufferAllocator::new(&mut []);
        assert_eq!(alloc.alloc_slice_copy(&[(), (), ()]).unwrap().len(), 3);
        assert_eq!(alloc.alloc_str("").unwrap(), "");
    }

    #[test]
    fn alloc_fmt_formats_into_the_free_end() {
        let mut memory = Aligned::<256>::new();
        let alloc = FixedBufferAllocator::new(memory.bytes());
        alloc.alloc_str("head").unwrap();
        let message = alloc
            .alloc_fmt(format_args!("user {} has score {}", "Ada", 42))
            .unwrap();
        assert_eq!(message, "user Ada has score 42");
        assert_eq!(alloc.used(), 4 + 21);
        assert_eq!(alloc.stats().allocations, 2);
    }

    #[test]
    fn alloc_fmt_that_does_not_fit_fails_with_the_whole_length_and_leaves_nothing() {
        let mut memory = Aligned::<16>::new();
        let alloc = FixedBufferAllocator::new(memory.bytes());
        alloc.alloc_str("head").unwrap();
        let result = alloc.alloc_fmt(format_args!("{} is longer than the buffer", 12345));
        assert_eq!(result, Err(AllocError));
        assert_eq!(alloc.used(), 4);
        assert_eq!(alloc.first_failure().unwrap().layout, layout(31, 1));
        assert_eq!(
            alloc
                .alloc_fmt(format_args!("{}", 123_456_789_012u64))
                .unwrap()
                .len(),
            12
        );
    }

    #[test]
    fn alloc_fmt_gives_the_free_end_back_when_formatting_panics() {
        struct Explodes;
        impl fmt::Display for Explodes {
            fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
                panic!("formatting failed")
            }
        }
        let mut memory = Aligned::<64>::new();
        let alloc = FixedBufferAllocator::new(memory.bytes());
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            alloc.alloc_fmt(format_args!("x{}", Explodes)).map(|_| ())
        }));
        assert!(result.is_err());
        assert_eq!((alloc.used(), alloc.remaining()), (0, 64));
    }

    #[test]
    fn exhaustion_panic_panics_with_the_failure_as_payload() {
        let mut memory = Aligned::<16>::new();
        let alloc = FixedBufferAllocator::new(memory.bytes());
        alloc.set_exhaustion(Exhaustion::Panic);
        allocate(&alloc, 10, 1);
        let payload = std::panic::catch_unwind(|| (&alloc).allocate(layout(8, 8))).unwrap_err();
        let failure = payload.downcast::<BudgetExceeded>().unwrap();
        assert_eq!(
            *failure,
            BudgetExceeded {
                layout: layout(8, 8),
                used: 10,
                capacity: 16
            }
        );
        assert_eq!(
            failure.to_string(),
            "allocation of 8 bytes (align 8) does not fit: 10 of 16 bytes in use, 6 free"
        );
        assert_eq!(alloc.stats().failed_allocations, 1);
    }

    #[test]
    fn a_free_while_alloc_fmt_formats_does_not_raise_the_high_water_mark() {
        use allocator_api2::boxed::Box;
        use core::cell::RefCell;
        use core::fmt::{self, Display};

        use crate::Buffer;

        /// Frees its block when it is formatted.
        struct FreesWhenShown<'a>(RefCell<Option<Box<[u8; 8], &'a FixedBufferAllocator<'a>>>>);
        impl Display for FreesWhenShown<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                drop(self.0.borrow_mut().take());
                f.write_str("shown")
            }
        }
        let mut memory = Buffer::<64>::new();
        let alloc = FixedBufferAllocator::new(&mut memory);
        let first = Box::new_in([1u8; 8], &alloc);
        let _second = Box::new_in([2u8; 8], &alloc);
        let shown = FreesWhenShown(RefCell::new(Some(first)));
        let text = alloc.alloc_fmt(format_args!("{shown}!")).unwrap();
        assert_eq!(text, "shown!");
        // 16 bytes of boxes, then the 6 bytes of text; the freed box was not
        // the last block: its bytes stay.
        let stats = alloc.stats();
        assert_eq!(stats.high_water_mark, 16 + 6);
        assert_eq!(
            (
                stats.at_high_water.live_bytes,
                stats.at_high_water.freed_bytes
            ),
            (8 + 6, 8)
        );
    }

    #[test]
    fn high_water_mark_is_the_most_ever_used() {
        let mut memory = Aligned::<64>::new();
        let alloc = FixedBufferAllocator::new(memory.bytes());
        let a = allocate(&alloc, 24, 8);
        assert_eq!(alloc.high_water_mark(), 24);
        // SAFETY: `a` is live with this layout.
        unsafe { (&alloc).deallocate(a, layout(24, 8)) };
        allocate(&alloc, 8, 8);
        assert_eq!((alloc.used(), alloc.high_water_mark()), (8, 24));
        allocate(&alloc, 32, 8);
        assert_eq!(alloc.high_water_mark(), 40);
    }

    #[test]
    fn a_block_that_fits_only_without_the_most_padding_is_still_served() {
        // The fast path wants room for the block plus the most padding its
        // alignment could need (8 + 7 here); the last 8 bytes of an aligned
        // buffer take the exact slow path, and are served.
        let mut memory = Aligned::<16>::new();
        let alloc = FixedBufferAllocator::new(memory.bytes());
        allocate(&alloc, 8, 8);
        allocate(&alloc, 8, 8);
        let stats = alloc.stats();
        assert_eq!(
            (stats.used, stats.allocations, stats.failed_allocations),
            (16, 2, 0)
        );
        assert!((&alloc).allocate(layout(1, 1)).is_err());
    }

    #[test]
    fn debug_shows_the_stats_and_policy() {
        let mut memory = Aligned::<16>::new();
        let alloc = FixedBufferAllocator::new(memory.bytes());
        let text = std::format!("{alloc:?}");
        assert!(
            text.starts_with("FixedBufferAllocator { stats: Stats { capacity: 16, used: 0"),
            "{text}"
        );
        assert!(text.ends_with("exhaustion: Error }"), "{text}");
    }

    #[test]
    fn an_injected_failure_is_an_err_whatever_the_policy_and_moves_nothing() {
        let mut memory = Aligned::<256>::new();
        let mut alloc = FixedBufferAllocator::new(memory.bytes());
        alloc.set_exhaustion(Exhaustion::Panic);
        alloc.set_failing(Some(FailAllocation::From(2)));
        let mut text = allocator_api2::vec::Vec::<u8, _>::with_capacity_in(4, &alloc);
        text.extend_from_slice(b"abcd");
        // The last block grows in place: not an allocation, never failed.
        text.try_reserve_exact(4).unwrap();
        let used = alloc.used();
        assert!(alloc.alloc_str("refused").is_err());
        assert!(alloc.alloc_fmt(format_args!("{}", 42)).is_err());
        assert_eq!(alloc.used(), used, "a refusal takes nothing");
        let stats = alloc.stats();
        assert_eq!(
            (
                stats.allocations,
                stats.injected_failures,
                stats.failed_allocations
            ),
            (1, 2, 0)
        );
        assert_eq!(alloc.first_failure(), None);
        drop(text);
        // A new plan counts from 1 again.
        alloc.set_failing(Some(FailAllocation::Only(2)));
        assert!(alloc.alloc_str("one").is_ok());
        assert!(alloc.alloc_str("two").is_err());
    }
}
