//! Where the bytes go, end to end (`tests/sites-fixture`): a test over its
//! budget names the three places that allocated its high-water mark, with
//! their exact bytes, largest first, and the breakdown of the mark, in its
//! message and its report row; in explicit and global mode, under cargo test
//! and nextest; and a `--release` build without debug info degrades to a
//! note, never a panic.

use std::path::PathBuf;

use crate::nested::{self, attribute_line, root};

fn manifest() -> PathBuf {
    root().join("tests/sites-fixture/Cargo.toml")
}

/// The line of the fixture's source (`src/lib.rs`) that contains `text`.
fn line_of(text: &str) -> usize {
    let source = std::fs::read_to_string(root().join("tests/sites-fixture/src/lib.rs")).unwrap();
    source
        .lines()
        .position(|line| line.contains(text))
        .unwrap_or_else(|| panic!("no {text:?} in the fixture"))
        + 1
}

// The body allocates 512 bytes of scratch (64 `u64`s) at 0, a 100-byte name
// at 512, frees the scratch (not the last block: its bytes stay), then a
// 1024-byte header (128 `u64`s, aligned to 8): 4 bytes of padding after the
// name's end at 612, the header at 616..1640.
const SCRATCH: usize = 64 * 8;
const NAME: usize = 100;
const HEADER: usize = 128 * 8;
const PADDING: usize = (SCRATCH + NAME).next_multiple_of(8) - (SCRATCH + NAME);
const HIGH_WATER: usize = SCRATCH + NAME + PADDING + HEADER;

/// The sites part of the message of the three-site test whose places are
/// the functions in `module` (`sites_fixture::` or `sites_fixture::global::`)
/// allocating at the lines that contain `calls`.
fn expected_sites(module: &str, calls: [&str; 3]) -> String {
    let [scratch, name, header] = calls.map(line_of);
    format!(
        "at the high-water mark of {HIGH_WATER} bytes: {} live, {SCRATCH} freed but not reclaimed, {PADDING} padding\n\
         to accept it, write #[memory_budget({HIGH_WATER})] at {{FILE}}, or run the tests with FBA_UPDATE=1\n\
         live at the high-water mark, by where it was allocated:\n  \
         {HEADER} bytes in 1 block at src/lib.rs:{header} in {module}header\n  \
         {NAME} bytes in 1 block at src/lib.rs:{name} in {module}name\n\
         freed but not reclaimed, by where it was allocated:\n  \
         {SCRATCH} bytes in 1 block at src/lib.rs:{scratch} in {module}scratch",
        NAME + HEADER
    )
}

fn explicit_sites() -> String {
    expected_sites(
        "sites_fixture::",
        [
            "Vec::with_capacity_in(64",
            "Vec::with_capacity_in(100",
            "Vec::with_capacity_in(128",
        ],
    )
    .replace(
        "{FILE}",
        &format!(
            "src/lib.rs:{}",
            attribute_line("tests/sites-fixture/src/lib.rs", "three_sites_over_budget")
        ),
    )
}

fn global_sites() -> String {
    expected_sites(
        "sites_fixture::global::",
        [
            "Vec::with_capacity(64)",
            "String::with_capacity(100)",
            "Box::new([7; 128])",
        ],
    )
    .replace(
        "{FILE}",
        &format!(
            "tests/global.rs:{}",
            attribute_line(
                "tests/sites-fixture/tests/global.rs",
                "three_global_sites_over_budget"
            )
        ),
    )
}

fn report(name: &str) -> PathBuf {
    let path = root().join(format!("target/sites-{name}.jsonl"));
    let _ = std::fs::remove_file(&path);
    path
}

