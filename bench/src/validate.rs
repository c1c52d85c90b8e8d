//! `validate`: how long validating the real case form takes, alone.
//!
//! Reads a built manifest and `bench/case-ddhh.json`, then times the
//! collector's path for one submission's answers, many times over: reading
//! the JSON text into typed answers and validating them (one pass), then
//! writing the stored JSON.

use std::time::Instant;

use anyhow::Context as _;
use constancia::manifest::Manifest;
use constancia::validate::{Form, Input, validate};

// The same allocator as the collector binary, so the figures match it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let manifest_path = args.next().context("usage: validate MANIFEST CASE [ITERATIONS]")?;
    let case_path = args.next().context("usage: validate MANIFEST CASE [ITERATIONS]")?;
    let iterations: usize = args.next().map_or(Ok(20_000), |n| n.parse())?;
    let manifest: Manifest = serde_json::from_str(&std::fs::read_to_string(manifest_path)?)?;
    let form = Form::new(manifest);
    let case = std::fs::read_to_string(case_path)?;
    let today = jiff::civil::date(2026, 11, 20);
    let n = u32::try_from(iterations)?;
    let started = Instant::now();
    for _ in 0..iterations {
        let valid = validate(&form, Input::JsonText(&case), "es", today).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        std::hint::black_box(valid);
    }
    let check = started.elapsed() / n;
    let valid = validate(&form, Input::JsonText(&case), "es", today).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let started = Instant::now();
    let mut stored_bytes = 0;
    for _ in 0..iterations {
        stored_bytes = form.layout().json(&valid).len();
    }
    let serialize = started.elapsed() / n;
    // Compressed as the collector stores it, against the form's dictionary.
    let stored = form.layout().json(&valid);
    let dictionary = collector::store::answers_dictionary(&form.manifest);
    let started = Instant::now();
    let mut compressed_bytes = 0;
    for _ in 0..iterations {
        compressed_bytes = collector::store::encode_answers(&stored, &dictionary).len();
    }
    let compress = started.elapsed() / n;
    println!(
        "per submission: read and validate {check:?}, serialize {serialize:?}, compress {compress:?}, total {:?} \
         ({stored_bytes} bytes stored, {compressed_bytes} compressed with a {}-byte dictionary)",
        check + serialize + compress,
        dictionary.len()
    );
    Ok(())
}
