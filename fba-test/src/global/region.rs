//! Regions: the fixed buffers budgets allocate from, in a static table, so
//! that a free on any thread, at any time, finds the region that owns its
//! block by address without allocating or locking.
//!
//! A region's life: [`claim`] reserves memory and publishes its address
//! range; the budget's threads allocate from it; [`Region::finish`] ends the
//! budget once its body has returned and every thread that entered it has
//! left. The region is released (its range unpublished, its memory returned)
//! when it has ended and holds no live block: at `finish`, or later by the
//! free of its last escaped block. One atomic word holds both the count of
//! live blocks and the "ended" bit, so exactly one party releases it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fba_core::{BudgetExceeded, FailAllocation, Stats, ThreadSafeFixedBufferAllocator};

use super::escapes::{Escapes, Log};
use crate::buffer::{BUFFER_ALIGNMENT, BufferUnavailable};
use crate::sites::{Record, Recorder};

/// How many budgets (running, or ended with escaped blocks still alive) the
/// process can have at once.
const SLOTS: usize = 256;

const FREE: u8 = 0;
const CLAIMED: u8 = 1;
const LIVE: u8 = 2;

/// Set in [`Region::live`] once the budget has ended.
const ENDED: usize = 1 << (usize::BITS - 1);

/// How long `finish` waits for threads still inside `BudgetScope::enter`.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(10);

static REGIONS: [Region; SLOTS] = [const { Region::empty() }; SLOTS];
/// Published regions: frees look up addresses only when there are any.
static PUBLISHED: AtomicUsize = AtomicUsize::new(0);
/// One past the highest slot ever claimed: lookups scan no further.
static HIGHEST: AtomicUsize = AtomicUsize::new(0);

/// One budget's buffer and what is measured of it.
pub(crate) struct Region {
    /// The buffer's address range; both zero while the slot is not published.
    start: AtomicUsize,
    end: AtomicUsize,
    state: AtomicU8,
    generation: AtomicUsize,
    /// Written only while the slot is claimed and unpublished.
    allocator: UnsafeCell<ThreadSafeFixedBufferAllocator<'static>>,
    /// The reservation to give back on release.
    memory: AtomicPtr<u8>,
    memory_size: AtomicUsize,
    /// Set when the body has returned: allocations go elsewhere from then on.
    pub(super) ended: AtomicBool,
    /// Threads inside `BudgetScope::enter`.
    pub(super) entered: AtomicUsize,
    /// Live blocks, plus [`ENDED`] once ended (see the module's docs).
    live: AtomicUsize,
    /// The verification child's region: exhaustion is a real failure.
    hard: AtomicBool,
    /// An allocation did not fit and went to the wrapped allocator.
    spilled: AtomicBool,
    peak_live_bytes: AtomicUsize,
    /// The blocks live when `peak_live_bytes` was reached.
    peak_live_blocks: AtomicUsize,
    largest: AtomicUsize,
    /// The budget's limit, and the first allocation that went past it.
    limit: AtomicUsize,
    over_limit: OverLimit,
    pub(super) log: Log,
    /// The diagnostic run's record of every block with its stack, told by
    /// the region's allocator (its observer) while started.
    recorder: Recorder,
    /// The region records sites (a diagnostic run).
    sites: AtomicBool,
}

/// What a region records besides its statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tracking {
    /// Nothing (the verification child).
    Nothing,
    /// Every allocation and free, to name the blocks left alive.
    Escapes,
    /// That, and the stack of every block, for its allocation site, up to
    /// the moment the bytes in use reach `mark`.
    EscapesAndSites { mark: usize },
}

// SAFETY: every field is atomic except `allocator`, which is written only
// while the slot is claimed and not yet published (no other thread can
// reach it: lookups skip unpublished slots, and no thread-local points at a
// slot before it is published) and otherwise only read; the thread-safe
// allocator itself is `Sync`.
unsafe impl Sync for Region {}

/// What a budget's region measured, read when the budget ended.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Snapshot {
    pub(crate) stats: Stats,
    pub(crate) peak_live_bytes: usize,
    pub(crate) peak_live_blocks: usize,
    pub(crate) largest: usize,
    pub(crate) spilled: bool,
    /// The first allocation past the limit, as a buffer of the limit's size
    /// would have failed it.
    pub(crate) over_limit: Option<BudgetExceeded>,
    /// A thread was still inside the budget long after the body returned.
    pub(crate) abandoned: bool,
}

