//! Helpers for the unit tests: buffers with a known alignment.

use core::alloc::Layout;
use core::mem::MaybeUninit;

/// `N` bytes starting at a multiple of 4096, so tests can place blocks at
/// known offsets and start from a known misalignment.
#[repr(C, align(4096))]
pub(crate) struct Aligned<const N: usize>([MaybeUninit<u8>; N]);

impl<const N: usize> Aligned<N> {
    pub(crate) fn new() -> Self {
        Aligned([MaybeUninit::uninit(); N])
    }

    pub(crate) fn bytes(&mut self) -> &mut [MaybeUninit<u8>] {
        &mut self.0
    }
}

pub(crate) fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}
