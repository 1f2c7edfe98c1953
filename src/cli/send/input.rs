//! The bodies `app send` posts when they are not synthetic: one message built from its fields
//! ([`OutgoingMessage`], from the flags), or the messages in a file: a JSON array of objects,
//! one object, or NDJSON (objects one after another, one per line or pretty-printed). Each
//! object in a file is sent as the exact bytes it has there, so what is signed is what the file
//! says.

use bytes::Bytes;
use serde::Serialize;
use serde_json::value::RawValue;

/// One message as `app send` posts it, fields in the contract's order; `text` is left out when
/// there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutgoingMessage {
    pub message_id: String,
    pub from: String,
    pub to: String,
    pub ts: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl OutgoingMessage {
    /// The JSON body, compact, copied into an allocation of its own length: serde_json's
    /// buffer doubles as it grows (a 150-byte body sits in 256), an allocator may shrink it in
    /// place, and `--generate` holds every body at once.
    pub fn to_body(&self) -> Bytes {
        let json = serde_json::to_vec(self).expect("a message always serializes");
        Bytes::copy_from_slice(&json)
    }
}

/// Why a file holds no sendable messages. Each names the line its value starts on, counted as
/// editors count them, from 1.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// Not JSON. `detail` is serde_json's message; when it is about a later line than the one
    /// the value starts on (an object left open runs into the next), that line is named too.
    #[error("line {line}: not JSON: {detail}")]
    Json { line: usize, detail: String },
    #[error("line {line}: not a JSON object (a message) or an array of them")]
    NotAMessage { line: usize },
    #[error("line {line}: item {item} of the array is not a JSON object (a message)")]
    NotAMessageInArray { line: usize, item: usize },
}

/// The byte order mark some editors put at the start of a UTF-8 file; not part of the JSON.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The message bodies in `input`, in file order. Empty input gives none; a UTF-8 byte order
/// mark at the start is skipped. Each body is a slice of `input`, not a copy: a large file is
/// held once.
pub fn message_bodies(input: &Bytes) -> Result<Vec<Bytes>, InputError> {
    let input = if input.starts_with(UTF8_BOM) {
        input.slice(UTF8_BOM.len()..)
    } else {
        input.clone()
    };
    let mut lines = Lines::new(&input);
    let mut bodies = Vec::new();
    let mut values = serde_json::Deserializer::from_slice(&input).into_iter::<&RawValue>();
    while let Some(value) = values.next() {
        let raw = match value {
            Ok(raw) => raw.get(),
            Err(error) => {
                // Where the value that failed starts: past the last one read, and its spaces.
                let end = values.byte_offset();
                let start = input[end..]
                    .iter()
                    .position(|b| !b.is_ascii_whitespace())
                    .map_or(end, |skipped| end + skipped);
                return Err(json_error(lines.at(start), &error));
            }
        };
        let line = lines.at(raw.as_ptr() as usize - input.as_ptr() as usize);
        match raw.as_bytes().first() {
            Some(b'{') => bodies.push(input.slice_ref(raw.as_bytes())),
            Some(b'[') => {
                let items: Vec<&RawValue> =
                    serde_json::from_str(raw).map_err(|error| json_error(line, &error))?;
                for (item, value) in items.into_iter().enumerate() {
                    let raw = value.get();
                    if !raw.starts_with('{') {
                        return Err(InputError::NotAMessageInArray {
                            line,
                            item: item + 1,
                        });
                    }
                    bodies.push(input.slice_ref(raw.as_bytes()));
                }
            }
            _ => return Err(InputError::NotAMessage { line }),
        }
    }
    Ok(bodies)
}

/// The line of each offset into `input`, asked in increasing order: each byte is counted once,
/// so a file of thirty thousand 4 KB lines is read once, not once per line.
struct Lines<'a> {
    input: &'a [u8],
    offset: usize,
    line: usize,
}

impl<'a> Lines<'a> {
    fn new(input: &'a [u8]) -> Self {
        Self {
            input,
            offset: 0,
            line: 1,
        }
    }

    /// The line (from 1) that `offset` is on.
    fn at(&mut self, offset: usize) -> usize {
        if offset < self.offset {
            *self = Self::new(self.input);
        }
        let newlines = self.input[self.offset..offset]
            .iter()
            .filter(|&&byte| byte == b'\n')
            .count();
        self.line += newlines;
        self.offset = offset;
        self.line
    }
}

