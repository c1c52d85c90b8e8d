//! Sending a case: delivered with JavaScript, kept in the outbox while the
//! collector is down, and posted as a plain form without JavaScript.

use constancia_tests::browser::{Browser, Launch};
use serde_json::{Value, json};

use crate::harness::{Rig, declined_case, real_case};

const CASE: &str = "/es/caso-ddhh/";

/// Every answer in `sent` is in `stored` with the same value (the stored
/// case also has the calculations the collector made).
fn assert_stored(sent: &Value, stored: &Value, path: &str) {
    match (sent, stored) {
        (Value::Object(sent), Value::Object(stored)) => {
            for (key, value) in sent {
                let at = format!("{path}{key}");
                let got = stored.get(key).unwrap_or_else(|| panic!("`{at}` was not stored"));
                assert_stored(value, got, &format!("{at}."));
            }
        }
        (Value::Array(sent), Value::Array(stored)) => {
            assert_eq!(sent.len(), stored.len(), "`{path}`: {} stored for {} sent", stored.len(), sent.len());
            for (i, (a, b)) in sent.iter().zip(stored).enumerate() {
                assert_stored(a, b, &format!("{path}{i}."));
            }
        }
        (Value::Number(a), Value::Number(b)) => assert_eq!(a.as_f64(), b.as_f64(), "`{path}`"),
        _ => assert_eq!(sent, stored, "`{path}`"),
    }
}

#[tokio::test]
async fn a_valid_case_is_delivered_and_its_reference_shown() {
    let rig = Rig::start().await;
    rig.open(CASE).await;
    let case = real_case();
    rig.fill_case(&case).await;
    rig.click("form.case .send").await;

    let receipt = rig
        .browser
        .wait_for(
            "the receipt",
            "(r => r && { focused: document.activeElement == r, reference: r.querySelector('.reference')?.textContent, \
             form: !!document.querySelector('form.case'), title: document.title })(document.querySelector('.receipt'))",
            vec![],
        )
        .await;
    let stored = rig.collector.submissions();
    assert_eq!(stored.len(), 1, "one case stored: {stored:?}");
    let reference = stored[0]["reference"].as_str().expect("a reference");
    assert!(reference.starts_with("CASO-"), "{reference}");
    assert!(
        receipt["reference"].as_str().is_some_and(|shown| shown.contains(reference)),
        "the page shows the stored reference {reference}: {receipt}"
    );
    assert_eq!(receipt["focused"], json!(true), "the receipt takes focus: {receipt}");
    assert_eq!(receipt["form"], json!(false), "the receipt replaces the form: {receipt}");
    assert_eq!(stored[0]["channel"], json!("api"), "sent as JSON by the page's script");
    assert_eq!(stored[0]["form"], json!("caso-ddhh"));
    assert_stored(&case, &stored[0]["answers"], "");
    // Calculated by the collector from what was sent: 30 at the start of
    // the facts.
    assert_eq!(stored[0]["answers"]["victimas"][0]["edad"], json!(30));

    // Nothing waits, no draft is kept.
    assert!(rig.stored("outbox").await.is_empty(), "the outbox is empty after a 2xx");
    assert!(rig.stored("drafts").await.is_empty(), "the draft is deleted once the case is delivered");
}

