//! A run against a baseline (an earlier run's report): per test the bytes
//! it needs before and after, new and removed tests, sorted by the largest
//! increase.

use std::collections::BTreeMap;

use fba_test::summary::{ReportRow, aligned, markdown_line};
use serde::Serialize;

use crate::merge::Merged;

/// One test in both runs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Change {
    pub(crate) test: String,
    pub(crate) target: String,
    /// The bytes it needs (its minimum, or what it needs over its budget),
    /// before and after; `None` where that run did not measure it.
    pub(crate) before: Option<usize>,
    pub(crate) after: Option<usize>,
    /// After minus before, in bytes and in percent of before.
    pub(crate) bytes: Option<i64>,
    pub(crate) percent: Option<f64>,
}

/// A test in one run only, with the bytes it needs there.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Only {
    pub(crate) test: String,
    pub(crate) target: String,
    pub(crate) bytes: Option<usize>,
}

/// The comparison of a run with its baseline.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub(crate) struct Comparison {
    /// Largest increase first.
    pub(crate) changes: Vec<Change>,
    pub(crate) new: Vec<Only>,
    pub(crate) removed: Vec<Only>,
}

/// A test across runs: its target, path and file (not its line, which
/// moves when code above it changes).
fn key(row: &ReportRow) -> (String, String, String) {
    (row.target.clone(), row.test.clone(), row.file.clone())
}

/// Compares `after` with `before`.
pub(crate) fn compare(before: &Merged, after: &Merged) -> Comparison {
    let old: BTreeMap<_, &ReportRow> = before.rows.iter().map(|(row, _)| (key(row), row)).collect();
    let new: BTreeMap<_, &ReportRow> = after.rows.iter().map(|(row, _)| (key(row), row)).collect();
    let mut comparison = Comparison::default();
    for (key, row) in &new {
        match old.get(key) {
            Some(earlier) => {
                let (before, after) = (earlier.bytes(), row.bytes());
                let bytes = before.zip(after).map(|(b, a)| a as i64 - b as i64);
                let percent = before
                    .zip(bytes)
                    .filter(|(before, _)| *before > 0)
                    .map(|(before, bytes)| bytes as f64 * 100.0 / before as f64);
                comparison.changes.push(Change {
                    test: row.test.clone(),
                    target: row.target.clone(),
                    before,
                    after,
                    bytes,
                    percent,
                });
            }
            None => comparison.new.push(only(row)),
        }
    }
    comparison.removed = old
        .iter()
        .filter(|(key, _)| !new.contains_key(*key))
        .map(|(_, row)| only(row))
        .collect();
    // Largest increase first; tests without a number last; then by name.
    comparison.changes.sort_by(|a, b| {
        b.bytes
            .unwrap_or(i64::MIN)
            .cmp(&a.bytes.unwrap_or(i64::MIN))
            .then_with(|| (&a.test, &a.target).cmp(&(&b.test, &b.target)))
    });
    comparison
}

fn only(row: &ReportRow) -> Only {
    Only {
        test: row.test.clone(),
        target: row.target.clone(),
        bytes: row.bytes(),
    }
}

impl Comparison {
    /// The changes whose increase is more than `percent` percent.
    pub(crate) fn increases_over(&self, percent: f64) -> Vec<&Change> {
        self.changes
            .iter()
            .filter(|change| change.percent.is_some_and(|grew| grew > percent))
            .collect()
    }

    /// As a text table.
    pub(crate) fn table(&self) -> String {
        let mut lines = vec![
            ["test", "target", "before", "after", "change", "percent"]
                .map(String::from)
                .to_vec(),
        ];
        lines.extend(self.changes.iter().map(|change| change.cells().to_vec()));
        let text = format!(
            "\nmemory budgets against the baseline (the bytes each test needs, largest increase first):\n{}",
            aligned(&lines, |column| column < 2)
        );
        text + &self.only_lines(|line| line)
    }

    /// As markdown (GitHub's flavour).
    pub(crate) fn markdown(&self) -> String {
        let mut text = "### Memory budgets against the baseline\n\n".to_owned();
        text += &markdown_line(
            &["test", "target", "before", "after", "change", "percent"].map(String::from),
        );
        text += &markdown_line(&[":--", ":--", "--:", "--:", "--:", "--:"].map(String::from));
        for change in &self.changes {
            let mut cells = change.cells();
            cells[0] = format!("`{}`", cells[0]);
            text += &markdown_line(&cells);
        }
        text + &self.only_lines(|line| format!("- {line}"))
    }

    /// The new and removed tests, one line each, shaped by `shape`.
    fn only_lines(&self, shape: impl Fn(String) -> String) -> String {
        let mut text = String::new();
        for (label, tests) in [("new", &self.new), ("removed", &self.removed)] {
            for test in tests {
                let bytes = test
                    .bytes
                    .map_or_else(|| "-".to_owned(), |bytes| bytes.to_string());
                text += &shape(format!("{label}: {} ({}): {bytes}", test.test, test.target));
                text.push('\n');
            }
        }
        if !text.is_empty() {
            text.insert(0, '\n');
        }
        text
    }
}

impl Change {
    fn cells(&self) -> [String; 6] {
        let number = |value: Option<usize>| value.map_or_else(|| "-".to_owned(), |v| v.to_string());
        [
            self.test.clone(),
            self.target.clone(),
            number(self.before),
            number(self.after),
            self.bytes
                .map_or_else(|| "-".to_owned(), |bytes| format!("{bytes:+}")),
            self.percent
                .map_or_else(|| "-".to_owned(), |percent| format!("{percent:+.1}%")),
        ]
    }
}
