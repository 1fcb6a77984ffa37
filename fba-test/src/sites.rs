//! Where the bytes go. One diagnostic run of a body records every block with
//! the stack that allocated it (a [`Recorder`], which the allocator tells of
//! its blocks as an fba-core `Observer`); the record is then replayed to the
//! moment the high-water mark was first reached, and the blocks live then,
//! and those freed but not reclaimed, are grouped by the place in the user's
//! code that allocated them. Stacks are captured unresolved and resolved
//! once per distinct stack, after the run; measuring trials record nothing.

use std::alloc::Layout;
use std::collections::{BTreeMap, HashMap};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::ptr::NonNull;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use backtrace::Backtrace;
use fba_core::Observer;

use crate::global;
use crate::measurement::{AllocationSite, Frame, Sites};

/// The most blocks of one run whose stacks are captured; past that, blocks
/// are counted without a place.
const MAX_STACKS: usize = 100_000;
/// The most events one run records; past that, recording stops (and the
/// picture is of the last moment recorded).
const MAX_EVENTS: usize = 10_000_000;
/// The most frames a site's stack keeps.
const MAX_FRAMES: usize = 64;

/// What happened to a block, with offsets from the buffer's start.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Event {
    Allocated {
        offset: usize,
        size: usize,
        align: usize,
        stack: Option<usize>,
    },
    Freed {
        offset: usize,
    },
    Resized {
        offset: usize,
        old: usize,
        new: usize,
    },
    Reset,
}

/// What a run did, in order, each event with the bytes in use after it.
#[derive(Default)]
pub(crate) struct Record {
    pub(crate) events: Vec<(Event, usize)>,
    pub(crate) stacks: Vec<Backtrace>,
}

/// Told of every block of the allocator it observes, while started, until
/// the bytes in use reach the high-water mark it is to explain (nothing
/// after that moment is in the picture).
pub(crate) struct Recorder {
    /// The buffer's start: events keep offsets from it.
    base: AtomicUsize,
    /// The high-water mark of the measuring runs (`usize::MAX`: unknown).
    mark: AtomicUsize,
    started: AtomicBool,
    record: Mutex<Record>,
    /// The allocations whose stacks are wanted, by their number in the run
    /// (from 1, sorted); empty: every allocation's.
    picks: Mutex<Vec<usize>>,
    /// The allocations told since the start.
    allocations: AtomicUsize,
}

impl Recorder {
    pub(crate) const fn new() -> Recorder {
        Recorder {
            base: AtomicUsize::new(0),
            mark: AtomicUsize::new(usize::MAX),
            started: AtomicBool::new(false),
            record: Mutex::new(Record {
                events: Vec::new(),
                stacks: Vec::new(),
            }),
            picks: Mutex::new(Vec::new()),
            allocations: AtomicUsize::new(0),
        }
    }

    /// A recorder of the stacks of the allocations numbered `ordinals`
    /// (from 1) only, through the whole run: where the allocations that
    /// failure injection failed were made.
    pub(crate) fn picking(mut ordinals: Vec<usize>) -> Recorder {
        ordinals.sort_unstable();
        let recorder = Recorder::new();
        recorder.pick(ordinals);
        recorder
    }

    /// Captures the stacks of the allocations numbered `ordinals` (sorted)
    /// only, and records through the whole run.
    pub(crate) fn pick(&self, ordinals: Vec<usize>) {
        self.mark.store(usize::MAX, Ordering::Relaxed);
        *self
            .picks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = ordinals;
    }

    /// Whether the stack of allocation `ordinal` is wanted.
    fn wants(&self, ordinal: usize) -> bool {
        let picks = self
            .picks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        picks.is_empty() || picks.binary_search(&ordinal).is_ok()
    }

    /// A recorder of the whole run that captures no stack: how the buffer
    /// filled (`FBA_PROFILE`).
    pub(crate) fn profiling() -> Recorder {
        // Allocations are numbered from 1: wanting only number 0 wants none.
        Recorder::picking(vec![0])
    }

    /// A recorder of the run whose high-water mark is to be `mark`.
    pub(crate) fn explaining(mark: usize) -> Recorder {
        let recorder = Recorder::new();
        recorder.mark.store(mark, Ordering::Relaxed);
        recorder
    }

