//! End to end on real code (`tests/real-code`): one-time state, tokio,
//! rstest in both orders, test-case, proptest and rayon, under `cargo test`
//! and `cargo nextest run`. Every budget test passes with exactly one pass
//! line, has one report row, and its numbers are the ones the arithmetic in
//! the comments gives; the README's examples are this crate's code.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::nested::{self, root};

fn manifest() -> PathBuf {
    root().join("tests/real-code/Cargo.toml")
}

/// A `&str` is a pointer and a length.
const STR: usize = 16;
/// A `String` or `Vec` header does not count: it is not on the heap.
/// A vector collected from `split` starts with room for 4 elements.
const FIRST_CAPACITY: usize = 4;

/// The start of each budget test's pass line, by test path: exact where the
/// bytes are the code's own, up to the minimum where a runtime's own
/// allocations come after it.
fn expected_pass_lines() -> Vec<(&'static str, String)> {
    let table = 256;
    let copy = 100;
    let scratch = 16 * 4;
    let fields = |count: usize| count.next_power_of_two().max(FIRST_CAPACITY) * STR;
    vec![
        (
            "a_once_lock_built_in_the_body",
            format!(
                "minimum {copy} of 4096 bytes (2.4%) after a warm-up, 3 trials; \
                 one-time state 1 block ({table} bytes): {table} bytes (align 1)"
            ),
        ),
        (
            "a_once_lock_built_in_the_body_measured_cold",
            format!(
                "minimum {} of 4096 bytes (8.7%) on the first run (cold), 5 trials; \
                 one-time state 1 block ({table} bytes): {table} bytes (align 1)",
                copy + table
            ),
        ),
        (
            "a_thread_local_with_a_destructor",
            format!(
                "minimum 10 of 4096 bytes (0.2%) after a warm-up, 3 trials; \
                 one-time state 1 block ({scratch} bytes): {scratch} bytes (align 4)"
            ),
        ),
        (
            "rstest_tests::splits::case_1_one",
            format!("minimum {} of 4096", fields(1)),
        ),
        (
            "rstest_tests::splits::case_2_three",
            format!("minimum {} of 4096", fields(3)),
        ),
        (
            "rstest_tests::splits_rstest_first::case_1_two",
            format!("minimum {} of 4096", fields(2)),
        ),
        // The `&str`s to join, the joined line (align 1), then the fields
        // (align 8): 16 + 1 + 7 of padding + 64, and 64 + 7 + 1 + 64.
        (
            "rstest_tests::fills::fields_1_1",
            format!("minimum {} of 4096", STR + 1 + 7 + fields(1)),
        ),
        (
            "rstest_tests::fills::fields_2_4",
            format!("minimum {} of 4096", 4 * STR + 7 + 1 + fields(4)),
        ),
        (
            "test_case_tests::splits::test_case_1_one_field",
            format!("minimum {} of 4096", fields(1)),
        ),
        (
            "test_case_tests::splits::test_case_2_five_fields",
            format!("minimum {} of 4096", fields(5)),
        ),
        // The body's own bytes: 2, 10 and 3 copied, and 5.
        (
            "rstest_tests::copies_into_the_budget::case_1_two",
            "minimum 2 of 4096 bytes (0.0%), 3 trials".to_owned(),
        ),
        (
            "rstest_tests::copies_into_the_budget::case_2_ten",
            "minimum 10 of 4096 bytes (0.2%), 3 trials".to_owned(),
        ),
        (
            "rstest_tests::copies_rstest_first::case_1_three",
            "minimum 3 of 4096 bytes (0.1%), 3 trials".to_owned(),
        ),
        (
            "test_case_tests::copies_into_the_budget::test_case_1_five_bytes",
            "minimum 5 of 4096 bytes (0.1%), 3 trials".to_owned(),
        ),
        (
            "rstest_tests::splits_in_a_future::case_1_one",
            format!("minimum {} of 4096", fields(1)),
        ),
        ("tokio_tests::parses_after_a_yield", "minimum ".to_owned()),
        (
            "tokio_tests::parses_on_a_multi_thread_runtime",
            "minimum ".to_owned(),
        ),
        ("rayon_tests::splits_lines_on_a_pool", "minimum ".to_owned()),
    ]
}

