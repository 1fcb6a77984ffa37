//! End to end: the downstream crate (`tests/downstream`, a crate whose only
//! dependency is `fba`) runs its budget tests under `cargo test` and under
//! `cargo nextest run`; every verdict, number and message is checked.

use std::collections::BTreeMap;

use crate::nested::{self, attribute_line, root};

/// Runs cargo on the downstream crate (see [`nested::cargo`]).
fn cargo(args: &[&str]) -> (bool, String) {
    cargo_with_backtrace(args, "0")
}

/// As [`cargo`], with `RUST_BACKTRACE` set to `backtrace`.
fn cargo_with_backtrace(args: &[&str], backtrace: &str) -> (bool, String) {
    nested::cargo(
        &root().join("tests/downstream/Cargo.toml"),
        args,
        &[("RUST_BACKTRACE", backtrace)],
    )
}

/// Every test's binary (as nextest names it), name, expected status, and
/// text its output must contain.
fn expectations() -> Vec<(&'static str, String, bool, Vec<String>)> {
    let unit = expectations_of_unit_tests()
        .into_iter()
        .map(|(name, passes, texts)| ("downstream", format!("tests::{name}"), passes, texts));
    let global = expectations_of_global_tests()
        .into_iter()
        .map(|(name, passes, texts)| ("downstream::global", name.to_owned(), passes, texts));
    unit.chain(global).collect()
}

fn expectations_of_global_tests() -> Vec<(&'static str, bool, Vec<String>)> {
    let long_list = attribute_line(
        "tests/downstream/tests/global.rs",
        "global_builds_a_long_list",
    );
    let denies = attribute_line(
        "tests/downstream/tests/global.rs",
        "global_leaks_a_box_and_denies_leaks",
    );
    vec![
        (
            "global_formats_a_greeting",
            true,
            vec!["memory_budget global_formats_a_greeting: minimum 12 of 4096 bytes (0.3%) after a warm-up, 3 trials; \
                  peak 12 live bytes in 1 block, 1 allocation, largest 12 bytes"
                .into()],
        ),
        (
            "global_builds_a_long_list",
            false,
            vec![format!(
                "memory budget exceeded in global_builds_a_long_list: needs 100 bytes, budget is 64 bytes (+56.2%)\n\
                 first failing allocation: 100 bytes (align 1) with 0 of 64 bytes in use\n\
                 at the high-water mark of 100 bytes: 100 live, 0 freed but not reclaimed, 0 padding\n\
                 to accept it, write #[memory_budget(100)] at tests/global.rs:{long_list}"
            )],
        ),
        (
            "global_leaks_a_box",
            true,
            vec!["memory_budget global_leaks_a_box: minimum 32 of 4096 bytes (0.8%) after a warm-up, 3 trials; \
                  peak 32 live bytes in 1 block, 1 allocation, largest 32 bytes; \
                  1 block escaped (32 bytes): 32 bytes (align 1)"
                .into()],
        ),
        (
            "global_leaks_a_box_and_denies_leaks",
            false,
            vec![format!(
                "panicked at tests/global.rs:{denies}:1:\n\
                 memory budget test global_leaks_a_box_and_denies_leaks leaked: 1 block escaped (32 bytes): 32 bytes (align 1)"
            )],
        ),
        (
            "global_verified_by_failure",
            true,
            vec!["memory_budget global_verified_by_failure: minimum 100 of 4096 bytes (2.4%) after a warm-up, 3 trials; \
                  peak 100 live bytes in 1 block, 1 allocation, largest 100 bytes; verified by failure at 99 bytes"
                .into()],
        ),
        (
            "global_fails_its_own_assertion",
            false,
            vec!["assertion `left == right` failed: the greeting is wrong\n  left: \"Hello\"\n right: \"Goodbye\"".into()],
        ),
        (
            "global_worker_with_the_scope",
            true,
            // Spawning a thread allocates on the spawning thread: how much is
            // std's business; the worker's 2048 bytes are in the minimum.
            vec!["memory_budget global_worker_with_the_scope: minimum 2".into(), "largest 2048 bytes".into()],
        ),
    ]
}

