//! Three places that allocate, each a known size: 512 bytes of scratch
//! (64 `u64`s), a 100-byte name, and a 1024-byte header (128 `u64`s).

use fba::Allocator;
use fba::allocator_api2::vec::Vec;

/// Scratch space: 64 `u64`s, 512 bytes.
pub fn scratch<A: Allocator>(alloc: A) -> Vec<u64, A> {
    Vec::with_capacity_in(64, alloc)
}

/// A name: 100 bytes.
pub fn name<A: Allocator>(alloc: A) -> Vec<u8, A> {
    Vec::with_capacity_in(100, alloc)
}

/// A header: 128 `u64`s, 1024 bytes.
pub fn header<A: Allocator>(alloc: A) -> Vec<u64, A> {
    Vec::with_capacity_in(128, alloc)
}

/// The same three with std's collections, through the global allocator.
pub mod global {
    /// 64 `u64`s, 512 bytes.
    pub fn scratch() -> Vec<u64> {
        Vec::with_capacity(64)
    }

    /// 100 bytes.
    pub fn name() -> String {
        String::with_capacity(100)
    }

    /// 128 `u64`s, 1024 bytes.
    pub fn header() -> Box<[u64; 128]> {
        Box::new([7; 128])
    }
}

#[cfg(test)]
mod tests {
    use fba::{FixedBufferAllocator, memory_budget};

    // The scratch is freed before the header comes, but it is not the last
    // block then: its bytes stay.
    #[memory_budget(1024)]
    fn three_sites_over_budget(alloc: &FixedBufferAllocator) {
        let scratch = super::scratch(alloc);
        let name = super::name(alloc);
        drop(scratch);
        let header = super::header(alloc);
        assert_eq!((name.capacity(), header.capacity()), (100, 128));
    }

    #[memory_budget(4096)]
    fn three_sites_within_budget(alloc: &FixedBufferAllocator) {
        let scratch = super::scratch(alloc);
        let name = super::name(alloc);
        drop(scratch);
        let header = super::header(alloc);
        assert_eq!((name.capacity(), header.capacity()), (100, 128));
    }
}
