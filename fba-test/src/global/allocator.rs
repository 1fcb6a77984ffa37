//! [`GlobalBudget`]: the global allocator that makes budgets possible for
//! code that allocates through the global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ptr;

use super::capture;
use super::region::{self, Region};
use super::scope;

/// A global allocator that measures the allocations of the threads in a
/// memory budget and forwards everything else to the allocator it wraps.
///
/// Install it once per test crate:
///
/// ```
/// #[global_allocator]
/// static GLOBAL: fba::GlobalBudget = fba::GlobalBudget::system();
/// ```
///
/// Outside a budget every call goes to the wrapped allocator, after one
/// thread-local read (allocations) or one atomic load (frees, while no budget
/// is running or holding escaped blocks). Inside a budget, the allocations of
/// its threads come from a fixed buffer with the fixed buffer allocator's
/// semantics, so what is measured is exactly what a fixed buffer of that
/// size would need. Frees are routed by address: every block goes back to
/// the allocator that gave it, on any thread, during or after the budget,
/// and a `realloc` across the boundary moves the block.
///
/// Wrapping another `GlobalBudget` works (the inner one only forwards).
#[derive(Debug, Default)]
pub struct GlobalBudget<A = System> {
    inner: A,
}

impl GlobalBudget<System> {
    /// A budget-aware global allocator over the system allocator.
    pub const fn system() -> Self {
        GlobalBudget { inner: System }
    }
}

impl<A> GlobalBudget<A> {
    /// A budget-aware global allocator over `inner` (mimalloc, jemalloc...).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::alloc::System;
    ///
    /// static GLOBAL: fba::GlobalBudget<System> = fba::GlobalBudget::new(System);
    /// ```
    pub const fn new(inner: A) -> Self {
        GlobalBudget { inner }
    }
}

impl<A: GlobalAlloc> GlobalBudget<A> {
    /// Allocates `layout` in the region of the calling thread's budget, or
    /// from the wrapped allocator past the region's end (a spill) or after
    /// the budget ended.
    #[cold]
    unsafe fn alloc_in(&self, region: &'static Region, layout: Layout, zeroed: bool) -> *mut u8 {
        if region::is_probe(region) {
            region::saw_probe();
        } else if region.is_open() {
            let used_before = region.allocator().used();
            let block = if zeroed {
                // SAFETY: the caller's layout, non-zero as `GlobalAlloc` requires.
                unsafe { region.allocator().alloc_zeroed(layout) }
            } else {
                // SAFETY: as above.
                unsafe { region.allocator().alloc(layout) }
            };
            if !block.is_null() {
                if region.log.is_active() {
                    region
                        .log
                        .record(block.addr(), layout.size(), layout.align());
                }
                region.allocated(layout, used_before);
                return block;
            }
            if region.is_hard() {
                return ptr::null_mut();
            }
            region.spill();
        }
        // SAFETY: the caller's layout.
        unsafe {
            if zeroed {
                self.inner.alloc_zeroed(layout)
            } else {
                self.inner.alloc(layout)
            }
        }
    }

    /// Frees a block of `region`.
    unsafe fn dealloc_in(region: &'static Region, block: *mut u8, layout: Layout) {
        region.fold_peaks(0, 0);
        if region.log.is_active() {
            region.log.record(block.addr(), 0, layout.align());
        }
        // SAFETY: the block is a live block of this region's allocator.
        unsafe { region.allocator().dealloc(block, layout) };
        region.freed();
    }
}

// SAFETY: every block is returned to the allocator that gave it: blocks of a
// budget's region are recognised by address (regions are published before
// any block is handed out and unpublished only when none is live), all other
// blocks go to `inner`. Nothing here unwinds: the thread local is
// const-initialised without a destructor and read with `try_with`, region
// state is atomic, exhaustion of a region spills to `inner` (or, in the
// verification child, returns null as `GlobalAlloc` asks). Only a diagnostic
// run's region does more: its allocator's observer (`sites::Recorder`)
// captures a stack, takes its own mutex and pushes to its record, all with the
// calling thread outside any budget (so what it allocates goes to `inner`,
// never back into the region), the stack captured before the mutex is taken
// (so no thread holds it while it allocates more than a push), inside
// `catch_unwind`. A `realloc` that brings a block across a budget's boundary
// looks at the stack too (`capture::is_printing`), the same way: outside any
// budget, no lock of ours held while the backtrace crate's is taken, inside
// `catch_unwind`.
unsafe impl<A: GlobalAlloc> GlobalAlloc for GlobalBudget<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let region = scope::current();
        if region.is_null() {
            // SAFETY: the caller's layout.
            return unsafe { self.inner.alloc(layout) };
        }
        // SAFETY: a non-null current region is a static slot.
        unsafe { self.alloc_in(&*region, layout, false) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let region = scope::current();
        if region.is_null() {
            // SAFETY: the caller's layout.
            return unsafe { self.inner.alloc_zeroed(layout) };
        }
        // SAFETY: a non-null current region is a static slot.
        unsafe { self.alloc_in(&*region, layout, true) }
    }

    #[inline]
    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        if region::none_published() {
            // SAFETY: no region exists, so the block came from `inner`.
            return unsafe { self.inner.dealloc(block, layout) };
        }
        // SAFETY: the caller's block and layout.
        unsafe { self.dealloc_routed(block, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if region::none_published() && scope::current().is_null() {
            // SAFETY: the block came from `inner` (no region exists), and
            // the calling thread is in no budget.
            return unsafe { self.inner.realloc(block, layout, new_size) };
        }
        // SAFETY: the caller's block and layouts.
        unsafe { self.realloc_routed(block, layout, new_size) }
    }
}

