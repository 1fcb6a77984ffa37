//! The `#[memory_budget(N)]` attribute of the `fba` crate.
//!
//! This crate parses and checks the attribute and the function it is on,
//! then emits a call into `fba`'s runtime (through `::fba::__private`). It
//! holds no search or reporting logic. Use it through `fba::memory_budget`.

mod expand;
#[cfg(test)]
mod fuzz;
mod parse;

use proc_macro::TokenStream;

/// Turns a function into a test that runs under a memory budget.
///
/// ```ignore
/// use fba::{memory_budget, FixedBufferAllocator};
///
/// #[memory_budget(4096)]
/// fn parses_a_header(alloc: &FixedBufferAllocator) {
///     let header = my_crate::parse_header(INPUT, alloc).unwrap();
///     assert_eq!(header.fields.len(), 3);
/// }
/// ```
///
/// The function gets a fixed buffer allocator of the budget's size. The test
/// fails when the body needs more, saying how much it needs and the
/// attribute to write instead; when it passes, the runtime finds the smallest
/// buffer it passes with and prints it.
///
/// - The budget: an integer literal (`4096`, `4_096`, `4096usize`) or a
///   constant expression of type `usize` (`4 * 1024`, a `const`).
/// - Options: `search = false` (enforce only: one trial), `runs = K` (K
///   measuring runs, the largest judged, for memory that depends on thread
///   timing), `crate = path` (where the `fba` crate is, when it is not
///   `::fba`); without a parameter also `cold = true` (measure the first run
///   in a fresh process, one-time state included), `leaks = "deny"` (escaped
///   blocks fail the test) and `verify = true` (prove the minimum by real
///   failure in child processes).
/// - The parameter: `&FixedBufferAllocator` or
///   `&ThreadSafeFixedBufferAllocator` (any name, any path to the type), or
///   none: then the body's allocations through the global allocator are
///   measured, with `fba::GlobalBudget` installed as the global allocator.
/// - The return type: `()` or `Result<(), E>` with `E: Debug`.
/// - `async fn`: driven on the runtime of a `#[tokio::test]` below the
///   attribute (built outside the budget), or on `fba::block_on`.
/// - Above `#[rstest]` or `#[test_case]`, the attribute is passed on to every
///   case they make: each case is a budget test.
/// - Other attributes (`#[ignore]`, `#[cfg_attr(..)]`, docs, lints) are kept;
///   `#[test]` is added, and a `#[test]` below the attribute is absorbed. A
///   `#[test]` above it would make a second test of the same function.
#[proc_macro_attribute]
pub fn memory_budget(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(args.into(), item.into()).into()
}