/// The first allocation that took a region past its budget's limit.
struct OverLimit {
    recorded: AtomicBool,
    size: AtomicUsize,
    align: AtomicUsize,
    used: AtomicUsize,
    done: AtomicBool,
}

impl OverLimit {
    const fn empty() -> OverLimit {
        OverLimit {
            recorded: AtomicBool::new(false),
            size: AtomicUsize::new(0),
            align: AtomicUsize::new(1),
            used: AtomicUsize::new(0),
            done: AtomicBool::new(false),
        }
    }

    #[cold]
    fn record(&self, layout: Layout, used_before: usize) {
        if self.recorded.swap(true, Ordering::AcqRel) {
            return;
        }
        self.size.store(layout.size(), Ordering::Relaxed);
        self.align.store(layout.align(), Ordering::Relaxed);
        self.used.store(used_before, Ordering::Relaxed);
        self.done.store(true, Ordering::Release);
    }

    fn get(&self, limit: usize) -> Option<BudgetExceeded> {
        if !self.done.load(Ordering::Acquire) {
            return None;
        }
        let layout = Layout::from_size_align(
            self.size.load(Ordering::Relaxed),
            self.align.load(Ordering::Relaxed),
        )
        .ok()?;
        Some(BudgetExceeded {
            layout,
            used: self.used.load(Ordering::Relaxed),
            capacity: limit,
        })
    }

    fn reset(&self) {
        self.done.store(false, Ordering::Relaxed);
        self.recorded.store(false, Ordering::Release);
    }
}

/// Why a region could not be claimed.
#[derive(Debug)]
pub(crate) enum ClaimError {
    Memory(BufferUnavailable),
    NoSlot,
}

impl std::fmt::Display for ClaimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClaimError::Memory(unavailable) => unavailable.fmt(f),
            ClaimError::NoSlot => write!(
                f,
                "{SLOTS} budgets are running or hold escaped blocks that are still alive: \
                 free what budget bodies allocate before they return"
            ),
        }
    }
}

impl Region {
    const fn empty() -> Region {
        Region {
            start: AtomicUsize::new(0),
            end: AtomicUsize::new(0),
            state: AtomicU8::new(FREE),
            generation: AtomicUsize::new(0),
            allocator: UnsafeCell::new(ThreadSafeFixedBufferAllocator::new(&mut [])),
            memory: AtomicPtr::new(ptr::null_mut()),
            memory_size: AtomicUsize::new(0),
            ended: AtomicBool::new(true),
            entered: AtomicUsize::new(0),
            live: AtomicUsize::new(0),
            hard: AtomicBool::new(false),
            spilled: AtomicBool::new(false),
            peak_live_bytes: AtomicUsize::new(0),
            peak_live_blocks: AtomicUsize::new(0),
            largest: AtomicUsize::new(0),
            limit: AtomicUsize::new(usize::MAX),
            over_limit: OverLimit::empty(),
            log: Log::empty(),
            recorder: Recorder::new(),
            sites: AtomicBool::new(false),
        }
    }

