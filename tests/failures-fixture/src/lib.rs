//! A small fallible parser on a fixed buffer allocator, and ways of getting
//! allocation failure wrong.

use fba::allocator_api2::boxed::Box;
use fba::allocator_api2::vec::Vec;
use fba::{AllocError, FixedBufferAllocator};

/// The fields of a comma-separated header: their lengths, in one block
/// reserved up front, and their total in a box. Handles every failure.
pub fn field_lengths(alloc: &FixedBufferAllocator<'_>, text: &str) -> Result<usize, AllocError> {
    let mut lengths: Vec<usize, _> = Vec::new_in(alloc);
    lengths
        .try_reserve_exact(text.split(',').count())
        .map_err(|_| AllocError)?;
    lengths.extend(text.split(',').map(str::len));
    let total = Box::try_new_in(lengths.iter().sum::<usize>(), alloc)?;
    Ok(*total)
}

/// Copies `text` into a block, falling back to a block of half its length
/// when that fails: a body that recovers from a failure on purpose.
pub fn copy_or_half(alloc: &FixedBufferAllocator<'_>, text: &str) -> Result<usize, AllocError> {
    match alloc.alloc_str(text) {
        Ok(copy) => Ok(copy.len()),
        Err(_) => Ok(alloc.alloc_str(&text[..text.len() / 2])?.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fba::memory_budget;

    const HEADER: &str = "GET,/index.html,HTTP/1.1";

    #[memory_budget(4096, fail_each_allocation = true)]
    fn handles_every_failure(alloc: &FixedBufferAllocator) -> Result<(), AllocError> {
        assert_eq!(field_lengths(alloc, HEADER)?, 3 + 11 + 8);
        Ok(())
    }

    #[memory_budget(4096, fail_each_allocation = true)]
    fn unwraps(alloc: &FixedBufferAllocator) {
        assert_eq!(field_lengths(alloc, HEADER).unwrap(), 22);
    }

    #[memory_budget(4096, fail_each_allocation = true)]
    fn leaks_on_the_error_path(alloc: &FixedBufferAllocator) -> Result<(), AllocError> {
        let name = Box::try_new_in([0u8; 16], alloc)?;
        let value = match Box::try_new_in([0u64; 2], alloc) {
            Ok(value) => value,
            Err(error) => {
                core::mem::forget(name);
                return Err(error);
            }
        };
        drop((name, value));
        Ok(())
    }

    #[memory_budget(4096, fail_each_allocation = true)]
    fn swallows(alloc: &FixedBufferAllocator) {
        let _ = field_lengths(alloc, HEADER);
    }

    #[memory_budget(4096, fail_each_allocation = true, swallowed = "allow")]
    fn recovers_on_purpose(alloc: &FixedBufferAllocator) -> Result<(), AllocError> {
        assert!(copy_or_half(alloc, HEADER)? >= HEADER.len() / 2);
        Ok(())
    }

    // Failing every allocation from the first on, the fallback fails too.
    #[memory_budget(4096, fail_from_allocation = true)]
    fn recovers_but_not_from_persistent_failure(
        alloc: &FixedBufferAllocator,
    ) -> Result<(), AllocError> {
        assert!(copy_or_half(alloc, HEADER)? >= HEADER.len() / 2);
        Ok(())
    }

    #[memory_budget(4096, fail_each_allocation = true)]
    fn pushes_infallibly(alloc: &FixedBufferAllocator) {
        let mut numbers: Vec<u32, _> = Vec::new_in(alloc);
        numbers.push(7);
        assert_eq!(numbers.len(), 1);
    }

    #[memory_budget(4096, fail_each_allocation = true)]
    fn ten_allocations(alloc: &FixedBufferAllocator) -> Result<(), AllocError> {
        for byte in 0..10u8 {
            let block = Box::try_new_in(byte, alloc)?;
            assert_eq!(*block, byte);
        }
        Ok(())
    }

    #[memory_budget(4096, allocations = 1)]
    fn one_allocation_with_capacity(alloc: &FixedBufferAllocator) {
        let mut numbers: Vec<u32, _> = Vec::with_capacity_in(10, alloc);
        numbers.extend(0..10);
        assert_eq!(numbers.capacity(), 10);
    }

    #[memory_budget(4096, allocations = 4)]
    fn two_vectors_growing_in_turn(alloc: &FixedBufferAllocator) {
        let (mut a, mut b): (Vec<u32, _>, Vec<u32, _>) = (Vec::new_in(alloc), Vec::new_in(alloc));
        for i in 0..10 {
            a.push(i);
            b.push(i);
        }
        assert_eq!((a.capacity(), b.capacity()), (16, 16));
    }
}
