//! Drafts kept on the device, and the quick exit that clears them.

use fantoccini::actions::{InputSource as _, KeyAction, KeyActions};
use fantoccini::key::Key;
use serde_json::json;

use crate::harness::{Rig, q};

const CASE: &str = "/es/caso-ddhh/";

#[tokio::test]
async fn a_draft_survives_closing_the_tab_and_can_be_discarded() {
    let rig = Rig::start().await;
    rig.open(CASE).await;
    rig.fill(&[("consulado", json!("otra")), ("consent_registro", json!("si_completo"))]).await;
    rig.click("[data-add=fuentes]").await;
    rig.type_into("[name=consulado_otro]", "Oficina móvil").await;
    rig.fill(&[("fuentes.1.fuente_ubicacion", json!("GT"))]).await;
    rig.wait_for_draft("consulado_otro", "Oficina móvil").await;

    // Another tab opens, the form's tab is closed.
    let client = rig.browser.client();
    let old = client.window().await.expect("the current tab");
    let new = client.new_window(true).await.expect("a new tab");
    client.close_window().await.expect("the form's tab closes");
    assert_ne!(old, new.handle);
    client.switch_to_window(new.handle).await.expect("to the new tab");
    rig.open(CASE).await;

    let notice =
        rig.browser.wait_for("the restored-draft notice", "document.querySelector('form.case .draft')", vec![]).await;
    assert!(!notice.is_null());
    assert_eq!(rig.value("consulado").await, "otra");
    assert_eq!(rig.value("consulado_otro").await, "Oficina móvil");
    assert!(rig.shown(&q("consulado_otro")).await, "skip logic runs on the restored answers");
    assert_eq!(rig.browser.eval("return document.querySelectorAll('#s-fuentes > .inst').length").await, json!(2));
    assert_eq!(rig.value("fuentes.1.fuente_ubicacion").await, "GT", "answers in added instances come back");

    // Discarding: a clean form, and no draft left.
    rig.click("form.case .draft button").await;
    rig.browser
        .wait_for(
            "a clean form after discarding",
            "document.readyState == 'complete' && document.querySelector('p.outbox') && !document.querySelector('.draft') \
             && document.querySelector('form.case').elements.consulado.value == ''",
            vec![],
        )
        .await;
    assert!(rig.stored("drafts").await.is_empty(), "the draft is deleted");
    rig.open(CASE).await;
    assert_eq!(rig.value("consulado_otro").await, "");
    assert!(rig.browser.eval("return document.querySelector('.draft')").await.is_null());
}

/// Leaves with the quick exit, then checks that the browser is on the
/// neutral page and that the draft is gone.
async fn assert_left_and_draft_cleared(rig: &Rig) {
    let start = std::time::Instant::now();
    loop {
        let url = rig.browser.client().current_url().await.expect("a URL");
        if url.host_str() == Some("www.google.com") {
            break;
        }
        assert!(start.elapsed() < constancia_tests::browser::WAIT, "still on {url} after the quick exit");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    // Back on the site (the neutral page is out of reach here): no draft.
    rig.open(CASE).await;
    assert!(rig.stored("drafts").await.is_empty(), "the quick exit deletes the draft");
    assert_eq!(rig.value("titulo").await, "");
}

#[tokio::test]
async fn the_quick_exit_button_leaves_and_clears_the_draft() {
    let rig = Rig::start().await;
    rig.open(CASE).await;
    rig.fill(&[("consent_registro", json!("si_completo")), ("titulo", json!("Secuestro en Coatzacoalcos"))]).await;
    rig.wait_for_draft("titulo", "Secuestro en Coatzacoalcos").await;
    rig.click("[data-quick-exit]").await;
    assert_left_and_draft_cleared(&rig).await;
}

#[tokio::test]
async fn three_shift_presses_leave_but_typing_capitals_does_not() {
    let rig = Rig::start().await;
    rig.open(CASE).await;
    rig.fill(&[("consent_registro", json!("si_completo"))]).await;
    // Capitals are typed with Shift: that is no exit.
    rig.type_into("[name=titulo]", "ABC Secuestro").await;
    rig.wait_for_draft("titulo", "ABC Secuestro").await;
    assert!(rig.browser.eval("return !!document.querySelector('form.case')").await.as_bool().unwrap());
    assert_eq!(rig.value("titulo").await, "ABC Secuestro");

    let shift = KeyActions::new("keyboard".to_owned())
        .then(KeyAction::Down { value: Key::Shift.into() })
        .then(KeyAction::Up { value: Key::Shift.into() })
        .then(KeyAction::Down { value: Key::Shift.into() })
        .then(KeyAction::Up { value: Key::Shift.into() })
        .then(KeyAction::Down { value: Key::Shift.into() })
        .then(KeyAction::Up { value: Key::Shift.into() });
    rig.browser.client().perform_actions(shift).await.expect("three Shift presses");
    assert_left_and_draft_cleared(&rig).await;
}
