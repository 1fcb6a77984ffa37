//! The panic hook of budget tests: quiet during trials that are expected to
//! fail, readable for `BudgetExceeded` payloads, and the previous hook for
//! everything else.
//!
//! Which trial a thread is in is thread-local, so tests running in parallel
//! threads keep their own messages. A thread the body spawns cannot inherit
//! that state, so while any trial runs, a `BudgetExceeded` panic on a thread
//! outside every trial is taken to be a body's worker and not printed: the
//! runtime reports the budget failure itself. (A test that uses
//! `Exhaustion::Panic` by hand at the same time loses only that message; its
//! panic still fails it.)

use std::cell::Cell;
use std::panic::{self, PanicHookInfo};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

use fba_core::BudgetExceeded;

/// How panics on this thread are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Printing {
    /// Outside any trial: as the previous hook prints them.
    Normal,
    /// In a trial whose failure is reported by the runtime itself: budget
    /// panics are not printed (the report says more), others are.
    Trial,
    /// In a trial that is expected to fail: nothing is printed.
    Quiet,
}

thread_local! {
    static PRINTING: Cell<Printing> = const { Cell::new(Printing::Normal) };
}

/// Threads in a trial, in the whole process.
static IN_TRIAL: AtomicUsize = AtomicUsize::new(0);

/// Installs the hook once per process, in front of whatever hook was there.
pub(crate) fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
            // Printing a panic is not the body's work: outside any budget.
            crate::global::suspended(|| hook(&previous, info))
        }));
    });
}

/// The hook itself: `previous` is the hook that was installed before.
fn hook(previous: &(dyn Fn(&PanicHookInfo<'_>) + Sync + Send), info: &PanicHookInfo<'_>) {
    let budget = info.payload().downcast_ref::<BudgetExceeded>();
    let printing = PRINTING.with(Cell::get);
    let a_trial_runs = IN_TRIAL.load(Ordering::Relaxed) > 0;
    match (printing, budget) {
        (Printing::Quiet, _) | (Printing::Trial, Some(_)) => {}
        (Printing::Normal, Some(_)) if a_trial_runs => {}
        (_, Some(failure)) => {
            let thread = std::thread::current();
            let name = thread.name().unwrap_or("<unnamed>");
            let location = info
                .location()
                .map(|location| format!(" at {location}"))
                .unwrap_or_default();
            eprintln!("\nthread '{name}' panicked{location}:\nmemory budget exceeded: {failure}");
        }
        (_, None) => previous(info),
    }
}

/// Runs `body` with panics on this thread printed as `printing` says.
pub(crate) fn printing<T>(printing: Printing, body: impl FnOnce() -> T) -> T {
    struct Restore(Printing);
    impl Drop for Restore {
        fn drop(&mut self) {
            PRINTING.with(|current| current.set(self.0));
            IN_TRIAL.fetch_sub(1, Ordering::Relaxed);
        }
    }
    IN_TRIAL.fetch_add(1, Ordering::Relaxed);
    let _restore = Restore(PRINTING.with(|current| current.replace(printing)));
    body()
}
