use fba::{memory_budget, FixedBufferAllocator};

#[memory_budget(4096)]
fn parses_a_header<T: Default>(alloc: &FixedBufferAllocator) {
    alloc.alloc_slice_copy(&[0u8; 8]).unwrap();
    let _ = T::default();
}

fn main() {}
