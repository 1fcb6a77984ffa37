//! A model-based property test: random sequences of allocate, deallocate,
//! grow, shrink and reset run against each allocator, observed and not, and
//! against a plain reference model of Zig's rules. After every step: the
//! predicted addresses and statistics (the breakdown of the high-water mark
//! included) match, no two live blocks overlap, every block is inside the
//! buffer and aligned, every block still holds what was written, and an
//! observer has been told of exactly the live blocks. With failures
//! injected, exactly the planned allocations fail and change nothing.

use core::alloc::Layout;
use core::mem::MaybeUninit;
use core::ptr::NonNull;
use std::collections::BTreeMap;
use std::sync::Mutex;

use allocator_api2::alloc::Allocator;
use fba_core::{
    Breakdown, FailAllocation, FixedBufferAllocator, Observer, Stats,
    ThreadSafeFixedBufferAllocator,
};
use proptest::prelude::*;

use crate::subject::{Aligned, Subject};

const CAPACITY: usize = 512;

#[derive(Clone, Debug)]
enum Op {
    Allocate {
        size: usize,
        align_shift: u32,
    },
    Deallocate {
        pick: usize,
    },
    Grow {
        pick: usize,
        extra: usize,
        align_shift: u32,
    },
    Shrink {
        pick: usize,
        less: usize,
        align_shift: u32,
    },
    Reset,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..96usize, 0..7u32).prop_map(|(size, align_shift)| Op::Allocate { size, align_shift }),
        3 => any::<usize>().prop_map(|pick| Op::Deallocate { pick }),
        2 => (any::<usize>(), 0..96usize, 0..7u32)
            .prop_map(|(pick, extra, align_shift)| Op::Grow { pick, extra, align_shift }),
        2 => (any::<usize>(), 0..96usize, 0..7u32)
            .prop_map(|(pick, less, align_shift)| Op::Shrink { pick, less, align_shift }),
        1 => Just(Op::Reset),
    ]
}

/// A live block: where the model says it is, and the byte it is filled with.
#[derive(Clone, Copy, Debug)]
struct Block {
    addr: usize,
    size: usize,
    align: usize,
    fill: u8,
}

impl Block {
    fn layout(&self) -> Layout {
        Layout::from_size_align(self.size, self.align).unwrap()
    }
}

/// Zig's FixedBufferAllocator rules, written plainly over addresses.
#[derive(Debug)]
struct Model {
    base: usize,
    limit: usize,
    end: usize,
    high_water: usize,
    allocations: usize,
    deallocations: usize,
    failed: usize,
    /// Bytes below `end` in no live block: padding, and freed bytes that
    /// `end` could not move back over.
    padding: usize,
    freed: usize,
    /// The largest `end` so far, and the bytes when it was first reached.
    peak_end: usize,
    peak: Breakdown,
    released: usize,
    /// The failures to inject, the allocations counted since, and the
    /// failures injected.
    failing: Option<FailAllocation>,
    attempts: usize,
    injected: usize,
}

impl Model {
    fn new(base: usize, capacity: usize) -> Model {
        Model {
            base,
            limit: base + capacity,
            end: base,
            high_water: base,
            allocations: 0,
            deallocations: 0,
            failed: 0,
            padding: 0,
            freed: 0,
            peak_end: base,
            peak: Breakdown::default(),
            released: 0,
            failing: None,
            attempts: 0,
            injected: 0,
        }
    }

    /// `end` has moved forward: a new high-water mark is recorded with what
    /// the bytes are at this moment.
    fn moved_forward(&mut self) {
        if self.end > self.peak_end {
            self.peak_end = self.end;
            let used = self.end - self.base;
            self.peak = Breakdown {
                live_bytes: used - self.padding - self.freed,
                freed_bytes: self.freed,
                padding_bytes: self.padding,
            };
        }
    }

    fn allocate(&mut self, size: usize, align: usize) -> Option<usize> {
        if size == 0 {
            return Some(align);
        }
        if let Some(failing) = self.failing {
            self.attempts += 1;
            if failing.fails(self.attempts) {
                self.injected += 1;
                return None;
            }
        }
        let start = self.end.next_multiple_of(align);
        if start + size > self.limit {
            self.failed += 1;
            return None;
        }
        self.padding += start - self.end;
        self.end = start + size;
        self.allocations += 1;
        self.moved_forward();
        Some(start)
    }

