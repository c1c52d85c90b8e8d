//! The case form with JavaScript: skip logic, calculations, cascades,
//! repeats and the error summary, on the real `caso-ddhh` page.

use serde_json::{Value, json};

use crate::harness::{Rig, q};

const CASE: &str = "/es/caso-ddhh/";

#[tokio::test]
async fn skip_logic_hides_and_reveals_questions_and_sections() {
    let rig = Rig::start().await;
    rig.open(CASE).await;

    // A question: `consulado_otro` only when `consulado = 'otra'`.
    assert!(!rig.shown(&q("consulado_otro")).await, "hidden until `consulado = 'otra'`");
    rig.fill(&[("consulado", json!("otra"))]).await;
    rig.wait_shown(&q("consulado_otro"), true).await;
    rig.fill(&[("consulado", json!("tapachula"))]).await;
    rig.wait_shown(&q("consulado_otro"), false).await;

    // A yes/no answered by clicking: the interpreter's language.
    assert!(!rig.shown(&q("idioma_interprete")).await);
    rig.click("input[name=interprete][value=true]").await;
    rig.wait_shown(&q("idioma_interprete"), true).await;
    rig.click("input[name=interprete][value=false]").await;
    rig.wait_shown(&q("idioma_interprete"), false).await;

    // Whole sections: declining to be recorded hides every section about
    // the case, and shows the note that says why.
    rig.click("input[name=consent_registro][value=no]").await;
    for section in ["#s-fuentes", "#s-hecho", "#s-victimas", "#s-actos", "#s-perpetradores"] {
        rig.wait_shown(section, false).await;
    }
    rig.wait_shown(&q("nota_sin_consentimiento"), true).await;
    rig.click("input[name=consent_registro][value=si_completo]").await;
    for section in ["#s-fuentes", "#s-hecho", "#s-victimas", "#s-actos", "#s-perpetradores"] {
        rig.wait_shown(section, true).await;
    }
    rig.wait_shown(&q("nota_sin_consentimiento"), false).await;
    // ... and questions inside a repeat follow their own instance.
    assert!(!rig.shown(&q("fuentes.0.fuente_conexion")).await);
    rig.click("input[name='fuentes.0.fuente_es_victima'][value=false]").await;
    rig.wait_shown(&q("fuentes.0.fuente_conexion"), true).await;
    rig.wait_shown(&q("fuentes.0.fuente_nombre"), true).await;
    // A condition that reads two questions: the name of the source needs
    // full consent too.
    rig.click("input[name=consent_registro][value=si_anonimo]").await;
    rig.wait_shown(&q("fuentes.0.fuente_nombre"), false).await;
    assert!(rig.shown(&q("fuentes.0.fuente_conexion")).await);
}

#[tokio::test]
async fn a_calculation_updates_and_what_depends_on_it_follows() {
    // `victimas.edad` is calculated from the date of birth and the start
    // of the facts (else the interview); `nna_no_acompanado` asks about
    // minors (`edad < 18`), `embarazo` about women of 10 to 55.
    let rig = Rig::start().await;
    rig.open(CASE).await;
    rig.fill(&[
        ("fecha_entrevista", json!("2026-01-10")),
        ("consent_registro", json!("si_completo")),
        ("victimas.0.sexo", json!("mujer")),
    ])
    .await;
    let minor = q("victimas.0.nna_no_acompanado");
    let pregnant = q("victimas.0.embarazo");
    assert!(!rig.shown(&minor).await, "no age yet");
    assert!(rig.shown(&q("victimas.0.edad_declarada")).await, "asked while the birth date is not");

    rig.fill(&[("victimas.0.fecha_nacimiento", json!("2010-03-01"))]).await; // 15 at the interview
    rig.wait_shown(&minor, true).await;
    rig.wait_shown(&pregnant, true).await;
    rig.wait_shown(&q("victimas.0.edad_declarada"), false).await;

    rig.fill(&[("victimas.0.fecha_nacimiento", json!("1960-01-01"))]).await; // 66
    rig.wait_shown(&minor, false).await;
    rig.wait_shown(&pregnant, false).await;

    // Another input of the same calculation: the start of the facts, when
    // known, takes the place of the interview date (10 years old then).
    rig.fill(&[("fecha_inicio_precision", json!("exacta")), ("fecha_inicio", json!("1970-06-01"))]).await;
    rig.wait_shown(&minor, true).await;
    rig.wait_shown(&pregnant, true).await;
    rig.fill(&[("fecha_inicio", json!("1969-06-01"))]).await; // 9: too young to ask about pregnancy
    rig.wait_shown(&pregnant, false).await;
    assert!(rig.shown(&minor).await);

    // Without a birth date, the declared age is the age.
    rig.fill(&[("victimas.0.fecha_nacimiento", json!("")), ("victimas.0.edad_declarada", json!("30"))]).await;
    rig.wait_shown(&minor, false).await;
    rig.wait_shown(&pregnant, true).await;
}