fn expectations_of_unit_tests() -> Vec<(&'static str, bool, Vec<String>)> {
    let long_header = attribute_line("tests/downstream/src/lib.rs", "parses_a_long_header");
    let threads_over = attribute_line(
        "tests/downstream/src/lib.rs",
        "parses_on_four_threads_over_budget",
    );
    vec![
        (
            "fails_otherwise_when_short",
            true,
            vec!["memory_budget tests::fails_otherwise_when_short: minimum 1000 of 4096 bytes (24.4%), 3 trials".into()],
        ),
        (
            "global_mode_without_global_budget",
            false,
            vec!["fba::GlobalBudget is not the global allocator of this test binary; add these two lines once to \
                  the test crate (src/lib.rs for unit tests, the test file for an integration test):\n\n    \
                  #[global_allocator]\n    static GLOBAL: fba::GlobalBudget = fba::GlobalBudget::system();"
                .into()],
        ),
        (
            "parses_a_header",
            true,
            vec!["memory_budget tests::parses_a_header: minimum 128 of 4096 bytes (3.1%), 3 trials".into()],
        ),
        (
            "returns_ok",
            true,
            vec!["memory_budget tests::returns_ok: minimum 128 of 4096 bytes (3.1%), 3 trials".into()],
        ),
        (
            "parses_on_four_threads",
            true,
            vec!["memory_budget tests::parses_on_four_threads: minimum 512 of 4096 bytes (12.5%), 3 trials".into()],
        ),
        (
            "enforces_only",
            true,
            vec!["memory_budget tests::enforces_only: high-water mark 128 of 4096 bytes (3.1%), 1 trial (search off)".into()],
        ),
        (
            "parses_a_long_header",
            false,
            vec![format!(
                "memory budget exceeded in tests::parses_a_long_header: needs 512 bytes, budget is 256 bytes (+100.0%)\n\
                 first failing allocation: 512 bytes (align 8) with 256 of 256 bytes in use\n\
                 at the high-water mark of 512 bytes: 512 live, 0 freed but not reclaimed, 0 padding\n\
                 to accept it, write #[memory_budget(512)] at src/lib.rs:{long_header}"
            )],
        ),
        (
            "parses_on_four_threads_over_budget",
            false,
            vec![format!(
                "memory budget exceeded in tests::parses_on_four_threads_over_budget: needs 512 bytes, budget is 300 bytes (+70.7%)\n\
                 first failing allocation: 128 bytes (align 8) with 256 of 300 bytes in use\n\
                 at the high-water mark of 512 bytes: 512 live, 0 freed but not reclaimed, 0 padding\n\
                 to accept it, write #[memory_budget(512)] at src/lib.rs:{threads_over}"
            )],
        ),
        (
            "fails_for_another_reason",
            false,
            vec!["assertion `left == right` failed: the header has three fields\n  left: 3\n right: 4".into()],
        ),
        ("returns_err", false, vec!["Error: \"no colon in \\\"not a header line\\\"\"".into()]),
        (
            "grows_every_run",
            false,
            vec!["memory use of tests::grows_every_run is not deterministic: it passed with 4096 bytes and a high-water mark of 100 bytes, then failed with 100 bytes: an allocation did not fit".into()],
        ),
    ]
}

