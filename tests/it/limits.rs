//! Limits that hold: numeric settings outside their documented range, heads over the limit, a
//! full writer queue, a flood of reads and the size of a 422. Each is refused or answered at
//! once, in JSON, and counted.

use crate::helpers::assert_serve_refuses;

#[test]
fn serve_refuses_numeric_settings_out_of_range_or_not_a_number() {
    let cases: &[(&str, &[&str], &str)] = &[
        ("PORT", &["65536", "-1", "80a", ""], "from 0 to 65535"),
        (
            "MAX_BODY_BYTES",
            &["0", "16777217", "64KiB", "18446744073709551616"],
            "from 1 bytes to 16777216 bytes",
        ),
        (
            "REQUEST_TIMEOUT_SECS",
            &["0", "3601", "18446744073709551615", "1.5", "10s"],
            "from 1 seconds to 3600 seconds",
        ),
        (
            "SHUTDOWN_DRAIN_SECS",
            &["3601", "-1", "18446744073709551615", "5m"],
            "from 0 seconds to 3600 seconds",
        ),
    ];
    for (variable, values, says) in cases {
        for value in *values {
            assert_serve_refuses(&[(variable, value)], &[], variable, says);
        }
    }
    assert_serve_refuses(
        &[],
        &["--request-timeout-secs", "0"],
        "REQUEST_TIMEOUT_SECS",
        "from 1 seconds to 3600 seconds",
    );
}