#[tokio::test]
async fn cascades_filter_choices_in_selects_and_in_the_searchable_pickers() {
    let rig = Rig::start().await;
    rig.open(CASE).await;
    rig.fill(&[("consent_registro", json!("si_completo")), ("pais_hecho", json!("MX")), ("estado_mx", json!("30"))])
        .await;

    // The municipality picker offers only Veracruz's (state 30).
    let mx = rig.browser.eval_async(LIST_ROWS, vec![json!("municipio_mx")]).await;
    let veracruz = labels_where(&mx, "estado", "30");
    assert!(veracruz.len() > 200, "Veracruz has over 200 municipalities in the list");
    rig.wait_shown(&q("municipio_mx"), true).await;
    rig.wait_for_list("municipio_mx").await;
    rig.type_into("[name=municipio_mx]", "san").await;
    let offered = offered_labels(&rig, "municipio_mx").await;
    assert!(!offered.is_empty(), "typing `san` offers municipalities");
    for label in &offered {
        assert!(veracruz.contains(label), "`{label}` is offered but is not in Veracruz");
    }
    let elsewhere = labels_where(&mx, "estado", "07");
    assert!(
        elsewhere.iter().any(|l| l.to_lowercase().starts_with("san")),
        "the list has Chiapas municipalities starting with `san` that must not be offered"
    );
    // Arrows and Enter choose; the code is what the page will send.
    rig.type_into("[name=municipio_mx]", "\u{e015}\u{e007}").await; // ArrowDown, Enter
    let code = rig.browser.eval("return document.querySelector('[name=municipio_mx]').dataset.code").await;
    let code = code.as_str().expect("a chosen municipality has its code");
    assert!(code.starts_with("30"), "the chosen municipality `{code}` is in Veracruz");
    assert_eq!(rig.value("municipio_mx").await, offered[0], "the input shows the label chosen");
    // Another state: the chosen municipality no longer fits and is cleared.
    rig.fill(&[("estado_mx", json!("07"))]).await;
    rig.browser
        .wait_for("the municipality to be cleared", "document.querySelector('[name=municipio_mx]').value == ''", vec![])
        .await;

    // The type of act follows its group, whatever the page uses for it
    // (radios, a select or a picker).
    for group in ["LIB", "SEX"] {
        rig.fill(&[("actos.0.grupo_acto", json!(group))]).await;
        let groups = offered_attr(&rig, "actos.0.tipo_acto", "grupo").await;
        assert!(
            !groups.is_empty() && groups.iter().all(|g| g == group),
            "only acts of group {group} are offered: {groups:?}"
        );
    }

    // The second picker, inside a repeat: districts of the chosen department.
    rig.fill(&[("victimas.0.nacionalidad", json!(["SV"])), ("victimas.0.origen_departamento", json!("SV-SM"))]).await;
    rig.wait_shown(&q("victimas.0.origen_distrito"), true).await;
    let sv = rig.browser.eval_async(LIST_ROWS, vec![json!("victimas.0.origen_distrito")]).await;
    let san_miguel = labels_where(&sv, "departamento", "SV-SM");
    assert!(san_miguel.len() > 10, "San Miguel has districts in the list");
    rig.wait_for_list("victimas.0.origen_distrito").await;
    rig.type_into("[name='victimas.0.origen_distrito']", "a").await;
    let offered = offered_labels(&rig, "victimas.0.origen_distrito").await;
    assert!(!offered.is_empty(), "typing `a` offers districts");
    for label in &offered {
        assert!(san_miguel.contains(label), "`{label}` is offered but is not in San Miguel");
    }
}

