#![no_main]
//! Random operation sequences against a small cluster, checked against a reference model
//! after every step: failed requests change nothing, PDB status equals a recount, no pod is
//! left terminating past its deadline.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    evictsim::fuzzing::operations(data);
});