/// Checks `output` against every expectation; `status` reads a test's
/// pass/fail from the runner's output.
fn check(runner: &str, output: &str, status: impl Fn(&str, &str) -> Option<bool>) {
    let mut problems = BTreeMap::new();
    for (binary, test, passes, texts) in expectations() {
        match status(binary, &test) {
            Some(passed) if passed == passes => {}
            other => {
                problems.insert(
                    test.clone(),
                    format!(
                        "expected {}, runner said {other:?}",
                        if passes { "pass" } else { "fail" }
                    ),
                );
            }
        }
        for text in texts {
            if !output.contains(&text) {
                problems.insert(test.clone(), format!("output lacks {text:?}"));
            }
        }
    }
    // The other failures stay their own: only the budget tests' messages
    // talk about budgets.
    let assertion = output.find("the header has three fields").unwrap_or(0);
    let near = around(output, assertion, 400);
    if near.contains("memory budget exceeded in tests::fails_for_another_reason") {
        problems.insert(
            "fails_for_another_reason".into(),
            "dressed up as a budget failure".into(),
        );
    }
    // Trials expected to fail print nothing: no worker's budget panic, no
    // `BudgetExceeded` payload printed raw.
    for noise in [
        "memory budget exceeded: allocation of",
        "Box<dyn Any>",
        // A non-budget panic in a trial that is expected to fail.
        "quiet: the body cannot work without its 1000 bytes",
    ] {
        if output.contains(noise) {
            problems.insert(
                "quiet trials".into(),
                format!("the output contains {noise:?}"),
            );
        }
    }
    // The worker's 2048 bytes are in the minimum; what spawning it costs is
    // std's business.
    let worker = output
        .lines()
        .find_map(|line| line.strip_prefix("memory_budget global_worker_with_the_scope: minimum "))
        .and_then(|rest| rest.split(' ').next()?.parse::<usize>().ok());
    if worker.is_none_or(|minimum| minimum <= 2048) {
        problems.insert(
            "global_worker_with_the_scope".into(),
            format!("minimum {worker:?}, not above 2048"),
        );
    }
    assert!(
        problems.is_empty(),
        "{runner}: {problems:#?}\n--- output ---\n{output}"
    );
}

#[test]
fn downstream_crate_under_cargo_test() {
    let (success, output) = cargo(&[
        "test",
        "--no-fail-fast",
        "--",
        "--show-output",
        "--test-threads=4",
    ]);
    assert!(!success, "some downstream tests fail on purpose:\n{output}");
    check("cargo test", &output, |_binary, test| {
        let line = output
            .lines()
            .find(|line| line.starts_with(&format!("test {test} ... ")))?;
        Some(line.ends_with(" ok"))
    });
}

#[test]
fn downstream_crate_under_cargo_nextest() {
    let (success, output) = cargo(&[
        "nextest",
        "run",
        "--no-fail-fast",
        "--success-output=final",
        "--failure-output=final",
        "--color=never",
    ]);
    assert!(!success, "some downstream tests fail on purpose:\n{output}");
    let output = nested::unindented(&output);
    check("cargo nextest run", &output, |binary, test| {
        let name = format!("{binary} {test}");
        let line = output.lines().find(|line| {
            line.trim_end().ends_with(&name) && (line.contains("PASS") || line.contains("FAIL"))
        })?;
        Some(line.contains("PASS"))
    });
}

#[test]
fn a_failing_assertion_keeps_its_message_under_rust_backtrace_1() {
    let (success, output) = cargo_with_backtrace(
        &[
            "test",
            "--test",
            "global",
            "--",
            "global_fails_its_own_assertion",
            "--exact",
        ],
        "1",
    );
    assert!(!success, "{output}");
    assert!(
        output.contains("assertion `left == right` failed: the greeting is wrong"),
        "{output}"
    );
    assert!(
        output.contains("stack backtrace:"),
        "RUST_BACKTRACE=1 prints the backtrace:\n{output}"
    );
    // The backtrace's allocations (std's cache) are not charged to the
    // body: the failure is the assertion's alone.
    assert!(!output.contains("memory budget"), "{output}");
}

/// The text within `reach` bytes of `at`, cut at character boundaries.
fn around(text: &str, at: usize, reach: usize) -> &str {
    let mut start = at.saturating_sub(reach);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (at + reach).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    &text[start..end]
}
