use fba::{memory_budget, FixedBufferAllocator};

#[memory_budget(4096u32)]
fn parses_a_header(alloc: &FixedBufferAllocator) {
    alloc.alloc_str("header").unwrap();
}

fn main() {}
