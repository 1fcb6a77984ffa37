//! Budgets for `FBA_UPDATE=1` to rewrite: literals that are too large, too
//! small, exact, with a suffix, and a constant, which is not rewritten.

#[cfg(test)]
mod tests {
    use fba::{FixedBufferAllocator, memory_budget};

    const BUDGET: usize = 64;

    fn bytes(alloc: &FixedBufferAllocator, n: usize) {
        let block = alloc.alloc_slice_copy(&vec![1u8; n]).unwrap();
        assert_eq!(block.len(), n);
    }

    #[memory_budget(4096)]
    fn too_large(alloc: &FixedBufferAllocator) {
        bytes(alloc, 100);
    }

    #[memory_budget(64)]
    fn too_small(alloc: &FixedBufferAllocator) {
        bytes(alloc, 200);
    }

    #[memory_budget(24usize)]
    fn exact_with_suffix(alloc: &FixedBufferAllocator) {
        bytes(alloc, 24);
    }

    #[memory_budget(4_096, search = true)]
    fn with_separators(alloc: &FixedBufferAllocator) {
        bytes(alloc, 40);
    }

    #[memory_budget(BUDGET)]
    fn constant_too_small(alloc: &FixedBufferAllocator) {
        bytes(alloc, 300);
    }
}
