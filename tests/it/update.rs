//! `FBA_UPDATE=1` on copies of `tests/update-fixture`: exactly the literals
//! that should change are rewritten (with and without `FBA_MARGIN`), a second
//! run with the new source passes with the same minimums, CI refuses updates,
//! `FBA_MAX_HEADROOM` fails stale budgets, and GitHub annotations point at the
//! attribute.

use std::path::{Path, PathBuf};

use crate::nested::{self, attribute_line, root};

/// A fresh copy of the fixture crate, its `fba` dependency made absolute.
/// Each copy gets its own package name: cargo names artifacts of path
/// packages after their name and relative path, so copies sharing a target
/// directory would otherwise share (stale) test binaries.
fn copy_fixture(name: &str) -> PathBuf {
    let fixture = root().join("tests/update-fixture");
    let copy = root().join("target/update-runs").join(name);
    let _ = std::fs::remove_dir_all(&copy);
    std::fs::create_dir_all(copy.join("src")).unwrap();
    let manifest = std::fs::read_to_string(fixture.join("Cargo.toml")).unwrap();
    let package = format!(r#"name = "update-fixture-{name}""#);
    let manifest = manifest
        .replace(
            r#"path = "../..""#,
            &format!("path = {:?}", root().display().to_string()),
        )
        .replace(r#"name = "update-fixture""#, &package);
    std::fs::write(copy.join("Cargo.toml"), manifest).unwrap();
    let lock = std::fs::read_to_string(fixture.join("Cargo.lock")).unwrap();
    std::fs::write(
        copy.join("Cargo.lock"),
        lock.replace(r#"name = "update-fixture""#, &package),
    )
    .unwrap();
    std::fs::copy(fixture.join("src/lib.rs"), copy.join("src/lib.rs")).unwrap();
    copy
}

/// `cargo test` in `crate_dir` with only the given `FBA_*`/CI variables set.
fn cargo_test(crate_dir: &Path, envs: &[(&str, &str)], test_args: &[&str]) -> (bool, String) {
    let mut args = vec!["test", "--"];
    args.extend_from_slice(test_args);
    nested::cargo(&crate_dir.join("Cargo.toml"), &args, envs)
}

fn source(crate_dir: &Path) -> String {
    std::fs::read_to_string(crate_dir.join("src/lib.rs")).unwrap()
}

/// The fixture's source with each `(from, to)` attribute replaced.
fn fixture_with(replacements: &[(&str, &str)]) -> String {
    let mut text = std::fs::read_to_string(root().join("tests/update-fixture/src/lib.rs")).unwrap();
    for (from, to) in replacements {
        assert!(text.contains(from), "{from}");
        text = text.replacen(from, to, 1);
    }
    text
}

#[test]
fn update_rewrites_exactly_the_literals_and_a_second_run_passes_with_the_same_minimums() {
    let copy = copy_fixture("exact");
    let (success, output) = cargo_test(
        &copy,
        &[("FBA_UPDATE", "1")],
        &["--test-threads=4", "--show-output"],
    );
    assert!(
        !success,
        "the constant budget cannot be updated, so its test fails:\n{output}"
    );
    for line in [
        format!(
            "memory_budget tests::too_large: budget updated from 4096 to 100 at src/lib.rs:{}",
            attribute_line("tests/update-fixture/src/lib.rs", "too_large")
        ),
        format!(
            "memory_budget tests::too_small: budget updated from 64 to 200 at src/lib.rs:{}",
            attribute_line("tests/update-fixture/src/lib.rs", "too_small")
        ),
        format!(
            "memory_budget tests::with_separators: budget updated from 4_096 to 40 at src/lib.rs:{}",
            attribute_line("tests/update-fixture/src/lib.rs", "with_separators")
        ),
        format!(
            "memory_budget tests::constant_too_small: budget not updated: the budget at src/lib.rs:{} is a constant or an expression, not an integer literal: only literals are rewritten; write 300 there yourself",
            attribute_line("tests/update-fixture/src/lib.rs", "constant_too_small")
        ),
        format!(
            "memory_budget tests::global_too_large: budget updated from 2048 to 100 at src/lib.rs:{}",
            attribute_line("tests/update-fixture/src/lib.rs", "global_too_large")
        ),
        format!(
            "memory_budget tests::global_too_small: budget updated from 32 to 200 at src/lib.rs:{}",
            attribute_line("tests/update-fixture/src/lib.rs", "global_too_small")
        ),
        format!(
            "memory_budget tests::count_too_small: allocation budget updated from 1 to 3 at src/lib.rs:{}",
            attribute_line("tests/update-fixture/src/lib.rs", "count_too_small")
        ),
        format!(
            "memory_budget tests::global_count_too_large: allocation budget updated from 10 to 1 at src/lib.rs:{}",
            attribute_line("tests/update-fixture/src/lib.rs", "global_count_too_large")
        ),
    ] {
        assert!(output.contains(&line), "lacks {line:?}:\n{output}");
    }
    for test in [
        "too_small",
        "global_too_small",
        "shares_8",
        "shares_56",
        "count_too_small",
    ] {
        assert!(
            output.contains(&format!("test tests::{test} ... ok")),
            "an updated test passes in that run, in explicit and global mode:\n{output}"
        );
    }
    assert!(
        output.contains("test tests::constant_too_small ... FAILED"),
        "{output}"
    );
    assert_eq!(
        source(&copy),
        fixture_with(&[
            ("#[memory_budget(4096)]", "#[memory_budget(100)]"),
            ("#[memory_budget(64)]", "#[memory_budget(200)]"),
            (
                "#[memory_budget(4_096, search = true)]",
                "#[memory_budget(40, search = true)]"
            ),
            ("#[memory_budget(2048)]", "#[memory_budget(100)]"),
            ("#[memory_budget(32)]", "#[memory_budget(200)]"),
            // Three blocks are three allocations; one block is one.
            (
                "#[memory_budget(3, allocations = 1)]",
                "#[memory_budget(3, allocations = 3)]"
            ),
            (
                "#[memory_budget(100, allocations = 10)]",
                "#[memory_budget(100, allocations = 1)]"
            ),
            // The literal both tests share needs the larger of 8 and 56.
            ("#[memory_budget(1024)]", "#[memory_budget(56)]"),
        ]),
        "only the literals that differ from what was measured change"
    );
    let (success, output) = cargo_test(
        &copy,
        &[],
        &["--skip", "constant_too_small", "--show-output"],
    );
    assert!(success, "{output}");
    for line in [
        "memory_budget tests::too_large: minimum 100 of 100 bytes (100.0%), 3 trials",
        "memory_budget tests::too_small: minimum 200 of 200 bytes (100.0%), 3 trials",
        "memory_budget tests::exact_with_suffix: minimum 24 of 24 bytes (100.0%), 3 trials",
        "memory_budget tests::with_separators: minimum 40 of 40 bytes (100.0%), 3 trials",
        "memory_budget tests::global_too_large: minimum 100 of 100 bytes (100.0%) after a warm-up, 3 trials",
        "memory_budget tests::global_too_small: minimum 200 of 200 bytes (100.0%) after a warm-up, 3 trials",
        "memory_budget tests::shares_8: minimum 8 of 56 bytes (14.3%), 3 trials",
        "memory_budget tests::shares_56: minimum 56 of 56 bytes (100.0%), 3 trials",
        "memory_budget tests::count_too_small: minimum 3 of 3 bytes (100.0%), 3 trials; 3 of 3 allocations (100.0%)",
        "memory_budget tests::global_count_too_large: minimum 100 of 100 bytes (100.0%) after a warm-up, 3 trials; \
         peak 100 live bytes in 1 block, 1 allocation, largest 100 bytes; 1 of 1 allocation (100.0%)",
    ] {
        assert!(output.contains(line), "lacks {line:?}:\n{output}");
    }
}

#[test]
fn update_with_a_margin_adds_it_and_rounds_up_to_a_multiple_of_8() {
    let copy = copy_fixture("margin");
    let (_, output) = cargo_test(&copy, &[("FBA_UPDATE", "1"), ("FBA_MARGIN", "10")], &[]);
    assert_eq!(
        source(&copy),
        fixture_with(&[
            ("#[memory_budget(4096)]", "#[memory_budget(112)]"),
            ("#[memory_budget(64)]", "#[memory_budget(224)]"),
            ("#[memory_budget(24usize)]", "#[memory_budget(32usize)]"),
            (
                "#[memory_budget(4_096, search = true)]",
                "#[memory_budget(48, search = true)]"
            ),
            ("#[memory_budget(2048)]", "#[memory_budget(112)]"),
            ("#[memory_budget(32)]", "#[memory_budget(224)]"),
            // 3 bytes and 10% is 3.3, rounded up to 8; 3 allocations and 10%
            // is 3.3, rounded up to 4; 100 bytes to 112, 1 allocation to 2.
            (
                "#[memory_budget(3, allocations = 1)]",
                "#[memory_budget(8, allocations = 4)]"
            ),
            (
                "#[memory_budget(100, allocations = 10)]",
                "#[memory_budget(112, allocations = 2)]"
            ),
            ("#[memory_budget(1024)]", "#[memory_budget(64)]"),
        ]),
        "100, 200, 24, 40, 100, 200 and 56 bytes plus 10%, rounded up to multiples of 8, and counts plus 10%, \
         rounded up:\n{output}"
    );
}

#[test]
fn update_is_refused_where_ci_is_set_and_nothing_is_written() {
    let copy = copy_fixture("ci");
    let (success, output) = cargo_test(
        &copy,
        &[("FBA_UPDATE", "1"), ("CI", "true")],
        &["too_large"],
    );
    assert!(!success);
    assert!(output.contains("FBA_UPDATE=1 is refused where CI is set: update budgets on your machine and commit them"), "{output}");
    assert_eq!(source(&copy), fixture_with(&[]));
}

#[test]
fn stale_budgets_fail_and_failures_are_annotated_for_github() {
    let copy = copy_fixture("stale");
    let (success, output) = cargo_test(
        &copy,
        &[("FBA_MAX_HEADROOM", "50"), ("GITHUB_ACTIONS", "true")],
        &["--skip", "constant"],
    );
    assert!(!success);
    let too_large = attribute_line("tests/update-fixture/src/lib.rs", "too_large");
    let stale = format!(
        "memory budget of tests::too_large is stale: minimum 100 of 4096 bytes, 97.6% headroom, more than FBA_MAX_HEADROOM=50%\n\
         to tighten it, write #[memory_budget(100)] at src/lib.rs:{too_large}, or run the tests with FBA_UPDATE=1"
    );
    assert!(output.contains(&stale), "{output}");
    let stale_count = format!(
        "allocation budget of tests::global_count_too_large is stale: makes 1 of 10 allocations, 90.0% headroom, \
         more than FBA_MAX_HEADROOM=50%\n\
         to tighten it, write allocations = 1 in #[memory_budget(..)] at src/lib.rs:{}, or run the tests with FBA_UPDATE=1",
        attribute_line("tests/update-fixture/src/lib.rs", "global_count_too_large")
    );
    assert!(output.contains(&stale_count), "{output}");
    assert!(
        output.contains("test tests::exact_with_suffix ... ok"),
        "no headroom, not stale:\n{output}"
    );
    assert!(
        output.contains("test tests::shares_8 ... ok"),
        "a shared literal is not stale for one of its tests:\n{output}"
    );
    let annotation = format!(
        "\n::error file=src/lib.rs,line={too_large}::memory budget of tests::too_large is stale:"
    );
    assert!(output.contains(&annotation), "{output}");
    let too_small = attribute_line("tests/update-fixture/src/lib.rs", "too_small");
    let annotation = format!(
        "\n::error file=src/lib.rs,line={too_small}::memory budget exceeded in tests::too_small: needs 200 bytes, budget is 64 bytes (+212.5%25)%0Afirst failing allocation"
    );
    assert!(output.contains(&annotation), "{output}");
    assert_eq!(
        source(&copy),
        fixture_with(&[]),
        "nothing is rewritten without FBA_UPDATE"
    );
}

#[test]
fn update_under_nextest_gives_a_shared_literal_the_largest_value_its_tests_need() {
    let copy = copy_fixture("nextest");
    // Each test in a process of its own, both at once.
    let (success, output) = nested::cargo(
        &copy.join("Cargo.toml"),
        &[
            "nextest",
            "run",
            "--no-fail-fast",
            "--test-threads=2",
            "-E",
            "test(/shares_/)",
        ],
        &[("FBA_UPDATE", "1")],
    );
    assert!(success, "{output}");
    assert_eq!(
        source(&copy),
        fixture_with(&[("#[memory_budget(1024)]", "#[memory_budget(56)]")]),
        "the larger of 8 and 56 bytes:\n{output}"
    );
}