    fn free(&mut self, addr: usize, size: usize) {
        if size == 0 {
            return;
        }
        self.deallocations += 1;
        if addr + size == self.end {
            self.high_water = self.high_water.max(self.end);
            self.end = addr;
        } else {
            self.freed += size;
        }
    }

    fn grow(&mut self, old: Block, new_size: usize, new_align: usize) -> Option<usize> {
        if old.size == 0 {
            return self.allocate(new_size, new_align);
        }
        if old.addr.is_multiple_of(new_align) {
            let extra = new_size - old.size;
            if old.addr + old.size == self.end {
                if self.end + extra <= self.limit {
                    self.end += extra;
                    self.moved_forward();
                    return Some(old.addr);
                }
            } else if extra == 0 {
                return Some(old.addr);
            }
        }
        let moved = self.allocate(new_size, new_align)?;
        self.free(old.addr, old.size);
        Some(moved)
    }

    fn shrink(&mut self, old: Block, new_size: usize, new_align: usize) -> Option<usize> {
        if new_size == 0 {
            self.free(old.addr, old.size);
            return Some(new_align);
        }
        if !old.addr.is_multiple_of(new_align) {
            let moved = self.allocate(new_size, new_align)?;
            self.free(old.addr, old.size);
            return Some(moved);
        }
        let freed = old.size - new_size;
        if old.addr + old.size == self.end {
            self.high_water = self.high_water.max(self.end);
            self.end -= freed;
        } else {
            self.freed += freed;
        }
        Some(old.addr)
    }

    fn reset(&mut self) {
        self.high_water = self.high_water.max(self.end);
        self.end = self.base;
        self.padding = 0;
        self.freed = 0;
        self.released = self.allocations - self.deallocations;
    }

    fn stats(&self) -> Stats {
        let used = self.end - self.base;
        Stats {
            capacity: self.limit - self.base,
            used,
            high_water_mark: self.high_water.max(self.end) - self.base,
            allocations: self.allocations,
            deallocations: self.deallocations,
            failed_allocations: self.failed,
            live_allocations: self.allocations - self.deallocations - self.released,
            live_bytes: used - self.padding - self.freed,
            injected_failures: self.injected,
            at_high_water: self.peak,
        }
    }
}

/// What an observer was told: the live blocks (address to size) and the
/// bytes in use after the last change.
#[derive(Default)]
struct Told {
    live: Mutex<(BTreeMap<usize, usize>, usize)>,
}

impl Observer for Told {
    fn allocated(&self, block: NonNull<u8>, layout: Layout, used: usize) {
        let mut live = self.live.lock().unwrap();
        assert!(
            live.0
                .insert(block.as_ptr().addr(), layout.size())
                .is_none()
        );
        live.1 = used;
    }
    fn freed(&self, block: NonNull<u8>, layout: Layout, used: usize) {
        let mut live = self.live.lock().unwrap();
        assert_eq!(live.0.remove(&block.as_ptr().addr()), Some(layout.size()));
        live.1 = used;
    }
    fn resized(&self, block: NonNull<u8>, old: Layout, new: Layout, used: usize) {
        let mut live = self.live.lock().unwrap();
        assert_eq!(
            live.0.insert(block.as_ptr().addr(), new.size()),
            Some(old.size())
        );
        live.1 = used;
    }
    fn reset(&self) {
        let mut live = self.live.lock().unwrap();
        live.0.clear();
        live.1 = 0;
    }
}

fn fill(ptr: NonNull<u8>, from: usize, to: usize, byte: u8) {
    // SAFETY: callers pass a live block of at least `to` bytes.
    unsafe { ptr.as_ptr().add(from).write_bytes(byte, to - from) };
}

fn check_invariants(blocks: &[Block], model: &Model) -> Result<(), TestCaseError> {
    let mut in_buffer: Vec<&Block> = blocks.iter().filter(|block| block.size > 0).collect();
    in_buffer.sort_by_key(|block| block.addr);
    for block in &in_buffer {
        prop_assert!(
            block.addr >= model.base && block.addr + block.size <= model.limit,
            "{block:?} outside"
        );
        prop_assert_eq!(block.addr % block.align, 0, "{:?} misaligned", block);
    }
    for pair in in_buffer.windows(2) {
        prop_assert!(
            pair[0].addr + pair[0].size <= pair[1].addr,
            "{:?} overlaps {:?}",
            pair[0],
            pair[1]
        );
    }
    Ok(())
}

