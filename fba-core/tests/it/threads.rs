//! The thread-safe allocator under several threads at once: no two live
//! blocks overlap, frees and resizes are never lost, and the counts are exact.

use std::sync::Barrier;

use allocator_api2::vec::Vec;
use fba_core::ThreadSafeFixedBufferAllocator;

use crate::subject::Aligned;

const THREADS: usize = 4;
const ROUNDS: usize = if cfg!(miri) { 20 } else { 20_000 };

#[test]
fn threads_allocating_and_freeing_never_share_a_byte_and_count_exactly() {
    // Frees that another thread's newer block keeps from rewinding reclaim
    // nothing, so the buffer must hold the worst case: every block lost.
    let mut memory = Aligned::<{ 32 * 1024 * 1024 }>::new();
    let alloc = ThreadSafeFixedBufferAllocator::new(&mut memory.0);
    let start = Barrier::new(THREADS);
    std::thread::scope(|s| {
        for worker in 0..THREADS {
            let (alloc, start) = (&alloc, &start);
            s.spawn(move || {
                let tag = worker as u8 + 1;
                start.wait();
                for round in 0..ROUNDS {
                    // A few live blocks at once, each filled with this
                    // thread's tag and checked before it is freed.
                    let mut blocks: std::vec::Vec<Vec<u8, _>> = (0..3)
                        .map(|i| {
                            let mut block = Vec::with_capacity_in(1 + (round + i) % 40, alloc);
                            block.resize(block.capacity(), tag);
                            block
                        })
                        .collect();
                    blocks[1].extend_from_slice(&[tag; 24]);
                    for block in blocks.drain(..).rev() {
                        assert!(
                            block.iter().all(|byte| *byte == tag),
                            "another thread wrote into a block of thread {tag}"
                        );
                    }
                }
            });
        }
    });
    let stats = alloc.stats();
    assert_eq!(stats.live_allocations, 0);
    assert_eq!(stats.live_bytes, 0);
    assert_eq!(stats.allocations, stats.deallocations);
    // 3 blocks a round, plus one more whenever the grow could not happen in
    // place (moves count as an allocation and a deallocation).
    assert!(stats.allocations >= THREADS * ROUNDS * 3, "{stats:?}");
    assert_eq!(stats.failed_allocations, 0);
}

#[test]
fn blocks_kept_by_many_threads_are_disjoint_and_fill_the_buffer_exactly() {
    const BLOCKS: usize = 256;
    const SIZE: usize = 16;
    let mut memory = Aligned::<{ BLOCKS * SIZE }>::new();
    let alloc = ThreadSafeFixedBufferAllocator::new(&mut memory.0);
    let start = Barrier::new(THREADS);
    let mut addresses: std::vec::Vec<usize> = std::thread::scope(|s| {
        let workers: std::vec::Vec<_> = (0..THREADS)
            .map(|_| {
                let (alloc, start) = (&alloc, &start);
                s.spawn(move || {
                    start.wait();
                    (0..BLOCKS / THREADS)
                        .map(|_| {
                            alloc
                                .alloc_slice_copy(&[0u8; SIZE])
                                .unwrap()
                                .as_ptr()
                                .addr()
                        })
                        .collect::<std::vec::Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap())
            .collect()
    });
    addresses.sort_unstable();
    for pair in addresses.windows(2) {
        assert_eq!(pair[1] - pair[0], SIZE, "blocks overlap or leave a gap");
    }
    let stats = alloc.stats();
    assert_eq!(
        (stats.used, stats.allocations, stats.live_bytes),
        (BLOCKS * SIZE, BLOCKS, BLOCKS * SIZE)
    );
    assert!(alloc.alloc_str("x").is_err());
}

#[test]
fn frees_of_the_last_block_race_allocations_without_losing_either() {
    // Each thread repeatedly allocates a block and frees it at once; whoever
    // is last rewinds. Afterwards every byte not in a live block is
    // accounted: used == live + lost, and with nothing live, used is what
    // could not be rewound.
    let mut memory = Aligned::<{ 4 * 1024 * 1024 }>::new();
    let alloc = ThreadSafeFixedBufferAllocator::new(&mut memory.0);
    let start = Barrier::new(THREADS);
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            let (alloc, start) = (&alloc, &start);
            s.spawn(move || {
                start.wait();
                for _ in 0..ROUNDS {
                    let block = allocator_api2::boxed::Box::new_in([7u64; 4], alloc);
                    assert_eq!(block[3], 7);
                }
            });
        }
    });
    let stats = alloc.stats();
    assert_eq!(stats.allocations, THREADS * ROUNDS);
    assert_eq!(stats.deallocations, THREADS * ROUNDS);
    assert_eq!((stats.live_allocations, stats.live_bytes), (0, 0));
    assert!(
        stats.high_water_mark >= 32 && stats.used.is_multiple_of(32),
        "{stats:?}"
    );
}
