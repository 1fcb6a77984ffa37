//! The attribute against any input: generated attribute arguments (every
//! option with every kind of value, random token trees) on generated items
//! (real test functions, truncated and shuffled, and random token trees).
//! The expansion must never panic, and must return tokens that parse as
//! items: the test, or the item with `compile_error!`s beside it.
//! `FBA_MACRO_FUZZ_CASES` sets how many cases run (default 10,000).

use proc_macro2::{TokenStream, TokenTree};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::expand::expand;

/// Names the attribute does not take: of other macros' options, near
/// misses, keywords.
const UNKNOWN_NAMES: &[&str] = &[
    "case",
    "flavor",
    "worker_threads",
    "allocation",
    "self",
    "r#type",
    "_",
];

/// The attribute's options, then names it does not take.
fn names() -> Vec<&'static str> {
    crate::parse::OPTION_NAMES
        .iter()
        .chain(UNKNOWN_NAMES)
        .copied()
        .collect()
}

/// Values of every kind an option could be given.
const VALUES: &[&str] = &[
    "0",
    "1",
    "4096",
    "4096usize",
    "4096u8",
    "-1",
    "18446744073709551616",
    "1.5",
    "1e3",
    "true",
    "false",
    "\"allow\"",
    "\"deny\"",
    "\"\"",
    "\"other\"",
    "b\"x\"",
    "'c'",
    "LIMIT",
    "fba",
    "::fba",
    "my::fba",
    "(1)",
    "[1, 2]",
    "{ 3 }",
    "1 + 2",
    "usize::MAX",
    "- -",
    "=",
    ",",
    "None",
];

/// Test functions as users write them, and items that are not functions.
const ITEMS: &[&str] = &[
    "fn parses(alloc: &FixedBufferAllocator) { let _ = alloc; }",
    "fn parses(alloc: &FixedBufferAllocator<'_>) -> Result<(), String> { Ok(()) }",
    "fn shares(alloc: &ThreadSafeFixedBufferAllocator) {}",
    "fn global() { let v = vec![1, 2, 3]; assert_eq!(v.len(), 3); }",
    "#[ignore] /// docs\nfn ignored() {}",
    "#[tokio::test] async fn runs_async() {}",
    "#[rstest] #[case(1)] #[case(2)] fn cases(#[case] n: usize) { let _ = n; }",
    "#[test_case(1 ; \"one\")] fn cased(n: u32) {}",
    "#[should_panic] fn panics() { panic!() }",
    "fn generic<T>(alloc: &FixedBufferAllocator) {}",
    "fn returns() -> impl Sized {}",
    "fn two(a: &FixedBufferAllocator, b: &FixedBufferAllocator) {}",
    "fn by_value(alloc: FixedBufferAllocator) {}",
    "fn by_mut(alloc: &mut FixedBufferAllocator) {}",
    "fn receiver(&self) {}",
    "pub(crate) unsafe extern \"C\" fn odd() {}",
    "const fn constant() {}",
    "async fn not_a_test() {}",
    "fn pattern((a, b): (u8, u8)) {}",
    "fn variadic_ish(_: &FixedBufferAllocator) {}",
    "struct NotAFunction;",
    "const LIMIT: usize = 4096;",
    "impl Foo { fn f() {} }",
    "mod tests { fn inner() {} }",
    "macro_rules! m { () => {} }",
    "extern crate alloc;",
    "use std::vec::Vec;",
];

/// Random token trees: words, literals, punctuation and groups.
fn token_tree() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        prop::sample::select(names()).prop_map(str::to_owned),
        prop::sample::select(VALUES).prop_map(str::to_owned),
        prop::sample::select(
            &[
                "fn", "async", "#", "!", "&", "'a", "::", "->", ";", "<", ">", "mut", "dyn", "impl"
            ][..]
        )
        .prop_map(str::to_owned),
        "[a-z_][a-z0-9_]{0,6}",
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        (
            prop::collection::vec(inner, 0..6),
            prop::sample::select(&[("(", ")"), ("[", "]"), ("{", "}")][..]),
        )
            .prop_map(|(trees, (open, close))| format!("{open}{}{close}", trees.join(" ")))
    })
}

/// Attribute arguments: a budget (or not), then options with values of
/// every kind, or random token trees.
fn args() -> impl Strategy<Value = String> {
    let option = prop_oneof![
        (prop::sample::select(names()), prop::sample::select(VALUES))
            .prop_map(|(name, value)| format!("{name} = {value}")),
        prop::sample::select(names()).prop_map(str::to_owned),
        token_tree(),
    ];
    prop_oneof![
        (
            prop::option::of(prop::sample::select(VALUES)),
            prop::collection::vec(option, 0..5),
            prop::sample::select(&[", ", " ", ",, ", "; "][..]),
        )
            .prop_map(|(budget, options, separator)| {
                let mut parts: Vec<String> = budget.map(str::to_owned).into_iter().collect();
                parts.extend(options);
                parts.join(separator)
            }),
        prop::collection::vec(token_tree(), 0..8).prop_map(|trees| trees.join(" ")),
    ]
}

/// Items: real ones, truncated or shuffled (at their top-level token
/// trees), or random token trees.
fn item() -> impl Strategy<Value = TokenStream> {
    let real = prop::sample::select(ITEMS).prop_map(|item| item.parse::<TokenStream>().unwrap());
    prop_oneof![
        4 => real.clone(),
        2 => (real.clone(), any::<prop::sample::Index>()).prop_map(|(item, cut)| {
            let trees: Vec<TokenTree> = item.into_iter().collect();
            let keep = cut.index(trees.len() + 1);
            trees.into_iter().take(keep).collect()
        }),
        2 => (real, any::<u64>()).prop_map(|(item, seed)| {
            let mut trees: Vec<TokenTree> = item.into_iter().collect();
            // A cheap shuffle from the seed (proptest shrinks the seed).
            let mut state = seed | 1;
            for i in (1..trees.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                trees.swap(i, (state % (i as u64 + 1)) as usize);
            }
            trees.into_iter().collect()
        }),
        1 => prop::collection::vec(token_tree(), 0..8)
            .prop_filter_map("tokens that lex", |trees| trees.join(" ").parse::<TokenStream>().ok()),
    ]
}

fn cases() -> u32 {
    std::env::var("FBA_MACRO_FUZZ_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(10_000)
}

#[test]
fn no_input_makes_the_attribute_panic_or_emit_tokens_that_do_not_parse() {
    let cases = cases();
    let mut runner = TestRunner::new(Config {
        cases,
        // Failures are reported with the input; nothing to persist.
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        args().prop_filter_map("arguments that lex", |args| {
            args.parse::<TokenStream>().ok()
        }),
        item(),
    );
    runner
        .run(&strategy, |(args, item)| {
            let expanded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                expand(args.clone(), item.clone())
            }));
            let expanded = expanded.map_err(|_| {
                TestCaseError::fail(format!("the expansion panicked on #[memory_budget({args})] {item}"))
            })?;
            syn::parse2::<syn::File>(expanded.clone()).map_err(|error| {
                TestCaseError::fail(format!(
                    "the expansion of #[memory_budget({args})] {item} does not parse as items ({error}):\n{expanded}"
                ))
            })?;
            Ok(())
        })
        .unwrap();
    println!(
        "the attribute's property test: {cases} generated inputs expanded, none panicked, every expansion parses"
    );
}