    /// The region's allocator.
    #[inline]
    pub(super) fn allocator(&self) -> &ThreadSafeFixedBufferAllocator<'static> {
        // SAFETY: see `unsafe impl Sync for Region`: callers reach a region
        // only once it is published, after the last write.
        unsafe { &*self.allocator.get() }
    }

    pub(super) fn generation(&self) -> usize {
        self.generation.load(Ordering::SeqCst)
    }

    /// Whether the budget of `generation` is still running.
    pub(super) fn accepts(&self, generation: usize) -> bool {
        self.generation.load(Ordering::SeqCst) == generation && !self.ended.load(Ordering::SeqCst)
    }

    /// Has the diagnostic run record the stacks of the allocations
    /// numbered `ordinals` (sorted) only (see [`Recorder::pick`]).
    pub(super) fn pick(&self, ordinals: Vec<usize>) {
        self.recorder.pick(ordinals);
    }

    /// Whether allocations on a thread in this budget come from it.
    #[inline]
    pub(super) fn is_open(&self) -> bool {
        !self.ended.load(Ordering::Relaxed)
    }

    pub(super) fn is_hard(&self) -> bool {
        self.hard.load(Ordering::Relaxed)
    }

    /// Records a block of `layout` allocated from the region, with
    /// `used_before` bytes in use before it.
    #[inline]
    pub(super) fn allocated(&self, layout: Layout, used_before: usize) {
        self.live.fetch_add(1, Ordering::Relaxed);
        self.resized(layout, used_before);
    }

    /// Records a block that now has `layout` (new, or resized in place or
    /// by a move), with `used_before` bytes in use before: the largest block,
    /// and the first allocation that took the region past the budget's
    /// limit, the one that would have failed with a buffer of that size.
    #[inline]
    pub(super) fn resized(&self, layout: Layout, used_before: usize) {
        if layout.size() > self.largest.load(Ordering::Relaxed) {
            self.largest.fetch_max(layout.size(), Ordering::Relaxed);
        }
        if self.allocator().used() > self.limit.load(Ordering::Relaxed) {
            self.over_limit.record(layout, used_before);
        }
    }

    /// An allocation did not fit and went to the wrapped allocator.
    pub(super) fn spill(&self) {
        self.spilled.store(true, Ordering::Relaxed);
    }

    /// Folds the live bytes of this moment, plus `extra` bytes and blocks
    /// about to be live at once, into the peak, with the blocks live at it.
    /// Called before anything that lowers them, and at the end: between
    /// those moments they only rise.
    #[inline]
    pub(super) fn fold_peaks(&self, extra_bytes: usize, extra_blocks: usize) {
        let stats = self.allocator().stats();
        let bytes = stats.live_bytes + extra_bytes;
        let mut peak = self.peak_live_bytes.load(Ordering::Relaxed);
        while bytes > peak {
            match self.peak_live_bytes.compare_exchange_weak(
                peak,
                bytes,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    // Threads folding new peaks at the same moment may store
                    // their counts in either order: the count is of one of
                    // those moments.
                    self.peak_live_blocks
                        .store(stats.live_allocations + extra_blocks, Ordering::Relaxed);
                    break;
                }
                Err(current) => peak = current,
            }
        }
    }

    /// Records that a block of the region was freed; releases the region if
    /// it was the last one and the budget has ended.
    #[inline]
    pub(super) fn freed(&'static self) {
        if self.live.fetch_sub(1, Ordering::AcqRel) == ENDED | 1 {
            self.release();
        }
    }

    /// Ends the budget: waits for threads still inside it, reads what was
    /// measured (in a tracked trial, which blocks escaped, and where its
    /// blocks were allocated), and releases the region unless blocks
    /// escaped.
    pub(super) fn finish(&'static self) -> (Snapshot, Option<Escapes>, Option<Record>) {
        self.ended.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + LEAVE_TIMEOUT;
        let mut abandoned = false;
        while self.entered.load(Ordering::SeqCst) != 0 {
            if Instant::now() > deadline {
                abandoned = true;
                break;
            }
            std::thread::yield_now();
        }
        self.fold_peaks(0, 0);
        let snapshot = Snapshot {
            stats: self.allocator().stats(),
            peak_live_bytes: self.peak_live_bytes.load(Ordering::Relaxed),
            peak_live_blocks: self.peak_live_blocks.load(Ordering::Relaxed),
            largest: self.largest.load(Ordering::Relaxed),
            spilled: self.spilled.load(Ordering::Relaxed),
            over_limit: self.over_limit.get(self.limit.load(Ordering::Relaxed)),
            abandoned,
        };
        // Before the ended bit is set nobody releases the region, so its log
        // can be read.
        let escapes = self.log.is_active().then(|| {
            if snapshot.stats.live_allocations > 0 {
                self.log.replay()
            } else {
                Escapes {
                    blocks: Vec::new(),
                    complete: true,
                }
            }
        });
        // Only a diagnostic run has a record (and takes the lock).
        let record = self
            .sites
            .swap(false, Ordering::AcqRel)
            .then(|| self.recorder.take());
        // A region a thread may still allocate from is never released.
        if !abandoned && self.live.fetch_or(ENDED, Ordering::AcqRel) == 0 {
            self.release();
        }
        (snapshot, escapes, record)
    }

    /// Unpublishes the region and gives its memory back. Runs exactly once
    /// per claim, when no block of it is live and no thread can allocate
    /// from it; it does not allocate (it may run inside `dealloc`).
    fn release(&'static self) {
        self.start.store(0, Ordering::SeqCst);
        self.end.store(0, Ordering::SeqCst);
        PUBLISHED.fetch_sub(1, Ordering::AcqRel);
        self.log.release();
        let memory = self.memory.swap(ptr::null_mut(), Ordering::AcqRel);
        give_back(memory, self.memory_size.load(Ordering::Relaxed));
        self.state.store(FREE, Ordering::Release);
    }
}

