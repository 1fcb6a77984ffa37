//! The `Allocator` trait of allocator-api2 on `&FixedBufferAllocator` and
//! `&ThreadSafeFixedBufferAllocator`: 0.2's always, 0.4's as well with the
//! `allocator-api2-04` feature (talc 5 and other 0.4 code), and on a nightly
//! compiler the standard library's own (`core::alloc::Allocator`, unstable)
//! with the `nightly` feature. The traits have the same methods;
//! [`implement!`] writes them once over each allocator's `allocate_block`,
//! `deallocate_block`, `grow_block` and `shrink_block`.

/// `unsafe impl $api::alloc::Allocator for &$allocator<'_>`, by the
/// allocator's own block methods (given the result of its method `$policy`
/// where they take the exhaustion policy as an argument). The invocation carries the `SAFETY:`
/// argument for the allocator.
macro_rules! implement {
    ($api:ident for $allocator:ident $(, policy $policy:ident)?) => {
        // SAFETY: the invocation's comment says why the allocator's blocks
        // meet the trait's contract; these methods add nothing to it but
        // the slice length (the layout's size) and zeroing.
        unsafe impl $api::alloc::Allocator for &$allocator<'_> {
            #[inline]
            fn allocate(
                &self,
                layout: core::alloc::Layout,
            ) -> Result<core::ptr::NonNull<[u8]>, $api::alloc::AllocError> {
                let block = (**self)
                    .allocate_block(layout $(, (**self).$policy())?)
                    .map_err(|_| $api::alloc::AllocError)?;
                Ok(core::ptr::NonNull::slice_from_raw_parts(block, layout.size()))
            }

            #[inline]
            fn allocate_zeroed(
                &self,
                layout: core::alloc::Layout,
            ) -> Result<core::ptr::NonNull<[u8]>, $api::alloc::AllocError> {
                let block = <Self as $api::alloc::Allocator>::allocate(self, layout)?;
                // SAFETY: the block is `layout.size()` writable bytes.
                unsafe { core::ptr::write_bytes(block.cast::<u8>().as_ptr(), 0, layout.size()) };
                Ok(block)
            }

            #[inline]
            unsafe fn deallocate(&self, ptr: core::ptr::NonNull<u8>, layout: core::alloc::Layout) {
                // SAFETY: the caller's contract is ours.
                unsafe { (**self).deallocate_block(ptr, layout) }
            }

            #[inline]
            unsafe fn grow(
                &self,
                ptr: core::ptr::NonNull<u8>,
                old_layout: core::alloc::Layout,
                new_layout: core::alloc::Layout,
            ) -> Result<core::ptr::NonNull<[u8]>, $api::alloc::AllocError> {
                // SAFETY: the caller's contract is ours.
                let block = unsafe { (**self).grow_block(ptr, old_layout, new_layout $(, (**self).$policy())?) }
                    .map_err(|_| $api::alloc::AllocError)?;
                Ok(core::ptr::NonNull::slice_from_raw_parts(block, new_layout.size()))
            }

            #[inline]
            unsafe fn grow_zeroed(
                &self,
                ptr: core::ptr::NonNull<u8>,
                old_layout: core::alloc::Layout,
                new_layout: core::alloc::Layout,
            ) -> Result<core::ptr::NonNull<[u8]>, $api::alloc::AllocError> {
                // SAFETY: the caller's contract is `grow`'s.
                let block = unsafe {
                    <Self as $api::alloc::Allocator>::grow(self, ptr, old_layout, new_layout)?
                };
                // SAFETY: the block holds `new_layout.size()` bytes, the first
                // `old_layout.size()` of them the old contents.
                unsafe {
                    core::ptr::write_bytes(
                        block.cast::<u8>().as_ptr().add(old_layout.size()),
                        0,
                        new_layout.size() - old_layout.size(),
                    )
                };
                Ok(block)
            }

            #[inline]
            unsafe fn shrink(
                &self,
                ptr: core::ptr::NonNull<u8>,
                old_layout: core::alloc::Layout,
                new_layout: core::alloc::Layout,
            ) -> Result<core::ptr::NonNull<[u8]>, $api::alloc::AllocError> {
                // SAFETY: the caller's contract is ours.
                let block = unsafe { (**self).shrink_block(ptr, old_layout, new_layout $(, (**self).$policy())?) }
                    .map_err(|_| $api::alloc::AllocError)?;
                Ok(core::ptr::NonNull::slice_from_raw_parts(block, new_layout.size()))
            }
        }
    };
}

pub(crate) use implement;

/// The same tests for each trait's collections: a `Vec` and a `Box` on the
/// fixed buffer allocator, with the bytes they take, and `Vec`s on the
/// thread-safe one from four threads.
#[cfg(test)]
macro_rules! collections_run_on_both_allocators {
    ($name:ident if $feature:literal: $vec:path, $boxed:path) => {
        #[cfg(feature = $feature)]
        mod $name {
            use $boxed as Box;
            use $vec as Vec;

            use crate::testing::Aligned;
            use crate::{FixedBufferAllocator, ThreadSafeFixedBufferAllocator};

            #[test]
            fn collections_run_on_the_fixed_buffer_allocator() {
                let mut memory = Aligned::<256>::new();
                let alloc = FixedBufferAllocator::new(memory.bytes());
                let mut numbers = Vec::with_capacity_in(4, &alloc);
                numbers.extend_from_slice(&[1u32, 2, 3, 4]);
                let boxed = Box::new_in(7u64, &alloc);
                // 4 x 4 bytes, then 8 for the u64 at offset 16 (already aligned).
                assert_eq!(alloc.used(), 4 * 4 + 8);
                // The Vec's block is not the last one, so growing it to 8
                // elements moves it: 8 x 4 new bytes after the box.
                numbers.push(5);
                assert_eq!(alloc.used(), 4 * 4 + 8 + 8 * 4);
                assert_eq!((*boxed, numbers.as_slice()), (7, &[1, 2, 3, 4, 5][..]));
                assert_eq!(alloc.stats().allocations, 3);
                // Full: a fallible API gets the trait's own AllocError.
                assert!(Box::try_new_in([0u8; 512], &alloc).is_err());
                drop((numbers, boxed));
                assert_eq!(alloc.stats().live_allocations, 0);
            }

            #[test]
            fn collections_run_on_the_thread_safe_allocator_across_threads() {
                let mut memory = Aligned::<1024>::new();
                let alloc = ThreadSafeFixedBufferAllocator::new(memory.bytes());
                std::thread::scope(|scope| {
                    for id in 0..4u8 {
                        let alloc = &alloc;
                        scope.spawn(move || {
                            let mut bytes = Vec::with_capacity_in(16, alloc);
                            bytes.extend(core::iter::repeat_n(id, 16));
                            assert!(bytes.iter().all(|byte| *byte == id));
                            core::mem::forget(bytes);
                        });
                    }
                });
                // Four blocks of 16 bytes, none freed.
                assert_eq!(alloc.used(), 4 * 16);
                assert_eq!(alloc.stats().allocations, 4);
            }
        }
    };
}

// allocator-api2 0.4's collections.
#[cfg(test)]
collections_run_on_both_allocators!(version_04 if "allocator-api2-04": allocator_api2_04::vec::Vec, allocator_api2_04::boxed::Box);

// The standard library's own collections (`allocator_api`, nightly).
#[cfg(test)]
collections_run_on_both_allocators!(nightly_tests if "nightly": std::vec::Vec, std::boxed::Box);
