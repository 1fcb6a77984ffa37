//! The panic hook of budget tests: quiet during trials that are expected to
//! fail, readable for `BudgetExceeded` payloads, and the previous hook for
//! everything else.
//!
//! Which trial a thread is in is thread-local, so tests running in parallel
//! threads (and threads a body spawns) keep their own messages.

use std::cell::Cell;
use std::panic::{self, PanicHookInfo};
use std::sync::Once;

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

/// Installs the hook once per process, in front of whatever hook was there.
pub(crate) fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
            let budget = info.payload().downcast_ref::<BudgetExceeded>();
            match (PRINTING.with(Cell::get), budget) {
                (Printing::Quiet, _) | (Printing::Trial, Some(_)) => {}
                (_, Some(failure)) => {
                    let thread = std::thread::current();
                    let name = thread.name().unwrap_or("<unnamed>");
                    let location = info
                        .location()
                        .map(|location| format!(" at {location}"))
                        .unwrap_or_default();
                    eprintln!(
                        "\nthread '{name}' panicked{location}:\nmemory budget exceeded: {failure}"
                    );
                }
                (_, None) => previous(info),
            }
        }));
    });
}

/// Runs `body` with panics on this thread printed as `printing` says.
pub(crate) fn printing<T>(printing: Printing, body: impl FnOnce() -> T) -> T {
    struct Restore(Printing);
    impl Drop for Restore {
        fn drop(&mut self) {
            PRINTING.with(|current| current.set(self.0));
        }
    }
    let _restore = Restore(PRINTING.with(|current| current.replace(printing)));
    body()
}
