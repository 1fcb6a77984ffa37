use fba::{memory_budget, FixedBufferAllocator};

#[memory_budget(4096, fail_each_allocation = 1)]
fn parses_a_header(alloc: &FixedBufferAllocator) -> Result<(), fba::AllocError> {
    alloc.alloc_str("header")?;
    Ok(())
}

fn main() {}
