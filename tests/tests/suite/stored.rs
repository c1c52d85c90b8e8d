//! What the collector stores of a case is its canonical text: idempotency
//! hashes it (a retry is recognised by the same text) and exports read it.
//! A change of the answer tree's representation must not change one byte
//! of it, or retries of cases stored before an upgrade would be refused.

use constancia::validate::{Form, Input, validate};
use constancia_tests::{build_real_forms, workspace_root};

#[test]
fn the_example_case_is_stored_as_the_same_text() {
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
    let stored = form.layout().json(&valid);
    insta::assert_snapshot!(stored);
}
