//! The budget harness (`tests/budgets`, a `harness = false` target) run as a
//! process: its command line, its table, its JSON output, and the report
//! many tests write at once.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The `budgets` test binary, built beside this one by `cargo test`.
fn budgets_binary() -> PathBuf {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_owned();
    let mut candidates: Vec<PathBuf> = std::fs::read_dir(&deps)
        .unwrap()
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.starts_with("budgets-") && path.extension().is_none()
        })
        .collect();
    candidates.sort_by_key(|path| {
        std::fs::metadata(path)
            .and_then(|meta| meta.modified())
            .ok()
    });
    candidates
        .pop()
        .expect("cargo test builds the budgets harness target")
}

/// The budgets binary with `args`, only `envs` of the `FBA_*` and CI
/// variables set.
fn command(args: &[&str], envs: &[(&str, &str)]) -> Command {
    let mut command = Command::new(budgets_binary());
    command.args(args).env("RUST_BACKTRACE", "0");
    for (name, _) in std::env::vars() {
        if name.starts_with("FBA_") || name == "GITHUB_ACTIONS" || name == "CI" {
            command.env_remove(name);
        }
    }
    command.envs(envs.iter().copied());
    command
}

fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    command(args, envs).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn list_names_every_budget_test_as_libtest_does() {
    let output = run(&["--list"], &[]);
    let stdout = text(&output.stdout);
    assert!(output.status.success());
    for name in [
        "explicit::parses_a_header: test",
        "global::formats_a_greeting: test",
        "many::budget_24: test",
    ] {
        assert!(
            stdout.lines().any(|line| line == name),
            "{name} missing:\n{stdout}"
        );
    }
    // The nextest contract: `--list --format terse`.
    let terse = text(&run(&["--list", "--format", "terse"], &[]).stdout);
    assert!(
        terse.lines().any(|line| line == "explicit::ignored: test"),
        "{terse}"
    );
    assert!(!stdout.contains("memory budgets ("), "no table for --list");
}

#[test]
fn a_run_ends_with_the_table_of_budgets_sorted_by_test() {
    let output = run(&["--skip", "many::"], &[]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let summary = stdout
        .find("test result: ok. 6 passed; 0 failed; 1 ignored")
        .expect("the summary");
    // The title says what the numbers were measured for.
    let target = fba::Target::this();
    let title = format!(
        "memory budgets ({}, {}-bit):",
        target.triple, target.pointer_width
    );
    let table = &stdout[stdout.find(&title).expect("the table")..];
    assert!(
        table.len() < stdout.len() - summary,
        "the table comes after the summary"
    );
    let rows: Vec<&str> = table.lines().skip(1).collect();
    assert_eq!(
        rows[0],
        "test                           declared  minimum  headroom  allocations  trials  one-time  verdict"
    );
    // Explicit mode: 3 trials, no one-time state; global mode: a warm-up
    // and 2 runs, and nothing left by the warm-up. The allocations: the
    // frame's three readings and their vector; one block each for a line,
    // the header's fields (against a count budget of 1), a greeting and the
    // numbers (1 too); a box for each of two threads.
    assert_eq!(
        &rows[1..],
        [
            "device::handles_a_frame             128       99     22.7%            4       3         0  passed",
            "explicit::formats_a_line            256       19     92.6%            1       3         -  passed",
            "explicit::parses_a_header          4096      128     96.9%          1/1       3         -  passed",
            "explicit::shares_with_threads      1024       64     93.8%            2       3         -  passed",
            "global::collects_numbers           1024      400     60.9%          1/1       3         0  passed",
            "global::formats_a_greeting         4096       12     99.7%            1       3         0  passed",
        ],
        "the ignored test has no row:\n{table}"
    );
}

#[test]
fn filters_exact_skip_and_ignored_work_as_in_cargo_test() {
    let exact = text(&run(&["explicit::parses_a_header", "--exact"], &[]).stdout);
    assert!(exact.contains("test result: ok. 1 passed"), "{exact}");
    // libtest reads the threads from `RUST_TEST_THREADS` to run tests, and
    // not to list them.
    let bad = run(
        &["explicit::parses_a_header", "--exact"],
        &[("RUST_TEST_THREADS", "0")],
    );
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("RUST_TEST_THREADS is `0`, which is not a number of threads"),
        "{}",
        text(&bad.stderr)
    );
    let listed = run(&["--list"], &[("RUST_TEST_THREADS", "0")]);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    // libtest's spelling since Rust 1.88, beside `--nocapture`.
    let no_capture = text(
        &run(
            &["explicit::parses_a_header", "--exact", "--no-capture"],
            &[],
        )
        .stdout,
    );
    assert!(
        no_capture.contains("test result: ok. 1 passed"),
        "{no_capture}"
    );
    let skipped = text(&run(&["explicit::", "--skip", "threads"], &[]).stdout);
    assert!(
        skipped.contains("test result: ok. 2 passed; 0 failed; 1 ignored"),
        "{skipped}"
    );
    let ignored = text(&run(&["--ignored"], &[]).stdout);
    assert!(ignored.contains("test result: ok. 1 passed"), "{ignored}");
    let row = ignored
        .lines()
        .find(|line| line.starts_with("explicit::ignored "))
        .expect("a row for the test that ran");
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        [
            "explicit::ignored",
            "4096",
            "7",
            "99.8%",
            "1",
            "3",
            "-",
            "passed"
        ]
    );
}

