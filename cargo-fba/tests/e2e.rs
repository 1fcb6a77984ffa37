//! `cargo fba` on the repository's own budget harness (`tests/budgets`):
//! three nextest shards merge into the table of an unpartitioned run, test
//! binaries running in parallel each append a whole section to the GitHub
//! job summary, and the HTML page loads in a real headless browser.
//!
//! The runs build into their own target directory (`target/cargo-fba-e2e`),
//! since the `cargo test` running this holds the workspace's.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn out_dir() -> PathBuf {
    workspace().join("target/cargo-fba-e2e")
}

/// A command in the workspace with the variables the runs depend on set,
/// and none of the FBA_* ones of the environment.
fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(program);
    command
        .current_dir(workspace())
        // The directory of the workspace's other nested runs: the crates
        // they share are built and stored once.
        .env("CARGO_TARGET_DIR", workspace().join("target/fixtures"))
        .env("RUST_BACKTRACE", "0")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("NEXTEST")
        .env_remove("CI");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("FBA_") {
            command.env_remove(name);
        }
    }
    command.env("FBA_PROFILE", "1");
    command
}

fn cargo() -> Command {
    command(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn cargo_fba() -> Command {
    let mut command = command(env!("CARGO_BIN_EXE_cargo-fba"));
    command.arg("fba");
    command
}

fn run(command: &mut Command) -> Output {
    let output = command.output().expect("the command runs");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The runs the tests look at, made once.
struct Runs {
    /// `cargo fba test` of the whole harness: cargo test's output (the
    /// harness's own table) then the merged table.
    unpartitioned: String,
    unpartitioned_report: PathBuf,
    /// The reports of `--partition hash:k/3`.
    shards: Vec<PathBuf>,
}

fn runs() -> &'static Runs {
    static RUNS: OnceLock<Runs> = OnceLock::new();
    RUNS.get_or_init(|| {
        std::fs::create_dir_all(out_dir()).unwrap();
        let unpartitioned_report = out_dir().join("unpartitioned.jsonl");
        let unpartitioned = run(cargo_fba().args([
            "test",
            "--report",
            unpartitioned_report.to_str().unwrap(),
            "--",
            "-p",
            "fba",
            "--test",
            "budgets",
        ]));
        let shards = (1..=3)
            .map(|shard| {
                let report = out_dir().join(format!("shard-{shard}.jsonl"));
                let _ = std::fs::remove_file(&report);
                run(cargo()
                    .args([
                        "nextest",
                        "run",
                        "-p",
                        "fba",
                        "--test",
                        "budgets",
                        "--partition",
                    ])
                    .arg(format!("hash:{shard}/3"))
                    .env("FBA_REPORT", &report));
                report
            })
            .collect();
        Runs {
            unpartitioned: String::from_utf8(unpartitioned.stdout).unwrap(),
            unpartitioned_report,
            shards,
        }
    })
}

/// The tables (from their `memory budgets (` line to the blank line after)
/// in `text`, each as its lines.
fn tables(text: &str) -> Vec<Vec<&str>> {
    let mut tables = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.starts_with("memory budgets (") {
            let mut table = vec![line];
            table.extend(lines.by_ref().take_while(|line| !line.is_empty()));
            tables.push(table);
        }
    }
    tables
}

#[test]
fn three_shards_merge_into_the_table_of_an_unpartitioned_run_row_for_row() {
    let runs = runs();
    let found = tables(&runs.unpartitioned);
    // The harness's table, then cargo fba test's merged one.
    assert_eq!(found.len(), 2, "{}", runs.unpartitioned);
    let (harness, merged) = (&found[0], &found[1]);
    assert_eq!(harness, merged);
    let mut shard_rows = Vec::new();
    for shard in &runs.shards {
        let text = std::fs::read_to_string(shard).unwrap();
        shard_rows.push(text.lines().count());
    }
    // Every shard ran some tests, and together all of them, once.
    assert!(shard_rows.iter().all(|rows| *rows > 0), "{shard_rows:?}");
    assert_eq!(shard_rows.iter().sum::<usize>(), harness.len() - 2);
    let report = run(cargo_fba().arg("report").args(&runs.shards));
    let text = String::from_utf8(report.stdout).unwrap();
    let from_shards = tables(&text);
    assert_eq!(from_shards.len(), 1, "{text}");
    assert_eq!(&from_shards[0], harness, "{text}");
    assert!(!text.contains("reported more than once"), "{text}");
}

/// The path of the harness's test binary, built.
fn budgets_binary() -> PathBuf {
    let built = run(cargo().args([
        "test",
        "-p",
        "fba",
        "--test",
        "budgets",
        "--no-run",
        "--message-format=json",
    ]));
    String::from_utf8(built.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|message| message["target"]["name"] == "budgets" && message["executable"].is_string())
        .map(|message| PathBuf::from(message["executable"].as_str().unwrap()))
        .expect("cargo names the budgets binary")
}

#[test]
fn parallel_binaries_each_append_a_whole_section_to_the_job_summary() {
    runs();
    let binary = budgets_binary();
    let summary = out_dir().join("step-summary.md");
    let _ = std::fs::remove_file(&summary);
    // How many tests each filter runs, as the harness lists them: all it
    // selects but the ignored ones.
    let listed = |filter: &str| {
        let count = |ignored: bool| {
            let mut list = command(&binary);
            list.args(["--list", filter]);
            if ignored {
                list.arg("--ignored");
            }
            String::from_utf8(run(&mut list).stdout)
                .unwrap()
                .lines()
                .filter(|line| line.ends_with(": test"))
                .count()
        };
        count(false) - count(true)
    };
    let filters = ["many::", "explicit::", "global::"];
    let children: Vec<_> = filters
        .iter()
        .map(|filter| {
            command(&binary)
                .arg(filter)
                .env("GITHUB_ACTIONS", "true")
                .env("GITHUB_STEP_SUMMARY", &summary)
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let text = std::fs::read_to_string(&summary).unwrap();
    let sections: Vec<&str> = text
        .split("### Memory budgets: `budgets`")
        .skip(1)
        .collect();
    assert_eq!(sections.len(), filters.len(), "{text}");
    let mut rows_per_section: Vec<usize> = sections
        .iter()
        .map(|section| {
            let lines: Vec<&str> = section
                .lines()
                .filter(|line| line.starts_with('|'))
                .collect();
            assert!(lines[0].starts_with("| test | declared |"), "{section}");
            assert!(lines[1].starts_with("| :-- |"), "{section}");
            // Every row of a section is of one filter: no interleaving.
            let prefix = lines[2]
                .trim_start_matches("| `")
                .split("::")
                .next()
                .unwrap()
                .to_owned();
            assert!(
                lines[2..]
                    .iter()
                    .all(|line| line.starts_with(&format!("| `{prefix}::"))),
                "{section}"
            );
            lines.len() - 2
        })
        .collect();
    let mut expected: Vec<usize> = filters.iter().map(|filter| listed(filter)).collect();
    rows_per_section.sort_unstable();
    expected.sort_unstable();
    assert_eq!(rows_per_section, expected, "{text}");
    // Under nextest each process runs one test: no section per process.
    let nextest_summary = out_dir().join("nextest-step-summary.md");
    let _ = std::fs::remove_file(&nextest_summary);
    run(cargo()
        .args([
            "nextest",
            "run",
            "-p",
            "fba",
            "--test",
            "budgets",
            "explicit::",
        ])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &nextest_summary));
    assert!(!nextest_summary.exists());
}

/// Chromium, headless, on `page`: its DOM, and the console messages it
/// logged; with `screenshot`, a picture of the page there too.
fn browse(page: &Path, screenshot: Option<&Path>) -> Option<(String, Vec<String>)> {
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| {
            Command::new(name)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        })?;
    let url = format!("file://{}", page.display());
    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--enable-logging=stderr",
        "--v=0",
    ];
    let dom = Command::new(chromium)
        .args(flags)
        .args(["--dump-dom", &url])
        .output()
        .expect("chromium runs");
    let console = String::from_utf8_lossy(&dom.stderr)
        .lines()
        .filter(|line| line.contains(":CONSOLE"))
        .map(String::from)
        .collect();
    if let Some(screenshot) = screenshot {
        let taken = Command::new(chromium)
            .args(flags)
            .args(["--hide-scrollbars", "--window-size=1200,1400"])
            .arg(format!("--screenshot={}", screenshot.display()))
            .arg(&url)
            .output()
            .expect("chromium runs");
        assert!(
            taken.status.success(),
            "{}",
            String::from_utf8_lossy(&taken.stderr)
        );
    }
    Some((String::from_utf8_lossy(&dom.stdout).into_owned(), console))
}