/// The rows `[code, label, {attr: value}]` of the list asset of the
/// picker named `arguments[0]`.
const LIST_ROWS: &str = r#"
const [name, done] = arguments
fetch(document.querySelector('form.case').elements[name].dataset.list).then(r => r.json()).then(done, e => done(String(e)))
"#;

fn labels_where(rows: &Value, attr: &str, value: &str) -> Vec<String> {
    rows.as_array()
        .unwrap_or_else(|| panic!("the list asset did not load: {rows}"))
        .iter()
        .filter(|row| row[2][attr] == value)
        .map(|row| row[1].as_str().expect("a label").to_owned())
        .collect()
}

/// The values of `data-<attr>` of the choices the question `name` offers
/// now: its enabled radios, checkboxes or options, or what its picker
/// lists when opened empty (up to 30, looked up in its list asset).
async fn offered_attr(rig: &Rig, name: &str, attr: &str) -> Vec<String> {
    let picker = rig
        .browser
        .eval_with(
            "return !!document.querySelector('form.case').elements[arguments[0]]?.dataset?.list",
            vec![json!(name)],
        )
        .await;
    if picker == json!(true) {
        let rows = rig.browser.eval_async(LIST_ROWS, vec![json!(name)]).await;
        let selector = format!("[name='{name}']");
        rig.browser.eval_with("document.querySelector(arguments[0]).value = ''", vec![json!(selector)]).await;
        rig.wait_for_list(name).await;
        rig.type_into(&selector, "\u{e015}").await; // ArrowDown opens the list
        let labels = offered_labels(rig, name).await;
        rig.type_into(&selector, "\u{e00c}").await; // Escape closes it
        let rows = rows.as_array().expect("the list asset loads");
        return labels
            .iter()
            .map(|l| {
                let row =
                    rows.iter().find(|r| r[1] == l.as_str()).unwrap_or_else(|| panic!("`{l}` is not in the list"));
                row[2][attr].as_str().unwrap_or("").to_owned()
            })
            .collect();
    }
    let v = rig
        .browser
        .eval_with(
            "return [...document.querySelectorAll(`[data-q=\"${arguments[0]}\"] :is(option, input)`)]\
             .filter(o => o.value && !o.disabled).map(o => o.getAttribute('data-' + arguments[1]))",
            vec![json!(name), json!(attr)],
        )
        .await;
    v.as_array().expect("an array").iter().map(|g| g.as_str().unwrap_or("").to_owned()).collect()
}

/// The labels the open picker of `name` offers (waits for it to open).
async fn offered_labels(rig: &Rig, name: &str) -> Vec<String> {
    let v = rig
        .browser
        .wait_for(
            &format!("the picker of `{name}` to offer choices"),
            "(i => { const l = document.getElementById(i.getAttribute('aria-controls')); \
             return i.getAttribute('aria-expanded') == 'true' && l && !l.hidden && l.children.length \
             && [...l.children].map(li => li.textContent) })(document.querySelector('form.case').elements[arguments[0]])",
            vec![json!(name)],
        )
        .await;
    v.as_array().expect("labels").iter().map(|l| l.as_str().expect("a label").to_owned()).collect()
}