#[tokio::test]
async fn with_the_collector_down_the_case_waits_in_the_outbox_and_is_delivered_once() {
    let mut rig = Rig::start().await;
    rig.open(CASE).await;
    // The service worker has the site (so that the page opens offline).
    rig.browser.wait_for("the service worker to control the page", "navigator.serviceWorker.controller", vec![]).await;
    rig.fill_case(&declined_case()).await;

    rig.collector.stop();
    rig.click("form.case .send").await;
    let queued = rig
        .browser
        .wait_for(
            "the case to be kept on the device",
            "(r => r && [r.textContent, document.querySelector('p.outbox')?.textContent])(document.querySelector('.receipt'))",
            vec![],
        )
        .await;
    assert!(
        queued[0].as_str().unwrap().contains("Guardado en este dispositivo"),
        "the officer is told the case is kept: {queued}"
    );
    let waiting = rig.stored("outbox").await;
    assert_eq!(waiting.len(), 1, "one case waits in the outbox");
    let id = waiting[0]["id"].as_str().expect("a submission id").to_owned();
    rig.browser
        .wait_for("the count of waiting cases", "document.querySelector('p.outbox').textContent.includes('1')", vec![])
        .await;

    // A reload with the collector still down: the page comes from the
    // service worker's cache, and the case is still waiting.
    rig.browser.client().refresh().await.expect("the page reloads from the cache");
    rig.ready().await;
    let status = rig
        .browser
        .wait_for(
            "the waiting case to be counted after the reload",
            "(t => /\\d/.test(t) && t)(document.querySelector('p.outbox').textContent)",
            vec![],
        )
        .await;
    assert!(status.as_str().unwrap().contains("por enviar: 1"), "one case waits: {status}");
    assert_eq!(rig.stored("outbox").await.len(), 1);
    assert!(rig.collector.submissions().is_empty(), "nothing reached the collector");
    // Every page of the site says so, even opened offline.
    rig.open("/es/").await;
    rig.browser
        .wait_for(
            "the index page to count the waiting case",
            "document.querySelector('p.outbox')?.textContent.includes('por enviar: 1')",
            vec![],
        )
        .await;

    // A page never visited opens offline too: the service worker
    // precached the whole site on the first visit.
    rig.open("/en/caso-ddhh/").await;
    assert!(rig.browser.eval("return !!document.querySelector('form.case')").await.as_bool().unwrap());

    // The collector comes back; any page of the site sends what waits.
    rig.collector.start_again();
    rig.open("/es/").await;
    let status = rig
        .browser
        .wait_for(
            "the waiting case to be delivered",
            "(t => t.includes('CASO-') && t)(document.querySelector('p.outbox')?.textContent || '')",
            vec![],
        )
        .await;
    let stored = rig.collector.submissions();
    assert_eq!(stored.len(), 1, "delivered exactly once: {stored:?}");
    assert_eq!(stored[0]["submission_id"], json!(id), "the case from the outbox, under its own id");
    assert!(status.as_str().unwrap().contains(stored[0]["reference"].as_str().unwrap()), "{status}");
    assert!(rig.stored("outbox").await.is_empty(), "the outbox is empty after the 2xx");

    // Opening pages again sends nothing more.
    rig.open(CASE).await;
    rig.open("/en/").await;
    assert!(rig.stored("outbox").await.is_empty());
    assert_eq!(rig.collector.submissions().len(), 1, "still exactly once");
}

#[tokio::test]
async fn without_javascript_the_plain_form_is_posted_and_the_receipt_shown() {
    let rig = Rig::with(Browser::launch(Launch { javascript: false, ..Launch::default() }).await);
    rig.browser.goto(&rig.collector.url(CASE)).await;
    // The page is as served: no script ran.
    let untouched = rig
        .browser
        .eval("return [!document.querySelector('p.outbox'), !!document.querySelector('.cond'), document.querySelector('[data-add]')?.hidden]")
        .await;
    assert_eq!(untouched, json!([true, true, true]), "JavaScript is off");

    // Sent empty: the collector's page lists the errors, linking to fields.
    rig.click("form.case .send").await;
    let invalid = rig
        .browser
        .wait_for(
            "the collector's error page",
            "(b => b && [document.title, [...b.querySelectorAll('a')].map(a => a.getAttribute('href'))])(document.querySelector('.error-summary'))",
            vec![],
        )
        .await;
    assert!(invalid[0].as_str().unwrap().starts_with("Error: "), "{invalid}");
    assert!(
        invalid[1].as_array().unwrap().iter().any(|h| h == "/es/caso-ddhh/#f-consulado"),
        "the errors link back to the fields: {invalid}"
    );

    // A real case, first instance of each repeat (without JavaScript the
    // page has no add button), filled and sent as a browser posts a form.
    rig.browser.goto(&rig.collector.url(CASE)).await;
    let mut case = real_case();
    for (_, value) in case.as_object_mut().unwrap().iter_mut() {
        if let Some(items) = value.as_array_mut().filter(|a| a.first().is_some_and(Value::is_object)) {
            items.truncate(1);
        }
    }
    // With one victim, "did the act concern all victims?" is not asked.
    case["actos"][0].as_object_mut().unwrap().remove("acto_todas_victimas");
    rig.fill_case(&case).await;
    rig.click("form.case .send").await;
    let receipt = rig
        .browser
        .wait_for(
            "the receipt page",
            "(r => r && [location.pathname, r.textContent])(document.querySelector('.receipt .reference'))",
            vec![],
        )
        .await;
    let stored = rig.collector.submissions();
    assert_eq!(stored.len(), 1, "one case stored: {stored:?}");
    assert_eq!(stored[0]["channel"], json!("page"), "posted urlencoded by the page itself");
    assert_eq!(receipt[1], stored[0]["reference"], "the receipt shows the stored reference");
    assert_eq!(receipt[0], json!(format!("/receipt/{}", stored[0]["submission_id"].as_str().unwrap())));
    assert_stored(&case, &stored[0]["answers"], "");
}
