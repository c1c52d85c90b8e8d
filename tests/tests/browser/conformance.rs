//! The shared conformance vectors (`tests/conformance/vectors.json`) in
//! Chromium: the runtime module the site serves, imported into a page of
//! the site, must give every expected value, compared exactly as the Node
//! tests (`tests/js/runtime.test.mjs`) and the Rust evaluator
//! (`generator/tests/conformance.rs`) compare them.

use serde_json::{Value, json};

use crate::harness::Rig;

/// Imports the page's own runtime module and runs every vector (given as
/// the file's text); returns
/// `[count, failures]`.
const RUN: &str = r#"
const [text, done] = arguments
;(async () => {
  // Parsed here: a float through another JSON library may come back a bit off.
  const vectors = JSON.parse(text)
  const src = document.querySelector('script[type=module][src*="runtime."]').src
  const { evaluate, instance, isEmpty, parseDate, parseTime, toJson } = await import(src)
  const value = x => x == null ? null : Array.isArray(x) ? x
    : typeof x == 'object' ? ('date' in x ? parseDate(x.date) : 'time' in x ? parseTime(x.time) : null) : x
  const tree = object => {
    const inst = instance()
    for (const [key, x] of Object.entries(object)) {
      if (Array.isArray(x) && x.length && x.every(i => i && typeof i == 'object' && !Array.isArray(i))) inst.r.set(key, x.map(tree))
      else if (!isEmpty(value(x))) inst.v.set(key, value(x))
    }
    return inst
  }
  const show = v => JSON.stringify(v === null ? null : toJson(v))
  const failures = []
  for (const vector of vectors) {
    const scope = { root: tree(vector.answers), position: vector.position || [], today: parseDate(vector.today) }
    if ('self' in vector) scope.self = value(vector.self)
    let got
    try { got = evaluate(vector.expr, scope) } catch (error) { failures.push(`${vector.name}: threw ${error}`); continue }
    const want = value(vector.expected)
    if (show(got) !== show(want) || typeof got != typeof want) failures.push(`${vector.name}: expected ${show(want)}, got ${show(got)}`)
  }
  return [vectors.length, failures]
})().then(done, e => done(['failed', String(e)]))
"#;

#[tokio::test]
async fn the_conformance_vectors_pass_in_chromium() {
    let path = constancia_tests::workspace_root().join("tests/conformance/vectors.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read `{}`: {e}", path.display()));
    let vectors: Value = serde_json::from_str(&text).expect("the vectors are JSON");
    let total = vectors.as_array().expect("a list of vectors").len();
    assert!(total >= 300, "at least 300 vectors, found {total}");

    let rig = Rig::start().await;
    rig.open("/es/").await;
    let result = rig.browser.eval_async(RUN, vec![json!(text)]).await;
    assert_eq!(result[0], json!(total), "every vector ran in Chromium: {result}");
    assert_eq!(result[1], json!([]), "Chromium disagrees with the expected values");
}