#[tokio::test]
async fn repeats_add_and_remove_instances_and_renumber_their_fields() {
    let rig = Rig::start().await;
    rig.open(CASE).await;
    rig.fill(&[("consent_registro", json!("si_completo"))]).await;
    let count = "document.querySelectorAll('#s-fuentes > .inst').length";
    let add = "[data-add=fuentes]";
    assert!(rig.shown(add).await, "the runtime reveals the add button");
    assert!(!rig.shown("#s-fuentes > .inst > .remove").await, "no remove button at the minimum of one instance");

    rig.click(add).await;
    rig.click(add).await;
    assert_eq!(rig.browser.eval(&format!("return {count}")).await, json!(3));
    // The new instance's fields are named, labelled and described for it.
    let focused = rig.browser.eval("return document.activeElement.name").await;
    assert_eq!(focused, json!("fuentes.2.fuente_es_victima"), "focus goes to the new instance's first field");
    assert_eq!(rig.text("#s-fuentes > .inst:nth-of-type(3) > legend").await.as_deref(), Some("Fuente 3"));
    check_instance_names(&rig, "fuentes", 3).await;

    // Removing an instance with answers asks first; declining keeps it,
    // accepting removes it and the next instance takes its place.
    rig.fill(&[("fuentes.1.fuente_ubicacion", json!("SV")), ("fuentes.2.fuente_ubicacion", json!("GT"))]).await;
    rig.click("#s-fuentes > .inst:nth-of-type(2) > .remove").await;
    rig.browser.client().dismiss_alert().await.expect("a confirmation is asked");
    assert_eq!(rig.browser.eval(&format!("return {count}")).await, json!(3));
    rig.click("#s-fuentes > .inst:nth-of-type(2) > .remove").await;
    rig.browser.client().accept_alert().await.expect("a confirmation is asked");
    assert_eq!(rig.browser.eval(&format!("return {count}")).await, json!(2));
    assert_eq!(rig.value("fuentes.1.fuente_ubicacion").await, "GT", "the third instance became the second");
    assert_eq!(rig.value("fuentes.0.fuente_ubicacion").await, "MX", "the first is untouched (its default)");
    assert_eq!(rig.text("#s-fuentes > .inst:nth-of-type(2) > legend").await.as_deref(), Some("Fuente 2"));
    check_instance_names(&rig, "fuentes", 2).await;
    // Skip logic follows the renumbered instance.
    rig.click("input[name='fuentes.1.fuente_es_victima'][value=false]").await;
    rig.wait_shown(&q("fuentes.1.fuente_conexion"), true).await;
    assert!(!rig.shown(&q("fuentes.0.fuente_conexion")).await);

    // Up to the maximum of five: then no more add button.
    for _ in 0..3 {
        rig.click(add).await;
    }
    assert_eq!(rig.browser.eval(&format!("return {count}")).await, json!(5));
    rig.wait_shown(add, false).await;
    check_instance_names(&rig, "fuentes", 5).await;

    // An instance nobody touched goes without a question (its select
    // still shows its default country).
    rig.click("#s-fuentes > .inst:nth-of-type(5) > .remove").await;
    if let Ok(text) = rig.browser.client().get_alert_text().await {
        rig.browser.client().accept_alert().await.expect("the alert closes");
        panic!("removing an instance nobody touched asked {text:?} (docs/browser-bugs.md)");
    }
    assert_eq!(rig.browser.eval(&format!("return {count}")).await, json!(4));
    rig.wait_shown(add, true).await;
    check_instance_names(&rig, "fuentes", 4).await;
}

