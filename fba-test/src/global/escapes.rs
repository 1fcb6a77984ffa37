//! Naming the blocks a run left alive. The counts come from the region's
//! allocator; to say which blocks they are (one-time state, escapes, the
//! blocks one run left that another did not), every run of a measurement
//! logs each allocation and free of its region (lock-free: an atomic
//! increment and three stores, in memory outside the budget) and the log is
//! replayed once the body has returned. The log's memory is reused from one
//! run to the next (only the entries a run wrote are cleared).

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

/// Entries a log holds; past that the list of escapes is incomplete.
const CAPACITY: usize = 1 << 20;

/// One event: the block's address (written last; zero until written), its
/// size (zero for a free) and alignment.
struct Entry {
    address: AtomicUsize,
    size: AtomicUsize,
    align: AtomicUsize,
}

/// A region's event log.
pub(crate) struct Log {
    entries: AtomicPtr<Entry>,
    next: AtomicUsize,
    active: AtomicBool,
}

/// The blocks still alive when the body returned, in address order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Escapes {
    pub(crate) blocks: Vec<Layout>,
    /// Whether every event was logged.
    pub(crate) complete: bool,
}

/// A log's cleared entries, kept for the next log.
static IDLE: AtomicPtr<Entry> = AtomicPtr::new(ptr::null_mut());

/// The log's memory: a constant layout, so nothing on the path of a free
/// (which may release a region, and with it the log) can fail or panic.
const ENTRIES: Layout = Layout::new::<[Entry; CAPACITY]>();

impl Log {
    pub(crate) const fn empty() -> Log {
        Log {
            entries: AtomicPtr::new(ptr::null_mut()),
            next: AtomicUsize::new(0),
            active: AtomicBool::new(false),
        }
    }

    /// Starts logging (on a region being claimed, before it is published).
    pub(crate) fn start(&self) {
        let idle = IDLE.swap(ptr::null_mut(), Ordering::AcqRel);
        let entries = if idle.is_null() {
            // SAFETY: the layout's size is not zero. Zeroed: an entry whose
            // address is zero has not been written.
            unsafe { System.alloc_zeroed(ENTRIES) }.cast::<Entry>()
        } else {
            idle
        };
        if entries.is_null() {
            return;
        }
        self.entries.store(entries, Ordering::Release);
        self.next.store(0, Ordering::Relaxed);
        self.active.store(true, Ordering::Release);
    }

    #[inline]
    pub(crate) fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// Logs an allocation (`size > 0`) or a free (`size == 0`).
    pub(crate) fn record(&self, address: usize, size: usize, align: usize) {
        let index = self.next.fetch_add(1, Ordering::Relaxed);
        let entries = self.entries.load(Ordering::Acquire);
        if index >= CAPACITY || entries.is_null() {
            return;
        }
        // SAFETY: `index < CAPACITY` and the entries live until the region's
        // `release`. An allocation is logged by a thread inside the budget,
        // and the budget's `finish` waits for those to leave before it can
        // release; a free is logged before the block is freed, while the
        // block keeps the region from being released.
        let entry = unsafe { &*entries.add(index) };
        entry.size.store(size, Ordering::Relaxed);
        entry.align.store(align, Ordering::Relaxed);
        entry.address.store(address, Ordering::Release);
    }

    /// The blocks allocated and not freed, from the events logged so far.
    pub(crate) fn replay(&self) -> Escapes {
        let entries = self.entries.load(Ordering::Acquire);
        if entries.is_null() {
            return Escapes::default();
        }
        let logged = self.next.load(Ordering::Acquire);
        let mut complete = logged <= CAPACITY;
        let mut live = HashMap::new();
        for index in 0..logged.min(CAPACITY) {
            // SAFETY: as in `record`; the caller keeps the region from being
            // released while it replays.
            let entry = unsafe { &*entries.add(index) };
            let address = entry.address.load(Ordering::Acquire);
            if address == 0 {
                complete = false;
                continue;
            }
            match entry.size.load(Ordering::Relaxed) {
                0 => {
                    live.remove(&address);
                }
                size => {
                    let align = entry.align.load(Ordering::Relaxed);
                    if let Ok(layout) = Layout::from_size_align(size, align) {
                        live.insert(address, layout);
                    }
                }
            }
        }
        let mut blocks: Vec<(usize, Layout)> = live.into_iter().collect();
        blocks.sort_by_key(|(address, _)| *address);
        Escapes {
            blocks: blocks.into_iter().map(|(_, layout)| layout).collect(),
            complete,
        }
    }

    /// Stops logging and gives the entries back, cleared, for the next log
    /// (when the region is released).
    pub(crate) fn release(&self) {
        self.active.store(false, Ordering::Release);
        let entries = self.entries.swap(ptr::null_mut(), Ordering::AcqRel);
        if entries.is_null() {
            return;
        }
        let written = self.next.load(Ordering::Acquire).min(CAPACITY);
        // SAFETY: the region is released: nothing logs into the entries any
        // more, and the first `written` of them are inside the allocation.
        unsafe { ptr::write_bytes(entries, 0, written) };
        if IDLE
            .compare_exchange(
                ptr::null_mut(),
                entries,
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_err()
        {
            // SAFETY: allocated in `start` with this layout.
            unsafe { System.dealloc(entries.cast(), ENTRIES) };
        }
    }
}
