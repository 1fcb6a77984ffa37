//! The arithmetic both allocators share: where a block goes when it is bumped
//! forward from the end of the used region, and the pointers built from it.

use core::alloc::Layout;
use core::ptr::{self, NonNull};

/// Where a block of `layout` goes when it is placed at the first address at
/// or after `end` that is a multiple of its alignment: `(start, new_end)`, or
/// `None` when it would not end at or before `limit`.
///
/// The layout's size must not be zero. Nothing here can overflow unnoticed:
/// `Layout` guarantees that the size rounded up to the alignment is at most
/// `isize::MAX`, so `mask + size` fits, and every addition to `end` is
/// checked.
///
/// For the layout of a Rust type the size is a multiple of the alignment
/// (and the layout a constant, so the test folds away). Then the size is
/// added before rounding down, `new_end = (end + mask + size) & !mask`: one
/// checked add, one `and` and one compare against `limit`.
#[inline(always)]
pub(crate) fn place(end: usize, limit: usize, layout: Layout) -> Option<(usize, usize)> {
    let (size, mask) = (layout.size(), layout.align() - 1);
    let new_end = if size & mask == 0 {
        end.checked_add(mask + size)? & !mask
    } else {
        (end.checked_add(mask)? & !mask).checked_add(size)?
    };
    if new_end <= limit {
        Some((new_end - size, new_end))
    } else {
        None
    }
}

/// The pointer a zero-size allocation of `align` returns: non-null, aligned,
/// and pointing at no memory (like `Layout::dangling`, which is unstable).
#[inline(always)]
pub(crate) fn dangling(align: usize) -> NonNull<u8> {
    // SAFETY: a `Layout`'s alignment is a power of two, so never zero.
    unsafe { NonNull::new_unchecked(ptr::without_provenance_mut(align)) }
}

/// Whether `ptr` is a multiple of `align`, a power of two.
#[inline(always)]
pub(crate) fn is_aligned_to(ptr: NonNull<u8>, align: usize) -> bool {
    ptr.as_ptr().addr() & (align - 1) == 0
}

/// The pointer at `addr` inside the buffer that starts at `base`, with
/// `base`'s provenance.
///
/// # Safety
///
/// `addr` must be at or after `base`'s address and inside its buffer (or one
/// past it), so that it is not null and the provenance covers it.
#[inline(always)]
pub(crate) unsafe fn pointer_at(base: NonNull<u8>, addr: usize) -> NonNull<u8> {
    // SAFETY: `addr >= base`'s address, which is not zero.
    unsafe { NonNull::new_unchecked(base.as_ptr().with_addr(addr)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn place_pads_forward_to_the_alignment() {
        assert_eq!(place(0x1001, 0x2000, layout(4, 8)), Some((0x1008, 0x100c)));
        assert_eq!(place(0x1008, 0x2000, layout(8, 8)), Some((0x1008, 0x1010)));
    }

    #[test]
    fn place_accepts_a_block_that_ends_exactly_at_the_limit() {
        assert_eq!(place(0x1000, 0x1010, layout(16, 1)), Some((0x1000, 0x1010)));
        assert_eq!(place(0x1000, 0x1010, layout(17, 1)), None);
    }

    #[test]
    fn place_counts_the_padding_against_the_room_left() {
        assert_eq!(place(0x1001, 0x1010, layout(8, 8)), Some((0x1008, 0x1010)));
        assert_eq!(place(0x1001, 0x1010, layout(9, 8)), None);
    }

    #[test]
    fn place_does_not_overflow_at_the_largest_layouts() {
        assert_eq!(place(0x1001, 0x2000, layout(1 << 62, 1 << 62)), None);
        let huge_size = layout(isize::MAX as usize, 1);
        assert_eq!(place(usize::MAX - 8, usize::MAX, huge_size), None);
        let end = usize::MAX - 8;
        assert_eq!(place(end, usize::MAX, layout(1, 1 << 62)), None);
    }
}
