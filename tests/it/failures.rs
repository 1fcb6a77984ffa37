//! Count budgets and failure injection, end to end
//! (`tests/failures-fixture`): exact counts for known bodies, the message
//! of a body over its count budget; a fallible parser that handles every
//! injected failure, and bodies that unwrap, leak on the error path,
//! swallow a failure or push infallibly (an abort, in its child process),
//! each named with its allocation's index, size and place, in explicit and
//! global mode, in messages and report rows, under cargo test and nextest;
//! and a body of more allocations than `FBA_MAX_INJECTIONS` sampled.

use std::mem::size_of;
use std::path::PathBuf;

use crate::nested::{self, attribute_line, root, unindented};

const LIB: &str = "tests/failures-fixture/src/lib.rs";
const GLOBAL: &str = "tests/failures-fixture/tests/global.rs";

fn manifest() -> PathBuf {
    root().join("tests/failures-fixture/Cargo.toml")
}

/// The line of the fixture's file `file` that contains `text`.
fn line_of(file: &str, text: &str) -> usize {
    let source = std::fs::read_to_string(root().join(file)).unwrap();
    source
        .lines()
        .position(|line| line.contains(text))
        .unwrap_or_else(|| panic!("no {text:?} in {file}"))
        + 1
}

// The parser reserves one `usize` per field of "GET,/index.html,HTTP/1.1"
// (3 fields), then boxes their total: two allocations.
const FIELDS: usize = 3;
const LENGTHS: usize = FIELDS * size_of::<usize>();
const TOTAL: usize = size_of::<usize>();

/// The two allocations of the parser, as a failing run names them.
fn parser_allocations() -> [String; 2] {
    let reserve = line_of(LIB, ".try_reserve_exact(");
    let boxed = line_of(LIB, "Box::try_new_in(lengths.iter()");
    [
        format!(
            "allocation 1 of 2 ({LENGTHS} bytes, align 8) at src/lib.rs:{reserve} in failures_fixture::field_lengths"
        ),
        format!(
            "allocation 2 of 2 ({TOTAL} bytes, align 8) at src/lib.rs:{boxed} in failures_fixture::field_lengths"
        ),
    ]
}

fn expected_messages() -> Vec<String> {
    let [reserve, boxed] = parser_allocations();
    let at = |function: &str| format!("src/lib.rs:{}", attribute_line(LIB, function));
    // A `Vec<u32>`'s first block holds 4 elements (std's smallest non-zero
    // capacity for elements of 2 to 1024 bytes): 16 bytes.
    let first_block = 4 * size_of::<u32>();
    vec![
        format!(
            "memory budget test tests::unwraps does not handle allocation failure: 2 runs of 2 failed (fail_each_allocation)\n\
             {reserve} is not handled: the body panicked: called `Result::unwrap()` on an `Err` value: AllocError\n\
             {boxed} is not handled: the body panicked: called `Result::unwrap()` on an `Err` value: AllocError\n\
             measured for "
        ),
        format!(
            "memory budget test tests::swallows does not handle allocation failure: 2 runs of 2 failed (fail_each_allocation)\n\
             {reserve} is swallowed: the body returned Ok although the allocation failed\n\
             {boxed} is swallowed: the body returned Ok although the allocation failed\n\
             a body that recovers from a failed allocation on purpose (a fallback, a retry) passes: write \
             swallowed = \"allow\" in #[memory_budget(..)] at {}\n",
            at("swallows")
        ),
        // The name's box (16 bytes) is forgotten when the value's fails.
        format!(
            "memory budget test tests::leaks_on_the_error_path does not handle allocation failure: 1 run of 2 failed (fail_each_allocation)\n\
             allocation 2 of 2 ({} bytes, align 8) at src/lib.rs:{} in failures_fixture::tests::leaks_on_the_error_path \
             leaks: the body returned with 1 block (16 bytes) still live\n\
             free on the error path what the body allocated before the failure (without failures it frees every block)\n",
            2 * size_of::<u64>(),
            line_of(LIB, "Box::try_new_in([0u64; 2]")
        ),
        format!(
            "memory budget test tests::pushes_infallibly does not handle allocation failure: 1 run of 1 failed (fail_each_allocation)\n\
             allocation 1 of 1 ({first_block} bytes, align 4) at src/lib.rs:{} in failures_fixture::tests::pushes_infallibly \
             is not handled (the process aborted): memory allocation of {first_block} bytes failed\n\
             an infallible API (`Vec::push`, `Box::new`, `format!`) aborts when its allocation fails: use the fallible \
             form (`try_reserve`, `Box::try_new_in`) where the failure must be handled\n",
            line_of(LIB, "numbers.push(7)")
        ),
        format!(
            "memory budget test push_is_not_handled does not handle allocation failure: 1 run of 1 failed (fail_each_allocation)\n\
             allocation 1 of 1 ({first_block} bytes, align 4) at tests/global.rs:{} in global::push_is_not_handled \
             is not handled (the process aborted): memory allocation of {first_block} bytes failed\n",
            line_of(GLOBAL, "numbers.push(7)")
        ),
        // Each vector's capacity goes 4, 8, 16 for 10 pushes, and each growth
        // moves the block (the other vector's is after it): 3 allocations
        // each.
        format!(
            "allocation budget exceeded in tests::two_vectors_growing_in_turn: makes {} allocations, budget is 4 (+50.0%)\n\
             to accept it, write allocations = 6 in #[memory_budget(..)] at {}, or run the tests with FBA_UPDATE=1\n",
            2 * 3,
            at("two_vectors_growing_in_turn")
        ),
        format!(
            "allocation budget exceeded in two_vectors_growing_in_turn: makes 6 allocations, budget is 4 (+50.0%)\n\
             to accept it, write allocations = 6 in #[memory_budget(..)] at tests/global.rs:{}",
            attribute_line(GLOBAL, "two_vectors_growing_in_turn")
        ),
    ]
}

