#![no_main]
//! libFuzzer entry for [`switchback_fuzz::config`] (built by `tests/bench/fuzz.sh`).

libfuzzer_sys::fuzz_target!(|data: &[u8]| switchback_fuzz::config::run(data));
