//! Where the runtime's own lines go: the pass line, update notices and CI
//! annotations go to stdout, except where the budget harness writes JSON to
//! stdout (`--format json`): then to stderr, so the JSON stays valid.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether this process runs the budget harness: its table replaces the
/// pass lines (which libtest-mimic, capturing nothing, would interleave).
static HARNESS: AtomicBool = AtomicBool::new(false);
/// Whether the harness writes JSON to stdout (`--format json`).
static JSON: AtomicBool = AtomicBool::new(false);

/// Called by the harness before it runs tests.
pub(crate) fn harness_starts(json: bool) {
    HARNESS.store(true, Ordering::Relaxed);
    JSON.store(json, Ordering::Relaxed);
}

/// Whether the budget harness runs this process's tests.
pub(crate) fn in_harness() -> bool {
    HARNESS.load(Ordering::Relaxed)
}

/// Prints a line of the runtime's own (an update, an annotation).
pub(crate) fn say(line: &str) {
    if JSON.load(Ordering::Relaxed) {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
}

/// Prints a block of text (the harness's table) where [`say`] would.
pub(crate) fn print(text: &str) {
    if JSON.load(Ordering::Relaxed) {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
}

thread_local! {
    /// The budget harness's test running on this thread.
    static CURRENT_TEST: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `test`, the harness's test `name`, on this thread.
pub(crate) fn running_test<T>(name: &str, test: impl FnOnce() -> T) -> T {
    struct Ended;
    impl Drop for Ended {
        fn drop(&mut self) {
            crate::assert::test_ended();
            CURRENT_TEST.with(|current| current.borrow_mut().take());
        }
    }
    CURRENT_TEST.with(|current| *current.borrow_mut() = Some(name.to_owned()));
    let _ended = Ended;
    test()
}

/// The name of the harness's test running on this thread, if any.
pub(crate) fn current_test() -> Option<String> {
    CURRENT_TEST
        .try_with(|current| current.borrow().clone())
        .ok()
        .flatten()
}
