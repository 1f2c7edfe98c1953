//! Helpers for the unit tests only.

use proptest::test_runner::Config;

/// `default_cases` cases per property, or `PROPTEST_CASES` when it is set, to run them deeper
/// (`ProptestConfig::with_cases` alone would ignore the variable).
pub fn proptest_config(default_cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(default_cases);
    Config {
        cases,
        ..Config::default()
    }
}
