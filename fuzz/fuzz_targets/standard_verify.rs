//! Standard Webhooks' `Verifier::verify` with arbitrary header bytes, bodies, clocks and
//! tolerances: it never panics, accepts what `sign` makes within the tolerance, and refuses the
//! same delivery once a body byte changes.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use webhook_receiver::signature::standard::{Headers, Verifier, sign};

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    secret: &'a str,
    id: Option<&'a [u8]>,
    timestamp: Option<&'a [u8]>,
    signature: &'a [u8],
    body: &'a [u8],
    now: i64,
    tolerance_secs: u64,
    flip_at: usize,
}

fuzz_target!(|input: Input<'_>| {
    let verifier = Verifier::new(input.secret, Some("whsec_cHJldmlvdXM="), input.tolerance_secs);
    // Arbitrary headers and clock: any answer, never a panic.
    let headers = Headers {
        id: input.id,
        timestamp: input.timestamp,
        signature: input.signature,
    };
    let _ = verifier.verify(headers, input.body, input.now);

    // A delivery signed now, by the current key, verifies; the same with one body byte changed
    // does not. (Timestamps are non-negative integers, as the spec sends them.)
    let Some(id) = input.id.and_then(|id| std::str::from_utf8(id).ok()) else {
        return;
    };
    if id.is_empty() {
        return;
    }
    let now = input.now.rem_euclid(1 << 40);
    let timestamp = now.to_string();
    let signed = sign(input.secret, id, now, input.body);
    let headers = Headers {
        id: Some(id.as_bytes()),
        timestamp: Some(timestamp.as_bytes()),
        signature: signed.as_bytes(),
    };
    assert_eq!(verifier.verify(headers, input.body, now), Ok(()));
    if !input.body.is_empty() {
        let mut changed = input.body.to_vec();
        changed[input.flip_at % input.body.len()] ^= 0x01;
        assert!(verifier.verify(headers, &changed, now).is_err());
    }
});
