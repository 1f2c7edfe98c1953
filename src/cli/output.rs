//! What commands print: tables for people, `--json` for programs, and stdout writes that let a
//! closed pipe end the command quietly instead of panicking as `println!` would.

use std::io::{self, IsTerminal, Write};

use comfy_table::{ColumnConstraint, ContentArrangement, Table, Width, presets};
use serde::Serialize;

/// A table with `header` (none when empty), styled for where stdout goes: borders and the
/// terminal's width on a terminal (see [`fit`]); otherwise plain space-separated columns with
/// no colour and no wrapping, so that pipes, files and tests see the same text on every machine.
pub fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    if io::stdout().is_terminal() {
        table
            .load_preset(presets::UTF8_FULL_CONDENSED)
            .apply_modifier(comfy_table::modifiers::UTF8_ROUND_CORNERS)
            .set_truncation_indicator("…");
        // A terminal that reports no usable width (some ptys say 0) gets whole rows.
        if table.width().is_some_and(|width| width >= 40) {
            table.set_content_arrangement(ContentArrangement::Dynamic);
        }
    } else {
        plain(&mut table);
    }
    if !header.is_empty() {
        table.set_header(header.iter().copied());
    }
    table
}

/// Makes a table laid out to the terminal's width (see [`table`]) fit it: every row stays one
/// line, a cell too wide for its column is cut and ends in `…` (full values are a pipe or
/// `--json` away), and column `i` is not squeezed below `minimums[i]` characters, or its
/// content's width when that is less. Wrapping instead, a long id or text left the other
/// columns one letter wide, one letter a line. Call it once every row is added; it changes
/// nothing in a plain table.
pub fn fit(table: &mut Table, minimums: &[u16]) {
    if !matches!(table.content_arrangement(), ContentArrangement::Dynamic) {
        return;
    }
    // Cut at the column's width, not at the last space before it: comfy-table wraps at its
    // delimiter, and a row's first line is all that is shown. No cell holds a NUL
    // ([`one_line`] escapes control characters), so none is split at a word.
    table.set_delimiter('\0');
    if let Some(mut header) = table.header().cloned() {
        header.max_height(1);
        table.set_header(header);
    }
    for row in table.row_iter_mut() {
        row.max_height(1);
    }
    let contents = table.column_max_content_widths();
    let floors: Vec<u16> = minimums
        .iter()
        .zip(&contents)
        .map(|(minimum, content)| *minimum.min(content))
        .collect();
    // Borders, and a space each side of every cell: what the terminal's width leaves for text.
    let frame = 3 * contents.len() + 1;
    let room = usize::from(table.width().unwrap_or_default()).saturating_sub(frame);
    // Minimums a narrow terminal cannot hold would push the table past its edge: then every
    // column shares what there is.
    if floors
        .iter()
        .map(|floor| usize::from(*floor))
        .sum::<usize>()
        > room
    {
        return;
    }
    for (index, floor) in floors.into_iter().enumerate() {
        if let Some(column) = table.column_mut(index) {
            // A constraint's width counts the cell's padding too.
            let floor = floor + column.padding_width();
            column.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(floor)));
        }
    }
}

/// Styles `table` as plain columns: no borders, no colour, no width detection.
pub fn plain(table: &mut Table) {
    table
        .force_no_tty()
        .load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled);
}

/// The table's text as printed: for plain tables (see [`plain`]), without the cell padding at the
/// start and end of each line.
pub fn render(table: &Table) -> String {
    let text = table.to_string();
    if !table.is_tty() {
        let mut plain = String::with_capacity(text.len());
        for line in text.lines() {
            plain.push_str(line.strip_prefix(' ').unwrap_or(line).trim_end());
            plain.push('\n');
        }
        plain
    } else {
        text + "\n"
    }
}

/// Writes `text` to stdout. A closed pipe comes back as an error that [`super::exit::report`]
/// turns into a quiet success.
pub fn print(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// Writes `value` as one line of compact JSON, as the API sends it.
pub fn print_json(value: &impl Serialize) -> io::Result<()> {
    let mut line = serde_json::to_string(value).map_err(io::Error::other)?;
    line.push('\n');
    print(&line)
}

/// A cell's text on one line: control characters (newlines, tabs…) are shown escaped, so that
/// each row stays one line and `head` or `grep` see whole rows.
pub fn one_line(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_tables_are_columns_without_padding_at_the_edges() {
        let mut table = Table::new();
        plain(&mut table);
        table.set_header(["id", "text"]);
        table.add_row(["m1", "Hello"]);
        table.add_row(["message-2", "é"]);
        assert_eq!(
            render(&table),
            "id         text\nm1         Hello\nmessage-2  é\n"
        );
    }

    #[test]
    fn control_characters_are_escaped_on_one_line() {
        assert_eq!(one_line("a\nb\tc"), "a\\nb\\tc");
        assert_eq!(one_line("héllo"), "héllo");
    }
}
