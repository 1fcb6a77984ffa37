use fba::{memory_budget, FixedBufferAllocator};

#[memory_budget(0, colour = "red")]
unsafe fn parses_a_header(alloc: FixedBufferAllocator<'static>, input: &str) {
    let _ = (alloc, input);
}

fn main() {}
