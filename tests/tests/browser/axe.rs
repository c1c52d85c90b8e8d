//! axe-core on every generated page: zero violations.
//!
//! axe-core comes from `npm ci` (`node_modules/axe-core/axe.min.js`); when
//! it is missing the tests fail, they never skip. It is injected through
//! WebDriver, so the pages are tested exactly as served (their strict
//! Content-Security-Policy does not apply to what the driver injects).

use serde_json::{Value, json};

use crate::harness::{Rig, declined_case};

/// axe-core's browser bundle.
fn axe_source() -> String {
    let path = constancia_tests::workspace_root().join("node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("axe-core is missing at `{}` ({e}): run `npm ci` at the workspace root", path.display())
    })
}

/// Runs axe on the page as it is now and returns its violations as
/// readable lines (rule, impact, the first nodes).
async fn violations(rig: &Rig, axe: &str) -> Vec<String> {
    let loaded = rig.browser.eval(&format!("{axe}\n;return typeof axe")).await;
    assert_eq!(loaded, json!("object"), "axe-core did not load into the page");
    let result = rig
        .browser
        .eval_async(
            "const done = arguments[arguments.length - 1]; \
             axe.run(document, { resultTypes: ['violations'] }).then(r => done(r.violations.map(v => \
             ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => [n.target.join(' '), n.failureSummary]) }))), \
             e => done('axe failed: ' + e))",
            vec![],
        )
        .await;
    let Value::Array(list) = result else { panic!("{result}") };
    list.iter()
        .map(|v| {
            let nodes: Vec<String> = v["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .take(3)
                .map(|n| {
                    format!("{} ({})", n[0].as_str().unwrap_or(""), n[1].as_str().unwrap_or("").replace('\n', " "))
                })
                .collect();
            format!(
                "{} [{}] {}: {} node(s), e.g. {}",
                v["id"].as_str().unwrap_or(""),
                v["impact"].as_str().unwrap_or(""),
                v["help"].as_str().unwrap_or(""),
                v["nodes"].as_array().map_or(0, Vec::len),
                nodes.join("; ")
            )
        })
        .collect()
}

/// The URL path of every page of the built site (`index.html` as its
/// folder), root first.
fn site_pages(rig: &Rig) -> Vec<String> {
    constancia_tests::pages(rig.site.dir.path())
        .into_keys()
        .map(|path| format!("/{}", path.strip_suffix("index.html").unwrap_or(&path)))
        .collect()
}

/// Checks the page as it is now, collecting failures under `label`.
async fn check(rig: &Rig, axe: &str, label: &str, failures: &mut Vec<String>) {
    let found = violations(rig, axe).await;
    failures.extend(found.into_iter().map(|v| format!("{label}: {v}")));
}

#[tokio::test]
async fn every_page_as_served_and_the_collectors_pages_have_no_axe_violations() {
    let axe = axe_source();
    // The pages exactly as generated, as without JavaScript: the browser
    // is told not to load the runtime (axe itself needs JavaScript).
    let rig = Rig::start().await;
    rig.browser.cdp("Network.enable", json!({})).await;
    rig.browser.cdp("Network.setBlockedURLs", json!({ "urls": ["*/assets/runtime.*"] })).await;
    let pages = site_pages(&rig);
    assert!(pages.len() >= 7, "the root, two language indexes and two forms in two languages: {pages:?}");
    let mut failures = Vec::new();
    for page in &pages {
        rig.browser.goto(&rig.collector.url(page)).await;
        let served = rig.browser.eval("return !document.querySelector('p.outbox')").await;
        assert_eq!(served, json!(true), "the runtime ran on {page}");
        check(&rig, &axe, page, &mut failures).await;
    }

    // The collector's own pages: the list of errors (422) and the receipt.
    rig.browser.goto(&rig.collector.url("/es/caso-ddhh/")).await;
    rig.click("form.case .send").await;
    rig.browser.wait_for("the 422 page", "document.querySelector('.error-summary')", vec![]).await;
    check(&rig, &axe, "the collector's 422 page", &mut failures).await;
    rig.browser.goto(&rig.collector.url("/en/caso-ddhh/")).await;
    rig.fill_case(&declined_case()).await;
    rig.click("form.case .send").await;
    rig.browser.wait_for("the receipt page", "document.querySelector('.receipt .reference')", vec![]).await;
    check(&rig, &axe, "the collector's receipt page", &mut failures).await;

    assert!(failures.is_empty(), "axe-core found violations:\n{}", failures.join("\n"));
}

#[tokio::test]
async fn every_page_with_the_runtime_at_work_has_no_axe_violations() {
    let axe = axe_source();
    let rig = Rig::start().await;
    let mut failures = Vec::new();
    // Every page once the runtime has set it up (outbox status, repeat
    // buttons, pickers).
    for page in site_pages(&rig) {
        rig.open(&page).await;
        rig.ready().await;
        check(&rig, &axe, &page, &mut failures).await;
    }

    // The case form in the states the runtime creates.
    rig.open("/es/caso-ddhh/").await;
    rig.fill(&[("consent_registro", json!("si_completo")), ("pais_hecho", json!("MX")), ("estado_mx", json!("30"))])
        .await;
    rig.click("[data-add=victimas]").await;
    rig.wait_for_list("municipio_mx").await;
    rig.type_into("[name=municipio_mx]", "san").await;
    rig.browser
        .wait_for(
            "the picker to open",
            "document.querySelector('[name=municipio_mx]').getAttribute('aria-expanded') == 'true'",
            vec![],
        )
        .await;
    check(&rig, &axe, "case form, picker open, two victims", &mut failures).await;
    rig.click("form.case .send").await;
    rig.browser.wait_for("the error summary", "document.querySelector('.error-summary')", vec![]).await;
    check(&rig, &axe, "case form with the error summary", &mut failures).await;

    // A restored draft's notice.
    rig.wait_for_draft("consent_registro", "si_completo").await;
    rig.open("/es/caso-ddhh/").await;
    rig.browser.wait_for("the draft notice", "document.querySelector('.draft')", vec![]).await;
    check(&rig, &axe, "case form with a restored draft", &mut failures).await;

    // The receipt that replaces the form.
    rig.open("/en/caso-ddhh/").await;
    rig.fill_case(&declined_case()).await;
    rig.click("form.case .send").await;
    rig.browser.wait_for("the receipt", "document.querySelector('.receipt')", vec![]).await;
    check(&rig, &axe, "case form replaced by its receipt", &mut failures).await;

    // axe does see violations here: an unlabelled field is one.
    rig.browser.eval("document.querySelector('main').append(document.createElement('input'))").await;
    let found = violations(&rig, &axe).await;
    assert!(found.iter().any(|v| v.starts_with("label ")), "axe missed an unlabelled field: {found:?}");

    assert!(failures.is_empty(), "axe-core found violations:\n{}", failures.join("\n"));
}
