//! What commands print: tables for people, `--json` for programs, and stdout writes that let a
//! closed pipe end the command quietly instead of panicking as `println!` would.

use std::io::{self, IsTerminal, Write};

use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;

/// A table with `header` (none when empty), styled for where stdout goes: borders and the
/// terminal's width on a terminal; otherwise plain space-separated columns with no colour and
/// no wrapping, so that pipes, files and tests see the same text on every machine.
pub fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    if io::stdout().is_terminal() {
        table
            .load_preset(presets::UTF8_FULL_CONDENSED)
            .apply_modifier(comfy_table::modifiers::UTF8_ROUND_CORNERS);
        // A terminal that reports no usable width (some ptys say 0) gets unwrapped rows.
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
