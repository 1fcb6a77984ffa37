//! The allocators against their peers, side by side in one run: bumpalo
//! (pre-sized, so it never asks for a second chunk) and the system allocator.
//! Run with `cargo bench -p fba-core`; the ratio table prints at the end.

use std::hint::black_box;
use std::mem::MaybeUninit;
use std::time::{Duration, Instant};

use allocator_api2::alloc::{Allocator, Global};
use allocator_api2::boxed::Box;
use allocator_api2::vec::Vec;
use bumpalo::Bump;
use criterion::{Criterion, criterion_group};
use fba_core::{FixedBufferAllocator, ThreadSafeFixedBufferAllocator};

#[path = "support/alternating.rs"]
mod alternating;
#[path = "support/ratios.rs"]
mod ratios;

const BOXES: usize = 1_000_000;
const PUSHES: u64 = 100_000;
const INSERTS: u64 = 10_000;
const BUFFER: usize = 32 << 20;

fn buffer() -> std::boxed::Box<[MaybeUninit<u8>]> {
    std::boxed::Box::new_uninit_slice(BUFFER)
}

/// Runs `once` for each of criterion's iterations and adds up the times it
/// reports.
fn timed(iterations: u64, mut once: impl FnMut() -> Duration) -> Duration {
    (0..iterations).map(|_| once()).sum()
}

/// Times `work`; dropping what it returns is not timed.
fn time<K>(work: impl FnOnce() -> K) -> Duration {
    let start = Instant::now();
    let kept = black_box(work());
    let elapsed = start.elapsed();
    drop(kept);
    elapsed
}

/// Blocks kept alive, as raw pointers so that keeping them costs the same
/// whatever the allocator (a `Box<u64, &A>` also holds the allocator's
/// address); freed when dropped, untimed.
struct Kept<A: Allocator + Copy> {
    boxes: std::vec::Vec<*mut u64>,
    alloc: A,
}

// SAFETY: the pointers are to `u64`s owned by the boxes of `alloc`; sending
// them with a `Send` allocator sends the boxes.
unsafe impl<A: Allocator + Copy + Send> Send for Kept<A> {}

impl<A: Allocator + Copy> Drop for Kept<A> {
    fn drop(&mut self) {
        for &pointer in &self.boxes {
            // SAFETY: each pointer came from `Box::into_raw` of a box of `alloc`.
            drop(unsafe { Box::from_raw_in(pointer, self.alloc) });
        }
    }
}

/// 1M `Box<u64>` allocated and kept (freed untimed).
fn boxes_kept<A: Allocator + Copy>(alloc: A) -> Kept<A> {
    let mut boxes = std::vec::Vec::with_capacity(BOXES);
    for i in 0..BOXES as u64 {
        boxes.push(Box::into_raw(Box::new_in(i, alloc)));
    }
    Kept { boxes, alloc }
}

/// A `Vec<u64>` pushed to 100k elements, one at a time.
fn vec_pushed<A: Allocator>(alloc: A) -> u64 {
    let mut numbers = Vec::new_in(alloc);
    for i in 0..PUSHES {
        numbers.push(i);
    }
    numbers[black_box(99_999)]
}

/// 1M `Box<u64>` each freed right after it is allocated (a stack pattern).
fn alloc_free<A: Allocator + Copy>(alloc: A) -> u64 {
    let mut sum = 0;
    for i in 0..BOXES as u64 {
        let boxed = Box::new_in(i, alloc);
        sum += **black_box(&boxed);
    }
    sum
}

/// 10k inserts into a hashbrown map.
fn hash_map_filled<A: Allocator + Clone>(alloc: A) -> usize {
    let mut map =
        hashbrown::HashMap::with_hasher_in(hashbrown::DefaultHashBuilder::default(), alloc);
    for i in 0..INSERTS {
        map.insert(i, i);
    }
    map.len()
}

macro_rules! side_by_side {
    ($c:expr, $group:literal, $work:ident) => {{
        let mut group = $c.benchmark_group($group);
        let mut memory = buffer();
        group.bench_function("fixed_buffer", |b| {
            b.iter_custom(|n| {
                timed(n, || {
                    let alloc = FixedBufferAllocator::new(&mut memory);
                    time(|| $work(&alloc))
                })
            })
        });
        let mut bump = Bump::with_capacity(BUFFER);
        group.bench_function("bumpalo", |b| {
            b.iter_custom(|n| {
                timed(n, || {
                    bump.reset();
                    time(|| $work(&bump))
                })
            })
        });
        group.bench_function("system", |b| {
            b.iter_custom(|n| timed(n, || time(|| $work(Global))))
        });
        group.finish();
    }};
}

