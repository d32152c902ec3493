#![no_main]
//! libFuzzer entry for [`switchback_fuzz::dns`] (built by `tests/bench/fuzz.sh`).

libfuzzer_sys::fuzz_target!(|data: &[u8]| switchback_fuzz::dns::run(data));
