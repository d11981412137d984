#![no_main]
//! Arbitrary REST requests against a small cluster: never a panic, always a Status.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    evictsim::fuzzing::rest_requests(data);
});
