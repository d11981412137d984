//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the fuzz targets'
//! entry points, so the stable toolchain covers every input the fuzzer kept.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    assert!(!entries.is_empty(), "no corpus in {}", dir.display());
    for path in entries {
        let data = std::fs::read(&path).unwrap();
        let result = std::panic::catch_unwind(|| run(&data));
        assert!(result.is_ok(), "{} panicked", path.display());
    }
}

#[test]
fn rest_requests_corpus() {
    replay("rest_requests", evictsim::fuzzing::rest_requests);
}

#[test]
fn scenario_text_corpus() {
    replay("scenario_text", evictsim::fuzzing::scenario_text);
}

#[test]
fn operations_corpus() {
    replay("operations", evictsim::fuzzing::operations);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Random operation sequences, as the fuzzer sends them, hold every invariant.
    #[test]
    fn random_operation_sequences_hold_the_invariants(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120)) {
        evictsim::fuzzing::operations(&data);
    }
}