    /// Explains the high-water mark `mark` from now on.
    pub(crate) fn aim(&self, mark: usize) {
        self.mark.store(mark, Ordering::Relaxed);
        self.picks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }

    /// Starts recording the blocks of a buffer that starts at `base`.
    pub(crate) fn start(&self, base: usize) {
        drop(self.take());
        self.allocations.store(0, Ordering::Relaxed);
        self.base.store(base, Ordering::Relaxed);
        self.started.store(true, Ordering::Release);
    }

    /// Stops recording and hands over what was recorded.
    pub(crate) fn take(&self) -> Record {
        self.started.store(false, Ordering::Release);
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Record> {
        self.record
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records `event` (and the stack that allocated, for an allocation).
    /// Runs inside allocators, the global one included: outside any budget,
    /// and never unwinding into the allocator.
    fn record(&self, event: impl FnOnce(usize) -> Event, stack: bool, used: usize) {
        if !self.started.load(Ordering::Acquire) {
            return;
        }
        let recorded = panic::catch_unwind(AssertUnwindSafe(|| {
            global::suspended(|| {
                let room = self.lock().stacks.len() < MAX_STACKS;
                // The stack is captured before the lock is taken: another
                // thread's event never waits for it.
                let captured = (stack && room).then(Backtrace::new_unresolved);
                let mut record = self.lock();
                let mut event = event(self.base.load(Ordering::Relaxed));
                if let (Event::Allocated { stack, .. }, Some(captured)) = (&mut event, captured) {
                    record.stacks.push(captured);
                    *stack = Some(record.stacks.len() - 1);
                }
                record.events.push((event, used));
                if used == self.mark.load(Ordering::Relaxed) || record.events.len() >= MAX_EVENTS {
                    self.started.store(false, Ordering::Release);
                }
            })
        }));
        // A record that could not be made leaves a gap, never a panic inside
        // an allocator.
        drop(recorded);
    }
}

impl Observer for Recorder {
    fn allocated(&self, block: NonNull<u8>, layout: Layout, used: usize) {
        if !self.started.load(Ordering::Acquire) {
            return;
        }
        let address = block.as_ptr().addr();
        let ordinal = self.allocations.fetch_add(1, Ordering::Relaxed) + 1;
        self.record(
            |base| Event::Allocated {
                offset: address - base,
                size: layout.size(),
                align: layout.align(),
                stack: None,
            },
            self.wants(ordinal),
            used,
        );
    }

    fn freed(&self, block: NonNull<u8>, _layout: Layout, used: usize) {
        let address = block.as_ptr().addr();
        self.record(
            |base| Event::Freed {
                offset: address - base,
            },
            false,
            used,
        );
    }

    fn resized(&self, block: NonNull<u8>, old: Layout, new: Layout, used: usize) {
        let address = block.as_ptr().addr();
        self.record(
            |base| Event::Resized {
                offset: address - base,
                old: old.size(),
                new: new.size(),
            },
            false,
            used,
        );
    }

    fn reset(&self) {
        self.record(|_| Event::Reset, false, 0);
    }
}

/// A piece of the buffer at the high-water mark: its bytes and the stack
/// of the allocation it belongs to.
type Piece = (usize, Option<usize>);

/// The live pieces and the freed ones when the bytes in use first reached
/// `high_water` (or, where no event shows it, such as under threads, first
/// came closest below it).
fn at_high_water(events: &[(Event, usize)], high_water: usize) -> (Vec<Piece>, Vec<Piece>) {
    let reached = events
        .iter()
        .position(|(_, used)| *used == high_water)
        .or_else(|| {
            let closest = events
                .iter()
                .map(|(_, used)| *used)
                .filter(|used| *used <= high_water)
                .max()?;
            events.iter().position(|(_, used)| *used == closest)
        });
    let Some(reached) = reached else {
        return (Vec::new(), Vec::new());
    };
    // By offset, so that the pieces (and the stack a site shows) come in
    // address order every time.
    let mut live: BTreeMap<usize, Piece> = BTreeMap::new();
    let mut freed: Vec<Piece> = Vec::new();
    for (event, used) in &events[..=reached] {
        match *event {
            Event::Allocated {
                offset,
                size,
                stack,
                ..
            } => {
                live.insert(offset, (size, stack));
            }
            Event::Freed { offset, .. } => {
                // A free that moved the end back leaves nothing behind.
                if let Some(piece) = live.remove(&offset)
                    && *used != offset
                {
                    freed.push(piece);
                }
            }
            Event::Resized { offset, old, new } => {
                if let Some(piece) = live.get_mut(&offset) {
                    piece.0 = new;
                    if new < old && *used != offset + new {
                        freed.push((old - new, piece.1));
                    }
                }
            }
            Event::Reset => {
                live.clear();
                freed.clear();
            }
        }
    }
    (live.into_values().collect(), freed)
}

/// The sites of a run recorded in `record` whose high-water mark was
/// `high_water`.
pub(crate) fn sites(record: Record, high_water: usize) -> Sites {
    let (live, freed) = at_high_water(&record.events, high_water);
    let mut stacks = Stacks::new(record.stacks);
    let live = stacks.group(&live);
    let freed = stacks.group(&freed);
    let lines = live.iter().chain(&freed).any(|site| {
        site.frame
            .as_ref()
            .is_some_and(|frame| frame.line.is_some())
    });
    Sites {
        live,
        freed,
        high_water_mark: high_water,
        lines: lines || (stacks.resolved.is_empty()),
    }
}

/// An allocation of a run, picked by its number: its layout and where it
/// was made.
#[derive(Clone, Debug)]
pub(crate) struct Picked {
    pub(crate) ordinal: usize,
    pub(crate) layout: Layout,
    /// The first frame in the user's code, where the package's own code
    /// called it when it is a dependency's ([`caller`]), and the whole stack.
    pub(crate) frame: Option<Frame>,
    pub(crate) caller: Option<Frame>,
    pub(crate) frames: Vec<Frame>,
}

/// The allocations of a run recorded by a [`Recorder::picking`] recorder.
pub(crate) fn picked(record: Record) -> Vec<Picked> {
    let mut stacks = Stacks::new(record.stacks);
    let mut picked = Vec::new();
    let mut ordinal = 0;
    for (event, _) in &record.events {
        if let Event::Allocated {
            size, align, stack, ..
        } = *event
        {
            ordinal += 1;
            if stack.is_some() {
                let Located {
                    frame,
                    caller,
                    frames,
                } = stacks.place(stack);
                picked.push(Picked {
                    ordinal,
                    layout: Layout::from_size_align(size, align).unwrap_or(Layout::new::<u8>()),
                    frame,
                    caller,
                    frames,
                });
            }
        }
    }
    picked
}

/// Where a stack allocated: its place (the first frame in the user's code),
/// the package's frame that called it when the place is a dependency's
/// ([`caller`]), and the whole stack.
#[derive(Clone, Default)]
struct Located {
    frame: Option<Frame>,
    caller: Option<Frame>,
    frames: Vec<Frame>,
}

/// Stacks, resolved once per distinct list of instruction pointers.
struct Stacks {
    pub(crate) stacks: Vec<Backtrace>,
    resolved: HashMap<Vec<usize>, Located>,
    /// The package's directory: files inside it are shown relative to it.
    root: Option<std::path::PathBuf>,
}

impl Stacks {
    fn new(stacks: Vec<Backtrace>) -> Stacks {
        Stacks {
            stacks,
            resolved: HashMap::new(),
            // Under Miri's isolation `getcwd` stops the whole run instead
            // of failing, so there the files are shown as debug info has
            // them.
            root: if cfg!(miri) {
                None
            } else {
                std::env::current_dir().ok()
            },
        }
    }

    /// Where stack `id` allocated.
    fn place(&mut self, id: Option<usize>) -> Located {
        let Some(stack) = id.and_then(|id| self.stacks.get(id)) else {
            return Located::default();
        };
        let key: Vec<usize> = stack
            .frames()
            .iter()
            .map(|frame| frame.ip().addr())
            .collect();
        if let Some(found) = self.resolved.get(&key) {
            return found.clone();
        }
        let mut stack = stack.clone();
        stack.resolve();
        let frames: Vec<Frame> = stack
            .frames()
            .iter()
            .flat_map(|frame| frame.symbols())
            .map(|symbol| Frame {
                function: symbol.name().map(|name| clean(&format!("{name:#}"))),
                file: symbol.filename().map(|file| self.shown(file)),
                line: symbol.lineno(),
            })
            // The capture's own frames (and unnamed ones before the first
            // named frame after them) are not the stack's.
            .skip_while(|frame| frame.function.as_deref().is_none_or(machinery))
            .take(MAX_FRAMES)
            .collect();
        let frame = frames.iter().find(|frame| users(frame)).cloned();
        let found = Located {
            caller: frame.as_ref().and_then(|frame| caller(frame, &frames)),
            frame,
            frames,
        };
        self.resolved.insert(key, found.clone());
        found
    }

    /// `file` as a message shows it: relative to the package when inside.
    fn shown(&self, file: &Path) -> String {
        self.root
            .as_deref()
            .and_then(|root| file.strip_prefix(root).ok())
            .unwrap_or(file)
            .display()
            .to_string()
    }

    /// The sites of `pieces`, largest first.
    fn group(&mut self, pieces: &[Piece]) -> Vec<AllocationSite> {
        let mut sites: Vec<AllocationSite> = Vec::new();
        let mut by_place: HashMap<(Option<Frame>, Option<Frame>), usize> = HashMap::new();
        for (bytes, stack) in pieces {
            let Located {
                frame,
                caller,
                frames,
            } = self.place(*stack);
            let key = (frame, caller);
            match by_place.get(&key) {
                Some(&index) => {
                    sites[index].bytes += bytes;
                    sites[index].blocks += 1;
                }
                None => {
                    by_place.insert(key.clone(), sites.len());
                    let (frame, caller) = key;
                    sites.push(AllocationSite {
                        bytes: *bytes,
                        blocks: 1,
                        frame,
                        caller,
                        frames,
                    });
                }
            }
        }
        sites.sort_by(|a, b| {
            b.bytes.cmp(&a.bytes).then_with(|| {
                (
                    a.frame.as_ref().map(place_key),
                    a.caller.as_ref().map(place_key),
                )
                    .cmp(&(
                        b.frame.as_ref().map(place_key),
                        b.caller.as_ref().map(place_key),
                    ))
            })
        });
        sites
    }
}

/// Where the package's own code called the dependency that `place` is in:
/// the first frame of the package's after it in `frames` (innermost first).
/// `None` when `place` is not in a dependency's source.
fn caller(place: &Frame, frames: &[Frame]) -> Option<Frame> {
    let in_dependency = |frame: &Frame| frame.file.as_deref().is_some_and(dependency_file);
    if !in_dependency(place) {
        return None;
    }
    let at = frames.iter().position(|frame| frame == place)?;
    frames[at + 1..]
        .iter()
        .find(|frame| users(frame) && !in_dependency(frame))
        .cloned()
}

fn place_key(frame: &Frame) -> (Option<&str>, Option<u32>, Option<&str>) {
    (frame.file.as_deref(), frame.line, frame.function.as_deref())
}

/// A function name without the generated runner the attribute wraps the
/// user's function in (`tests::__fba_run_parses::parses` is
/// `tests::parses`).
fn clean(name: &str) -> String {
    let mut cleaned = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(at) = rest.find("::__fba_run_") {
        cleaned.push_str(&rest[..at]);
        let after = &rest[at + "::__fba_run_".len()..];
        rest = match after.find("::") {
            Some(end) => &after[end..],
            None => "",
        };
    }
    cleaned.push_str(rest);
    cleaned
}

/// The crate a function name belongs to: `std` for `std::vec::..`,
/// `alloc` for `<alloc::vec::Vec<T> as ..>::from_iter`.
fn crate_of(name: &str) -> &str {
    let name = name.trim_start_matches('<');
    let name = name
        .trim_start_matches("&mut ")
        .trim_start_matches('&')
        .trim_start_matches("dyn ");
    name.split("::").next().unwrap_or(name)
}

/// Frames of the capture itself and of the allocators' bookkeeping.
fn machinery(name: &str) -> bool {
    matches!(crate_of(name), "backtrace" | "fba_test" | "fba_core")
}

/// Whether a frame is in the user's code: a Rust function outside the
/// libraries (by its crate, or, where debug info names a function without
/// its path, by its file). C's functions (the thread start) are not.
fn users(frame: &Frame) -> bool {
    let Some(name) = frame.function.as_deref() else {
        return false;
    };
    match frame.file.as_deref() {
        Some(file) => file.ends_with(".rs") && !library(name) && !library_file(file),
        None => name.contains("::") && !library(name),
    }
}

/// Frames outside the user's code: the standard library (and the map it is
/// built on), allocator-api2, and fba.
fn library(name: &str) -> bool {
    matches!(
        crate_of(name),
        "std"
            | "core"
            | "alloc"
            | "hashbrown"
            | "allocator_api2"
            | "fba"
            | "fba_core"
            | "fba_test"
            | "backtrace"
            | "test"
            | "__rustc" // std's symbols (`__rust_start_panic`), and the allocator shims
                        // `#[global_allocator]` writes into the user's crate, which Miri names
                        // by that path (`my_crate::_::__rust_alloc`).
    ) || name
        .rsplit("::")
        .next()
        .is_some_and(|last| last.starts_with("__rust"))
        || matches!(
            name,
            "rust_begin_unwind" | "rust_panic" | "rust_eh_personality"
        )
}

/// Source files of dependencies that cargo downloaded: a registry's crates
/// (`~/.cargo/registry/src/..`) and git checkouts (`~/.cargo/git/checkouts/..`).
fn dependency_file(file: &str) -> bool {
    let file = file.replace('\\', "/");
    file.contains("/registry/src/") || file.contains("/git/checkouts/")
}

/// Source files of those libraries: the standard library's, and the
/// crates' own (`fba-core/src/..`, `.cargo/registry/../hashbrown-0.16.0/..`).
fn library_file(file: &str) -> bool {
    const CRATES: [&str; 6] = [
        "fba-core",
        "fba-test",
        "fba-macros",
        "allocator-api2",
        "hashbrown",
        "backtrace",
    ];
    file.contains("/rustc/")
        || file.contains("/lib/rustlib/")
        || Path::new(file).components().any(|component| {
            let component = component.as_os_str().to_string_lossy();
            CRATES.iter().any(|name| {
                component.strip_prefix(name).is_some_and(|rest| {
                    rest.is_empty()
                        || rest.strip_prefix('-').is_some_and(|version| {
                            version.starts_with(|c: char| c.is_ascii_digit())
                        })
                })
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_the_generated_runner() {
        assert_eq!(
            clean("downstream::tests::__fba_run_parses::parses"),
            "downstream::tests::parses"
        );
        assert_eq!(clean("a::__fba_run_x::x::{{closure}}"), "a::x::{{closure}}");
        assert_eq!(clean("plain::name"), "plain::name");
    }

    #[test]
    fn library_frames_are_told_from_the_users() {
        for name in [
            "alloc::raw_vec::RawVec<T,A>::grow_one",
            "<alloc::vec::Vec<T> as core::iter::traits::collect::FromIterator<T>>::from_iter",
            "hashbrown::raw::RawTableInner::fallible_with_capacity",
            "<&fba_core::fixed::FixedBufferAllocator as allocator_api2::stable::alloc::Allocator>::allocate",
            "__rustc::__rust_alloc",
            "my_crate::tests::_::__rust_alloc",
            "my_crate::_::__rust_realloc",
            "std::panicking::try",
            "rust_begin_unwind",
        ] {
            assert!(library(name), "{name}");
        }
        assert!(
            !library("rust_decimal::Decimal::new"),
            "crates named rust_* are not std's"
        );
        let frame = |function: &str, file: Option<&str>| Frame {
            function: Some(function.to_owned()),
            file: file.map(str::to_owned),
            line: file.map(|_| 1),
        };
        for name in [
            "my_crate::parse_header",
            "<my_crate::Header as core::fmt::Display>::fmt",
        ] {
            assert!(users(&frame(name, Some("src/lib.rs"))), "{name}");
            assert!(users(&frame(name, None)), "{name}");
        }
        // Without debug info for paths, a name alone, told by its file.
        assert!(users(&frame("parse_header", Some("src/lib.rs"))));
        for (name, file) in [
            (
                "trace_unsynchronized<backtrace::capture::Backtrace>",
                Some(
                    "/home/u/.cargo/registry/src/index.crates.io-1/backtrace-0.3.77/src/backtrace/mod.rs",
                ),
            ),
            (
                "grow_one<u8>",
                Some(
                    "/rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/alloc/src/raw_vec.rs",
                ),
            ),
            ("allocate_block", Some("/work/fba/fba-core/src/fixed.rs")),
            ("start_thread", Some("./nptl/pthread_create.c")),
            ("start_thread", None),
        ] {
            assert!(!users(&frame(name, file)), "{name} in {file:?}");
        }
        for file in [
            "/home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/serde_json-1.0.145/src/de.rs",
            "/home/u/.cargo/git/checkouts/regex-4f0a1c2e/a1b2c3d/regex-automata/src/nfa.rs",
            r"C:\Users\u\.cargo\registry\src\index.crates.io-1\bytes-1.0.0\src\lib.rs",
        ] {
            assert!(dependency_file(file), "{file}");
        }
        for file in [
            "src/lib.rs",
            "tests/real.rs",
            "/work/app/crates/parser/src/lib.rs",
        ] {
            assert!(!dependency_file(file), "{file}");
        }
        assert!(
            !library_file("/work/backtrace-demo/src/lib.rs"),
            "a crate named like a library is the user's"
        );
    }

    #[test]
    fn a_place_in_a_dependency_has_the_packages_first_frame_after_it_as_caller() {
        let frame = |function: &str, file: &str| Frame {
            function: Some(function.to_owned()),
            file: Some(file.to_owned()),
            line: Some(1),
        };
        let registry = "/home/u/.cargo/registry/src/index.crates.io-1";
        let grow = frame(
            "alloc::raw_vec::finish_grow",
            "/rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/alloc/src/raw_vec.rs",
        );
        let nfa = frame(
            "regex_automata::nfa::Inner::add",
            &format!("{registry}/regex-automata-0.4.19/src/nfa.rs"),
        );
        let builder = frame(
            "regex::builders::Builder::build",
            &format!("{registry}/regex-1.12.2/src/builders.rs"),
        );
        let test = frame("app::tests::dates", "src/lib.rs");
        let frames = [grow, nfa.clone(), builder, test.clone()];
        // The place is the first frame outside the libraries: regex-automata's.
        let place = frames.iter().find(|frame| users(frame)).unwrap();
        assert_eq!(place, &nfa);
        // The caller skips the other dependency (regex) to the package's test.
        assert_eq!(caller(place, &frames), Some(test.clone()));
        // A place in the package's own code has no caller.
        assert_eq!(caller(&test, &frames), None);
        // Nor does a dependency's place that nothing of the package called.
        assert_eq!(caller(&nfa, &frames[..3]), None);
    }

    /// A block's events, for a buffer whose start is offset 0.
    fn allocated(offset: usize, size: usize, stack: usize, used: usize) -> (Event, usize) {
        (
            Event::Allocated {
                offset,
                size,
                align: 1,
                stack: Some(stack),
            },
            used,
        )
    }

    #[test]
    fn the_replay_stops_where_the_high_water_mark_is_first_reached() {
        // A (16 bytes) and B (8) are allocated; B is freed (it is the last:
        // the end moves back), C (32) is allocated where B was, A is freed
        // (not the last: its bytes stay), and D (4) is allocated at the end:
        // the high-water mark of 52 bytes, with C and D live and A freed.
        let events = [
            allocated(0, 16, 0, 16),
            allocated(16, 8, 1, 24),
            (Event::Freed { offset: 16 }, 16),
            allocated(16, 32, 2, 48),
            (Event::Freed { offset: 0 }, 48),
            allocated(48, 4, 3, 52),
            (Event::Freed { offset: 48 }, 48),
        ];
        let (mut live, freed) = at_high_water(&events, 52);
        live.sort();
        assert_eq!(live, [(4, Some(3)), (32, Some(2))]);
        assert_eq!(freed, [(16, Some(0))]);
    }

    #[test]
    fn a_shrink_that_cannot_move_the_end_back_leaves_its_tail_freed() {
        // A (16) shrinks to 4 while B (8) is after it, then C (8) comes.
        let events = [
            allocated(0, 16, 0, 16),
            allocated(16, 8, 1, 24),
            (
                Event::Resized {
                    offset: 0,
                    old: 16,
                    new: 4,
                },
                24,
            ),
            allocated(24, 8, 2, 32),
        ];
        let (live, freed) = at_high_water(&events, 24);
        assert_eq!(
            freed,
            [] as [Piece; 0],
            "24 bytes were first reached before the shrink"
        );
        assert_eq!(live.len(), 2);
        let (mut live, freed) = at_high_water(&events, 32);
        live.sort();
        assert_eq!(live, [(4, Some(0)), (8, Some(1)), (8, Some(2))]);
        assert_eq!(freed, [(12, Some(0))]);
        // Under threads a run's events may never show its high-water mark:
        // the closest below it stands in.
        assert_eq!(at_high_water(&events, 40).1, [(12, Some(0))]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 256,
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// Whatever the allocations, frees, grows and shrinks, the pieces
        /// the replay finds at the high-water mark are the allocator's own
        /// breakdown of it.
        #[test]
        fn the_replay_at_the_high_water_mark_is_the_allocators_breakdown(
            ops in proptest::collection::vec(
                (0..4u8, 1..64usize, 0..4u32, proptest::prelude::any::<usize>()),
                1..60,
            ),
        ) {
            use allocator_api2::vec::Vec as Blocks;
            use fba_core::FixedBufferAllocator;
            use std::mem::MaybeUninit;

            /// A block of bytes or of words (aligned to 8).
            enum Block<'a> {
                Bytes(Blocks<u8, &'a FixedBufferAllocator<'a>>),
                Words(Blocks<u64, &'a FixedBufferAllocator<'a>>),
            }

            let recorder = Recorder::new();
            let mut memory = vec![MaybeUninit::<u8>::uninit(); 4096];
            recorder.start(memory.as_ptr().addr());
            let mut alloc = FixedBufferAllocator::new(&mut memory);
            alloc.set_observer(Some(&recorder));
            let alloc = &alloc;
            let mut blocks: Vec<Block<'_>> = Vec::new();
            for (op, size, kind, pick) in ops {
                // Growing past the buffer fails: the policy is `Error`.
                let index = pick % blocks.len().max(1);
                match op {
                    0 => {
                        let block = if kind % 2 == 0 {
                            let mut bytes = Blocks::new_in(alloc);
                            bytes.try_reserve_exact(size).ok().map(|()| Block::Bytes(bytes))
                        } else {
                            let mut words = Blocks::new_in(alloc);
                            words.try_reserve_exact(size / 8 + 1).ok().map(|()| Block::Words(words))
                        };
                        blocks.extend(block);
                    }
                    _ if blocks.is_empty() => {}
                    1 => drop(blocks.swap_remove(index)),
                    2 => match &mut blocks[index] {
                        Block::Bytes(bytes) => drop(bytes.try_reserve_exact(bytes.capacity() + size)),
                        Block::Words(words) => drop(words.try_reserve_exact(words.capacity() + size / 8 + 1)),
                    },
                    _ => match &mut blocks[index] {
                        Block::Bytes(bytes) => bytes.shrink_to(bytes.capacity() / 2),
                        Block::Words(words) => words.shrink_to(words.capacity() / 2),
                    },
                }
            }
            let stats = alloc.stats();
            drop(blocks);
            let record = recorder.take();
            let (live, freed) = at_high_water(&record.events, stats.high_water_mark);
            let sum = |pieces: &[Piece]| pieces.iter().map(|(bytes, _)| bytes).sum::<usize>();
            proptest::prop_assert_eq!(sum(&live), stats.at_high_water.live_bytes);
            proptest::prop_assert_eq!(sum(&freed), stats.at_high_water.freed_bytes);
        }
    }
}
