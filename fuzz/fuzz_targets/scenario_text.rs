#![no_main]
//! Arbitrary scenario text: parse errors are fine, panics are not.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    evictsim::fuzzing::scenario_text(data);
});
