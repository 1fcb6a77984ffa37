//! Routing tests of `GlobalBudget`, run on an instance called directly (not
//! installed), so they also run under Miri: blocks go back to the allocator
//! that gave them, across budgets, threads and `realloc`.

use std::alloc::{GlobalAlloc, Layout, System};

use super::allocator::GlobalBudget;
use super::region::{self, Region, Tracking};
use super::scope::{self, BudgetScope};

const CAPACITY: usize = 64 * 1024;
static BUDGET: GlobalBudget = GlobalBudget::system();

/// A block's pointer, sent to another thread.
#[derive(Clone, Copy)]
struct Block(*mut u8);
// SAFETY: the tests hand each block to one thread at a time.
unsafe impl Send for Block {}

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

fn claim() -> &'static Region {
    region::claim(CAPACITY, 4096, false, Tracking::Nothing).unwrap()
}

fn in_region(region: &Region, block: *mut u8) -> bool {
    region.allocator().owns(block)
}

/// Whether the budget of `region` at `generation` no longer owns `address`:
/// the region was released. (Its memory may already serve another test's
/// budget, running in parallel: then a different budget owns it.)
fn released(region: &'static Region, generation: usize, address: usize) -> bool {
    region::owner(address)
        .is_none_or(|owner| !std::ptr::eq(owner, region) || owner.generation() != generation)
}

#[test]
fn global_outside_a_budget_everything_goes_to_the_wrapped_allocator() {
    // SAFETY: blocks are freed with their layouts.
    unsafe {
        let block = BUDGET.alloc(layout(24, 8));
        assert!(region::owner(block.addr()).is_none());
        let grown = BUDGET.realloc(block, layout(24, 8), 400);
        assert!(region::owner(grown.addr()).is_none());
        BUDGET.dealloc(grown, layout(400, 8));
    }
}

#[test]
fn global_inside_a_budget_blocks_come_from_the_region_and_rewind() {
    let region = claim();
    // SAFETY: blocks are freed with their layouts.
    unsafe {
        let _in = scope::set(region);
        let a = BUDGET.alloc(layout(100, 1));
        assert!(in_region(region, a));
        let b = BUDGET.alloc(layout(8, 8));
        assert_eq!(
            b.addr() - a.addr(),
            104,
            "bumped with padding, as the fixed buffer allocator does"
        );
        BUDGET.dealloc(b, layout(8, 8));
        BUDGET.dealloc(a, layout(100, 1));
    }
    let (snapshot, ..) = region.finish();
    // Freeing `b` rewinds to its start; its padding stays, so `a` no longer
    // ends at the end and its free reclaims nothing (Zig's rules).
    assert_eq!(
        (snapshot.stats.high_water_mark, snapshot.stats.used),
        (112, 104)
    );
    assert_eq!(
        (snapshot.peak_live_bytes, snapshot.peak_live_blocks),
        (108, 2)
    );
    assert_eq!(
        (snapshot.stats.live_allocations, snapshot.largest),
        (0, 100)
    );
}

#[test]
fn global_a_block_from_before_the_budget_grown_inside_it_moves_into_it() {
    // SAFETY: blocks are freed with their layouts.
    unsafe {
        let outside = BUDGET.alloc(layout(16, 8));
        outside.write_bytes(7, 16);
        let region = claim();
        let moved = {
            let _in = scope::set(region);
            BUDGET.realloc(outside, layout(16, 8), 64)
        };
        assert!(in_region(region, moved));
        assert_eq!(std::slice::from_raw_parts(moved, 16), &[7; 16]);
        // Freed after the budget: it goes back to the region.
        let generation = region.generation();
        let (snapshot, ..) = region.finish();
        assert_eq!(snapshot.stats.live_allocations, 1);
        assert!(!released(region, generation, moved.addr()));
        BUDGET.dealloc(moved, layout(64, 8));
        assert!(
            released(region, generation, moved.addr()),
            "the region was released with its last block"
        );
    }
}

#[test]
fn global_a_block_from_the_budget_grown_after_it_moves_out() {
    let region = claim();
    // SAFETY: blocks are freed with their layouts.
    unsafe {
        let inside = {
            let _in = scope::set(region);
            BUDGET.alloc(layout(32, 8))
        };
        inside.write_bytes(3, 32);
        region.finish();
        let moved = BUDGET.realloc(inside, layout(32, 8), 4096);
        assert!(region::owner(moved.addr()).is_none());
        assert_eq!(std::slice::from_raw_parts(moved, 32), &[3; 32]);
        BUDGET.dealloc(moved, layout(4096, 8));
    }
}

#[test]
fn global_a_block_freed_on_another_thread_goes_back_to_its_region() {
    let region = claim();
    let block = {
        let _in = scope::set(region);
        // SAFETY: freed below with its layout.
        Block(unsafe { BUDGET.alloc(layout(40, 8)) })
    };
    std::thread::spawn(move || {
        let block = block;
        // SAFETY: the block is live and freed once, with its layout.
        unsafe { BUDGET.dealloc(block.0, layout(40, 8)) }
    })
    .join()
    .unwrap();
    let (snapshot, ..) = region.finish();
    assert_eq!(
        (
            snapshot.stats.live_allocations,
            snapshot.stats.deallocations
        ),
        (0, 1)
    );
}

