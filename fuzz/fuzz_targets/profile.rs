//! Arbitrary bytes as a profile: `Plan::parse` in the folder of fixture files
//! (fuzz/fixtures), so profiles that name a trace, a feeder, a CA or a report folder get
//! past the file checks.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    einv_engine::fuzzing::profile(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures")), data);
});
