//! The report as one self-contained HTML page: the table, a bar per test
//! (declared, minimum, peak live bytes) and, for each test whose row has a
//! profile (`FBA_PROFILE=1`), how its buffer filled over the run. No
//! script, no stylesheet or font from the network.
//!
//! The SVG is written here rather than by a plotting crate: plotters, the
//! usual choice, lays text out with font metrics from its `ttf` feature
//! (font-kit, which links the system's fontconfig) or from a font file
//! embedded with `ab_glyph`, and draws flat primitives, while the page needs
//! one group per test with a tooltip (`<title>`) that a browser test and a
//! reader can find. Two kinds of chart, bars and two lines, are a few dozen
//! lines each.

use std::fmt::Write;

use fba_test::summary::{COLUMNS, ReportRow};

use crate::merge::Merged;

/// The page of the merged rows `merged`.
pub(crate) fn page(merged: &Merged) -> String {
    let rows: Vec<&ReportRow> = merged.rows.iter().map(|(row, _)| row).collect();
    let mut body = String::new();
    let targets = merged.by_target();
    let _ = write!(
        body,
        "<h1>Memory budgets</h1>\n<p>{} test(s), measured for {}.</p>\n",
        rows.len(),
        escape(&targets.keys().copied().collect::<Vec<_>>().join(", "))
    );
    if let Some(note) = merged.repeated_note() {
        let _ = writeln!(body, "<p class=\"note\">{}</p>", escape(&note));
    }
    body += &table(&rows);
    body += "<h2>Budget, minimum and peak live bytes</h2>\n";
    body += &bars(&rows);
    let profiled: Vec<&ReportRow> = rows
        .iter()
        .copied()
        .filter(|row| row.profile.is_some())
        .collect();
    if !profiled.is_empty() {
        body += "<h2>How the buffer filled</h2>\n";
        for row in profiled {
            body += &fill_chart(row);
        }
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Memory budgets</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin-bottom:2em}\
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right;white-space:nowrap}\
th:nth-child(-n+2),td:nth-child(-n+2),td.verdict{text-align:left}\
td.failed{color:#b00020;font-weight:bold}\
.note{color:#805b00}\
svg text{font-family:sans-serif;font-size:12px;fill:#222}";

const DECLARED: &str = "#9ecae1";
const MINIMUM: &str = "#3182bd";
const PEAK: &str = "#e6550d";

fn table(rows: &[&ReportRow]) -> String {
    let mut text = "<table>\n<tr><th>target</th>".to_owned();
    for column in COLUMNS {
        let _ = write!(text, "<th>{column}</th>");
    }
    text += "</tr>\n";
    for row in rows {
        let failed = !matches!(row.verdict.as_str(), "passed" | "updated");
        let _ = write!(text, "<tr><td>{}</td>", escape(&row.target));
        let cells = row.cells();
        let last = cells.len() - 1;
        for (column, cell) in cells.iter().enumerate() {
            let class = match (column == last, failed) {
                (true, true) => " class=\"verdict failed\"",
                (true, false) => " class=\"verdict\"",
                _ => "",
            };
            let _ = write!(text, "<td{class}>{}</td>", escape(cell));
        }
        text += "</tr>\n";
    }
    text + "</table>\n"
}

/// The most live bytes a row knows of: global mode's heap peak, or the
/// profile's.
fn peak_live(row: &ReportRow) -> Option<usize> {
    row.heap
        .as_ref()
        .map(|heap| heap.peak_live_bytes)
        .or_else(|| {
            row.profile
                .as_ref()
                .and_then(|profile| profile.points.iter().map(|point| point[2]).max())
        })
}

/// One group of three horizontal bars per test, on one scale.
fn bars(rows: &[&ReportRow]) -> String {
    const LABEL: f64 = 360.0;
    const WIDTH: f64 = 900.0;
    const BAR: f64 = 9.0;
    const GROUP: f64 = 3.0 * BAR + 14.0;
    let largest = rows
        .iter()
        .flat_map(|row| [Some(row.declared), row.bytes(), peak_live(row)])
        .flatten()
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let scale = |bytes: usize| bytes as f64 * (WIDTH - LABEL - 80.0) / largest;
    let height = GROUP * rows.len() as f64 + 40.0;
    let mut svg = format!(
        "<svg class=\"bars\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"budget, minimum and peak live bytes per test\">\n"
    );
    for (i, (label, color)) in [
        ("declared", DECLARED),
        ("minimum", MINIMUM),
        ("peak live", PEAK),
    ]
    .into_iter()
    .enumerate()
    {
        let x = LABEL + 110.0 * i as f64;
        let _ = writeln!(
            svg,
            "<rect x=\"{x}\" y=\"4\" width=\"12\" height=\"12\" fill=\"{color}\"/><text x=\"{}\" y=\"14\">{label}</text>",
            x + 16.0
        );
    }
    for (index, row) in rows.iter().enumerate() {
        let top = 30.0 + GROUP * index as f64;
        let _ = writeln!(
            svg,
            "<g class=\"bar-group\" data-test=\"{}\" data-target=\"{}\">\n<title>{} ({}): declared {}, minimum {}, peak live {}</title>\n<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            escape(&row.test),
            escape(&row.target),
            escape(&row.test),
            escape(&row.target),
            row.declared,
            number(row.bytes()),
            number(peak_live(row)),
            LABEL - 8.0,
            top + 1.5 * BAR + 4.0,
            escape(&row.test)
        );
        for (bar, (value, color)) in [
            (Some(row.declared), DECLARED),
            (row.bytes(), MINIMUM),
            (peak_live(row), PEAK),
        ]
        .into_iter()
        .enumerate()
        {
            let y = top + BAR * bar as f64;
            if let Some(value) = value {
                let width = scale(value);
                let _ = writeln!(
                    svg,
                    "<rect x=\"{LABEL}\" y=\"{y}\" width=\"{width:.1}\" height=\"{}\" fill=\"{color}\"/><text x=\"{:.1}\" y=\"{}\" style=\"font-size:9px\">{value}</text>",
                    BAR - 1.0,
                    LABEL + width + 4.0,
                    y + BAR - 1.5
                );
            }
        }
        svg += "</g>\n";
    }
    svg + "</svg>\n"
}

/// Bytes in use and live against the allocation number, the high-water
/// mark marked.
fn fill_chart(row: &ReportRow) -> String {
    const WIDTH: f64 = 900.0;
    const HEIGHT: f64 = 260.0;
    const LEFT: f64 = 70.0;
    const BOTTOM: f64 = 30.0;
    const TOP: f64 = 44.0;
    let Some(profile) = &row.profile else {
        return String::new();
    };
    let x_max = profile.allocations.max(1) as f64;
    let y_max = profile
        .points
        .iter()
        .map(|point| point[1].max(point[2]))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let x = |allocations: usize| LEFT + allocations as f64 * (WIDTH - LEFT - 20.0) / x_max;
    let y = |bytes: usize| HEIGHT - BOTTOM - bytes as f64 * (HEIGHT - BOTTOM - TOP) / y_max;
    let line = |column: usize| -> String {
        profile
            .points
            .iter()
            .map(|point| format!("{:.1},{:.1}", x(point[0]), y(point[column])))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut svg = format!(
        "<h3>{} ({})</h3>\n<svg class=\"fill\" data-test=\"{}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"bytes in use and live over the run\">\n",
        escape(&row.test),
        escape(&row.target),
        escape(&row.test)
    );
    // Axes, with their ends labelled.
    let _ = writeln!(
        svg,
        "<line x1=\"{LEFT}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#888\"/><line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{b}\" stroke=\"#888\"/>\n<text x=\"{LEFT}\" y=\"{lb}\">0</text><text x=\"{r}\" y=\"{lb}\" text-anchor=\"end\">{} allocations</text>\n<text x=\"{yl}\" y=\"{t}\" text-anchor=\"end\">{} B</text><text x=\"{yl}\" y=\"{b}\" text-anchor=\"end\">0</text>",
        profile.allocations,
        y_max as usize,
        b = HEIGHT - BOTTOM,
        r = WIDTH - 20.0,
        lb = HEIGHT - BOTTOM + 16.0,
        yl = LEFT - 6.0,
        t = TOP + 4.0,
    );
    let _ = writeln!(
        svg,
        "<polyline class=\"used\" fill=\"none\" stroke=\"{MINIMUM}\" stroke-width=\"1.5\" points=\"{}\"><title>bytes in use</title></polyline>\n<polyline class=\"live\" fill=\"none\" stroke=\"{PEAK}\" stroke-width=\"1.5\" points=\"{}\"><title>bytes live</title></polyline>",
        line(1),
        line(2)
    );
    if let Some(peak) = profile.points.get(profile.high_water_point) {
        let (px, py) = (x(peak[0]), y(peak[1]));
        // The label on the side of the mark with room for it.
        let (label_x, anchor) = if px > WIDTH / 2.0 {
            (px - 6.0, "end")
        } else {
            (px + 6.0, "start")
        };
        let _ = writeln!(
            svg,
            "<g class=\"high-water\"><line x1=\"{px:.1}\" y1=\"{TOP}\" x2=\"{px:.1}\" y2=\"{}\" stroke=\"#b00020\" stroke-dasharray=\"4 3\"/><circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"4\" fill=\"#b00020\"/><text x=\"{label_x:.1}\" y=\"{}\" text-anchor=\"{anchor}\">high-water mark {} B at allocation {}</text></g>",
            HEIGHT - BOTTOM,
            TOP - 6.0,
            profile.high_water_mark,
            peak[0],
        );
    }
    let _ = writeln!(
        svg,
        "<rect x=\"{}\" y=\"6\" width=\"12\" height=\"3\" fill=\"{MINIMUM}\"/><text x=\"{}\" y=\"12\">in use</text><rect x=\"{}\" y=\"6\" width=\"12\" height=\"3\" fill=\"{PEAK}\"/><text x=\"{}\" y=\"12\">live</text>",
        WIDTH - 200.0,
        WIDTH - 184.0,
        WIDTH - 120.0,
        WIDTH - 104.0
    );
    if profile.thinned {
        let _ = writeln!(
            svg,
            "<text x=\"{LEFT}\" y=\"12\">{} of {} events shown, evenly spread</text>",
            profile.points.len(),
            profile.events
        );
    }
    svg + "</svg>\n"
}

fn number(value: Option<usize>) -> String {
    value.map_or_else(|| "-".to_owned(), |value| value.to_string())
}

/// `text` safe inside an element or a quoted attribute.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped += "&amp;",
            '<' => escaped += "&lt;",
            '>' => escaped += "&gt;",
            '"' => escaped += "&quot;",
            '\'' => escaped += "&#39;",
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_in_text_and_attributes() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
    }
}
