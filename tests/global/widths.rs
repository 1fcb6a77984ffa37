//! Exact numbers that depend on the pointer width, one source for a 64-bit
//! host and a 32-bit device target (`armv7-unknown-linux-gnueabihf` under
//! `qemu-arm`, which `tests/device` runs): what the same code needs follows
//! from the layouts, written out below.

use std::collections::HashMap;
use std::mem::size_of;

use fba::measure_global;

/// The control bytes hashbrown (std's map) reads at once: SSE2 on x86,
/// NEON on 64-bit Arm, else a word.
const GROUP_WIDTH: usize = if cfg!(any(target_arch = "x86", target_arch = "x86_64")) {
    16
} else if cfg!(target_arch = "aarch64") {
    8
} else {
    size_of::<usize>()
};

#[test]
fn widths_a_vec_of_10_usizes_is_10_words() {
    let m = measure_global(4096, || {
        let words: Vec<usize> = Vec::with_capacity(10);
        assert_eq!(words.capacity(), 10);
    });
    assert_eq!(m.minimum, Some(10 * size_of::<usize>()));
    assert_eq!(m.target.pointer_width, usize::BITS);
}

#[test]
fn widths_a_string_pushed_to_100_chars_is_the_same_everywhere() {
    let m = measure_global(4096, || {
        let mut text = String::new();
        for _ in 0..100 {
            text.push('x');
        }
        assert_eq!(text.len(), 100);
    });
    // std grows a `String` from 8 bytes (its smallest non-zero capacity for
    // bytes) by doubling: 8, 16, 32, 64, 128, whatever the word. The string
    // is the last block, so every growth happens in place: one allocation,
    // 128 bytes.
    assert_eq!(m.minimum, Some(128));
    let heap = m.heap.as_ref().unwrap();
    assert_eq!(
        (
            heap.allocations,
            heap.largest_allocation,
            heap.peak_live_bytes
        ),
        (1, 128, 128)
    );
}

#[test]
fn widths_a_hash_map_of_50_entries() {
    let m = measure_global(4096, || {
        let mut squares = HashMap::new();
        for i in 0..50u32 {
            squares.insert(i, i * i);
        }
        assert_eq!(squares[&7], 49);
    });
    // A table of b buckets of (u32, u32) is one block aligned to the larger
    // of 4 and the group width: 8 b bytes of entries (rounded up to that
    // alignment), then b + GROUP_WIDTH control bytes. It grows 4, 8, 16, 32,
    // 64 buckets; each new table goes after the old (aligned), which is then
    // freed without being the last block. On x86_64 (group 16) that is
    // 0..52, 64..152, 160..320, 320..624, 624..1216; on armv7 (group 4)
    // 0..40, 40..116, 116..264, 264..556, 556..1136.
    let align = GROUP_WIDTH.max(4);
    let table = |buckets: usize| (8 * buckets).next_multiple_of(align) + buckets + GROUP_WIDTH;
    let mut end = 0usize;
    for buckets in [4, 8, 16, 32, 64] {
        end = end.next_multiple_of(align) + table(buckets);
    }
    assert_eq!(m.minimum, Some(end), "group width {GROUP_WIDTH}");
    let heap = m.heap.as_ref().unwrap();
    assert_eq!((heap.allocations, heap.largest_allocation), (5, table(64)));
    // While a table moves, the old and the new one are both live.
    assert_eq!(
        (heap.peak_live_bytes, heap.peak_live_blocks),
        (table(32) + table(64), 2)
    );
}