#[test]
fn several_filters_run_the_tests_that_match_any_as_in_cargo_test() {
    let listed = text(&run(&["--list"], &[]).stdout)
        .lines()
        .filter(|line| line.ends_with(": test"))
        .count();
    // `explicit::` has three tests and an ignored one, `--skip threads`
    // leaves out one of the three; `global::` has two.
    let output = run(&["explicit::", "global::", "--skip", "threads"], &[]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let summary = format!(
        "test result: ok. {} passed; 0 failed; 1 ignored; 0 measured; {} filtered out",
        2 + 2,
        listed - (3 + 1 + 2 - 1)
    );
    assert!(stdout.contains(&summary), "{summary}:\n{stdout}");
    // The listing is of the same tests.
    let list = text(
        &run(
            &["explicit::", "global::", "--skip", "threads", "--list"],
            &[],
        )
        .stdout,
    );
    let mut names: Vec<&str> = list
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "explicit::formats_a_line",
            "explicit::ignored",
            "explicit::parses_a_header",
            "global::collects_numbers",
            "global::formats_a_greeting",
        ]
    );
    let exact = text(
        &run(
            &[
                "explicit::formats_a_line",
                "global::collects_numbers",
                "--exact",
            ],
            &[],
        )
        .stdout,
    );
    assert!(
        exact.contains(&format!(
            "test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; {} filtered out",
            listed - 2
        )),
        "{exact}"
    );
}

#[test]
fn with_format_json_stdout_is_json_and_the_table_goes_to_stderr() {
    let output = run(
        &["explicit::", "--format", "json", "-Z", "unstable-options"],
        &[],
    );
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", text(&output.stderr));
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line:?}")))
        .collect();
    assert!(
        events
            .iter()
            .any(|event| event["event"] == "ok" && event["name"] == "explicit::parses_a_header")
    );
    let stderr = text(&output.stderr);
    let row = stderr
        .lines()
        .find(|line| line.starts_with("explicit::parses_a_header "))
        .expect("the table on stderr");
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        [
            "explicit::parses_a_header",
            "4096",
            "128",
            "96.9%",
            "1/1",
            "3",
            "-",
            "passed"
        ]
    );
}

#[test]
fn a_report_written_by_many_threads_and_processes_has_every_row_once() {
    let path =
        std::env::temp_dir().join(format!("fba-harness-report-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let report = path.to_str().unwrap();
    // Four processes at once, each running the 24 `many::` tests on eight
    // threads: 96 writers of one file.
    let processes: Vec<_> = (0..4)
        .map(|_| {
            command(&["many::", "--test-threads=8"], &[("FBA_REPORT", report)])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut process in processes {
        assert!(process.wait().unwrap().success());
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let mut counts = std::collections::BTreeMap::new();
    for line in text.lines() {
        let row: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line:?}"));
        *counts
            .entry(row["test"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
        let bytes = row["minimum"].as_u64().unwrap();
        assert_eq!(row["declared"].as_u64(), Some(4096));
        assert_eq!(row["buffer_alignment"].as_u64(), Some(4096));
        assert_eq!(row["allocator"]["capacity"].as_u64(), Some(4096));
        assert!(
            row["test"]
                .as_str()
                .unwrap()
                .ends_with(&format!("{:02}", bytes / 8)),
            "{line}"
        );
    }
    assert_eq!(counts.len(), 24, "{counts:?}");
    assert!(counts.values().all(|count| *count == 4), "{counts:?}");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn with_format_json_stale_budgets_and_annotations_keep_stdout_json() {
    let output = run(
        &[
            "explicit::parses_a_header",
            "--exact",
            "--format",
            "json",
            "-Z",
            "unstable-options",
        ],
        &[("FBA_MAX_HEADROOM", "50"), ("GITHUB_ACTIONS", "true")],
    );
    assert!(
        !output.status.success(),
        "a budget with 96.9% headroom is stale"
    );
    let stdout = text(&output.stdout);
    for line in stdout.lines().filter(|line| !line.trim().is_empty()) {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|error| panic!("{error}: {line:?}"));
    }
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("\n::error file=tests/budgets/main.rs,line="),
        "the annotation goes to stderr:\n{stderr}"
    );
    assert!(
        stderr.contains("memory budget of explicit::parses_a_header is stale"),
        "{stderr}"
    );
}

#[test]
fn with_fba_sites_the_harness_shows_passing_tests_sites_after_the_table() {
    let output = run(
        &["explicit::parses_a_header", "--exact"],
        &[("FBA_SITES", "all")],
    );
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let source = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/budgets/main.rs"),
    )
    .unwrap();
    let push = source
        .lines()
        .position(|line| line.contains("fields.push(line.split_once"))
        .unwrap()
        + 1;
    // Three `(&str, &str)` fields of 32 bytes in a vector of 4, in place.
    let sites = format!(
        "explicit::parses_a_header:\nat the high-water mark of 128 bytes: 128 live, 0 freed but not reclaimed, 0 padding\n\
         live at the high-water mark, by where it was allocated:\n  \
         128 bytes in 1 block at tests/budgets/main.rs:{push} in budgets::explicit::parses_a_header\n"
    );
    let table = stdout.find("memory budgets (").expect("the table");
    let after = stdout[table..].find(&sites);
    assert!(after.is_some(), "the sites come after the table:\n{stdout}");
}
