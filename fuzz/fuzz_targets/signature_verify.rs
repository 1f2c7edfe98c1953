//! `Verifier::verify` with arbitrary header values and bodies: it never panics, accepts exactly
//! the signatures `sign` makes (in the accepted spellings), and refuses any other body.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use webhook_receiver::signature::{Verifier, sign};

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    secret: &'a [u8],
    header: &'a [u8],
    body: &'a [u8],
    flip_at: usize,
}

fuzz_target!(|input: Input<'_>| {
    let verifier = Verifier::new(input.secret, Some(b"previous"));
    // Arbitrary headers: any answer, never a panic.
    let _ = verifier.verify(input.header, input.body);

    let signature = sign(input.secret, input.body);
    assert!(verifier.verify(signature.as_bytes(), input.body));
    assert!(verifier.verify(
        format!("sha256={}", signature.to_uppercase()).as_bytes(),
        input.body
    ));
    if !input.body.is_empty() {
        let mut changed = input.body.to_vec();
        changed[input.flip_at % input.body.len()] ^= 0x01;
        assert!(!verifier.verify(signature.as_bytes(), &changed));
    }
});
