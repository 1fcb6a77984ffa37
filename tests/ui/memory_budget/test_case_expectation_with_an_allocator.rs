use fba::{memory_budget, FixedBufferAllocator};

#[memory_budget(4096)]
#[test_case(3 => 3)]
fn counts_fields(alloc: &FixedBufferAllocator, fields: usize) -> usize {
    alloc.alloc_slice_copy(&vec![0u8; fields]).unwrap().len()
}

fn main() {}
