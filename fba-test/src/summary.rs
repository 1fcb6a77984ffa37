//! The report read back: rows of the JSON Lines report (`FBA_REPORT`) as a
//! reader sees them, and the budget table they sum up to, as text (the
//! harness's table) or markdown (a GitHub job summary). `cargo fba` merges
//! and compares reports with these; the harness prints its own rows with
//! the same table.
//!
//! Every field a row carries is documented in the README's "The report"
//! section. Rows carry `"schema": 1`; rows written before the field existed
//! are read as version 0, with the fields they lack left empty.

use serde::{Deserialize, Serialize};

use crate::profile::Profile;

/// One row of the report: the fields the table, the merge and the baseline
/// need. The rest of the row is kept by whoever read it (see [`parse`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReportRow {
    /// The format's version: 0 for rows without the field.
    #[serde(default)]
    pub schema: u32,
    /// The test's path, as its harness lists it.
    pub test: String,
    /// Where it is declared.
    pub file: String,
    /// The line of its declaration.
    pub line: u32,
    /// The byte budget.
    pub declared: usize,
    /// The smallest budget it passes with.
    pub minimum: Option<usize>,
    /// What it needs, over its budget.
    #[serde(default)]
    pub needed: Option<usize>,
    /// The most bytes in use at once.
    #[serde(default)]
    pub high_water_mark: usize,
    /// The runs of the body the measurement made.
    #[serde(default)]
    pub trials: usize,
    /// `fresh allocator`, `steady state` or `first run`.
    #[serde(default)]
    pub measured: String,
    /// `passed`, `over budget`, `stale`, `updated`, ... (the README lists them).
    pub verdict: String,
    /// The byte budget `FBA_UPDATE=1` rewrote it to.
    #[serde(default)]
    pub updated_to: Option<usize>,
    /// The target triple it was measured for (`unknown` in rows older than
    /// the field), and its pointer width.
    #[serde(default = "unknown_target")]
    pub target: String,
    /// The target's pointer width in bits (0 where unknown).
    #[serde(default)]
    pub pointer_width: u32,
    /// The allocations it makes, and its count budget.
    #[serde(default)]
    pub allocations: Option<CountRow>,
    /// Global mode's one-time state.
    #[serde(default)]
    pub one_time: Option<OneTimeRow>,
    /// Global mode's heap profile.
    #[serde(default)]
    pub heap: Option<HeapRow>,
    /// How many inputs an `fba::assert_budget` row sums up.
    #[serde(default)]
    pub cases: Option<usize>,
    /// How the buffer filled (`FBA_PROFILE=1`).
    #[serde(default)]
    pub profile: Option<Profile>,
}

fn unknown_target() -> String {
    "unknown".to_owned()
}

/// A row's count budget: the allocations made and the budget.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CountRow {
    /// The allocations made.
    pub count: usize,
    /// The count budget (`allocations = N`).
    #[serde(default)]
    pub budget: Option<usize>,
    /// The byte budget `FBA_UPDATE=1` rewrote it to.
    #[serde(default)]
    pub updated_to: Option<usize>,
}

/// Global mode's one-time state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OneTimeRow {
    /// The bytes left allocated by the first run only.
    pub bytes: usize,
}

/// Global mode's heap profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HeapRow {
    /// The most bytes live at once.
    pub peak_live_bytes: usize,
}

impl ReportRow {
    /// `(declared - minimum) / declared`, in percent.
    pub fn headroom(&self) -> Option<f64> {
        let minimum = self.minimum?;
        (self.declared > 0)
            .then(|| (self.declared as f64 - minimum as f64) * 100.0 / self.declared as f64)
    }

    /// The bytes it needs: its minimum, or what it needs over its budget.
    pub fn bytes(&self) -> Option<usize> {
        self.minimum.or(self.needed)
    }

    /// The table's verdict cell: `needs N` over budget, `updated to N`.
    pub fn verdict_cell(&self) -> String {
        match (self.verdict.as_str(), self.needed, self.updated_to) {
            ("over budget", Some(needed), _) => format!("needs {needed}"),
            ("over budget", None, _) => {
                format!(
                    "needs more than {}",
                    self.high_water_mark.max(self.declared)
                )
            }
            ("updated", _, Some(value)) => format!("updated to {value}"),
            ("updated", _, None) => {
                match self.allocations.as_ref().and_then(|count| count.updated_to) {
                    Some(value) => format!("updated to {value} allocations"),
                    None => "updated".to_owned(),
                }
            }
            (verdict, _, _) => verdict.to_owned(),
        }
    }

    /// The table's cells for this row, in [`COLUMNS`] order.
    pub fn cells(&self) -> [String; 8] {
        // Global mode's one-time state: beside the minimum after a warm-up,
        // in it when measured cold.
        let one_time = match (&self.one_time, self.measured.as_str()) {
            (None, _) => "-".to_owned(),
            (Some(blocks), "first run") => format!("in: {}", blocks.bytes),
            (Some(blocks), _) => blocks.bytes.to_string(),
        };
        // The allocations it makes, over its count budget if it has one.
        let allocations = match &self.allocations {
            None => "-".to_owned(),
            Some(count) => match count.budget {
                Some(budget) => format!("{}/{budget}", count.count),
                None => count.count.to_string(),
            },
        };
        [
            self.test.clone(),
            self.declared.to_string(),
            self.minimum
                .map_or_else(|| "-".to_owned(), |minimum| minimum.to_string()),
            self.headroom()
                .map_or_else(|| "-".to_owned(), |headroom| format!("{headroom:.1}%")),
            allocations,
            self.trials.to_string(),
            one_time,
            self.verdict_cell(),
        ]
    }
}

