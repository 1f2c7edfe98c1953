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

/// A reproducible sequence of pseudo-random numbers (a linear congruential generator, its high
/// bits) for test data: the same `seed` gives the same messages on every run.
pub fn numbers(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        state >> 33
    }
}