// The paths taken while some budget exists, kept out of line so that the
// paths outside any budget are a load, a test and a jump to `inner`.
impl<A: GlobalAlloc> GlobalBudget<A> {
    #[cold]
    #[inline(never)]
    unsafe fn dealloc_routed(&self, block: *mut u8, layout: Layout) {
        match region::owner(block.addr()) {
            None => {
                // SAFETY: not in any region, so it came from `inner`.
                unsafe { self.inner.dealloc(block, layout) }
            }
            // SAFETY: the block is in the region, so it came from it.
            Some(region) => unsafe { Self::dealloc_in(region, block, layout) },
        }
    }

    #[cold]
    #[inline(never)]
    unsafe fn realloc_routed(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let owner = region::owner(block.addr());
        let current = scope::current();
        // SAFETY: a non-null current region is a static slot.
        let target = (!current.is_null())
            .then(|| unsafe { &*current })
            .filter(|region| region.is_open());
        match (owner, target) {
            (None, None) => {
                // SAFETY: the block came from `inner`, outside any budget.
                unsafe { self.inner.realloc(block, layout, new_size) }
            }
            (Some(owner), Some(target)) if ptr::eq(owner, target) => {
                // SAFETY: `new_size` with `layout`'s alignment is a valid
                // layout (`realloc`'s contract).
                let new_layout =
                    unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
                let used_before = owner.allocator().used();
                if new_size < layout.size() {
                    owner.fold_peaks(0, 0);
                }
                // SAFETY: the block is a live block of this region.
                let moved = unsafe { owner.allocator().realloc(block, layout, new_size) };
                if moved.is_null() {
                    if owner.is_hard() {
                        // The verification child: a real failure.
                        return ptr::null_mut();
                    }
                    // It does not fit in the region: spill it to `inner`
                    // (trying the region again would count a second failure).
                    owner.spill();
                    // SAFETY: `new_layout` is valid and non-zero.
                    let spilled = unsafe { self.inner.alloc(new_layout) };
                    if !spilled.is_null() {
                        // SAFETY: both blocks are live and distinct; the
                        // block grows, so its old size is the smaller.
                        unsafe {
                            ptr::copy_nonoverlapping(block, spilled, layout.size().min(new_size));
                            Self::dealloc_in(owner, block, layout);
                        }
                    }
                    return spilled;
                }
                if moved != block {
                    // While the block moved, the old and the new one were
                    // both live.
                    owner.fold_peaks(layout.size(), 1);
                }
                if owner.log.is_active() {
                    owner.log.record(block.addr(), 0, layout.align());
                    owner.log.record(moved.addr(), new_size, layout.align());
                }
                owner.resized(new_layout, used_before);
                moved
            }
            // libtest's output capture growing inside a budget: the
            // harness's buffer, grown as if the thread were in no budget (kept
            // with `inner`, or moved out of the region it came from).
            (owner, Some(_)) if capture::is_printing() => {
                if owner.is_some() {
                    capture::moved_out(layout);
                }
                // SAFETY: the caller's block and layouts.
                scope::suspended(|| unsafe { self.realloc(block, layout, new_size) })
            }
            // Across the boundary of a budget: allocate where the calling
            // thread allocates now, copy, free where the block came from.
            _ => {
                // SAFETY: `new_size` with `layout`'s alignment is a valid layout.
                let new_layout =
                    unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
                // SAFETY: the caller's block and layouts.
                unsafe { self.move_block(block, layout, new_layout) }
            }
        }
    }
}

impl<A: GlobalAlloc> GlobalBudget<A> {
    /// Moves `block` to a new block of `new_layout` from wherever the calling
    /// thread allocates, and frees it where it came from.
    unsafe fn move_block(&self, block: *mut u8, layout: Layout, new_layout: Layout) -> *mut u8 {
        // SAFETY: `realloc`'s contract makes `new_layout` valid and non-zero.
        let moved = unsafe { self.alloc(new_layout) };
        if !moved.is_null() {
            // SAFETY: both blocks are live and distinct; the copy is the
            // smaller of the two sizes.
            unsafe {
                ptr::copy_nonoverlapping(block, moved, layout.size().min(new_layout.size()));
                self.dealloc(block, layout);
            }
        }
        moved
    }
}