#[test]
fn the_html_page_loads_in_a_headless_browser_with_a_bar_group_per_test() {
    let runs = runs();
    let page = out_dir().join("report.html");
    run(cargo_fba()
        .arg("report")
        .arg(&runs.unpartitioned_report)
        .arg("--html")
        .arg(&page));
    let screenshots = workspace().join("target/fba-screenshots");
    std::fs::create_dir_all(&screenshots).unwrap();
    let screenshot = screenshots.join("report.png");
    let _ = std::fs::remove_file(&screenshot);
    let Some((dom, console)) = browse(&page, Some(&screenshot)) else {
        assert!(
            std::env::var_os("FBA_REQUIRE_BROWSER").is_none(),
            "FBA_REQUIRE_BROWSER is set and no Chromium was found: install Debian's chromium package"
        );
        eprintln!("skipped: no Chromium on this machine (apt-get install chromium runs this test)");
        return;
    };
    // The console check can fail: a page with a script error is caught.
    let broken = out_dir().join("broken.html");
    std::fs::write(
        &broken,
        "<!DOCTYPE html><p>x</p><script>missing();</script>",
    )
    .unwrap();
    let (_, broken_console) = browse(&broken, None).unwrap();
    assert!(
        broken_console
            .iter()
            .any(|line| line.contains("ReferenceError")),
        "{broken_console:?}"
    );
    assert!(console.is_empty(), "{console:?}");
    let rows = std::fs::read_to_string(&runs.unpartitioned_report)
        .unwrap()
        .lines()
        .count();
    assert_eq!(dom.matches("class=\"bar-group\"").count(), rows, "{dom}");
    // FBA_PROFILE=1: every row has a profile, and so a fill chart.
    assert_eq!(dom.matches("<svg class=\"fill\"").count(), rows);
    assert!(dom.contains("high-water mark"));
    let png = std::fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");
}
