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

/// Why a file holds no sendable messages.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("not JSON or NDJSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("value {index} is not a JSON object (a message) or an array of them")]
    NotAMessage { index: usize },
    #[error("item {item} of the array in value {index} is not a JSON object (a message)")]
    NotAMessageInArray { index: usize, item: usize },
}

/// The message bodies in `input`, in file order. Empty input gives none. Each body is a slice
/// of `input`, not a copy: a large file is held once.
pub fn message_bodies(input: &Bytes) -> Result<Vec<Bytes>, InputError> {
    let mut bodies = Vec::new();
    let values = serde_json::Deserializer::from_slice(input).into_iter::<&RawValue>();
    for (index, value) in values.enumerate() {
        let index = index + 1;
        let raw = value?.get();
        match raw.as_bytes().first() {
            Some(b'{') => bodies.push(input.slice_ref(raw.as_bytes())),
            Some(b'[') => {
                let items: Vec<&RawValue> = serde_json::from_str(raw)?;
                for (item, value) in items.into_iter().enumerate() {
                    let raw = value.get();
                    if !raw.starts_with('{') {
                        return Err(InputError::NotAMessageInArray {
                            index,
                            item: item + 1,
                        });
                    }
                    bodies.push(input.slice_ref(raw.as_bytes()));
                }
            }
            _ => return Err(InputError::NotAMessage { index }),
        }
    }
    Ok(bodies)
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
    fn anything_but_objects_is_refused_with_its_position() {
        assert_eq!(
            message_bodies(&Bytes::from_static(b"{\"a\":1}\n42"))
                .unwrap_err()
                .to_string(),
            "value 2 is not a JSON object (a message) or an array of them"
        );
        assert_eq!(
            message_bodies(&Bytes::from_static(b"[{}, \"m\"]"))
                .unwrap_err()
                .to_string(),
            "item 2 of the array in value 1 is not a JSON object (a message)"
        );
        let error = message_bodies(&Bytes::from_static(b"{\"a\":1}\n{\"a\":"))
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("not JSON or NDJSON: "), "{error}");
        assert!(error.contains("line 2"), "{error}");
    }
}
