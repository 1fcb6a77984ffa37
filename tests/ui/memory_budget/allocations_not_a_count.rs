use fba::{memory_budget, FixedBufferAllocator};

#[memory_budget(4096, allocations = "12")]
fn a_string(alloc: &FixedBufferAllocator) {
    alloc.alloc_str("header").unwrap();
}

#[memory_budget(4096, allocations = -1)]
fn negative(alloc: &FixedBufferAllocator) {
    alloc.alloc_str("header").unwrap();
}

#[memory_budget(4096, allocations = 12u8)]
fn another_integer_type(alloc: &FixedBufferAllocator) {
    alloc.alloc_str("header").unwrap();
}

fn main() {}
