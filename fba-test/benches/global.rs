//! Global-allocator mode against its peers, side by side in one run:
//! `GlobalBudget` outside a budget against the bare system allocator,
//! inside a budget against the thread-safe fixed buffer allocator used
//! directly, and a global-mode budget test against one plain run of its
//! body. Run with `cargo bench -p fba-test --bench global`.

use std::alloc::System;
use std::hint::black_box;
use std::time::{Duration, Instant};

use allocator_api2::alloc::{Allocator, Global};
use allocator_api2::boxed::Box;
use allocator_api2::vec::Vec;
use criterion::{Criterion, criterion_group};
use fba::{ThreadSafeFixedBufferAllocator, measure_global};

#[path = "../../fba-core/benches/support/ratios.rs"]
mod ratios;

#[global_allocator]
static GLOBAL: fba::GlobalBudget = fba::GlobalBudget::system();

const BOXES: u64 = 1_000_000;
const PUSHES: u64 = 100_000;

/// 1M `Box<u64>` allocated and freed at once.
fn box_alloc_free<A: Allocator + Copy>(alloc: A) -> u64 {
    let mut sum = 0;
    for i in 0..BOXES {
        sum += **black_box(&Box::new_in(i, alloc));
    }
    sum
}

/// A `Vec<u64>` pushed one by one to 100k.
fn vec_pushed<A: Allocator>(alloc: A) -> u64 {
    let mut numbers = Vec::new_in(alloc);
    for i in 0..PUSHES {
        numbers.push(i);
    }
    numbers[black_box(99_999)]
}

/// About 100 allocations of ordinary code: words into a vector of strings,
/// joined, and an index of them.
fn hundred_allocations() -> usize {
    let words: std::vec::Vec<String> = (0..60).map(|i| format!("word{i}")).collect();
    let joined = words.join(" ");
    let mut index: std::vec::Vec<(usize, &str)> =
        words.iter().map(String::as_str).enumerate().collect();
    index.sort_by_key(|(_, word)| std::cmp::Reverse(*word));
    let lengths: std::vec::Vec<std::vec::Vec<u8>> = (0..30).map(|i| vec![0u8; i]).collect();
    joined.len() + index.len() + lengths.len()
}

fn pass_through(c: &mut Criterion) {
    let mut group = c.benchmark_group("global_pass_through_box_1m");
    group.bench_function("global_budget", |b| b.iter(|| box_alloc_free(Global)));
    group.bench_function("system", |b| b.iter(|| box_alloc_free(System)));
    group.finish();
    let mut group = c.benchmark_group("global_pass_through_vec_push_100k");
    group.bench_function("global_budget", |b| b.iter(|| vec_pushed(Global)));
    group.bench_function("system", |b| b.iter(|| vec_pushed(System)));
    group.finish();
}

fn inside(c: &mut Criterion) {
    let mut group = c.benchmark_group("global_inside_budget_box_1m");
    // `measure_global` runs the body twice (the second run checks the first):
    // half its time is one run inside a budget.
    group.bench_function("global_budget", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let start = Instant::now();
                let measurement = measure_global(1 << 20, || {
                    black_box(box_alloc_free(Global));
                });
                total += start.elapsed() / 2;
                assert_eq!(measurement.trials, 2);
            }
            total
        })
    });
    let mut memory = std::boxed::Box::new(fba::Buffer::<{ 1 << 20 }>::new());
    group.bench_function("thread_safe", |b| {
        b.iter(|| {
            let alloc = ThreadSafeFixedBufferAllocator::new(&mut memory[..]);
            box_alloc_free(&alloc)
        })
    });
    group.finish();
    let mut group = c.benchmark_group("global_budget_test_100_allocations");
    group.bench_function("measure_global", |b| {
        b.iter(|| {
            measure_global(1 << 20, || {
                black_box(hundred_allocations());
            })
        })
    });
    group.bench_function("plain_run", |b| b.iter(hundred_allocations));
    group.finish();
}

criterion_group!(benches, pass_through, inside);

/// Runs the benchmarks, then prints the ratios.
fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    use ratios::Ratio;
    ratios::print(
        "fba-test global mode: time / peer's time, same run",
        &[
            Ratio {
                group: "global_pass_through_box_1m",
                subject: "global_budget",
                peer: "system",
            },
            Ratio {
                group: "global_pass_through_vec_push_100k",
                subject: "global_budget",
                peer: "system",
            },
            Ratio {
                group: "global_inside_budget_box_1m",
                subject: "global_budget",
                peer: "thread_safe",
            },
            Ratio {
                group: "global_budget_test_100_allocations",
                subject: "measure_global",
                peer: "plain_run",
            },
        ],
    );
}
