//! [`Buffer`]: backing memory for an allocator whose blocks land at the same
//! offsets wherever the buffer is placed.

use core::fmt;
use core::mem::MaybeUninit;
use core::ops::{Deref, DerefMut};

/// `N` bytes of backing memory aligned to 16, for a stack, static or boxed
/// buffer.
///
/// A byte array may start at any address, so the padding in front of an
/// aligned block (and so every measured size) would depend on where the
/// array happens to land. Starting at a multiple of 16 fixes the padding for
/// every alignment up to 16, which covers the primitive types of common
/// targets. It dereferences to `[MaybeUninit<u8>]`, what the allocators take.
///
/// # Examples
///
/// ```
/// use fba_core::{Buffer, FixedBufferAllocator};
///
/// let mut memory = Buffer::<64>::new();
/// let alloc = FixedBufferAllocator::new(&mut memory);
/// alloc.alloc_str("a").unwrap();
/// alloc.alloc_slice_copy(&[1u64]).unwrap();
/// assert_eq!(alloc.used(), 16); // 1 byte, 7 of padding, 8: wherever `memory` is
/// ```
#[repr(C, align(16))]
pub struct Buffer<const N: usize>([MaybeUninit<u8>; N]);

impl<const N: usize> Buffer<N> {
    /// Uninitialised memory (Zig's `undefined`).
    ///
    /// # Examples
    ///
    /// ```
    /// use fba_core::Buffer;
    ///
    /// static mut HEAP: Buffer<4096> = Buffer::new();
    /// let memory = Buffer::<256>::new();
    /// assert_eq!(memory.len(), 256);
    /// ```
    pub const fn new() -> Self {
        Buffer([MaybeUninit::uninit(); N])
    }

    /// The bytes of a buffer that lives for the rest of the program (a
    /// `static mut`), for a `static` allocator: a `const` initialiser cannot
    /// go through `DerefMut`, and taking `&mut` of a `static mut` is an error.
    ///
    /// # Safety
    ///
    /// `buffer` must point to a `Buffer` that is valid for `'static` and that
    /// nothing else uses, ever: the allocator becomes its only user.
    ///
    /// # Examples
    ///
    /// ```
    /// use fba_core::{Buffer, ThreadSafeFixedBufferAllocator};
    ///
    /// static mut HEAP: Buffer<1024> = Buffer::new();
    /// // SAFETY: the allocator is the only user of `HEAP`.
    /// static ALLOC: ThreadSafeFixedBufferAllocator<'static> =
    ///     ThreadSafeFixedBufferAllocator::new(unsafe { Buffer::static_bytes(&raw mut HEAP) });
    /// assert_eq!(ALLOC.capacity(), 1024);
    /// ```
    pub const unsafe fn static_bytes(buffer: *mut Self) -> &'static mut [MaybeUninit<u8>] {
        // SAFETY: the caller guarantees the buffer is valid for `'static`
        // and has no other user.
        unsafe { &mut (*buffer).0 }
    }
}

impl<const N: usize> Default for Buffer<N> {
    fn default() -> Self {
        Buffer::new()
    }
}

impl<const N: usize> Deref for Buffer<N> {
    type Target = [MaybeUninit<u8>];

    fn deref(&self) -> &[MaybeUninit<u8>] {
        &self.0
    }
}

impl<const N: usize> DerefMut for Buffer<N> {
    fn deref_mut(&mut self) -> &mut [MaybeUninit<u8>] {
        &mut self.0
    }
}

impl<const N: usize> fmt::Debug for Buffer<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Buffer<{N}>")
    }
}