#[test]
fn global_a_thread_joins_the_budget_only_through_its_scope() {
    let region = claim();
    let (inside, outside) = {
        let _in = scope::set(region);
        let scope = BudgetScope::current();
        assert!(scope.is_active());
        std::thread::scope(|s| {
            // SAFETY: both blocks are freed below with their layouts.
            let inside = s.spawn(|| scope.enter(|| Block(unsafe { BUDGET.alloc(layout(64, 8)) })));
            // SAFETY: as above.
            let outside = s.spawn(|| Block(unsafe { BUDGET.alloc(layout(64, 8)) }));
            (inside.join().unwrap(), outside.join().unwrap())
        })
    };
    assert!(in_region(region, inside.0));
    assert!(region::owner(outside.0.addr()).is_none());
    // SAFETY: the blocks were allocated above with these layouts.
    unsafe {
        BUDGET.dealloc(inside.0, layout(64, 8));
        BUDGET.dealloc(outside.0, layout(64, 8));
    }
    region.finish();
    assert!(!BudgetScope::current().is_active());
}

#[test]
fn global_an_ended_budget_cannot_be_entered() {
    let region = claim();
    let scope = {
        let _in = scope::set(region);
        BudgetScope::current()
    };
    region.finish();
    assert!(!scope.is_active());
    // SAFETY: freed below with its layout.
    let block = scope.enter(|| unsafe { BUDGET.alloc(layout(8, 8)) });
    assert!(region::owner(block.addr()).is_none());
    // SAFETY: as above.
    unsafe { BUDGET.dealloc(block, layout(8, 8)) };
}

#[test]
fn global_escaped_blocks_keep_the_region_until_freed_and_are_named_when_tracked() {
    let region = region::claim(CAPACITY, 4096, false, Tracking::Escapes).unwrap();
    let (kept, freed) = {
        let _in = scope::set(region);
        // SAFETY: freed below with their layouts.
        unsafe { (BUDGET.alloc(layout(24, 8)), BUDGET.alloc(layout(8, 4))) }
    };
    // SAFETY: as above.
    unsafe { BUDGET.dealloc(freed, layout(8, 4)) };
    let (snapshot, escapes, _) = region.finish();
    assert_eq!(
        (snapshot.stats.live_allocations, snapshot.stats.live_bytes),
        (1, 24)
    );
    let escapes = escapes.unwrap();
    assert_eq!(
        (escapes.blocks, escapes.complete),
        (vec![layout(24, 8)], true)
    );
    let generation = region.generation();
    assert!(
        !released(region, generation, kept.addr()),
        "kept while its block lives"
    );
    // SAFETY: as above.
    unsafe { BUDGET.dealloc(kept, layout(24, 8)) };
    assert!(
        released(region, generation, kept.addr()),
        "released with its last block"
    );
}

#[test]
fn global_allocations_past_the_region_spill_to_the_wrapped_allocator() {
    let region = region::claim(1024, 512, false, Tracking::Nothing).unwrap();
    // SAFETY: freed below with its layout.
    let spilled = unsafe {
        let _in = scope::set(region);
        BUDGET.alloc(layout(2048, 8))
    };
    assert!(region::owner(spilled.addr()).is_none());
    let (snapshot, ..) = region.finish();
    assert!(snapshot.spilled);
    // SAFETY: as above.
    unsafe { BUDGET.dealloc(spilled, layout(2048, 8)) };
}

#[test]
fn global_the_first_allocation_past_the_limit_is_recorded() {
    let region = region::claim(CAPACITY, 100, false, Tracking::Nothing).unwrap();
    // SAFETY: freed below with their layouts.
    unsafe {
        let _in = scope::set(region);
        let a = BUDGET.alloc(layout(64, 8));
        let b = BUDGET.alloc(layout(64, 8));
        BUDGET.dealloc(b, layout(64, 8));
        BUDGET.dealloc(a, layout(64, 8));
    }
    let (snapshot, ..) = region.finish();
    let over = snapshot.over_limit.unwrap();
    assert_eq!(
        (over.layout, over.used, over.capacity),
        (layout(64, 8), 64, 100)
    );
}

#[test]
fn global_a_budget_wrapping_another_only_forwards_through_it() {
    static NESTED: GlobalBudget<GlobalBudget> = GlobalBudget::new(GlobalBudget::system());
    let region = claim();
    // SAFETY: blocks are freed with their layouts.
    unsafe {
        let inside = {
            let _in = scope::set(region);
            NESTED.alloc(layout(16, 8))
        };
        assert!(in_region(region, inside));
        let outside = NESTED.alloc(layout(16, 8));
        assert!(region::owner(outside.addr()).is_none());
        NESTED.dealloc(inside, layout(16, 8));
        NESTED.dealloc(outside, layout(16, 8));
    }
    let (snapshot, ..) = region.finish();
    assert_eq!(
        (snapshot.stats.allocations, snapshot.stats.live_allocations),
        (1, 0)
    );
    let _ = System;
}