/// Runs `ops` on `S` over `buffer`, watched by `told` if it is given.
fn run<'b, S: Subject<'b>>(
    buffer: &'b mut [MaybeUninit<u8>],
    ops: &[Op],
    told: Option<&'b Told>,
) -> Result<(), TestCaseError> {
    run_failing::<S>(buffer, ops, told, None)
}

fn run_failing<'b, S: Subject<'b>>(
    buffer: &'b mut [MaybeUninit<u8>],
    ops: &[Op],
    told: Option<&'b Told>,
    failing: Option<FailAllocation>,
) -> Result<(), TestCaseError> {
    let base = buffer.as_ptr().addr();
    let capacity = buffer.len();
    let mut subject = S::create(buffer);
    if let Some(told) = told {
        subject.observe(told);
    }
    subject.fail(failing);
    let mut model = Model::new(base, capacity);
    model.failing = failing;
    let mut blocks: Vec<(Block, NonNull<u8>)> = Vec::new();
    let mut next_fill = 0u8;
    for op in ops {
        match *op {
            Op::Allocate { size, align_shift } => {
                let align = 1 << align_shift;
                let layout = Layout::from_size_align(size, align).unwrap();
                let expected = model.allocate(size, align);
                let actual = subject
                    .allocator()
                    .allocate(layout)
                    .ok()
                    .map(|block| block.cast::<u8>());
                prop_assert_eq!(actual.map(|p| p.as_ptr().addr()), expected, "{:?}", op);
                if let Some(ptr) = actual {
                    next_fill = next_fill.wrapping_add(1);
                    fill(ptr, 0, size, next_fill);
                    blocks.push((
                        Block {
                            addr: ptr.as_ptr().addr(),
                            size,
                            align,
                            fill: next_fill,
                        },
                        ptr,
                    ));
                }
            }
            Op::Deallocate { pick } if !blocks.is_empty() => {
                let (block, ptr) = blocks.swap_remove(pick % blocks.len());
                model.free(block.addr, block.size);
                // SAFETY: the block is live with this layout.
                unsafe { subject.allocator().deallocate(ptr, block.layout()) };
            }
            Op::Grow {
                pick,
                extra,
                align_shift,
            } if !blocks.is_empty() => {
                let index = pick % blocks.len();
                let (old, ptr) = blocks[index];
                let new = Block {
                    size: old.size + extra,
                    align: 1 << align_shift,
                    ..old
                };
                let expected = model.grow(old, new.size, new.align);
                // SAFETY: the block is live with its old layout; the new size is not smaller.
                let actual = unsafe { subject.allocator().grow(ptr, old.layout(), new.layout()) };
                let actual = actual.ok().map(|block| block.cast::<u8>());
                prop_assert_eq!(
                    actual.map(|p| p.as_ptr().addr()),
                    expected,
                    "{:?} of {:?}",
                    op,
                    old
                );
                if let Some(moved) = actual {
                    fill(moved, old.size, new.size, old.fill);
                    blocks[index] = (
                        Block {
                            addr: moved.as_ptr().addr(),
                            ..new
                        },
                        moved,
                    );
                }
            }
            Op::Shrink {
                pick,
                less,
                align_shift,
            } if !blocks.is_empty() => {
                let index = pick % blocks.len();
                let (old, ptr) = blocks[index];
                let new = Block {
                    size: old.size.saturating_sub(less),
                    align: 1 << align_shift,
                    ..old
                };
                let expected = model.shrink(old, new.size, new.align);
                // SAFETY: the block is live with its old layout; the new size is not larger.
                let actual = unsafe { subject.allocator().shrink(ptr, old.layout(), new.layout()) };
                let actual = actual.ok().map(|block| block.cast::<u8>());
                prop_assert_eq!(
                    actual.map(|p| p.as_ptr().addr()),
                    expected,
                    "{:?} of {:?}",
                    op,
                    old
                );
                if let Some(moved) = actual {
                    blocks[index] = (
                        Block {
                            addr: moved.as_ptr().addr(),
                            ..new
                        },
                        moved,
                    );
                }
            }
            Op::Reset => {
                blocks.clear();
                model.reset();
                subject.reset();
            }
            _ => {}
        }
        let plain: Vec<Block> = blocks.iter().map(|(block, _)| *block).collect();
        check_invariants(&plain, &model)?;
        for (block, ptr) in &blocks {
            // SAFETY: the block is live: its bytes are initialised and readable.
            let bytes = unsafe { core::slice::from_raw_parts(ptr.as_ptr(), block.size) };
            prop_assert!(
                bytes.iter().all(|byte| *byte == block.fill),
                "{:?} lost its contents after {:?}",
                block,
                op
            );
        }
        prop_assert_eq!(subject.stats(), model.stats(), "{} after {:?}", S::NAME, op);
        if let Some(told) = told {
            let told = told.live.lock().unwrap();
            let live: BTreeMap<usize, usize> = plain
                .iter()
                .filter(|block| block.size > 0)
                .map(|block| (block.addr, block.size))
                .collect();
            prop_assert_eq!(&told.0, &live, "the observer's blocks after {:?}", op);
            prop_assert_eq!(
                told.1,
                model.end - model.base,
                "bytes in use after {:?}",
                op
            );
        }
    }
    Ok(())
}

