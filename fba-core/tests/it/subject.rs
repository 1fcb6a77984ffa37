//! Both allocators behind one interface, so a test can run against each.

use core::mem::MaybeUninit;

use allocator_api2::alloc::Allocator;
use fba_core::{
    FailAllocation, FixedBufferAllocator, Observer, Stats, ThreadSafeFixedBufferAllocator,
};

/// An allocator under test.
pub(crate) trait Subject<'buf>: Sized {
    const NAME: &'static str;
    fn create(buffer: &'buf mut [MaybeUninit<u8>]) -> Self;
    fn allocator(&self) -> impl Allocator + Copy + '_;
    fn stats(&self) -> Stats;
    fn reset(&mut self);
    fn owns(&self, ptr: *const u8) -> bool;
    fn observe(&mut self, observer: &'buf dyn Observer);
    fn fail(&mut self, failing: Option<FailAllocation>);
}

impl<'buf> Subject<'buf> for FixedBufferAllocator<'buf> {
    const NAME: &'static str = "FixedBufferAllocator";
    fn create(buffer: &'buf mut [MaybeUninit<u8>]) -> Self {
        FixedBufferAllocator::new(buffer)
    }
    fn allocator(&self) -> impl Allocator + Copy + '_ {
        self
    }
    fn stats(&self) -> Stats {
        self.stats()
    }
    fn reset(&mut self) {
        self.reset()
    }
    fn owns(&self, ptr: *const u8) -> bool {
        self.owns(ptr)
    }
    fn observe(&mut self, observer: &'buf dyn Observer) {
        self.set_observer(Some(observer));
    }
    fn fail(&mut self, failing: Option<FailAllocation>) {
        self.set_failing(failing);
    }
}

impl<'buf> Subject<'buf> for ThreadSafeFixedBufferAllocator<'buf> {
    const NAME: &'static str = "ThreadSafeFixedBufferAllocator";
    fn create(buffer: &'buf mut [MaybeUninit<u8>]) -> Self {
        ThreadSafeFixedBufferAllocator::new(buffer)
    }
    fn allocator(&self) -> impl Allocator + Copy + '_ {
        self
    }
    fn stats(&self) -> Stats {
        self.stats()
    }
    fn reset(&mut self) {
        self.reset()
    }
    fn owns(&self, ptr: *const u8) -> bool {
        self.owns(ptr)
    }
    fn observe(&mut self, observer: &'buf dyn Observer) {
        self.set_observer(Some(observer));
    }
    fn fail(&mut self, failing: Option<FailAllocation>) {
        self.set_failing(failing);
    }
}

/// `N` bytes starting at a multiple of 4096.
#[repr(C, align(4096))]
pub(crate) struct Aligned<const N: usize>(pub(crate) [MaybeUninit<u8>; N]);

impl<const N: usize> Aligned<N> {
    pub(crate) fn new() -> Box<Self> {
        // SAFETY: an array of `MaybeUninit` needs no initialisation.
        unsafe { Box::<Self>::new_uninit().assume_init() }
    }
}
