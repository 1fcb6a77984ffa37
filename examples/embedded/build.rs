//! The firmware's heap size, from `FBA_HEAP_BYTES` (the minimum the budget
//! test measured on armv7 Linux), and the Cortex-M4 machine's memory map
//! for cortex-m-rt's linker script.

use std::path::PathBuf;

/// The heap without `FBA_HEAP_BYTES`: three readings of 16 bytes (a
/// `String` of 3 words of 4 bytes and an `i32`) and their one-byte names,
/// as a 32-bit target lays them out.
const DEFAULT_HEAP_BYTES: usize = 3 * 16 + 3;

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let heap_bytes = match std::env::var("FBA_HEAP_BYTES") {
        Ok(value) => value.trim().parse::<usize>().unwrap_or_else(|_| {
            panic!("FBA_HEAP_BYTES={value:?} is not understood: write the heap's size in bytes, a number such as 51")
        }),
        Err(_) => DEFAULT_HEAP_BYTES,
    };
    std::fs::write(
        out.join("heap_bytes.rs"),
        format!("/// The heap's size in bytes.\npub const HEAP_BYTES: usize = {heap_bytes};\n"),
    )
    .expect("OUT_DIR is writable");
    std::fs::copy("memory.x", out.join("memory.x")).expect("memory.x is beside build.rs");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    println!("cargo:rerun-if-env-changed=FBA_HEAP_BYTES");
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
}