fn rows(path: &PathBuf) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn over_budget_tests_name_their_sites_and_the_breakdown_under_cargo_test() {
    let path = report("cargo-test");
    let (success, output) = nested::cargo(
        &manifest(),
        &["test", "--no-fail-fast"],
        &[("FBA_REPORT", path.to_str().unwrap())],
    );
    assert!(!success, "the over-budget tests fail:\n{output}");
    for expected in [explicit_sites(), global_sites()] {
        assert!(
            output.contains(&expected),
            "lacks\n{expected}\n--- output ---\n{output}"
        );
    }
    let rows = rows(&path);
    let row = rows
        .iter()
        .find(|row| row["test"] == "tests::three_sites_over_budget")
        .expect("the explicit test's row");
    assert_eq!(row["needed"], HIGH_WATER);
    assert_eq!(
        row["at_high_water"],
        serde_json::json!({"live_bytes": NAME + HEADER, "freed_bytes": SCRATCH, "padding_bytes": PADDING})
    );
    let live = row["sites"]["live"].as_array().unwrap();
    let places: Vec<(u64, u64, &str, &str, u64)> = live
        .iter()
        .map(|site| {
            (
                site["bytes"].as_u64().unwrap(),
                site["blocks"].as_u64().unwrap(),
                site["frame"]["function"].as_str().unwrap(),
                site["frame"]["file"].as_str().unwrap(),
                site["frame"]["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        places,
        [
            (
                HEADER as u64,
                1,
                "sites_fixture::header",
                "src/lib.rs",
                line_of("Vec::with_capacity_in(128") as u64
            ),
            (
                NAME as u64,
                1,
                "sites_fixture::name",
                "src/lib.rs",
                line_of("Vec::with_capacity_in(100") as u64
            ),
        ]
    );
    // The whole stack: the place, and the test that called it further out.
    let frames = live[0]["frames"].as_array().unwrap();
    let functions: Vec<&str> = frames
        .iter()
        .filter_map(|frame| frame["function"].as_str())
        .collect();
    let place = functions
        .iter()
        .position(|function| *function == "sites_fixture::header")
        .unwrap();
    assert!(
        functions[place..].contains(&"sites_fixture::tests::three_sites_over_budget"),
        "{functions:?}"
    );
    assert_eq!(row["sites"]["freed"][0]["bytes"], SCRATCH);
    assert_eq!(row["sites"]["lines"], true);
    let global = rows
        .iter()
        .find(|row| row["test"] == "three_global_sites_over_budget")
        .expect("the global test's row");
    assert_eq!(
        global["at_high_water"], row["at_high_water"],
        "the same bytes in global mode"
    );
    let functions: Vec<&str> = global["sites"]["live"]
        .as_array()
        .unwrap()
        .iter()
        .map(|site| site["frame"]["function"].as_str().unwrap())
        .collect();
    assert_eq!(
        functions,
        [
            "sites_fixture::global::header",
            "sites_fixture::global::name"
        ]
    );
    // The passing test ran no diagnostic trial (FBA_SITES is not set).
    let passing = rows
        .iter()
        .find(|row| row["test"] == "tests::three_sites_within_budget")
        .unwrap();
    assert!(passing["sites"].is_null(), "{passing}");
    assert_eq!(passing["trials"], 3);
}

#[test]
fn fba_sites_shows_a_passing_tests_sites_limits_them_and_turns_them_off() {
    let (_, output) = nested::cargo(
        &manifest(),
        &["test", "--lib", "--", "--nocapture"],
        &[("FBA_SITES", "1")],
    );
    let name = line_of("Vec::with_capacity_in(100");
    let header = line_of("Vec::with_capacity_in(128");
    let passing = format!(
        "memory_budget tests::three_sites_within_budget: minimum {HIGH_WATER} of 4096 bytes (40.0%), 4 trials; \
         measured for {}\n\
         at the high-water mark of {HIGH_WATER} bytes: {} live, {SCRATCH} freed but not reclaimed, {PADDING} padding\n\
         live at the high-water mark, by where it was allocated:\n  \
         {HEADER} bytes in 1 block at src/lib.rs:{header} in sites_fixture::header\n  \
         ... and 1 more site\n",
        fba::Target::this(),
        NAME + HEADER
    );
    assert!(
        output.contains(&passing),
        "lacks\n{passing}\n--- output ---\n{output}"
    );
    assert!(
        !output.contains(&format!("src/lib.rs:{name} in")),
        "one site of each kind:\n{output}"
    );
    let (_, output) = nested::cargo(&manifest(), &["test", "--lib"], &[("FBA_SITES", "0")]);
    assert!(output.contains("needs 1640 bytes"), "{output}");
    assert!(
        !output.contains("by where it was allocated"),
        "FBA_SITES=0 turns them off:\n{output}"
    );
    let (_, output) = nested::cargo(&manifest(), &["test", "--lib"], &[("FBA_SITES", "some")]);
    assert!(
        output.contains(
            "FBA_SITES=\"some\" is not understood: write how many allocation sites to show"
        ),
        "{output}"
    );
}

#[test]
fn sites_under_nextest() {
    let path = report("nextest");
    let (success, output) = nested::cargo(
        &manifest(),
        &[
            "nextest",
            "run",
            "--no-fail-fast",
            "--failure-output=final",
            "--color=never",
        ],
        &[("FBA_REPORT", path.to_str().unwrap())],
    );
    assert!(!success, "{output}");
    let output = nested::unindented(&output);
    for expected in [explicit_sites(), global_sites()] {
        assert!(
            output.contains(&expected),
            "lacks\n{expected}\n--- output ---\n{output}"
        );
    }
    let rows = rows(&path);
    let over: Vec<&serde_json::Value> = rows
        .iter()
        .filter(|row| row["verdict"] == "over budget")
        .collect();
    assert_eq!(over.len(), 2, "the explicit and the global test: {rows:?}");
    for row in over {
        assert_eq!(
            row["sites"]["live"].as_array().map(Vec::len),
            Some(2),
            "{row}"
        );
        assert_eq!(row["sites"]["freed"][0]["bytes"], SCRATCH, "{row}");
    }
}

#[test]
fn a_release_build_without_debug_info_degrades_to_unknown_places_and_says_why() {
    let (success, output) = nested::cargo(
        &manifest(),
        &["test", "--release", "--lib"],
        &[("CARGO_PROFILE_RELEASE_DEBUG", "false")],
    );
    assert!(!success, "{output}");
    assert!(
        !output.contains("panicked at /"),
        "no panic in fba itself:\n{output}"
    );
    assert!(
        output.contains(&format!(
            "at the high-water mark of {HIGH_WATER} bytes: {} live, {SCRATCH} freed but not reclaimed, {PADDING} padding",
            NAME + HEADER
        )),
        "the breakdown needs no debug info:\n{output}"
    );
    assert!(
        output.contains("(places need debug info: `[profile.test] debug = true` is the default; for a --release test build set `[profile.release] debug = \"line-tables-only\"`)"),
        "{output}"
    );
    // Each site falls back to a function the symbol table names, or to
    // <unknown>, never to a line.
    let lines: Vec<&str> = output
        .lines()
        .filter(|line| line.starts_with("  ") && line.contains(" bytes in "))
        .collect();
    assert!(!lines.is_empty(), "{output}");
    for line in lines {
        assert!(
            line.ends_with(" at <unknown>") || (line.contains(" in ") && !line.contains(".rs:")),
            "{line}"
        );
    }
}