/// The minimum a pass line gives.
fn minimum(line: &str) -> usize {
    line.split("minimum ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no minimum in {line:?}"))
}

/// Checks the pass lines in `output` and the rows in the report at `report`.
fn check(runner: &str, output: &str, report: &std::path::Path) {
    let mut problems = BTreeMap::new();
    for (test, start) in expected_pass_lines() {
        let prefix = format!("memory_budget {test}: ");
        let lines: Vec<&str> = output
            .lines()
            .filter_map(|line| line.split_once(&prefix).map(|(_, rest)| rest))
            .collect();
        match lines.as_slice() {
            [line] if line.starts_with(&start) => {}
            _ => {
                problems.insert(
                    test,
                    format!("pass lines {lines:?}, expected one starting {start:?}"),
                );
            }
        }
    }
    let line_of = |test: &str| {
        let prefix = format!("memory_budget {test}: ");
        output
            .lines()
            .find_map(|line| line.split_once(&prefix).map(|(_, rest)| rest.to_owned()))
            .unwrap_or_default()
    };
    // The runtimes' own work on the test thread comes on top of the 3
    // fields; building a runtime allocates several KiB (a current-thread
    // one about 9 KiB), so a minimum under 1 KiB shows it was built outside
    // the budget.
    for test in [
        "tokio_tests::parses_after_a_yield",
        "tokio_tests::parses_on_a_multi_thread_runtime",
    ] {
        let line = line_of(test);
        if !line.is_empty() && !(FIRST_CAPACITY * STR..1024).contains(&minimum(&line)) {
            problems.insert(
                test,
                format!("not between the fields' vector and 1 KiB: {line}"),
            );
        }
    }
    // Four vectors of 64 bytes, freed by their workers: how many are live at
    // once depends on the pool, so the minimum is one of 64, 128, 192, 256.
    let pool = line_of("rayon_tests::splits_lines_on_a_pool");
    let fields = FIRST_CAPACITY * STR;
    if !(pool.contains("the same in 5 runs") || pool.contains("the largest of 5 runs"))
        || !(pool.is_empty()
            || (minimum(&pool).is_multiple_of(fields) && minimum(&pool) <= 4 * fields))
    {
        problems.insert("rayon_tests::splits_lines_on_a_pool", format!("{pool:?}"));
    }
    // One row per budget test (the cold test's child processes write none),
    // and one for the property test's 256 inputs.
    let text = std::fs::read_to_string(report).unwrap_or_default();
    let mut rows: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    for line in text.lines() {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        rows.entry(row["test"].as_str().unwrap().to_owned())
            .or_default()
            .push(row);
    }
    for (test, _) in expected_pass_lines() {
        if rows.get(test).map(Vec::len) != Some(1) {
            problems.insert(test, format!("rows: {:?}", rows.get(test)));
        }
    }
    let property = "proptest_tests::any_line_of_up_to_16_fields_fits_in_256_bytes";
    match rows.get(property).map(Vec::as_slice) {
        // Sixteen fields are the most (proptest draws 16 of 1..=16 in 256
        // cases all but always): 16 `&str`s.
        Some([row]) if row["cases"] == 256 && row["minimum"] == 16 * STR => {}
        other => {
            problems.insert(property, format!("rows: {other:?}"));
        }
    }
    assert!(
        problems.is_empty(),
        "{runner}: {problems:#?}\n--- output ---\n{output}"
    );
}

fn report_path(runner: &str) -> PathBuf {
    let path = root().join(format!("target/real-code-{runner}.jsonl"));
    let _ = std::fs::remove_file(&path);
    path
}

#[test]
fn real_code_under_cargo_test() {
    let report = report_path("cargo-test");
    let (success, output) = nested::cargo(
        &manifest(),
        &["test", "--", "--show-output"],
        &[("FBA_REPORT", report.to_str().unwrap())],
    );
    assert!(success, "{output}");
    check("cargo test", &output, &report);
}

#[test]
fn real_code_under_cargo_nextest() {
    let report = report_path("nextest");
    let (success, output) = nested::cargo(
        &manifest(),
        &[
            "nextest",
            "run",
            "--no-fail-fast",
            "--success-output=immediate",
            "--color=never",
        ],
        &[("FBA_REPORT", report.to_str().unwrap())],
    );
    assert!(success, "{output}");
    check("cargo nextest run", &nested::unindented(&output), &report);
}

