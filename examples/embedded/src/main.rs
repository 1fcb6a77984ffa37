//! The firmware: `handle_frame` on a Cortex-M4 (`thumbv7em-none-eabihf`),
//! with a static heap of exactly `HEAP_BYTES` (`FBA_HEAP_BYTES` when it is
//! built, the number the budget test measured on armv7 Linux). It runs
//! under `qemu-system-arm -machine mps2-an386` and says through semihosting
//! what the heap held; with a heap too small, the allocation fails as
//! `GlobalAlloc` returning null, and the firmware exits with failure.

#![no_std]
#![no_main]

extern crate alloc;

mod frame;

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use fba_core::{Buffer, ThreadSafeFixedBufferAllocator};

// `pub const HEAP_BYTES: usize`, from `FBA_HEAP_BYTES`.
include!(concat!(env!("OUT_DIR"), "/heap_bytes.rs"));

static mut HEAP_MEMORY: Buffer<HEAP_BYTES> = Buffer::new();

/// The heap: the allocator the budget was measured with, over the buffer.
#[global_allocator]
static HEAP: ThreadSafeFixedBufferAllocator<'static> =
    // SAFETY: `HEAP` is the only user of `HEAP_MEMORY`.
    ThreadSafeFixedBufferAllocator::new(unsafe { Buffer::static_bytes(&raw mut HEAP_MEMORY) });

#[entry]
fn main() -> ! {
    let readings = frame::handle_frame(frame::FRAME);
    let high_water = HEAP.high_water_mark();
    hprintln!(
        "handle_frame: {} readings; a heap of {} bytes, high-water mark {} bytes",
        readings.len(),
        HEAP_BYTES,
        high_water
    );
    drop(readings);
    debug::exit(debug::EXIT_SUCCESS);
    loop {}
}

/// A failed allocation (`handle_alloc_error`) and any other panic end here.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    hprintln!("panicked: {}", info.message());
    debug::exit(debug::EXIT_FAILURE);
    loop {}
}