/// Whether no region is published: then no block comes from a region.
#[inline(always)]
pub(super) fn none_published() -> bool {
    PUBLISHED.load(Ordering::Acquire) == 0
}

/// The region a block at `address` came from, if any.
///
/// A slot's range is read between two reads of its generation, which a new
/// claim bumps before it publishes a new range: a range torn between two
/// claims of one slot (the old start, the new end) is never matched. (A
/// legitimate block's region cannot be released while it is live, so only
/// such false matches need guarding against.)
pub(super) fn owner(address: usize) -> Option<&'static Region> {
    let highest = HIGHEST.load(Ordering::Acquire);
    REGIONS[..highest].iter().find(|region| {
        loop {
            let generation = region.generation.load(Ordering::SeqCst);
            let start = region.start.load(Ordering::SeqCst);
            let end = region.end.load(Ordering::SeqCst);
            if region.generation.load(Ordering::SeqCst) == generation {
                break start != 0 && address >= start && address < end;
            }
        }
    })
}

/// Claims a region of `capacity` bytes starting at a multiple of 4096.
/// `hard`: exhaustion is a real failure (the verification child).
/// `tracked`: log every allocation and free, to name escaped blocks.
pub(super) fn claim(
    capacity: usize,
    limit: usize,
    hard: bool,
    tracking: Tracking,
) -> Result<&'static Region, ClaimError> {
    claim_with(capacity, limit, hard, tracking, None)
}

/// Claims a region whose allocator fails the allocations `failing` names
/// (failure injection): a hard region, where an injected failure is a null
/// pointer to the caller, as it would be on a device.
pub(super) fn claim_failing(
    capacity: usize,
    failing: FailAllocation,
    tracking: Tracking,
) -> Result<&'static Region, ClaimError> {
    claim_with(capacity, usize::MAX, true, tracking, Some(failing))
}

fn claim_with(
    capacity: usize,
    limit: usize,
    hard: bool,
    tracking: Tracking,
    failing: Option<FailAllocation>,
) -> Result<&'static Region, ClaimError> {
    let memory = take_memory(capacity).map_err(ClaimError::Memory)?;
    let Some((index, region)) = REGIONS.iter().enumerate().find(|(_, region)| {
        region
            .state
            .compare_exchange(FREE, CLAIMED, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    }) else {
        give_back(memory.as_ptr(), capacity);
        return Err(ClaimError::NoSlot);
    };
    // SAFETY: the memory is a fresh (or idle) reservation of `capacity`
    // bytes that this region now owns until `release`; the slot is claimed
    // and unpublished, so nothing else reads its allocator.
    unsafe {
        let bytes =
            std::slice::from_raw_parts_mut(memory.as_ptr().cast::<MaybeUninit<u8>>(), capacity);
        ptr::write(
            region.allocator.get(),
            ThreadSafeFixedBufferAllocator::new(bytes),
        );
        (*region.allocator.get()).set_failing(failing);
        if let Tracking::EscapesAndSites { mark } = tracking {
            region.recorder.aim(mark);
            region.recorder.start(memory.as_ptr().addr());
            (*region.allocator.get()).set_observer(Some(&region.recorder));
        }
    }
    // A stale `BudgetScope` of this slot's previous budget fails `accepts`
    // from here on (new generation), and until the end of the setup the slot
    // stays ended: no thread joins it before it is published. `entered` is
    // left alone: a stale `enter` may be counting itself in and out.
    region.generation.fetch_add(1, Ordering::SeqCst);
    region.memory.store(memory.as_ptr(), Ordering::Relaxed);
    region.memory_size.store(capacity, Ordering::Relaxed);
    region.live.store(0, Ordering::Relaxed);
    region.hard.store(hard, Ordering::Relaxed);
    region.spilled.store(false, Ordering::Relaxed);
    region.peak_live_bytes.store(0, Ordering::Relaxed);
    region.peak_live_blocks.store(0, Ordering::Relaxed);
    region.largest.store(0, Ordering::Relaxed);
    region.limit.store(limit, Ordering::Relaxed);
    region.over_limit.reset();
    if tracking != Tracking::Nothing {
        region.log.start();
    }
    region.sites.store(
        matches!(tracking, Tracking::EscapesAndSites { .. }),
        Ordering::Relaxed,
    );
    let start = memory.as_ptr().addr();
    region.end.store(start + capacity, Ordering::SeqCst);
    region.start.store(start, Ordering::SeqCst);
    HIGHEST.fetch_max(index + 1, Ordering::AcqRel);
    PUBLISHED.fetch_add(1, Ordering::AcqRel);
    region.ended.store(false, Ordering::SeqCst);
    region.state.store(LIVE, Ordering::Release);
    Ok(region)
}