/// Every field, id and reference inside the instances of `section` names
/// its own instance, numbered 0.. in page order, and nothing names an
/// instance past the last.
async fn check_instance_names(rig: &Rig, section: &str, n: usize) {
    let problems = rig
        .browser
        .eval_with(
            r#"
const [section, n] = arguments, problems = []
const insts = [...document.querySelectorAll(`#s-${section} > .inst`)]
if (insts.length != n) problems.push(`${insts.length} instances, not ${n}`)
insts.forEach((inst, k) => {
  if (inst.dataset.index != k) problems.push(`instance ${k} has data-index ${inst.dataset.index}`)
  for (const e of inst.querySelectorAll('*'))
    for (const a of ['id', 'name', 'for', 'data-q', 'aria-describedby', 'aria-controls'])
      for (const m of (e.getAttribute(a) || '').matchAll(new RegExp(section + '\\.(\\d+)\\.', 'g')))
        if (+m[1] != k) problems.push(`${a}="${e.getAttribute(a)}" in instance ${k}`)
  for (const e of inst.querySelectorAll('[for],[aria-describedby],[aria-controls]'))
    for (const id of [e.getAttribute('for'), ...(e.getAttribute('aria-describedby') || '').split(' '), e.getAttribute('aria-controls')])
      if (id && !document.getElementById(id)) problems.push(`a reference to missing #${id}`)
})
const ids = [...document.querySelectorAll('[id]')].map(e => e.id)
const dup = ids.filter((id, i) => ids.indexOf(id) != i)
if (dup.length) problems.push('duplicate ids: ' + dup.join(' '))
return problems
"#,
            vec![json!(section), json!(n)],
        )
        .await;
    assert_eq!(problems, json!([]), "the instances of `{section}` are not numbered consistently");
}

#[tokio::test]
async fn an_invalid_answer_shows_the_error_summary_focused_and_tied_to_fields() {
    let rig = Rig::start().await;
    rig.open(CASE).await;
    let title = rig.browser.client().title().await.expect("a title");
    // One answer of the wrong kind (a date before the form's minimum), the
    // rest of the required questions left empty.
    rig.fill(&[("fecha_entrevista", json!("2001-01-01"))]).await;
    rig.click("form.case .send").await;

    rig.browser.wait_for("the error summary", "document.querySelector('form.case .error-summary')", vec![]).await;
    let summary = rig
        .browser
        .eval(
            r#"
const box = document.querySelector('.error-summary')
return {
  focused: document.activeElement == box,
  first: box == box.parentElement.firstElementChild,
  role: box.getAttribute('role'),
  title: document.title,
  heading: box.querySelector('#' + box.getAttribute('aria-labelledby'))?.textContent,
  links: [...box.querySelectorAll('a')].map(a => [a.getAttribute('href'), a.textContent]),
  items: box.querySelectorAll('li').length,
}
"#,
        )
        .await;
    assert_eq!(summary["focused"], json!(true), "the summary takes focus: {summary}");
    assert_eq!(summary["first"], json!(true), "the summary opens the form: {summary}");
    assert_eq!(summary["role"], json!("alert"));
    assert_eq!(summary["title"], json!(format!("Error: {title}")), "\"Error:\" before the page title");
    assert!(summary["heading"].as_str().is_some_and(|h| !h.is_empty()), "the summary has a heading: {summary}");
    let links = summary["links"].as_array().expect("links");
    assert_eq!(links.len() as u64, summary["items"].as_u64().unwrap(), "every error links to its field");
    let hrefs: Vec<&str> = links.iter().map(|l| l[0].as_str().expect("an href")).collect();
    for required in ["#f-consulado", "#f-modalidad", "#f-consent_registro"] {
        assert!(hrefs.contains(&required), "the summary links to {required}: {hrefs:?}");
    }
    let date = links.iter().find(|l| l[0] == "#f-fecha_entrevista").expect("the early date is an error");
    assert!(date[1].as_str().unwrap().contains("2010-01-01"), "the message says the minimum: {date}");
    assert!(
        date[1].as_str().unwrap().starts_with("Fecha de la entrevista"),
        "the link starts with the question's label: {date}"
    );

    // Each field carries its message, tied to its inputs.
    let tied = rig
        .browser
        .eval_with(
            r#"
const problems = []
for (const href of arguments[0]) {
  const field = href.slice(3), input = document.getElementById('f-' + field), p = document.getElementById('e-' + field)
  if (!input) { problems.push('no #f-' + field); continue }
  if (!p || !p.classList.contains('error') || !p.textContent.trim()) { problems.push('no message #e-' + field); continue }
  const wrapper = input.closest('[data-q]')
  if (!wrapper.contains(p)) problems.push('#e-' + field + ' is outside its question')
  const described = wrapper.matches('fieldset') ? wrapper : input
  if (!(described.getAttribute('aria-describedby') || '').split(' ').includes('e-' + field)) problems.push(field + ' is not described by its message')
  if (input.getAttribute('aria-invalid') != 'true') problems.push(field + ' is not aria-invalid')
}
return problems
"#,
            vec![json!(hrefs.iter().filter(|h| h.starts_with("#f-")).collect::<Vec<_>>())],
        )
        .await;
    assert_eq!(tied, json!([]), "messages are tied to their fields");

    // Following a link focuses the field.
    rig.click(".error-summary a[href='#f-consulado']").await;
    let focused = rig.browser.eval("return document.activeElement.id").await;
    assert_eq!(focused, json!("f-consulado"));

    // Correcting and sending again: that error is gone, the others stay.
    rig.fill(&[("consulado", json!("tapachula")), ("fecha_entrevista", json!("2026-01-15"))]).await;
    rig.click("form.case .send").await;
    rig.browser
        .wait_for(
            "a new summary without the corrected fields",
            "(b => b && !b.querySelector('a[href=\"#f-consulado\"]') && !b.querySelector('a[href=\"#f-fecha_entrevista\"]') \
             && b.querySelector('a[href=\"#f-modalidad\"]'))(document.querySelector('.error-summary'))",
            vec![],
        )
        .await;
    assert_eq!(rig.browser.eval("return document.querySelectorAll('.error-summary').length").await, json!(1));
    assert!(rig.browser.eval("return document.getElementById('e-consulado')").await.is_null(), "its message is gone");
    assert!(rig.collector.submissions().is_empty(), "nothing invalid was sent");
}

