//! `cargo fba report` on fixture reports: the merge, the comparison with a
//! baseline and its exit codes, the formats, and bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// `cargo fba <args>`, as cargo runs a subcommand.
fn cargo_fba(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-fba"))
        .arg("fba")
        .args(args)
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("cargo-fba runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const X86: &str = "x86_64-unknown-linux-gnu";
const ARM: &str = "armv7-unknown-linux-gnueabihf";

/// The fixtures: main has header 1000, body 2000, chunked 500, legacy 300
/// (x86_64) and header 800 (armv7); the PR has header 1100, body 1900,
/// chunked 750, trailer 64 (new; legacy removed) and header 800 (armv7),
/// each test 2 lines lower.
#[test]
fn the_baseline_comparison_lists_changes_largest_increase_first() {
    let (main, pr) = (fixture("main.jsonl"), fixture("pr.jsonl"));
    let output = cargo_fba(&[
        "report",
        pr.to_str().unwrap(),
        "--baseline",
        main.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    let comparison = text
        .split("memory budgets against the baseline")
        .nth(1)
        .unwrap_or_else(|| panic!("no comparison in:\n{text}"));
    let rows: Vec<Vec<String>> = comparison
        .lines()
        .skip(2)
        .take_while(|line| !line.is_empty())
        .map(|line| line.split_whitespace().map(String::from).collect())
        .collect();
    let change = |before: i64, after: i64| {
        vec![
            format!("{:+}", after - before),
            format!("{:+.1}%", (after - before) as f64 * 100.0 / before as f64),
        ]
    };
    let row = |test: &str, target: &str, before: i64, after: i64| {
        let mut cells = vec![
            test.to_owned(),
            target.to_owned(),
            before.to_string(),
            after.to_string(),
        ];
        cells.extend(change(before, after));
        cells
    };
    assert_eq!(
        rows,
        [
            row("parse::chunked", X86, 500, 750),
            row("parse::header", X86, 1000, 1100),
            row("parse::header", ARM, 800, 800),
            row("parse::body", X86, 2000, 1900),
        ],
        "{text}"
    );
    assert!(
        comparison.contains(&format!("new: parse::trailer ({X86}): 64\n")),
        "{text}"
    );
    assert!(
        comparison.contains(&format!("removed: parse::legacy ({X86}): 300\n")),
        "{text}"
    );
}

#[test]
fn fail_on_increase_exits_3_only_when_a_minimum_grew_by_more() {
    let (main, pr) = (fixture("main.jsonl"), fixture("pr.jsonl"));
    let run = |percent: &str| {
        cargo_fba(&[
            "report",
            pr.to_str().unwrap(),
            "--baseline",
            main.to_str().unwrap(),
            "--fail-on-increase",
            percent,
        ])
    };
    // chunked grew by (750 - 500) / 500 = 50%, header by (1100 - 1000) /
    // 1000 = 10%.
    assert_eq!(run("50").status.code(), Some(0));
    let over = run("49.9");
    assert_eq!(over.status.code(), Some(3));
    assert!(
        stderr(&over).contains(&format!(
            "parse::chunked ({X86}): 500 -> 750 bytes (+50.0%)"
        )),
        "{}",
        stderr(&over)
    );
    assert!(!stderr(&over).contains("parse::header"));
    let both = run("5");
    assert_eq!(both.status.code(), Some(3));
    assert!(stderr(&both).contains("2 test(s) need more than 5% more memory"));
}

#[test]
fn markdown_and_json_carry_the_same_rows() {
    let pr = fixture("pr.jsonl");
    let markdown = stdout(&cargo_fba(&[
        "report",
        pr.to_str().unwrap(),
        "--format",
        "markdown",
    ]));
    assert!(
        markdown.contains(&format!("### Memory budgets ({ARM}, 32-bit)")),
        "{markdown}"
    );
    // (4096 - 750) / 4096 = 81.7% headroom.
    assert!(
        markdown.contains("| `parse::chunked` | 4096 | 750 | 81.7% | - | 3 | - | passed |"),
        "{markdown}"
    );
    let json = cargo_fba(&["report", pr.to_str().unwrap(), "--format", "json"]);
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let tests: Vec<(&str, &str)> = document["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["target"].as_str().unwrap(),
                row["test"].as_str().unwrap(),
            )
        })
        .collect();
    // By target, then test.
    assert_eq!(
        tests,
        [
            (ARM, "parse::header"),
            (X86, "parse::body"),
            (X86, "parse::chunked"),
            (X86, "parse::header"),
            (X86, "parse::trailer"),
        ]
    );
    assert_eq!(document["comparison"], serde_json::Value::Null);
}

#[test]
fn by_target_puts_each_targets_minimum_side_by_side() {
    let pr = fixture("pr.jsonl");
    let text = stdout(&cargo_fba(&["report", pr.to_str().unwrap(), "--by-target"]));
    let lines: Vec<Vec<&str>> = text
        .lines()
        .skip_while(|line| !line.starts_with("test"))
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["test", "declared", ARM, X86]);
    assert!(
        lines.contains(&vec!["parse::header", "4096", "800", "1100"]),
        "{text}"
    );
    assert!(
        lines.contains(&vec!["parse::trailer", "4096", "-", "64"]),
        "{text}"
    );
}

#[test]
fn a_test_reported_twice_counts_once_and_the_merge_says_so() {
    let pr = fixture("pr.jsonl");
    let output = cargo_fba(&["report", pr.to_str().unwrap(), pr.to_str().unwrap()]);
    let text = stdout(&output);
    assert_eq!(text.matches("parse::chunked").count(), 2, "{text}");
    assert!(
        text.contains("5 test(s) were reported more than once"),
        "{text}"
    );
}

#[test]
fn bad_input_is_named_with_what_is_accepted() {
    let dir = std::env::temp_dir().join(format!("cargo-fba-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, "{\"schema\":1,\"test\":\"a\"}\n").unwrap();
    let output = cargo_fba(&["report", bad.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("bad.jsonl: line 1 is not a row of an fba report"),
        "{}",
        stderr(&output)
    );
    let missing = cargo_fba(&["report", dir.join("missing.jsonl").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("could not read the report"));
    let percent = cargo_fba(&[
        "report",
        bad.to_str().unwrap(),
        "--baseline",
        bad.to_str().unwrap(),
        "--fail-on-increase",
        "lots",
    ]);
    assert_eq!(percent.status.code(), Some(2));
    assert!(
        stderr(&percent).contains("\"lots\" is not a percent: write a number of 0 or more"),
        "{}",
        stderr(&percent)
    );
    let without_baseline = cargo_fba(&["report", bad.to_str().unwrap(), "--fail-on-increase", "5"]);
    assert_eq!(without_baseline.status.code(), Some(2));
    assert!(stderr(&without_baseline).contains("--baseline"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_readmes_baseline_example_is_what_the_fixtures_give() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let command = "$ cargo fba report pr/*.jsonl --baseline main/*.jsonl --fail-on-increase 5\n";
    let shown = readme
        .split(command)
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the README shows the baseline example");
    let (main, pr) = (fixture("main.jsonl"), fixture("pr.jsonl"));
    let output = cargo_fba(&[
        "report",
        pr.to_str().unwrap(),
        "--baseline",
        main.to_str().unwrap(),
        "--fail-on-increase",
        "5",
    ]);
    assert_eq!(output.status.code(), Some(3));
    let text = stdout(&output);
    let comparison = &text[text.find("\nmemory budgets against the baseline").unwrap()..];
    assert_eq!(shown, format!("{comparison}{}", stderr(&output)));
}
