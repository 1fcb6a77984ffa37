//! [`Observer`]: told of every block an allocator hands out, frees or
//! resizes, for diagnostics: which code holds the memory at the high-water
//! mark. An observed allocator takes its slow path for every allocation; an
//! allocator without an observer does not pay for the possibility on its
//! allocation path (see `fit` in the allocators).

use core::alloc::Layout;
use core::ptr::NonNull;

/// Watches an allocator's blocks (set with `set_observer`). Each call
/// comes after the change, with the bytes in use then; a block that moves
/// (a grow or shrink that cannot happen in place) is an allocation and a
/// free, and `resized` is a change in place.
///
/// An observer runs inside the allocator's methods, and the thread-safe
/// allocator can be a `#[global_allocator]`: it must not unwind, and must not
/// allocate from the allocator it observes.
///
/// # Examples
///
/// ```
/// use core::alloc::Layout;
/// use core::ptr::NonNull;
/// use core::sync::atomic::{AtomicUsize, Ordering};
/// use fba_core::{Buffer, FixedBufferAllocator, Observer};
///
/// #[derive(Default)]
/// struct Count(AtomicUsize);
///
/// impl Observer for Count {
///     fn allocated(&self, _: NonNull<u8>, _: Layout, _: usize) {
///         self.0.fetch_add(1, Ordering::Relaxed);
///     }
///     fn freed(&self, _: NonNull<u8>, _: Layout, _: usize) {}
///     fn resized(&self, _: NonNull<u8>, _: Layout, _: Layout, _: usize) {}
/// }
///
/// let count = Count::default();
/// let mut memory = Buffer::<64>::new();
/// let mut alloc = FixedBufferAllocator::new(&mut memory);
/// alloc.set_observer(Some(&count));
/// alloc.alloc_str("watched").unwrap();
/// assert_eq!(count.0.load(Ordering::Relaxed), 1);
/// ```
pub trait Observer: Sync {
    /// A block of `layout` was handed out at `block`.
    fn allocated(&self, block: NonNull<u8>, layout: Layout, used: usize);

    /// The block of `layout` at `block` was freed.
    fn freed(&self, block: NonNull<u8>, layout: Layout, used: usize);

    /// The block at `block` changed from `old` to `new` in place.
    fn resized(&self, block: NonNull<u8>, old: Layout, new: Layout, used: usize);

    /// The allocator was reset: no block is live any more.
    fn reset(&self) {}
}