#[test]
fn tokio_test_below_the_attribute_makes_one_test() {
    let (success, output) = nested::cargo(
        &manifest(),
        &["test", "--test", "macros", "--", "--list"],
        &[],
    );
    assert!(success, "{output}");
    for test in [
        "tokio_tests::parses_after_a_yield: test",
        "tokio_tests::parses_on_a_multi_thread_runtime: test",
    ] {
        assert_eq!(
            output.lines().filter(|line| *line == test).count(),
            1,
            "{output}"
        );
    }
}

/// The README's examples of budget tests on test macros, each a block of
/// lines that the real-code crate has as they are.
#[test]
fn the_readme_examples_of_test_macros_are_code_that_ci_runs() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("## Budget tests and the test macros you use")
        .nth(1)
        .expect("the README's section on test macros")
        .split("\n## ")
        .next()
        .unwrap();
    let sources: String = ["tests/macros.rs", "tests/one_time.rs"]
        .iter()
        .map(|file| std::fs::read_to_string(root().join("tests/real-code").join(file)).unwrap())
        .collect();
    let source_lines: Vec<&str> = sources
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let blocks: Vec<&str> = section
        .split("```rust,ignore\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap())
        .collect();
    assert!(
        blocks.len() >= 4,
        "tokio, rstest, test-case and proptest:\n{section}"
    );
    for block in blocks {
        let lines: Vec<&str> = block
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect();
        let found = source_lines
            .windows(lines.len())
            .any(|window| window == lines.as_slice());
        assert!(
            found,
            "this README example is not in tests/real-code:\n{block}"
        );
    }
}

/// `FBA_UPDATE=1` over rstest's cases of one function, on a copy of the
/// crate: the one literal becomes the larger of the two cases' needs.
#[test]
fn update_gives_the_literal_of_rstest_cases_the_largest_need() {
    let source = root().join("tests/real-code");
    let copy = root().join("target/update-runs/real-code");
    let _ = std::fs::remove_dir_all(&copy);
    std::fs::create_dir_all(copy.join("tests")).unwrap();
    let renamed =
        |text: String| text.replace(r#"name = "real-code""#, r#"name = "real-code-update""#);
    let manifest = std::fs::read_to_string(source.join("Cargo.toml"))
        .unwrap()
        .replace(
            r#"path = "../..""#,
            &format!("path = {:?}", root().display().to_string()),
        );
    // Renamed, so that its artifacts are its own; its library keeps its
    // name for the tests that use it.
    let manifest = renamed(manifest).replace(
        "[dependencies]",
        "[lib]\nname = \"real_code\"\n\n[dependencies]",
    );
    std::fs::write(copy.join("Cargo.toml"), manifest).unwrap();
    let lock = std::fs::read_to_string(source.join("Cargo.lock")).unwrap();
    std::fs::write(copy.join("Cargo.lock"), renamed(lock)).unwrap();
    copy_dir(&source.join("src"), &copy.join("src"));
    copy_dir(&source.join("tests"), &copy.join("tests"));
    let (success, output) = nested::cargo(
        &copy.join("Cargo.toml"),
        &["test", "--test", "macros", "--", "rstest_tests::fills"],
        &[("FBA_UPDATE", "1")],
    );
    assert!(success, "{output}");
    let text = std::fs::read_to_string(copy.join("tests/macros.rs")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let fills = lines
        .iter()
        .position(|line| line.contains("fn fills("))
        .unwrap();
    let attribute = lines[..fills]
        .iter()
        .rev()
        .find(|line| line.contains("#[memory_budget("))
        .unwrap();
    // The cases need 16 + 1 + 7 + 64 = 88 and 64 + 7 + 1 + 64 = 136 bytes.
    assert_eq!(attribute.trim(), "#[memory_budget(136)]", "{output}");
    let original = std::fs::read_to_string(source.join("tests/macros.rs")).unwrap();
    assert_eq!(
        text.lines().filter(|line| !original.contains(line)).count(),
        1,
        "only that literal changes"
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}
