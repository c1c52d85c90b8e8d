//! `validate`: how long validating the real case form takes, alone.
//!
//! Reads a built manifest and `bench/case-ddhh.json`, then times the
//! collector's path for one submission's answers, many times over: reading
//! the JSON text into typed answers and validating them (one pass), then
//! packing and compressing them for their row; and, for exports, reading a
//! row back to JSON text.

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
    // Packed and compressed as the collector stores it.
    let dictionary = collector::encoding::packed_dictionary(&form.manifest);
    let started = Instant::now();
    let mut encoded = collector::encoding::encode(form.layout(), &valid, &dictionary);
    for _ in 1..iterations {
        encoded = collector::encoding::encode(form.layout(), &valid, &dictionary);
    }
    let encode = started.elapsed() / n;
    // Read back as an export reads it: to the JSON text.
    let stored_form = collector::encoding::StoredForm::new(&form.manifest);
    let format = collector::encoding::ANSWERS_FORMAT;
    let started = Instant::now();
    let mut json_bytes = 0;
    for _ in 0..iterations {
        json_bytes = stored_form.decode(format, &encoded.stored)?.len();
    }
    let decode = started.elapsed() / n;
    println!(
        "per submission: read and validate {check:?}, pack and compress {encode:?} ({} bytes packed, {} stored), \
         total {:?}; read back as JSON ({json_bytes} bytes) {decode:?}",
        encoded.packed.len(),
        encoded.stored.len(),
        check + encode,
    );
    Ok(())
}
