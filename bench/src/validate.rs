//! `validate`: how long validating the real case form takes, alone.
//!
//! Reads a built manifest and `bench/case-ddhh.json`, then times parsing
//! the JSON body, validating, and writing the stored JSON, many times over.

use std::time::Instant;

use anyhow::Context as _;
use constancia::manifest::Manifest;
use constancia::validate::{Form, Input, validate};

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
        let answers: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&case)?;
        std::hint::black_box(answers);
    }
    let parse = started.elapsed() / n;
    let answers: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&case)?;
    let started = Instant::now();
    for _ in 0..iterations {
        let valid = validate(&form, Input::Json(answers.clone()), "es", today).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        std::hint::black_box(valid);
    }
    let check = started.elapsed() / n;
    // The clone above is not part of validating: measure it and take it off.
    let started = Instant::now();
    for _ in 0..iterations {
        std::hint::black_box(answers.clone());
    }
    let check = check.saturating_sub(started.elapsed() / n);
    let valid = validate(&form, Input::Json(answers.clone()), "es", today).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let started = Instant::now();
    let mut stored_bytes = 0;
    for _ in 0..iterations {
        stored_bytes = serde_json::to_string(&valid)?.len();
    }
    let serialize = started.elapsed() / n;
    println!(
        "per submission: parse JSON {parse:?}, validate {check:?}, serialize {serialize:?}, total {:?} ({stored_bytes} bytes stored)",
        parse + check + serialize
    );
    Ok(())
}
