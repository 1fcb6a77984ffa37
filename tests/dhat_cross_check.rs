//! Cross-check: the peak of live bytes that global-allocator mode reports
//! equals what dhat-rs (`dhat::HeapStats::max_bytes`) measures on the same
//! workload. In its own test binary (`harness = false`, so no test harness
//! allocates meanwhile), with `GlobalBudget` wrapping dhat's allocator:
//! outside a budget dhat sees every allocation, inside one the budget does.

use std::collections::HashMap;

#[global_allocator]
static GLOBAL: fba::GlobalBudget<dhat::Alloc> = fba::GlobalBudget::new(dhat::Alloc);

/// Blocks of several sizes alive at once, some freed along the way. No block
/// grows or shrinks: dhat counts a `realloc` as a resize of one block, while
/// a fixed buffer that moves a block holds the old and the new one at once
/// (global mode's peak counts both), so growth would be a difference of
/// models, not of measurement.
fn workload() {
    let mut names: Vec<String> = Vec::with_capacity(40);
    for i in 0..40 {
        names.push(format!("field-{i:03}"));
    }
    let mut index: HashMap<&str, Vec<u32>> = HashMap::with_capacity(40);
    for (i, name) in names.iter().enumerate() {
        index.insert(name, vec![i as u32; 1 + i % 7]);
    }
    let scratch = vec![0u64; 512];
    drop(scratch);
    index.retain(|_, values| values.len() > 3);
    let total: usize = index.values().map(Vec::len).sum();
    assert!(total > 0);
}

fn main() {
    let dhat_peak = {
        let _profiler = dhat::Profiler::builder().testing().build();
        workload();
        dhat::HeapStats::get().max_bytes
    };
    let measurement = fba::measure_global(1 << 20, workload);
    assert!(measurement.passed(), "{measurement:?}");
    let peak = measurement
        .heap
        .as_ref()
        .expect("a heap profile")
        .peak_live_bytes;
    assert_eq!(
        peak, dhat_peak,
        "peak live bytes: fba {peak}, dhat {dhat_peak}"
    );
    println!("peak live bytes: fba {peak}, dhat {dhat_peak}: equal");
}
