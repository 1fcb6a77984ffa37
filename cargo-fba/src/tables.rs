//! The merged rows as tables: the harness's table once per target, or one
//! table with a column per target (`--by-target`), as text or markdown;
//! and the literals `cargo fba update` changed.

use std::collections::BTreeMap;

use fba_test::summary::{self, ReportRow, aligned, markdown_line};

use crate::merge::Merged;

/// The rows of `merged`: a table per target, or side by side.
pub(crate) fn rows(merged: &Merged, by_target: bool, markdown: bool) -> String {
    let groups = merged.by_target();
    if by_target {
        return side_by_side(&groups, markdown);
    }
    let mut text = String::new();
    for (target, rows) in &groups {
        let rows: Vec<ReportRow> = rows.iter().map(|row| (*row).clone()).collect();
        let bits = rows.first().map_or(0, |row| row.pointer_width);
        if markdown {
            text += &format!(
                "### Memory budgets ({target}, {bits}-bit)\n\n{}\n",
                summary::markdown(&rows)
            );
        } else {
            text += &summary::table(&rows, target, bits);
        }
    }
    text
}

/// A test's cells, by target.
type Cells<'a> = BTreeMap<&'a str, String>;

/// One row per test (its path, file and line), with its declared budget
/// and, per target, its minimum (or `needs N` over budget).
fn side_by_side(groups: &BTreeMap<&str, Vec<&ReportRow>>, markdown: bool) -> String {
    let targets: Vec<&str> = groups.keys().copied().collect();
    // Per test (path, file, line): its declared budget and a cell per target.
    let mut tests: BTreeMap<(&str, &str, u32), (usize, Cells<'_>)> = BTreeMap::new();
    for (target, rows) in groups {
        for row in rows {
            let cell = match (row.minimum, row.needed) {
                (Some(minimum), _) => minimum.to_string(),
                (None, Some(needed)) => format!("needs {needed}"),
                (None, None) => row.verdict.clone(),
            };
            tests
                .entry((row.test.as_str(), row.file.as_str(), row.line))
                .or_insert_with(|| (row.declared, BTreeMap::new()))
                .1
                .insert(*target, cell);
        }
    }
    let mut header = vec!["test".to_owned(), "declared".to_owned()];
    header.extend(targets.iter().map(|target| target.to_string()));
    let mut lines = vec![header];
    for ((test, _, _), (declared, cells)) in &tests {
        let mut line = vec![test.to_string(), declared.to_string()];
        line.extend(
            targets
                .iter()
                .map(|target| cells.get(target).cloned().unwrap_or_else(|| "-".to_owned())),
        );
        lines.push(line);
    }
    if markdown {
        let mut text = "### Memory budgets by target (minimum per target)\n\n".to_owned();
        let columns = lines[0].len();
        for (index, line) in lines.iter().enumerate() {
            let mut line = line.clone();
            if index > 0 {
                line[0] = format!("`{}`", line[0]);
            }
            text += &markdown_line(&line);
            if index == 0 {
                let mut align = vec![":--".to_owned()];
                align.extend((1..columns).map(|_| "--:".to_owned()));
                text += &markdown_line(&align);
            }
        }
        return text;
    }
    format!(
        "\nmemory budgets by target (minimum per target):\n{}",
        aligned(&lines, |column| column == 0)
    )
}

/// The literals an update rewrote, one per line: `file:line  test:
/// old -> new`, byte budgets and count budgets.
pub(crate) fn updated(merged: &Merged) -> String {
    let mut changed = Vec::new();
    for (row, _) in &merged.rows {
        let place = (row.file.as_str(), row.line);
        if let Some(value) = row.updated_to {
            changed.push((place, format!("{}: {} -> {value}", row.test, row.declared)));
        }
        if let Some(count) = &row.allocations
            && let Some(value) = count.updated_to
        {
            let budget = count
                .budget
                .map_or_else(|| "-".to_owned(), |budget| budget.to_string());
            changed.push((
                place,
                format!("{}: allocations = {budget} -> {value}", row.test),
            ));
        }
    }
    // In the order of the source: file, then line.
    changed.sort_by_key(|(place, _)| *place);
    let lines: Vec<String> = changed
        .iter()
        .map(|((file, line), change)| format!("  {file}:{line}  {change}"))
        .collect();
    if lines.is_empty() {
        return "\nno budget literal changed\n".to_owned();
    }
    format!(
        "\n{} budget literal(s) changed:\n{}\n",
        lines.len(),
        lines.join("\n")
    )
}
