//! What the collector stores of a case must read back the same in every
//! later release.
//!
//! - The answers' JSON text is what exports write and what the content
//!   hashes of rows stored before packed answers cover: a change of the
//!   answer tree's representation must not change one byte of it, or
//!   retries of cases stored before an upgrade would be refused.
//! - The packed bytes (`constancia::packed`) are what rows hold now, read
//!   back against the stored form version: the same case must pack to the
//!   same bytes, or older rows would no longer decode.

use constancia::answers::Instance;
use constancia::validate::{Form, Input, validate};
use constancia_tests::{build_real_forms, workspace_root};

fn example_case() -> (Form, Instance) {
    let site = build_real_forms();
    let manifest = site
        .project
        .forms
        .iter()
        .map(|f| f.manifest.clone())
        .find(|m| m.id == "caso-ddhh")
        .expect("the real forms include caso-ddhh");
    let form = Form::new(manifest);
    let case: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(workspace_root().join("bench/case-ddhh.json")).unwrap()).unwrap();
    let answers = case.get("answers").unwrap_or(&case).to_string();
    let today = jiff::civil::date(2026, 11, 20);
    let valid = validate(&form, Input::JsonText(&answers), "es", today)
        .unwrap_or_else(|errors| panic!("the example case validates: {errors:?}"));
    (form, valid)
}

#[test]
fn the_example_case_is_stored_as_the_same_text() {
    let (form, valid) = example_case();
    let stored = form.layout().json(&valid);
    insta::assert_snapshot!(stored);
}

#[test]
fn the_example_case_packs_to_the_same_bytes() {
    let (form, valid) = example_case();
    let packed = constancia::packed::pack(form.layout(), &valid);
    // 64 bytes a line, in hex.
    let lines: Vec<String> =
        packed.chunks(64).map(|chunk| chunk.iter().map(|byte| format!("{byte:02x}")).collect()).collect();
    insta::assert_snapshot!(lines.join("\n"));
    let back = constancia::packed::unpack(form.layout(), &packed).expect("the packed case reads back");
    assert_eq!(form.layout().json(&back), form.layout().json(&valid));
}
