//! Budgets for `FBA_UPDATE=1` to rewrite: literals that are too large, too
//! small, exact, with a suffix, in explicit and global mode, one literal
//! shared by two tests, a constant, which is not rewritten, and count
//! budgets (`allocations = N`) too small and too large.

#[cfg(test)]
#[global_allocator]
static GLOBAL: fba::GlobalBudget = fba::GlobalBudget::system();

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

    #[memory_budget(2048)]
    fn global_too_large() {
        let block = vec![1u8; 100];
        assert_eq!(block.len(), 100);
    }

    #[memory_budget(32)]
    fn global_too_small() {
        let block = vec![1u8; 200];
        assert_eq!(block.len(), 200);
    }

    // Three blocks of one byte: three allocations.
    #[memory_budget(3, allocations = 1)]
    fn count_too_small(alloc: &FixedBufferAllocator) {
        for _ in 0..3 {
            bytes(alloc, 1);
        }
    }

    // One block of 100 bytes: one allocation.
    #[memory_budget(100, allocations = 10)]
    fn global_count_too_large() {
        let block = vec![1u8; 100];
        assert_eq!(block.len(), 100);
    }

    // Two tests of one literal, as the cases of `#[rstest]` are.
    macro_rules! sharing_a_budget {
        ($($name:ident: $bytes:literal),*) => {$(
            #[memory_budget(1024)]
            fn $name(alloc: &FixedBufferAllocator) {
                bytes(alloc, $bytes);
            }
        )*};
    }

    sharing_a_budget! { shares_8: 8, shares_56: 56 }
}