fn single_threaded(c: &mut Criterion) {
    side_by_side!(c, "box_u64_kept_1m", boxes_kept);
    side_by_side!(c, "vec_u64_push_100k", vec_pushed);
    side_by_side!(c, "alloc_free_1m", alloc_free);
    side_by_side!(c, "hashbrown_insert_10k", hash_map_filled);
}

/// 1M `Box<u64>` kept, split over `threads` threads sharing one allocator
/// (freed untimed).
fn boxes_kept_on_threads<A: Allocator + Copy + Send>(
    alloc: A,
    threads: usize,
) -> std::vec::Vec<Kept<A>> {
    std::thread::scope(|s| {
        let workers: std::vec::Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(move || {
                    let mut boxes = std::vec::Vec::with_capacity(BOXES / threads);
                    for i in 0..(BOXES / threads) as u64 {
                        boxes.push(Box::into_raw(Box::new_in(i, alloc)));
                    }
                    Kept { boxes, alloc }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap())
            .collect()
    })
}

fn thread_safe(c: &mut Criterion) {
    let mut group = c.benchmark_group("box_u64_kept_1m_threads");
    let mut memory = buffer();
    for threads in [1, 2] {
        group.bench_function(format!("thread_safe_{threads}"), |b| {
            b.iter_custom(|n| {
                timed(n, || {
                    let alloc = ThreadSafeFixedBufferAllocator::new(&mut memory);
                    time(|| boxes_kept_on_threads(&alloc, threads))
                })
            })
        });
        group.bench_function(format!("system_{threads}"), |b| {
            b.iter_custom(|n| timed(n, || time(|| boxes_kept_on_threads(Global, threads))))
        });
    }
    let mut bump = Bump::with_capacity(BUFFER);
    group.bench_function("bumpalo_1", |b| {
        b.iter_custom(|n| {
            timed(n, || {
                bump.reset();
                time(|| boxes_kept(&bump))
            })
        })
    });
    group.finish();
}

criterion_group!(benches, single_threaded, thread_safe);

/// Each workload on the fixed buffer allocator against bumpalo, in
/// alternating rounds (`alternating::compare`); `FBA_BENCH_ROUNDS` rounds
/// (default 31).
fn alternating_rounds() {
    let rounds = std::env::var("FBA_BENCH_ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(31);
    println!("\nfba-core: fixed_buffer / bumpalo, {rounds} alternating rounds: median, range");
    let mut memory = buffer();
    let mut bump = Bump::with_capacity(BUFFER);
    macro_rules! compare {
        ($name:literal, $work:ident) => {
            alternating::compare(
                $name,
                rounds,
                || {
                    let alloc = FixedBufferAllocator::new(&mut memory);
                    time(|| $work(&alloc))
                },
                || {
                    bump.reset();
                    time(|| $work(&bump))
                },
            )
        };
    }
    compare!("1M Box<u64> kept", boxes_kept);
    compare!("Vec<u64> pushed to 100k", vec_pushed);
    compare!(
        "1M Box<u64> allocated and freed (stack pattern)",
        alloc_free
    );
    compare!("hashbrown, 10k inserts", hash_map_filled);
}

/// Runs the benchmarks, then prints the ratio tables.
fn main() {
    benches();
    alternating_rounds();
    Criterion::default().configure_from_args().final_summary();
    use ratios::Ratio;
    let mut table = std::vec::Vec::new();
    for group in [
        "box_u64_kept_1m",
        "vec_u64_push_100k",
        "alloc_free_1m",
        "hashbrown_insert_10k",
    ] {
        table.push(Ratio {
            group,
            subject: "fixed_buffer",
            peer: "bumpalo",
        });
        table.push(Ratio {
            group,
            subject: "fixed_buffer",
            peer: "system",
        });
    }
    let group = "box_u64_kept_1m_threads";
    table.push(Ratio {
        group,
        subject: "thread_safe_1",
        peer: "bumpalo_1",
    });
    table.push(Ratio {
        group,
        subject: "thread_safe_1",
        peer: "system_1",
    });
    table.push(Ratio {
        group,
        subject: "thread_safe_2",
        peer: "system_2",
    });
    table.push(Ratio {
        group,
        subject: "thread_safe_2",
        peer: "thread_safe_1",
    });
    ratios::print("fba-core: time / peer's time, same run", &table);
}
