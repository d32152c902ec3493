#![no_main]
//! libFuzzer entry for [`switchback_fuzz::update`] (built by `tests/bench/fuzz.sh`).

libfuzzer_sys::fuzz_target!(|data: &[u8]| switchback_fuzz::update::run(data));
