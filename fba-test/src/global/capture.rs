//! libtest's output capture, kept outside every budget.
//!
//! Under `cargo test` (without `--no-capture`), `print!` and `eprint!` on a
//! test's thread write into a buffer that libtest keeps for the test and
//! shows when it fails. That buffer is the harness's, not the code's (on a
//! device, or with `--no-capture`, printing grows nothing), and it grows
//! across runs: each run appends its text, so a body that prints would need
//! more in every run and could never be judged. Its first block is
//! allocated by the first print (in the warm-up); every later growth is a
//! `realloc` of a block from before the run, the rare path where the
//! allocator looks at the stack. A block grown there under std's print
//! machinery is moved out to the wrapped allocator, or grown there, and is
//! never charged; a block it moves out of an earlier run's region is noted,
//! so that the warm-up's one-time state leaves it out.

use std::alloc::Layout;
use std::cell::RefCell;
use std::panic;
use std::sync::{Mutex, PoisonError};

use super::scope;

/// The most frames looked at above the allocator: the print machinery is
/// about a dozen frames up (the `Vec`'s growth, `fmt::write`, the `Display`
/// impls being printed).
const DEPTH: usize = 48;

/// The functions of std whose frames say a growth is the capture's: the
/// capture's writer, and the print entry points it is inlined into.
const PRINTS: [&str; 3] = [
    "std::io::stdio::print_to_buffer_if_capture_used",
    "std::io::stdio::_print",
    "std::io::stdio::_eprint",
];

/// Functions already looked up, by their start address: whether each is one
/// of [`PRINTS`]. A function is resolved once per process.
static KNOWN: Mutex<Vec<(usize, bool)>> = Mutex::new(Vec::new());

thread_local! {
    /// The blocks this thread's output capture moved out of a region, by
    /// layout, since [`take_moved_out`] last ran.
    static MOVED_OUT: RefCell<Vec<Layout>> = const { RefCell::new(Vec::new()) };
}

/// Whether the calling thread is inside std's print machinery: a growth of
/// libtest's output capture. Walks the stack with the thread outside any
/// budget (resolving a function allocates). Always false under Miri, whose
/// runs see the capture's growth as the body's.
pub(super) fn is_printing() -> bool {
    if cfg!(miri) {
        return false;
    }
    // Inside an allocator nothing may unwind: a panic here is a "no".
    let walk = || {
        let mut printing = false;
        let mut depth = 0;
        backtrace::trace(|frame| {
            printing = is_print(frame);
            depth += 1;
            !printing && depth < DEPTH
        });
        printing
    };
    scope::suspended(|| panic::catch_unwind(walk).unwrap_or(false))
}

/// Whether `frame` is in one of [`PRINTS`] (or has one inlined into it).
fn is_print(frame: &backtrace::Frame) -> bool {
    let function = frame.symbol_address().addr();
    let known = |known: &Vec<(usize, bool)>| {
        known
            .iter()
            .find(|(address, _)| *address == function)
            .map(|(_, print)| *print)
    };
    if let Some(print) = known(&KNOWN.lock().unwrap_or_else(PoisonError::into_inner)) {
        return print;
    }
    // Resolved without the lock held: resolving takes the backtrace crate's
    // own lock, which another thread may hold while it waits for this one.
    let mut print = false;
    backtrace::resolve_frame(frame, |symbol| {
        if let Some(name) = symbol.name() {
            let name = format!("{name:#}");
            print |= PRINTS.contains(&name.as_str());
        }
    });
    KNOWN
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push((function, print));
    print
}

/// Notes that the output capture moved a block of `layout` out of a region
/// of an earlier run.
pub(super) fn moved_out(layout: Layout) {
    // Pushing allocates: outside any budget.
    scope::suspended(|| {
        let _ = MOVED_OUT.try_with(|moved| moved.borrow_mut().push(layout));
    });
}

/// The blocks the calling thread's output capture moved out of regions
/// since the last call.
pub(super) fn take_moved_out() -> Vec<Layout> {
    MOVED_OUT
        .try_with(|moved| std::mem::take(&mut *moved.borrow_mut()))
        .unwrap_or_default()
}
