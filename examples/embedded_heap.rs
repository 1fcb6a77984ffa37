//! A static buffer as the heap of an embedded program, sized with the
//! number a budget measured.
//!
//! On the device (`target_os = "none"`, built for `thumbv7em-none-eabihf`
//! by `examples/embedded`), the global allocator is a
//! `ThreadSafeFixedBufferAllocator` over a static `Buffer` of exactly
//! `HEAP_BYTES`: the same allocator the budget measured with, so the number
//! carries over. On the host, `cargo run --example embedded_heap` measures
//! `handle_frame` under `fba::GlobalBudget` and checks that `HEAP_BYTES` is
//! what it needs.

#![cfg_attr(target_os = "none", no_std)]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

use fba_core::{Buffer, ThreadSafeFixedBufferAllocator};

/// The heap the firmware needs: the minimum the budget of `handle_frame`
/// measured on the host (`cargo run --example embedded_heap` checks it):
/// three readings of 32 bytes and three one-byte names.
///
/// A 64-bit host measures 64-bit layouts. On the 32-bit device a reading
/// is 16 bytes, so the same code needs 3 x 16 + 3 = 51 bytes there: the
/// host's number is an upper bound. Measure on a target of the device's
/// pointer width (under an emulator) to size the heap to the byte.
pub const HEAP_BYTES: usize = 99;

static mut HEAP_MEMORY: Buffer<HEAP_BYTES> = Buffer::new();

/// The device's heap. On the host it is not the global allocator (the
/// host's `std` needs more), but `main` runs the firmware's work on it too.
#[cfg_attr(target_os = "none", global_allocator)]
static HEAP: ThreadSafeFixedBufferAllocator<'static> =
    // SAFETY: `HEAP` is the only user of `HEAP_MEMORY`.
    ThreadSafeFixedBufferAllocator::new(unsafe { Buffer::static_bytes(&raw mut HEAP_MEMORY) });

/// The firmware's work: decode a sensor frame such as `T:21;H:40;P:1013`
/// into named readings.
pub fn handle_frame(frame: &str) -> Vec<(String, i32)> {
    let mut readings = Vec::with_capacity(frame.split(';').count());
    for field in frame.split(';') {
        if let Some((name, value)) = field.split_once(':') {
            readings.push((String::from(name), value.parse().unwrap_or(0)));
        }
    }
    readings
}

/// The frame the firmware handles.
pub const FRAME: &str = "T:21;H:40;P:1013";

#[cfg(not(target_os = "none"))]
#[global_allocator]
static GLOBAL: fba::GlobalBudget = fba::GlobalBudget::system();

#[cfg(not(target_os = "none"))]
fn main() {
    let measurement = fba::measure_global(HEAP_BYTES, || {
        let readings = handle_frame(FRAME);
        assert_eq!(readings.len(), 3);
    });
    println!(
        "handle_frame needs {} bytes (budget {}), peak {} live bytes",
        measurement.minimum.expect("it fits its budget"),
        HEAP_BYTES,
        measurement
            .heap
            .as_ref()
            .map_or(0, |heap| heap.peak_live_bytes),
    );
    assert_eq!(
        measurement.minimum,
        Some(HEAP_BYTES),
        "HEAP_BYTES is what the budget measured"
    );

    // The device's heap holds exactly that: a block of `HEAP_BYTES` fits,
    // and one byte more is a null pointer (which on the device ends in the
    // allocation-failure handler), whatever the exhaustion policy.
    use core::alloc::{GlobalAlloc, Layout};
    let layout = Layout::from_size_align(HEAP_BYTES, 8).expect("a layout");
    // SAFETY: non-zero layouts; the block is freed with its layout.
    unsafe {
        let block = HEAP.alloc(layout);
        assert!(!block.is_null(), "the heap holds {HEAP_BYTES} bytes");
        assert!(
            HEAP.alloc(Layout::new::<u8>()).is_null(),
            "and not one byte more"
        );
        HEAP.dealloc(block, layout);
    }
    println!(
        "the {HEAP_BYTES}-byte static heap holds {} bytes and fails the next one",
        HEAP.high_water_mark()
    );
}

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