/// Idle reservations, kept for the next budget of the same size: reserving
/// and returning a gigabyte per trial would cost more than the trial. Their
/// pages stay committed only where earlier trials wrote. A slot is null,
/// [`BUSY`] while a reservation is being put in, or the reservation.
static IDLE: [AtomicPtr<u8>; 4] = [const { AtomicPtr::new(ptr::null_mut()) }; 4];
static IDLE_SIZE: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];
const BUSY: *mut u8 = ptr::without_provenance_mut(1);

fn take_memory(capacity: usize) -> Result<NonNull<u8>, BufferUnavailable> {
    for (slot, size) in IDLE.iter().zip(&IDLE_SIZE) {
        let memory = slot.load(Ordering::Acquire);
        if memory.is_null() || memory == BUSY {
            continue;
        }
        // Hold the slot (BUSY) while reading its size, so that no other
        // reservation is put in between.
        if slot
            .compare_exchange(memory, BUSY, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            continue;
        }
        let idle_size = size.load(Ordering::Acquire);
        slot.store(ptr::null_mut(), Ordering::Release);
        if idle_size == capacity {
            // SAFETY: checked non-null.
            return Ok(unsafe { NonNull::new_unchecked(memory) });
        }
        free(memory, idle_size);
    }
    let unavailable = BufferUnavailable { capacity };
    let layout = Layout::from_size_align(capacity.max(1), BUFFER_ALIGNMENT)
        .map_err(|_| unavailable.clone())?;
    // SAFETY: the layout's size is not zero. The system allocator serves a
    // reservation this large with pages the OS commits on first write.
    NonNull::new(unsafe { System.alloc(layout) }).ok_or(unavailable)
}

/// Keeps a reservation for reuse, or returns it to the system.
fn give_back(memory: *mut u8, size: usize) {
    if memory.is_null() {
        return;
    }
    for (slot, idle_size) in IDLE.iter().zip(&IDLE_SIZE) {
        if slot
            .compare_exchange(ptr::null_mut(), BUSY, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            idle_size.store(size, Ordering::Relaxed);
            slot.store(memory, Ordering::Release);
            return;
        }
    }
    free(memory, size);
}

fn free(memory: *mut u8, size: usize) {
    // SAFETY: `memory` came from `System.alloc` with this layout in
    // `take_memory`, which accepted the layout.
    unsafe {
        System.dealloc(
            memory,
            Layout::from_size_align_unchecked(size.max(1), BUFFER_ALIGNMENT),
        )
    }
}

/// The region a probe allocation runs in: never published, it only tells
/// whether allocations reach `GlobalBudget`.
static PROBE: Region = Region::empty();
static PROBE_SEEN: AtomicBool = AtomicBool::new(false);

pub(super) fn is_probe(region: &Region) -> bool {
    ptr::eq(region, &PROBE)
}

pub(super) fn saw_probe() {
    PROBE_SEEN.store(true, Ordering::Release);
}

/// Whether `GlobalBudget` is the global allocator: a probe allocation runs
/// with the probe region as the thread's budget, and only `GlobalBudget`
/// notices it. Asked once per process.
pub(crate) fn installed() -> bool {
    static INSTALLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *INSTALLED.get_or_init(|| {
        let layout = Layout::new::<u64>();
        {
            let _probe = super::scope::set(&PROBE);
            // SAFETY: a non-zero layout; the block is freed right away.
            let block = std::hint::black_box(unsafe { std::alloc::alloc(layout) });
            if !block.is_null() {
                // SAFETY: allocated just above with `layout`.
                unsafe { std::alloc::dealloc(block, layout) };
            }
        }
        PROBE_SEEN.load(Ordering::Acquire)
    })
}