/// The table's columns.
pub const COLUMNS: [&str; 8] = [
    "test",
    "declared",
    "minimum",
    "headroom",
    "allocations",
    "trials",
    "one-time",
    "verdict",
];

/// A line of a report that is not a row: its number (from 1) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadLine {
    /// The line number, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

impl std::fmt::Display for BadLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {} is not a row of an fba report: {}",
            self.line, self.reason
        )
    }
}

/// The rows of a JSON Lines report, each with the whole JSON object it was
/// read from (blank lines skipped). A row of a newer schema than this
/// version knows is read as far as it goes.
pub fn parse(text: &str) -> Result<Vec<(ReportRow, serde_json::Value)>, BadLine> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            let bad = |error: serde_json::Error| BadLine {
                line: index + 1,
                reason: error.to_string(),
            };
            let value: serde_json::Value = serde_json::from_str(line).map_err(bad)?;
            let row = ReportRow::deserialize(&value).map_err(bad)?;
            Ok((row, value))
        })
        .collect()
}

/// The text table of `rows`, measured for `target` (`bits`-bit pointers),
/// or nothing without rows.
pub fn table(rows: &[ReportRow], target: &str, bits: u32) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut lines: Vec<Vec<String>> = vec![COLUMNS.map(String::from).to_vec()];
    lines.extend(rows.iter().map(|row| row.cells().to_vec()));
    // The test and the verdict are words; the rest are numbers.
    let last = COLUMNS.len() - 1;
    format!(
        "\nmemory budgets ({target}, {bits}-bit):\n{}",
        aligned(&lines, |column| column == 0 || column == last)
    )
}

/// `lines` of cells as text: each column padded to its widest cell, to the
/// left where `left(column)` (words), to the right elsewhere (numbers), two
/// spaces between columns, each line ending at its last character.
pub fn aligned(lines: &[Vec<String>], left: impl Fn(usize) -> bool) -> String {
    let columns = lines.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|column| {
            lines
                .iter()
                .filter_map(|line| line.get(column))
                .map(String::len)
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut text = String::new();
    for line in lines {
        let cells: Vec<String> = line
            .iter()
            .enumerate()
            .map(|(column, cell)| {
                let width = widths[column];
                if left(column) {
                    format!("{cell:<width$}")
                } else {
                    format!("{cell:>width$}")
                }
            })
            .collect();
        text.push_str(cells.join("  ").trim_end());
        text.push('\n');
    }
    text
}

/// The markdown table of `rows` (GitHub's flavour: numbers right-aligned),
/// or nothing without rows.
pub fn markdown(rows: &[ReportRow]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut text = markdown_line(&COLUMNS.map(String::from));
    text += &markdown_line(&COLUMNS.map(|column| {
        if column == "test" || column == "verdict" {
            ":--".to_owned()
        } else {
            "--:".to_owned()
        }
    }));
    for row in rows {
        let mut cells = row.cells();
        cells[0] = format!("`{}`", cells[0]);
        text += &markdown_line(&cells);
    }
    text
}

/// One line of a markdown table, its cells escaped.
pub fn markdown_line(cells: &[String]) -> String {
    let cells: Vec<String> = cells
        .iter()
        .map(|cell| cell.replace('|', "\\|").replace('\n', " "))
        .collect();
    format!("| {} |\n", cells.join(" | "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_without_a_schema_is_version_0_and_fields_it_lacks_are_empty() {
        let rows = parse(
            "{\"test\":\"t::a\",\"file\":\"src/lib.rs\",\"line\":3,\"declared\":4096,\"minimum\":100,\"verdict\":\"passed\"}\n\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 1);
        let (row, raw) = &rows[0];
        assert_eq!((row.schema, row.target.as_str()), (0, "unknown"));
        assert_eq!((row.minimum, row.allocations.as_ref()), (Some(100), None));
        assert_eq!(raw["line"], 3);
    }

    #[test]
    fn a_line_that_is_not_a_row_is_named_by_its_number() {
        let error = parse("\n{\"test\":\"t::a\"}\n").unwrap_err();
        assert_eq!(error.line, 2);
        assert!(
            error
                .to_string()
                .starts_with("line 2 is not a row of an fba report: missing field `file`"),
            "{error}"
        );
    }

    #[test]
    fn markdown_has_a_header_an_alignment_line_and_one_line_per_row() {
        let (row, _) = parse(
            "{\"schema\":1,\"test\":\"t::a|b\",\"file\":\"f\",\"line\":1,\"declared\":4096,\"minimum\":1024,\"trials\":3,\"verdict\":\"passed\"}",
        )
        .unwrap()
        .remove(0);
        assert_eq!(
            markdown(&[row]),
            "| test | declared | minimum | headroom | allocations | trials | one-time | verdict |\n\
             | :-- | --: | --: | --: | --: | --: | --: | :-- |\n\
             | `t::a\\|b` | 4096 | 1024 | 75.0% | - | 3 | - | passed |\n"
        );
    }
}