/// serde_json's `error` for a value starting on `line`: its message without its position when
/// that is on the same line, with it when the value ran on into a later one.
fn json_error(line: usize, error: &serde_json::Error) -> InputError {
    let text = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    let message = text.strip_suffix(&position).unwrap_or(&text);
    let detail = if error.line() <= line {
        format!("{message} (column {})", error.column())
    } else {
        format!(
            "{message} at line {} column {}: the value that starts here does not end",
            error.line(),
            error.column()
        )
    };
    InputError::Json { line, detail }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bodies(input: &str) -> Vec<String> {
        message_bodies(&Bytes::copy_from_slice(input.as_bytes()))
            .unwrap()
            .into_iter()
            .map(|body| String::from_utf8(body.to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn outgoing_messages_leave_out_a_missing_text() {
        let mut message = OutgoingMessage {
            message_id: "m1".into(),
            from: "+1".into(),
            to: "+2".into(),
            ts: "2025-01-15T10:00:00Z".into(),
            text: None,
        };
        assert_eq!(
            message.to_body(),
            r#"{"message_id":"m1","from":"+1","to":"+2","ts":"2025-01-15T10:00:00Z"}"#
        );
        message.text = Some("Hi".into());
        assert!(message.to_body().ends_with(br#","text":"Hi"}"#));
    }

    #[test]
    fn ndjson_lines_are_sent_byte_for_byte() {
        let input = "{\"message_id\": \"a\",  \"x\":1}\n\n{\"message_id\":\"b\"}\r\n";
        assert_eq!(
            bodies(input),
            vec![r#"{"message_id": "a",  "x":1}"#, r#"{"message_id":"b"}"#]
        );
    }

    #[test]
    fn bodies_share_the_files_bytes_rather_than_copy_them() {
        let input = Bytes::from_static(b"[{\"a\":1}]\n{\"b\":2}\n");
        let file = input.as_ptr_range();
        for body in message_bodies(&input).unwrap() {
            assert!(file.contains(&body.as_ptr()), "{body:?} is a copy");
        }
    }

    #[test]
    fn arrays_and_pretty_printed_objects_are_read_too() {
        assert_eq!(
            bodies("[{\"a\":1}, {\"b\": 2}]"),
            vec![r#"{"a":1}"#, r#"{"b": 2}"#]
        );
        assert_eq!(bodies("{\n  \"a\": 1\n}\n"), vec!["{\n  \"a\": 1\n}"]);
        assert!(bodies("  \n").is_empty());
    }

    #[test]
    fn anything_but_objects_is_refused_with_its_line() {
        let refusal = |input: &'static [u8]| {
            message_bodies(&Bytes::from_static(input))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            refusal(b"{\"a\":1}\n\n42"),
            "line 3: not a JSON object (a message) or an array of them"
        );
        assert_eq!(
            refusal(b"[{}, \"m\"]"),
            "line 1: item 2 of the array is not a JSON object (a message)"
        );
        assert_eq!(
            refusal(b"{\"a\":1}\n{\"b\":2}\n{\"c\" 3}\n{\"d\":4}\n"),
            "line 3: not JSON: expected `:` (column 6)"
        );
        assert_eq!(
            refusal(b"{\"a\":1}\n{\"b\":2}\n{\"c\":\n"),
            "line 3: not JSON: EOF while parsing a value at line 4 column 0: the value that \
             starts here does not end"
        );
    }

    #[test]
    fn a_refusal_after_many_lines_names_its_line() {
        let mut input = "{\"a\":1}\n".repeat(10_000);
        input.push_str("\n[{}, 7]\n");
        assert_eq!(
            message_bodies(&Bytes::from(input)).unwrap_err().to_string(),
            "line 10002: item 2 of the array is not a JSON object (a message)"
        );
    }

    #[test]
    fn a_byte_order_mark_at_the_start_is_skipped() {
        assert_eq!(
            bodies("\u{FEFF}{\"a\":1}\n{\"b\":2}"),
            vec![r#"{"a":1}"#, r#"{"b":2}"#]
        );
    }
}