#[tokio::test]
async fn one_answer_reevaluates_the_rules_once() {
    // Each pass over the rules reads the page's fields with one `FormData`:
    // counting those made while an `input` or `change` event is handled
    // counts the passes an answer causes (the draft, saved later, is not
    // counted). On a 1,000-question form one pass is about the whole
    // budget of 5 ms (bench/README.md): an answer must not run two.
    let rig = Rig::start().await;
    rig.open(CASE).await;
    rig.browser
        .eval(
            "const F = window.FormData; window.passes = 0; \
             window.FormData = class extends F { constructor(...a) { super(...a); \
             if (/^(input|change)$/.test(window.event?.type)) window.passes++ } }",
        )
        .await;
    let mut counts = Vec::new();
    rig.click("input[name=interprete][value=true]").await;
    counts.push(("a radio button", take_passes(&rig).await));
    rig.click("input[name=consent_registro][value=si_completo]").await;
    counts.push(("a radio button that shows sections", take_passes(&rig).await));
    rig.click("input[name='fuentes.0.fuente_es_victima'][value=false]").await;
    counts.push(("a radio button in a repeat", take_passes(&rig).await));
    rig.choose("consulado", "otra").await;
    counts.push(("a choice in a select", take_passes(&rig).await));
    rig.type_into("[name=consulado_otro]", "x").await;
    counts.push(("a key typed", take_passes(&rig).await));
    rig.click("input[name='victimas.0.nacionalidad'][value=SV]").await;
    counts.push(("a checkbox", take_passes(&rig).await));
    assert!(
        counts.iter().all(|(_, n)| *n == 1),
        "each answer should run one pass over the rules: {counts:?} (docs/browser-bugs.md)"
    );
}

/// The passes counted since the last call (see the test above).
async fn take_passes(rig: &Rig) -> u64 {
    let n = rig.browser.eval("const n = window.passes; window.passes = 0; return n").await;
    n.as_u64().expect("a count")
}