fn config() -> ProptestConfig {
    let cases = if cfg!(miri) { 6 } else { 512 };
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn failing() -> impl Strategy<Value = FailAllocation> {
    prop_oneof![
        (1..24usize).prop_map(FailAllocation::Only),
        (1..24usize).prop_map(FailAllocation::From),
    ]
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(op(), 1..if cfg!(miri) { 24 } else { 80 })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fixed_buffer_allocator_follows_the_model(skew in 0..16usize, ops in ops()) {
        let mut memory = Aligned::<{ CAPACITY + 16 }>::new();
        run::<FixedBufferAllocator<'_>>(&mut memory.0[skew..skew + CAPACITY], &ops, None)?;
    }

    #[test]
    fn thread_safe_fixed_buffer_allocator_follows_the_model(skew in 0..16usize, ops in ops()) {
        let mut memory = Aligned::<{ CAPACITY + 16 }>::new();
        run::<ThreadSafeFixedBufferAllocator<'_>>(&mut memory.0[skew..skew + CAPACITY], &ops, None)?;
    }

    #[test]
    fn an_observed_fixed_buffer_allocator_follows_the_model_and_tells_every_block(
        skew in 0..16usize,
        ops in ops(),
    ) {
        let told = Told::default();
        let mut memory = Aligned::<{ CAPACITY + 16 }>::new();
        run::<FixedBufferAllocator<'_>>(&mut memory.0[skew..skew + CAPACITY], &ops, Some(&told))?;
    }

    #[test]
    fn an_observed_thread_safe_fixed_buffer_allocator_follows_the_model_and_tells_every_block(
        skew in 0..16usize,
        ops in ops(),
    ) {
        let told = Told::default();
        let mut memory = Aligned::<{ CAPACITY + 16 }>::new();
        run::<ThreadSafeFixedBufferAllocator<'_>>(&mut memory.0[skew..skew + CAPACITY], &ops, Some(&told))?;
    }

    #[test]
    fn with_failures_injected_exactly_the_planned_allocations_fail(
        skew in 0..16usize,
        ops in ops(),
        plan in failing(),
        observed in any::<bool>(),
    ) {
        let (told, told_too) = (Told::default(), Told::default());
        let mut memory = Aligned::<{ CAPACITY + 16 }>::new();
        run_failing::<FixedBufferAllocator<'_>>(
            &mut memory.0[skew..skew + CAPACITY],
            &ops,
            observed.then_some(&told),
            Some(plan),
        )?;
        let mut memory = Aligned::<{ CAPACITY + 16 }>::new();
        run_failing::<ThreadSafeFixedBufferAllocator<'_>>(
            &mut memory.0[skew..skew + CAPACITY],
            &ops,
            observed.then_some(&told_too),
            Some(plan),
        )?;
    }
}
