//! Zig's `dupe` and `allocPrint` for both allocators: copying a slice into a
//! new block, and a `fmt::Write` that fills a block in place.

use core::alloc::Layout;
use core::fmt;
use core::ptr::{self, NonNull};

use allocator_api2::alloc::{AllocError, Allocator};

/// Copies `items` into a new block of `alloc` and returns it.
#[inline]
pub(crate) fn copy_into<T: Copy, A: Allocator>(
    alloc: A,
    items: &[T],
) -> Result<NonNull<[T]>, AllocError> {
    // A slice's layout always fits `isize::MAX`.
    let layout = Layout::for_value(items);
    let block = alloc.allocate(layout)?.cast::<T>();
    // SAFETY: the block is new, sized and aligned for `items.len()` `T`s.
    unsafe { ptr::copy_nonoverlapping(items.as_ptr(), block.as_ptr(), items.len()) };
    Ok(NonNull::slice_from_raw_parts(block, items.len()))
}

/// The layout of `len` bytes of text (clamped to the largest layout, for a
/// failure that counted past it).
pub(crate) fn byte_layout(len: usize) -> Layout {
    match Layout::array::<u8>(len) {
        Ok(layout) => layout,
        Err(_) => Layout::array::<u8>(isize::MAX as usize).unwrap_or(Layout::new::<u8>()),
    }
}

/// Writes formatted text into `room` bytes at `next`. Past the room it keeps
/// counting, so a failure can say how many bytes the whole text needs.
pub(crate) struct SliceWriter {
    next: NonNull<u8>,
    room: usize,
    len: usize,
    overflowed: bool,
}

impl SliceWriter {
    /// A writer into `room` writable bytes at `start` (`room` may be zero).
    pub(crate) fn new(start: NonNull<u8>, room: usize) -> SliceWriter {
        SliceWriter {
            next: start,
            room,
            len: 0,
            overflowed: false,
        }
    }

    /// The text's length when it fit, or `Err(length)` of the whole text when
    /// it did not.
    ///
    /// # Panics
    ///
    /// As `format!` does, when a formatting trait returned an error that the
    /// writer did not cause.
    pub(crate) fn finish(self, outcome: fmt::Result) -> Result<usize, usize> {
        assert!(
            outcome.is_ok(),
            "a formatting trait implementation returned an error when the underlying stream did not"
        );
        if self.overflowed {
            Err(self.len)
        } else {
            Ok(self.len)
        }
    }
}

impl fmt::Write for SliceWriter {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        if !self.overflowed && text.len() <= self.room - self.len {
            // SAFETY: `len + text.len() <= room`: the bytes are inside the
            // writable room the writer was made with, and `text` is elsewhere.
            unsafe {
                ptr::copy_nonoverlapping(text.as_ptr(), self.next.as_ptr(), text.len());
                self.next = self.next.add(text.len());
            }
        } else {
            self.overflowed = true;
        }
        // Text longer than `isize::MAX` cannot exist, so neither can its sum.
        self.len = self.len.saturating_add(text.len());
        Ok(())
    }
}