/// The tests that pass: every failure handled, or within the count budget.
const PASSING: [&str; 6] = [
    "handles_every_failure",
    "recovers_on_purpose",
    "recovers_but_not_from_persistent_failure",
    "ten_allocations",
    "one_allocation_with_capacity",
    "try_reserve_handles_the_failure",
];

fn report(name: &str) -> PathBuf {
    let path = root().join(format!("target/failures-{name}.jsonl"));
    let _ = std::fs::remove_file(&path);
    path
}

fn find_row(path: &PathBuf, test: &str) -> Option<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .find(|row| row["test"] == test)
}

fn row(path: &PathBuf, test: &str) -> serde_json::Value {
    find_row(path, test).unwrap_or_else(|| panic!("no row of {test}"))
}

#[test]
fn counts_and_injected_failures_are_judged_and_named_under_cargo_test() {
    let path = report("cargo-test");
    let (success, output) = nested::cargo(
        &manifest(),
        &["test", "--no-fail-fast", "--", "--nocapture"],
        &[("FBA_REPORT", path.to_str().unwrap())],
    );
    assert!(!success, "some tests fail on purpose:\n{output}");
    for expected in expected_messages() {
        assert!(
            output.contains(&expected),
            "lacks\n{expected}\n--- output ---\n{output}"
        );
    }
    for test in PASSING {
        // Unit tests are in `tests`; the global ones are at the top.
        let passed = find_row(&path, &format!("tests::{test}")).unwrap_or_else(|| row(&path, test));
        assert_eq!(passed["verdict"], "passed", "{test}: {passed}");
    }
    // The pass line says what was failed.
    assert!(
        output.contains(
            "; fail_each_allocation: all 2 allocations failed in turn, each handled; measured for"
        ),
        "{output}"
    );
    assert!(
        output.contains("; 1 of 1 allocation (100.0%); measured for"),
        "{output}"
    );

    the_readme_shows_this_code_and_this_output(&output);

    let unwraps = row(&path, "tests::unwraps");
    assert_eq!(unwraps["verdict"], "failure not handled");
    let injection = &unwraps["injection"];
    assert_eq!(
        (
            &injection["policy"],
            &injection["allocations"],
            &injection["runs"],
            &injection["sampled"],
            &injection["leaks_checked"]
        ),
        (
            &serde_json::json!("each_allocation"),
            &serde_json::json!(2),
            &serde_json::json!(2),
            &serde_json::json!(false),
            &serde_json::json!(true)
        )
    );
    let failures = injection["failures"].as_array().unwrap();
    let described: Vec<(u64, u64, u64, &str)> = failures
        .iter()
        .map(|failure| {
            (
                failure["index"].as_u64().unwrap(),
                failure["layout"]["size"].as_u64().unwrap(),
                failure["site"]["line"].as_u64().unwrap(),
                failure["outcome"]["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        described,
        [
            (
                1,
                LENGTHS as u64,
                line_of(LIB, ".try_reserve_exact(") as u64,
                "panicked"
            ),
            (
                2,
                TOTAL as u64,
                line_of(LIB, "Box::try_new_in(lengths.iter()") as u64,
                "panicked"
            ),
        ]
    );
    let leaks = row(&path, "tests::leaks_on_the_error_path");
    assert_eq!(
        leaks["injection"]["failures"][0]["outcome"],
        serde_json::json!({"kind": "leaked", "blocks": 1, "bytes": 16})
    );
    let aborted = row(&path, "push_is_not_handled");
    assert_eq!(
        aborted["injection"]["failures"][0]["outcome"]["kind"],
        "aborted"
    );

    let counted = row(&path, "tests::one_allocation_with_capacity");
    assert_eq!(
        counted["allocations"],
        serde_json::json!({"count": 1, "budget": 1, "verdict": "within budget", "updated_to": null})
    );
    let over = row(&path, "tests::two_vectors_growing_in_turn");
    assert_eq!(over["verdict"], "too many allocations");
    assert_eq!(
        (
            &over["allocations"]["count"],
            &over["allocations"]["verdict"]
        ),
        (&serde_json::json!(6), &serde_json::json!("over budget"))
    );
    let global = row(&path, "two_vectors_growing_in_turn");
    assert_eq!(
        global["allocations"], over["allocations"],
        "the same count in global mode"
    );
}

#[test]
fn under_nextest_each_test_is_judged_the_same_in_a_process_of_its_own() {
    let (success, output) = nested::cargo(&manifest(), &["nextest", "run", "--no-fail-fast"], &[]);
    assert!(!success, "{output}");
    let output = unindented(&output);
    for expected in expected_messages() {
        // nextest shows the message without the final line's newline.
        let expected = expected.trim_end();
        assert!(
            output.contains(expected),
            "lacks\n{expected}\n--- output ---\n{output}"
        );
    }
    for test in PASSING {
        assert!(
            output
                .lines()
                .any(|line| line.contains("PASS") && line.contains(test)),
            "{test} passes:\n{output}"
        );
    }
}

#[test]
fn a_body_of_more_allocations_than_the_most_runs_is_sampled_evenly() {
    let path = report("sampled");
    let (success, output) = nested::cargo(
        &manifest(),
        &[
            "test",
            "--lib",
            "--",
            "--exact",
            "tests::ten_allocations",
            "--nocapture",
        ],
        &[
            ("FBA_MAX_INJECTIONS", "3"),
            ("FBA_REPORT", path.to_str().unwrap()),
        ],
    );
    assert!(success, "{output}");
    assert!(
        output.contains(
            "fail_each_allocation: 3 of 10 allocations failed in turn (spread evenly, FBA_MAX_INJECTIONS), each handled"
        ),
        "{output}"
    );
    let injection = &row(&path, "tests::ten_allocations")["injection"];
    assert_eq!(
        (
            &injection["allocations"],
            &injection["runs"],
            &injection["sampled"]
        ),
        (
            &serde_json::json!(10),
            &serde_json::json!(3),
            &serde_json::json!(true)
        )
    );
    // The usual 3 trials, then one run per allocation failed.
    assert_eq!(row(&path, "tests::ten_allocations")["trials"], 3 + 3);
}

/// The README's section on count budgets and failure injection: its code
/// is the fixture's, as it is, and its output is the fixture's `output`.
fn the_readme_shows_this_code_and_this_output(output: &str) {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("## Count budgets and failure injection")
        .nth(1)
        .expect("the README's section on count budgets and failure injection")
        .split("\n## ")
        .next()
        .unwrap();
    let blocks = |fence: &str| -> Vec<String> {
        section
            .split(fence)
            .skip(1)
            .map(|block| block.split("```").next().unwrap().to_owned())
            .collect()
    };
    let source: String = [LIB, GLOBAL]
        .iter()
        .map(|file| std::fs::read_to_string(root().join(file)).unwrap())
        .collect();
    let source_lines: Vec<&str> = source
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let code = blocks("```rust,ignore\n");
    assert!(code.len() >= 3, "{section}");
    for block in code {
        let lines: Vec<&str> = block
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect();
        assert!(
            source_lines
                .windows(lines.len())
                .any(|window| window == lines.as_slice()),
            "this README example is not in tests/failures-fixture:\n{block}"
        );
    }
    // The README shows the output of an x86_64 Linux host.
    let host = fba::Target::this().to_string();
    let text = blocks("```text\n");
    assert!(text.len() >= 4, "{section}");
    for block in text {
        for line in block.lines() {
            let line = line.replace("x86_64-unknown-linux-gnu (64-bit)", &host);
            assert!(
                output.contains(&line),
                "the README shows a line the fixture does not print:\n{line}\n--- output ---\n{output}"
            );
        }
    }
}
