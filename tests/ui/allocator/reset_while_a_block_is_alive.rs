// `reset` takes `&mut self`: it cannot run while a block is still in use.
use fba::allocator_api2::vec::Vec;
use fba::{Buffer, FixedBufferAllocator};

fn main() {
    let mut memory = Buffer::<256>::new();
    let mut alloc = FixedBufferAllocator::new(&mut memory);
    let mut fields = Vec::new_in(&alloc);
    fields.push(1u32);
    alloc.reset();
    fields.push(2);
}
