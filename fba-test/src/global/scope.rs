//! Which budget the calling thread is in: a thread-local pointer to a
//! region, const-initialised and without a destructor, so reading it never
//! allocates and is one load. [`BudgetScope`] hands a budget to other threads.

use std::cell::Cell;
use std::ptr;
use std::sync::atomic::Ordering;

use super::region::Region;

thread_local! {
    /// The region this thread allocates from, or null.
    static CURRENT: Cell<*const Region> = const { Cell::new(ptr::null()) };
}

/// The calling thread's region, or null. Never panics: during thread
/// teardown (where a destructor-less thread local is still readable) and
/// everywhere else it is one read.
#[inline]
pub(super) fn current() -> *const Region {
    CURRENT.try_with(Cell::get).unwrap_or(ptr::null())
}

/// Makes `region` (or null) the calling thread's region until the guard is
/// dropped, then restores the previous one.
pub(super) fn set(region: *const Region) -> Restore {
    Restore(CURRENT.with(|current| current.replace(region)))
}

/// Restores the thread's previous region when dropped.
#[must_use]
pub(super) struct Restore(*const Region);

impl Drop for Restore {
    fn drop(&mut self) {
        CURRENT.with(|current| current.set(self.0));
    }
}

/// Runs `body` outside any budget on this thread: for the runtime's own
/// allocations (messages, reports) and the panic hook.
pub(crate) fn suspended<T>(body: impl FnOnce() -> T) -> T {
    let _restore = set(ptr::null());
    body()
}

/// A handle to the budget of the thread that made it, to hand to the threads
/// the body spawns. A thread joins the budget only inside
/// [`enter`](Self::enter); threads the body spawns without it allocate
/// outside the budget (spawning itself allocates on the spawning thread, and
/// that does count).
///
/// # Examples
///
/// ```
/// # #[global_allocator]
/// # static GLOBAL: fba::GlobalBudget = fba::GlobalBudget::system();
/// let measurement = fba::measure_global(4096, || {
///     let scope = fba::BudgetScope::current();
///     let joined = std::thread::scope(|s| s.spawn(|| scope.enter(|| vec![0u8; 1000])).join().unwrap());
///     assert_eq!(joined.len(), 1000);
/// });
/// // The thread's 1000 bytes count, with what spawning the thread took here.
/// assert!(measurement.high_water_mark >= 1000);
/// ```
#[derive(Clone, Copy)]
pub struct BudgetScope {
    region: Option<(&'static Region, usize)>,
}

// SAFETY: a scope is a reference to a static region slot and a generation
// number; every field of the region it reads is atomic.
unsafe impl Send for BudgetScope {}
// SAFETY: as for `Send`.
unsafe impl Sync for BudgetScope {}

impl std::fmt::Debug for BudgetScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BudgetScope")
            .field("active", &self.is_active())
            .finish()
    }
}

impl BudgetScope {
    /// The budget the calling thread is in, or an empty scope if it is in
    /// none (then [`enter`](Self::enter) just runs its closure).
    pub fn current() -> BudgetScope {
        let region = current();
        if region.is_null() {
            return BudgetScope { region: None };
        }
        // SAFETY: a non-null current region is a static region slot.
        let region: &'static Region = unsafe { &*region };
        BudgetScope {
            region: Some((region, region.generation())),
        }
    }

    /// Whether this is a budget (not the empty scope), still running.
    pub fn is_active(&self) -> bool {
        self.region
            .is_some_and(|(region, generation)| region.accepts(generation))
    }

    /// Runs `body` on the calling thread inside the budget: its allocations
    /// count into the same buffer as the body's. Once the budget's body has
    /// returned, `enter` runs `body` outside it.
    pub fn enter<R>(&self, body: impl FnOnce() -> R) -> R {
        let Some((region, generation)) = self.region else {
            return body();
        };
        struct Leave(&'static Region);
        impl Drop for Leave {
            fn drop(&mut self) {
                self.0.entered.fetch_sub(1, Ordering::SeqCst);
            }
        }
        // Count in, then check: the budget's owner marks it ended and then
        // waits for the count to reach zero, so either it waits for this
        // thread or this thread sees that it ended (both sequentially
        // consistent), and no thread allocates into a finished budget.
        region.entered.fetch_add(1, Ordering::SeqCst);
        let leave = Leave(region);
        if !region.accepts(generation) {
            drop(leave);
            return body();
        }
        let _restore = set(region);
        body()
    }
}
