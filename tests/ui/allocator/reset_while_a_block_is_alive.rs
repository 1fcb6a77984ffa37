// `reset` takes `&mut self`: it cannot run while a block is still in use.
use core::mem::MaybeUninit;
use fba::allocator_api2::vec::Vec;
use fba::FixedBufferAllocator;

fn main() {
    let mut memory = [MaybeUninit::uninit(); 256];
    let mut alloc = FixedBufferAllocator::new(&mut memory);
    let mut fields = Vec::new_in(&alloc);
    fields.push(1u32);
    alloc.reset();
    fields.push(2);
}
