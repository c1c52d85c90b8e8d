//! The collector's contracts (`DESIGN.md`, "Collector contracts"), end to
//! end: the real binary on `127.0.0.1:0`, a site built from the real
//! `forms/`, a real SQLite file in a temporary folder, real HTTP.
//!
//! Covered here: the page without JavaScript (field names read from the
//! built page), the JSON API and every status code it promises, new form
//! versions taken up while running, data after a restart, and the exports.
//! The SIGKILL test is in `crash.rs`, adversarial requests in `hostile.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use constancia_tests::collector::{
    CASE_FORM, Collector, Workplace, accepted_versions, case, count_submissions, export, open_db, page_form,
    pages_order, reference_number, stored, submission,
};
use serde_json::{Value, json};
use sha2::Digest as _;

fn this_year() -> i16 {
    jiff::Timestamp::now().to_zoned_datetime(jiff::tz::TimeZone::UTC).year()
}

fn object_mut<'a>(value: &'a mut Value, what: &str) -> &'a mut serde_json::Map<String, Value> {
    value.as_object_mut().unwrap_or_else(|| panic!("{what} is an object"))
}

fn assert_html(reply: &constancia_tests::collector::Reply) {
    let content_type = reply.header("content-type").unwrap_or_default();
    assert!(content_type.starts_with("text/html"), "an HTML page, got `{content_type}`");
}

fn assert_json_errors(reply: &constancia_tests::collector::Reply, status: u16, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.text());
    let content_type = reply.header("content-type").unwrap_or_default();
    assert!(content_type.starts_with("application/json"), "{what}: JSON, got `{content_type}`");
    let errors = reply.json()["errors"].as_array().cloned().unwrap_or_default();
    assert!(!errors.is_empty(), "{what}: an `errors` list: {}", reply.text());
    for error in &errors {
        assert!(error["code"].as_str().is_some_and(|c| !c.is_empty()), "{what}: every error has a code: {error}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: every error has a message: {error}");
    }
}

/// The links of an error page: (path, fragment) of every `href` with a `#`.
fn fragment_links(html: &str) -> Vec<(String, String)> {
    let document = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse("a[href]").expect("a selector");
    document
        .select(&selector)
        .filter_map(|a| a.value().attr("href"))
        .filter_map(|href| href.split_once('#'))
        .map(|(path, fragment)| (path.to_owned(), fragment.to_owned()))
        .collect()
}

#[test]
fn a_page_without_javascript_posts_a_whole_case_under_the_names_it_renders() {
    let place = Workplace::real_forms();
    let collector = Collector::start(place.options("PAGE"));
    let page = collector.get("/es/caso-ddhh/");
    assert_eq!(page.status, 200);
    assert_html(&page);
    let form = page_form(&page.text());
    assert_eq!(form.method, "post");
    assert_eq!(form.action, "/submit/caso-ddhh/1", "the page posts to its own form version");
    let case = case();
    let fields = constancia_tests::collector::fill(&form, &case).unwrap_or_else(|e| panic!("{e}"));
    assert!(fields.iter().any(|(n, v)| n == "victimas.0.sexo" && v == "mujer"), "a repeat field is sent");
    assert!(fields.iter().any(|(n, v)| n == "victimas.1.sexo" && v == "hombre"), "a second instance is sent");
    assert!(fields.iter().filter(|(n, _)| n == "consent_referencia").count() == 2, "a multiple choice, once per code");

    let reply = collector.post_form(&form.action, &fields);
    assert_eq!(reply.status, 303, "a valid page post is answered with a redirect: {}", reply.text());
    let location = reply.header("location").expect("a Location header").to_owned();
    let id = location.strip_prefix("/receipt/").unwrap_or_else(|| panic!("to a receipt, got `{location}`"));
    uuid::Uuid::parse_str(id).unwrap_or_else(|_| panic!("the receipt is named by a UUID: `{id}`"));

    let receipt = collector.get(&location);
    assert_eq!(receipt.status, 200);
    assert_html(&receipt);
    let (reference, page_answers) = stored(&place.db(), id).expect("the case is stored under the receipt's id");
    assert_eq!(reference_number(&reference, "PAGE", this_year()), Some(1), "{reference}");
    let document = scraper::Html::parse_document(&receipt.text());
    let shown: Vec<String> = document
        .select(&scraper::Selector::parse(".reference").expect("a selector"))
        .map(|e| e.text().collect::<String>().trim().to_owned())
        .collect();
    assert_eq!(shown, vec![reference.clone()], "the receipt page shows the reference");
    assert_eq!(receipt.header("cache-control"), Some("no-store"), "a receipt is not cached");

    // The same answers through the JSON API are stored identically: the
    // page's names carry every answer of the case, and nothing else.
    let json_submission = submission(&case);
    let reply = collector.submit(&json_submission);
    assert_eq!(reply.status, 201, "{}", reply.text());
    let (_, json_answers) =
        stored(&place.db(), json_submission["submission_id"].as_str().expect("an id")).expect("stored");
    assert_eq!(page_answers, json_answers, "the page post and the JSON post store the same case");
    assert_eq!(count_submissions(&place.db()), 2);
}

#[test]
fn a_page_with_errors_lists_each_with_a_link_to_its_field() {
    let place = Workplace::real_forms();
    let collector = Collector::start(place.options("ERR"));
    for lang in ["es", "en"] {
        let page = collector.get(&format!("/{lang}/caso-ddhh/"));
        assert_eq!(page.status, 200);
        let form = page_form(&page.text());
        let mut case = case();
        object_mut(&mut case["victimas"][0], "a victim").remove("sexo");
        case["titulo"] = json!("abc");
        case["n_afectados_total"] = json!("doce");
        let mut fields = constancia_tests::collector::fill(&form, &case).unwrap_or_else(|e| panic!("{e}"));
        // A choice the page does not offer, as a hand-made post could send.
        let sexo = fields.iter_mut().find(|(n, _)| n == "victimas.1.sexo").expect("the second victim's sex");
        sexo.1 = "marciano".into();
        let reply = collector.post_form(&form.action, &fields);
        assert_eq!(reply.status, 422, "{lang}: {}", reply.text());
        assert_html(&reply);
        let html = reply.text();
        let links = fragment_links(&html);
        let fragments: BTreeSet<&str> = links.iter().map(|(_, f)| f.as_str()).collect();
        for wanted in ["f-victimas.0.sexo", "f-victimas.1.sexo", "f-titulo", "f-n_afectados_total"] {
            assert!(fragments.contains(wanted), "{lang}: a link to `#{wanted}` in {links:?}\n{html}");
        }
        for (path, fragment) in &links {
            assert_eq!(path, &format!("/{lang}/caso-ddhh/"), "{lang}: links go back to the form page");
            // The second victim is added by the page's script; its fields
            // are named like the first one's.
            let on_page = fragment.replace("victimas.1.", "victimas.0.");
            assert!(form.ids.contains(&on_page), "{lang}: `#{fragment}` names an element of the form page");
        }
        let going_back = if lang == "es" { "Atrás" } else { "Back" };
        assert!(html.contains(going_back), "{lang}: the page says that going back keeps the answers");
    }
    assert_eq!(count_submissions(&place.db()), 0, "nothing is stored for a case with errors");

    // No such form or version: a page that says so, not a crash.
    for path in ["/submit/no-such-form/1", "/submit/caso-ddhh/9", "/submit/caso-ddhh/uno"] {
        let reply = collector.post_form(path, &[("_lang".into(), "es".into())]);
        assert_eq!(reply.status, 404, "{path}: {}", reply.text());
        assert_html(&reply);
    }
}

/// A fresh valid submission padded with spaces (which JSON allows after a
/// value) to exactly `size` bytes.
fn padded_submission(size: usize) -> Vec<u8> {
    let mut body = submission(&case()).to_string().into_bytes();
    assert!(body.len() <= size, "the case is larger than {size} bytes");
    body.resize(size, b' ');
    body
}

#[test]
fn the_json_api_answers_every_status_of_the_contract() {
    const MAX_BODY: usize = 32 * 1024;
    let place = Workplace::real_forms();
    let mut options = place.options("API");
    options.args = vec!["--max-body".into(), MAX_BODY.to_string()];
    let collector = Collector::start(options);
    let db = place.db();

    // 201: stored, with a receipt.
    let first = submission(&case());
    let id = first["submission_id"].as_str().expect("an id").to_owned();
    let reply = collector.submit(&first);
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert!(reply.header("content-type").unwrap_or_default().starts_with("application/json"));
    let receipt = reply.json();
    let reference = receipt["reference"].as_str().expect("a reference").to_owned();
    assert_eq!(reference_number(&reference, "API", this_year()), Some(1), "{reference}");
    let received_at: jiff::Timestamp = receipt["received_at"].as_str().expect("received_at").parse().expect("RFC 3339");
    let skew = jiff::Timestamp::now().duration_since(received_at).as_secs().abs();
    assert!(skew < 60, "received_at is now: {received_at}");
    assert_eq!(stored(&db, &id).map(|(r, _)| r), Some(reference.clone()), "durable before the answer");

    // 200: a retry (the same text, as the outbox sends it) gets the same
    // receipt and is stored once.
    for _ in 0..2 {
        let reply = collector.submit(&first);
        assert_eq!(reply.status, 200, "a retry: {}", reply.text());
        assert_eq!(reply.json()["reference"], json!(reference));
        assert_eq!(reply.json()["received_at"], receipt["received_at"]);
    }
    // An id in capitals is the same UUID.
    let mut shouting = first.clone();
    shouting["submission_id"] = json!(id.to_uppercase());
    let reply = collector.submit(&shouting);
    assert_eq!(reply.status, 200, "the same UUID in capitals: {}", reply.text());
    assert_eq!(reply.json()["reference"], json!(reference));
    assert_eq!(count_submissions(&db), 1, "retries are stored once");

    // 409: the same id with other content; the stored case stays as it was.
    let (_, before) = stored(&db, &id).expect("stored");
    let mut other = first.clone();
    other["answers"]["titulo"] = json!("Otro título del mismo caso");
    let mut later = first.clone();
    later["completed_at"] = json!("2026-11-20T18:00:00-06:00");
    let mut english = first.clone();
    english["lang"] = json!("en");
    for (what, body) in [("other answers", other), ("a completion time", later), ("another language", english)] {
        let reply = collector.submit(&body);
        assert_json_errors(&reply, 409, what);
        assert_eq!(reply.json()["errors"][0]["code"], "conflict");
    }
    assert_eq!(stored(&db, &id).map(|(_, a)| a), Some(before), "a conflict changes nothing");

    // 400: malformed bodies.
    let valid = submission(&case());
    let mut malformed: Vec<(String, Vec<u8>)> = ["", "{", "no es JSON", "[]", "null", "42", "{\"submission_id\": 1}"]
        .into_iter()
        .map(|b| (format!("body {b:?}"), b.as_bytes().to_vec()))
        .collect();
    for key in ["submission_id", "form", "version", "lang", "answers"] {
        let mut body = valid.clone();
        object_mut(&mut body, "a submission").remove(key);
        malformed.push((format!("without `{key}`"), body.to_string().into_bytes()));
    }
    for bad_id in ["", "123", "not-a-uuid", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "' OR 1=1 --"] {
        let mut body = valid.clone();
        body["submission_id"] = json!(bad_id);
        malformed.push((format!("submission_id {bad_id:?}"), body.to_string().into_bytes()));
    }
    for (key, value) in [
        ("version", json!("1")),
        ("version", json!(-1)),
        ("version", json!(1.5)),
        ("answers", json!([])),
        ("answers", json!("x")),
        ("form", json!(7)),
        ("unexpected", json!(true)),
    ] {
        let mut body = valid.clone();
        body[key] = value.clone();
        malformed.push((format!("`{key}`: {value}"), body.to_string().into_bytes()));
    }
    for (what, body) in &malformed {
        let reply = collector.post("/api/v1/submissions", Some("application/json"), body);
        assert_json_errors(&reply, 400, what);
    }

    // 404: unknown forms and versions.
    for (form, version) in
        [("no-such-form", json!(1)), (CASE_FORM, json!(2)), (CASE_FORM, json!(0)), ("seguimiento", json!(99))]
    {
        let mut body = submission(&case());
        body["form"] = json!(form);
        body["version"] = version.clone();
        let reply = collector.submit(&body);
        assert_json_errors(&reply, 404, &format!("{form} version {version}"));
    }

    // 413: over --max-body; exactly at it is fine.
    let reply = collector.post("/api/v1/submissions", Some("application/json"), &padded_submission(MAX_BODY));
    assert_eq!(reply.status, 201, "a body of exactly --max-body bytes: {}", reply.text());
    let reply = collector.post("/api/v1/submissions", Some("application/json"), &padded_submission(MAX_BODY + 1));
    assert_json_errors(&reply, 413, "one byte over --max-body");

    // 415: other content types (the body itself is a valid submission).
    let body = submission(&case()).to_string();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/jsonx"),
        Some("application/problem+json"),
        None,
    ] {
        let reply = collector.post("/api/v1/submissions", content_type, body.as_bytes());
        assert_json_errors(&reply, 415, &format!("content type {content_type:?}"));
    }
    let reply = collector.post("/api/v1/submissions", Some("application/json; charset=utf-8"), body.as_bytes());
    assert_eq!(reply.status, 201, "a charset parameter is fine: {}", reply.text());

    // 422: every error, each with its field path.
    let mut answers = case();
    object_mut(&mut answers["victimas"][0], "a victim").remove("sexo");
    answers["victimas"][1]["sexo"] = json!("marciano");
    answers["fecha_entrevista"] = json!("2026-02-30");
    answers["actos"][0]["monto_exigido"] = json!("tres mil");
    answers["campo_inventado"] = json!(1);
    let reply = collector.submit(&submission(&answers));
    assert_json_errors(&reply, 422, "invalid answers");
    let errors: BTreeSet<(String, String)> = reply.errors().into_iter().collect();
    for (field, code) in [
        ("victimas.0.sexo", "required"),
        ("victimas.1.sexo", "choice"),
        ("fecha_entrevista", "type"),
        ("actos.0.monto_exigido", "type"),
        ("campo_inventado", "unknown_field"),
    ] {
        assert!(errors.contains(&(field.to_owned(), code.to_owned())), "({field}, {code}) in {errors:?}");
    }
    let mut french = submission(&case());
    french["lang"] = json!("fr");
    let tomorrow = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
    let mut future = submission(&case());
    future["completed_at"] = json!(tomorrow.to_string());
    let mut vague = submission(&case());
    vague["completed_at"] = json!("ayer");
    for (what, body, field) in [
        ("lang fr", french, "lang"),
        ("a future completion", future, "completed_at"),
        ("a vague completion", vague, "completed_at"),
    ] {
        let reply = collector.submit(&body);
        assert_json_errors(&reply, 422, what);
        assert_eq!(reply.error_fields(), vec![field.to_owned()], "{what}");
    }

    // A completion time in the past is kept.
    let mut earlier = submission(&case());
    earlier["completed_at"] = json!("2026-11-20T18:00:00-06:00");
    let reply = collector.submit(&earlier);
    assert_eq!(reply.status, 201, "{}", reply.text());

    // 405: the wrong method on an endpoint.
    for (method, path) in [
        ("GET", "/api/v1/submissions"),
        ("PUT", "/api/v1/submissions"),
        ("DELETE", "/api/v1/submissions"),
        ("GET", "/submit/caso-ddhh/1"),
        ("POST", "/api/v1/forms"),
        ("POST", "/healthz"),
    ] {
        let reply = collector.request(method, path, &[], b"");
        assert_eq!(reply.status, 405, "{method} {path}: {}", reply.text());
    }

    assert_eq!(
        count_submissions(&db),
        4,
        "the first case, the one at the size limit, the charset one, the earlier one"
    );
    assert_eq!(collector.get("/healthz").status, 200);
}

/// Every answer, whatever produced it (the site, the API, an error, the
/// fallback for unknown paths), carries the security headers.
#[test]
fn every_answer_carries_the_security_headers() {
    let place = Workplace::real_forms();
    let collector = Collector::start(place.options("HDR"));
    let expected = [
        ("content-security-policy", "default-src 'self'; script-src 'self'; style-src 'self'"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("permissions-policy", "camera=()"),
        ("cross-origin-opener-policy", "same-origin"),
    ];
    let replies = [
        ("a page", collector.get("/")),
        ("the forms", collector.get("/api/v1/forms")),
        ("the health check", collector.get("/healthz")),
        ("a stored submission", collector.submit(&submission(&case()))),
        ("a malformed body", collector.post("/api/v1/submissions", Some("application/json"), b"{")),
        ("an unknown path", collector.get("/no/such/file.html")),
    ];
    for (what, reply) in &replies {
        assert!(reply.status < 500, "{what}: {}", reply.status);
        for (name, start) in expected {
            let value = reply.header(name).unwrap_or_default();
            assert!(value.starts_with(start), "{what}: `{name}` is `{value}`, expected `{start}...`");
        }
    }
    let csp = replies[0].1.header("content-security-policy").unwrap_or_default();
    for directive in ["img-src 'self' data:; connect-src 'self'", "frame-ancestors 'none'", "object-src 'none'"] {
        assert!(csp.contains(directive), "the policy has `{directive}`: {csp}");
    }
}

/// Browsers ask for compression on every request: the site's pages come
/// back gzipped, a receipt (smaller than a packet) as it is, with its length.
#[test]
fn only_what_compression_pays_for_is_compressed() {
    let place = Workplace::real_forms();
    let collector = Collector::start(place.options("GZ"));
    let browser = [("accept-encoding", "gzip, deflate, br, zstd")];
    let page = collector.request("GET", "/es/caso-ddhh/", &browser, b"");
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-encoding"), Some("gzip"), "the form page is gzipped");
    let body = serde_json::to_vec(&submission(&case())).expect("JSON");
    let headers = [browser[0], ("content-type", "application/json")];
    let receipt = collector.request("POST", "/api/v1/submissions", &headers, &body);
    assert_eq!(receipt.status, 201, "{}", receipt.text());
    assert_eq!(receipt.header("content-encoding"), None, "a receipt goes as it is");
    let length: usize = receipt.header("content-length").and_then(|l| l.parse().ok()).expect("a length");
    assert!(length < 1024, "a receipt of {length} bytes");
    assert!(receipt.json()["reference"].is_string(), "{}", receipt.text());
}

/// `value` as JSON text with every object's keys in reverse order.
fn reversed_keys(value: &Value) -> String {
    match value {
        Value::Object(object) => {
            let members: Vec<String> =
                object.iter().rev().map(|(k, v)| format!("{}: {}", json!(k), reversed_keys(v))).collect();
            format!("{{{}}}", members.join(", "))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(reversed_keys).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

#[test]
fn a_retry_is_known_by_its_content_not_by_its_spelling() {
    let place = Workplace::real_forms();
    let collector = Collector::start(place.options("SAME"));
    let first = submission(&case());
    let reply = collector.submit(&first);
    assert_eq!(reply.status, 201, "{}", reply.text());
    let receipt = reply.json();
    // The same submission as another JSON writer would spell it: the
    // envelope's members in another order, the answers pretty-printed or
    // with their keys in another order. Same content: 200, same receipt.
    let id = first["submission_id"].as_str().expect("an id");
    let envelope = |answers: String| {
        format!(
            "{{\"lang\": \"es\", \"version\": 1, \"answers\": {answers}, \"form\": \"caso-ddhh\", \"submission_id\": \"{id}\"}}"
        )
    };
    for (what, body) in [
        ("the envelope in another order", envelope(first["answers"].to_string())),
        ("pretty-printed answers", envelope(serde_json::to_string_pretty(&first["answers"]).expect("JSON"))),
        ("answers with their keys reversed", envelope(reversed_keys(&first["answers"]))),
    ] {
        assert_eq!(serde_json::from_str::<Value>(&body).expect("JSON"), first, "{what}: the same JSON value");
        let reply = collector.post("/api/v1/submissions", Some("application/json"), body.as_bytes());
        assert_eq!(reply.status, 200, "{what}: {}", reply.text());
        assert_eq!(reply.json(), receipt, "{what}: the same receipt");
    }
    assert_eq!(count_submissions(&place.db()), 1, "stored once");
}

/// The collector reads the answers in the same pass as the rest of the
/// request when the form, version and language come first (as the pages
/// send them), and after it otherwise: either way they are judged alike, and
/// a request that is not a submission is refused whole.
#[test]
fn answers_are_judged_alike_wherever_they_come_in_the_request() {
    let place = Workplace::real_forms();
    let collector = Collector::start(place.options("ORDR"));
    let post = |body: &str| collector.post("/api/v1/submissions", Some("application/json"), body.as_bytes());
    // `to_string` writes members in key order: the answers first.
    let (last, first) = (submission(&case()), submission(&case()));
    assert!(pages_order(&last).ends_with(&format!("\"answers\":{}}}", last["answers"])), "answers last");
    assert!(first.to_string().starts_with("{\"answers\":"), "answers first");
    for body in [pages_order(&last), first.to_string()] {
        let reply = post(&body);
        assert_eq!(reply.status, 201, "{}", reply.text());
    }
    let stored_answers =
        |body: &Value| stored(&place.db(), body["submission_id"].as_str().expect("an id")).map(|s| s.1);
    assert_eq!(stored_answers(&last), stored_answers(&first), "the same answers stored");
    assert!(stored_answers(&last).is_some());

    let mut answers = case();
    object_mut(&mut answers["victimas"][0], "a victim").remove("sexo");
    answers["victimas"][1]["sexo"] = json!("marciano");
    answers["actos"][0]["monto_exigido"] = json!("tres mil");
    answers["campo_inventado"] = json!(1);
    answers["fuentes"] = json!(5);
    let invalid = submission(&answers);
    let (in_one_pass, after) = (post(&pages_order(&invalid)), post(&invalid.to_string()));
    assert_json_errors(&in_one_pass, 422, "invalid answers, read in one pass");
    assert!(in_one_pass.errors().len() >= 5, "every error: {}", in_one_pass.text());
    assert_eq!(in_one_pass.json(), after.json(), "the same errors either way");

    let id = uuid::Uuid::new_v4();
    let head = format!("\"submission_id\":\"{id}\",\"form\":\"caso-ddhh\",\"version\":1,\"lang\":\"es\"");
    let answers = case().to_string();
    for (what, body, status) in [
        ("answers twice", format!("{{{head},\"answers\":{answers},\"answers\":{answers}}}"), 400),
        ("the form twice", format!("{{{head},\"form\":\"caso-ddhh\",\"answers\":{answers}}}"), 400),
        ("an unknown member", format!("{{{head},\"answers\":{answers},\"extra\":1}}"), 400),
        ("no answers", format!("{{{head}}}"), 400),
        ("answers that are not an object", format!("{{{head},\"answers\":[1,2]}}"), 400),
        ("answers cut short", format!("{{{head},\"answers\":{{\"titulo\":}}}}"), 400),
        ("text after the submission", format!("{{{head},\"answers\":{answers}}} x"), 400),
        ("an unknown version", format!("{{{},\"answers\":{answers}}}", head.replace(":1,", ":7,")), 404),
        ("a language not offered", format!("{{{},\"answers\":{answers}}}", head.replace("\"es\"", "\"fr\"")), 422),
    ] {
        let reply = post(&body);
        assert_json_errors(&reply, status, what);
    }
    assert_eq!(count_submissions(&place.db()), 2, "only the two valid submissions stored");
}

/// Pages hosted elsewhere may submit only from the origins allowed with
/// `--allow-origin`; without any, no answer invites another origin.
#[test]
fn only_allowed_origins_are_answered_for_cross_origin_submissions() {
    let place = Workplace::real_forms();
    let preflight = |collector: &Collector, origin: &str| {
        collector.request(
            "OPTIONS",
            "/api/v1/submissions",
            &[
                ("origin", origin),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "content-type"),
            ],
            b"",
        )
    };
    let allowed = "https://consulado.example";
    let mut options = place.options("CORS");
    options.args = vec!["--allow-origin".into(), allowed.into()];
    let collector = Collector::start(options);
    let reply = preflight(&collector, allowed);
    assert_eq!(reply.header("access-control-allow-origin"), Some(allowed), "{}", reply.text());
    let methods = reply.header("access-control-allow-methods").unwrap_or_default();
    assert!(methods.contains("POST"), "{methods}");
    let body = pages_order(&submission(&case()));
    let reply = collector.request(
        "POST",
        "/api/v1/submissions",
        &[("origin", allowed), ("content-type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(reply.header("access-control-allow-origin"), Some(allowed));
    let reply = preflight(&collector, "https://elsewhere.example");
    assert_eq!(reply.header("access-control-allow-origin"), None, "another origin is not invited");
    drop(collector);

    let collector = Collector::start(place.options("NOCORS"));
    for reply in
        [preflight(&collector, allowed), collector.request("GET", "/api/v1/forms", &[("origin", allowed)], b"")]
    {
        assert!(reply.status < 500, "{}", reply.text());
        assert_eq!(reply.header("access-control-allow-origin"), None, "no origin is invited");
    }
}

/// Replaces `old` by `new` exactly once in `text`.
fn replace_once(text: &str, old: &str, new: &str) -> String {
    assert_eq!(text.matches(old).count(), 1, "`{old}` occurs once");
    text.replacen(old, new, 1)
}

/// Writes a file the way a builder should: a temporary file, then a rename.
fn write_atomically(path: &Path, bytes: &[u8]) {
    let temporary = path.with_extension("tmp-test");
    std::fs::write(&temporary, bytes).expect("write");
    std::fs::rename(&temporary, path).expect("rename");
}

#[test]
fn a_new_form_version_is_taken_up_live_while_old_versions_keep_validating() {
    let place = Workplace::editable_forms();
    let mut collector = Collector::start(place.options("LIVE"));
    assert_eq!(accepted_versions(&collector.get("/api/v1/forms").json(), CASE_FORM), vec![1]);

    // An editor publishes version 2, in which the title is much shorter.
    let toml_path = place.forms().join("caso-ddhh.toml");
    let toml = std::fs::read_to_string(&toml_path).expect("the form");
    let toml = replace_once(&toml, "id = \"caso-ddhh\"\nversion = 1\n", "id = \"caso-ddhh\"\nversion = 2\n");
    let toml = replace_once(
        &toml,
        "required = true\nmax_length = 120\nconstraint = \"len(titulo) >= 5\"",
        "required = true\nmax_length = 12\nconstraint = \"len(titulo) >= 5\"",
    );
    std::fs::write(&toml_path, toml).expect("write the form");
    place.rebuild();
    collector.wait_for_version(CASE_FORM, 2);
    assert_eq!(accepted_versions(&collector.get("/api/v1/forms").json(), CASE_FORM), vec![1, 2]);
    assert_eq!(page_form(&collector.get("/es/caso-ddhh/").text()).action, "/submit/caso-ddhh/2", "the page moved on");

    let on = |version: u64, title: &str| {
        let mut answers = case();
        answers["titulo"] = json!(title);
        let mut body = submission(&answers);
        body["version"] = json!(version);
        body
    };
    let long_title = case()["titulo"].as_str().expect("a title").to_owned();
    let reply = collector.submit(&on(2, &long_title));
    assert_eq!(reply.status, 422, "version 2 has the new rule: {}", reply.text());
    assert_eq!(reply.errors(), vec![("titulo".to_owned(), "max_length".to_owned())]);
    let reply = collector.submit(&on(2, "Secuestro"));
    assert_eq!(reply.status, 201, "{}", reply.text());
    let reply = collector.submit(&on(1, &long_title));
    assert_eq!(reply.status, 201, "version 1 keeps its own rules: {}", reply.text());

    // A manifest changed under the same id and version is refused loudly;
    // the published one stays in force.
    let manifest_path = place.site().join("forms/caso-ddhh/2.json");
    let published = std::fs::read_to_string(&manifest_path).expect("the manifest of version 2");
    let mut tampered: Value = serde_json::from_str(&published).expect("JSON");
    let titulo = tampered["sections"]
        .as_array_mut()
        .expect("sections")
        .iter_mut()
        .flat_map(|s| s["questions"].as_array_mut().expect("questions").iter_mut())
        .find(|q| q["path"] == "titulo")
        .expect("the title question");
    titulo["max_length"] = json!(500);
    write_atomically(&manifest_path, serde_json::to_string(&tampered).expect("JSON").as_bytes());
    let started = std::time::Instant::now();
    while !collector.log().contains("REFUSED") {
        assert!(started.elapsed().as_secs() < 20, "the changed manifest is not refused loudly:\n{}", collector.log());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let reply = collector.submit(&on(2, &long_title));
    assert_eq!(reply.status, 422, "the stored version 2 stays in force: {}", reply.text());
    let body: String = open_db(&place.db())
        .query_row("SELECT body FROM manifests WHERE form_id = 'caso-ddhh' AND version = 2", [], |row| row.get(0))
        .expect("version 2 is stored");
    assert_eq!(body, published, "the database keeps the manifest as first published");

    // The site moves on without version 1; after a restart version 1 is
    // still accepted (from the database) and version 2 is still the
    // published one.
    std::fs::remove_file(place.site().join("forms/caso-ddhh/1.json")).expect("remove version 1 from the site");
    assert_eq!(collector.terminate().code(), Some(0));
    collector.restart();
    assert_eq!(accepted_versions(&collector.get("/api/v1/forms").json(), CASE_FORM), vec![1, 2]);
    let reply = collector.submit(&on(1, &long_title));
    assert_eq!(reply.status, 201, "version 1 from the database: {}", reply.text());
    let reply = collector.submit(&on(2, &long_title));
    assert_eq!(reply.status, 422, "version 2 as published: {}", reply.text());
    assert_eq!(count_submissions(&place.db()), 3);
}

#[test]
fn data_is_intact_after_a_restart() {
    let place = Workplace::real_forms();
    let mut collector = Collector::start(place.options("KEEP"));
    let mut receipts = Vec::new();
    for title in ["Primer caso de la serie", "Segundo caso de la serie", "Tercer caso de la serie"] {
        let mut answers = case();
        answers["titulo"] = json!(title);
        let body = submission(&answers);
        let reply = collector.submit(&body);
        assert_eq!(reply.status, 201, "{}", reply.text());
        receipts.push((body, reply.json()));
    }
    let form = page_form(&collector.get("/es/caso-ddhh/").text());
    let fields = constancia_tests::collector::fill(&form, &case()).unwrap_or_else(|e| panic!("{e}"));
    let reply = collector.post_form(&form.action, &fields);
    assert_eq!(reply.status, 303, "{}", reply.text());
    let receipt_page = reply.header("location").expect("a receipt").to_owned();
    let page_reference = collector.get(&receipt_page).text();

    assert_eq!(collector.terminate().code(), Some(0), "SIGTERM stops it cleanly:\n{}", collector.log());
    collector.restart();

    for (body, receipt) in &receipts {
        let reply = collector.submit(body);
        assert_eq!(reply.status, 200, "a retry after the restart: {}", reply.text());
        assert_eq!(&reply.json(), receipt, "the same receipt after the restart");
        let mut changed = body.clone();
        changed["answers"]["titulo"] = json!("Cambiado después del reinicio");
        assert_eq!(collector.submit(&changed).status, 409, "a conflict after the restart");
    }
    let again = collector.get(&receipt_page);
    assert_eq!(again.status, 200);
    assert_eq!(again.text(), page_reference, "the page's receipt is the same after the restart");

    let reply = collector.submit(&submission(&case()));
    assert_eq!(reply.status, 201, "{}", reply.text());
    let reference = reply.json()["reference"].as_str().expect("a reference").to_owned();
    assert_eq!(reference_number(&reference, "KEEP", this_year()), Some(5), "references continue: {reference}");

    let connection = open_db(&place.db());
    let (rows, ids, references): (i64, i64, i64) = connection
        .query_row(
            "SELECT count(*), count(DISTINCT submission_id), count(DISTINCT reference) FROM submissions",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .expect("counts");
    assert_eq!((rows, ids, references), (5, 5, 5), "every case once");
    let out = place.dir.path().join("export");
    let output = export(&place.db(), &["--form", CASE_FORM, "--format", "json", "--out", out.to_str().expect("UTF-8")]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let lines = std::fs::read_to_string(out.join("caso-ddhh.jsonl")).expect("the export");
    assert_eq!(lines.lines().count(), 5);
}

/// A submission stored by the release before packed answers: its answers
/// as compressed JSON, its content hash over their JSON text.
#[test]
fn a_case_stored_by_an_earlier_release_is_still_read_and_known_on_retry() {
    let place = Workplace::real_forms();
    let mut collector = Collector::start(place.options("UPGR"));
    let body = submission(&case());
    let reply = collector.submit(&body);
    assert_eq!(reply.status, 201, "{}", reply.text());
    let receipt = reply.json();
    let id = body["submission_id"].as_str().expect("an id");
    let (_, answers) = stored(&place.db(), id).expect("stored");
    assert_eq!(collector.terminate().code(), Some(0), "{}", collector.log());

    // The row rewritten as that release wrote it.
    let connection = rusqlite::Connection::open(place.db()).expect("the database");
    let manifest_body: String = connection
        .query_row("SELECT body FROM manifests WHERE form_id = ?1 AND version = 1", [CASE_FORM], |row| row.get(0))
        .expect("the stored manifest");
    let manifest = serde_json::from_str(&manifest_body).expect("a manifest");
    let json = answers.to_string();
    let compressed = lz4_flex::block::compress_prepend_size_with_dict(
        json.as_bytes(),
        &collector::encoding::json_dictionary(&manifest),
    );
    let mut hash = sha2::Sha256::new();
    hash.update(serde_json::to_vec(&json!([CASE_FORM, 1, "es", null])).expect("JSON"));
    hash.update(json.as_bytes());
    let updated = connection
        .execute(
            "UPDATE submissions SET answers = ?1, answers_format = 'json+lz4+dict1', content_sha256 = ?2
             WHERE submission_id = ?3",
            rusqlite::params![compressed, format!("{:x}", hash.finalize()), id],
        )
        .expect("the row rewritten");
    assert_eq!(updated, 1);
    drop(connection);

    collector.restart();
    let reply = collector.submit(&body);
    assert_eq!(reply.status, 200, "a retry of the earlier release's row: {}", reply.text());
    assert_eq!(reply.json(), receipt, "the same receipt");
    let mut changed = body.clone();
    changed["answers"]["titulo"] = json!("Otro título");
    assert_eq!(collector.submit(&changed).status, 409, "other content under its id");
    assert_eq!(stored(&place.db(), id).map(|(_, answers)| answers), Some(answers), "read as before");
    assert_eq!(count_submissions(&place.db()), 1);
}

// --- Exports -----------------------------------------------------------------

/// A CSV file: its header and its records.
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn read(path: &Path) -> Self {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read `{}`: {e}", path.display()));
        let text = String::from_utf8(bytes).unwrap_or_else(|_| panic!("`{}` is UTF-8", path.display()));
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header = reader.headers().expect("a header").iter().map(str::to_owned).collect();
        let rows = reader.records().map(|r| r.expect("a record").iter().map(str::to_owned).collect()).collect();
        Self { header, rows }
    }

    fn column(&self, name: &str) -> usize {
        self.header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column `{name}` in {:?}", self.header))
    }

    fn cell<'a>(&'a self, row: &'a [String], name: &str) -> &'a str {
        &row[self.column(name)]
    }
}

/// How a stored value is written in a CSV cell (codes as stored).
fn cell_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "),
        Some(Value::Object(_)) => panic!("an object in a cell"),
    }
}

/// Every question of a manifest: (scope, id, type, pii, choices list).
fn questions(manifest: &Value) -> Vec<(String, String, String, bool, Option<String>)> {
    manifest["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .flat_map(|section| {
            let scope = section["scope"].as_str().unwrap_or_default().to_owned();
            section["questions"].as_array().expect("questions").iter().map(move |q| {
                (
                    scope.clone(),
                    q["id"].as_str().expect("an id").to_owned(),
                    q["type"].as_str().expect("a type").to_owned(),
                    q["pii"].as_bool().unwrap_or(false),
                    q["choices"].as_str().map(str::to_owned),
                )
            })
        })
        .collect()
}

/// Asserts every answer submitted is stored as sent (codes of a multiple
/// choice in any order).
fn assert_stored_as_submitted(submitted: &Value, stored: &Value, path: &str) {
    match (submitted, stored) {
        (Value::Object(sent), Value::Object(kept)) => {
            for (key, value) in sent {
                let here = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                let kept = kept.get(key).unwrap_or_else(|| panic!("`{here}` was submitted but not stored"));
                assert_stored_as_submitted(value, kept, &here);
            }
        }
        (Value::Array(sent), Value::Array(kept)) if sent.iter().all(Value::is_object) => {
            assert_eq!(sent.len(), kept.len(), "`{path}`: as many instances");
            for (index, (a, b)) in sent.iter().zip(kept).enumerate() {
                assert_stored_as_submitted(a, b, &format!("{path}.{index}"));
            }
        }
        (Value::Array(sent), Value::Array(kept)) => {
            let sent: BTreeSet<String> = sent.iter().map(Value::to_string).collect();
            let kept: BTreeSet<String> = kept.iter().map(Value::to_string).collect();
            assert_eq!(sent, kept, "`{path}`");
        }
        (Value::Number(a), Value::Number(b)) => assert_eq!(a.as_f64(), b.as_f64(), "`{path}`"),
        (a, b) => assert_eq!(a, b, "`{path}`"),
    }
}

#[test]
fn exports_write_what_was_submitted() {
    let place = Workplace::real_forms();
    let collector = Collector::start(place.options("EXP"));
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(place.site().join("forms/caso-ddhh/1.json")).expect("manifest"))
            .expect("JSON");
    let first = submission(&case());
    let mut answers = case();
    answers["titulo"] = json!("Extorsión, \"cobro de piso\" y amenazas");
    answers["descripcion"] = json!("Línea uno, con coma.\nLínea \"dos\"; con comillas y ñandú.");
    let mut second = submission(&answers);
    second["lang"] = json!("en");
    second["completed_at"] = json!("2026-11-21T09:15:00-06:00");
    for body in [&first, &second] {
        let reply = collector.submit(body);
        assert_eq!(reply.status, 201, "{}", reply.text());
    }
    let db = place.db();
    let stored_answers: BTreeMap<String, (String, Value)> = [&first, &second]
        .into_iter()
        .map(|b| {
            let id = b["submission_id"].as_str().expect("an id").to_owned();
            let row = stored(&db, &id).expect("stored");
            (id, row)
        })
        .collect();

    // Stored as submitted, with the calculations made by the server.
    let (_, first_stored) = &stored_answers[first["submission_id"].as_str().expect("an id")];
    assert_stored_as_submitted(&first["answers"], first_stored, "");
    assert_eq!(first_stored["n_victimas_registradas"], json!(2));
    assert_eq!(first_stored["total_perpetradores"], json!(8));
    assert_eq!(first_stored["dias_hasta_entrevista"], json!(10));
    assert_eq!(first_stored["victimas"][0]["edad"], json!(30), "years_between(1996-04-02, 2026-11-10)");
    assert_eq!(first_stored["victimas"][0]["grupo_edad"], json!("30_39"));
    assert_eq!(first_stored["victimas"][1]["edad"], json!(17));

    let dir = place.dir.path();
    let run = |name: &str, args: &[&str]| {
        let out = dir.join(name);
        let mut all = vec!["--form", CASE_FORM, "--out", out.to_str().expect("UTF-8")];
        all.extend_from_slice(args);
        let output = export(&db, &all);
        assert!(output.status.success(), "export {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        out
    };

    // JSON lines: one document per submission, with its metadata.
    let out = run("json", &["--format", "json"]);
    let text = std::fs::read_to_string(out.join("caso-ddhh.jsonl")).expect("caso-ddhh.jsonl");
    let documents: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(documents.len(), 2);
    for (document, sent) in documents.iter().zip([&first, &second]) {
        let id = sent["submission_id"].as_str().expect("an id");
        let (reference, answers) = &stored_answers[id];
        assert_eq!(document["submission_id"], json!(id));
        assert_eq!(document["reference"], json!(reference));
        assert_eq!(document["form"], json!(CASE_FORM));
        assert_eq!(document["form_version"], json!(1));
        assert_eq!(document["lang"], sent["lang"]);
        assert!(document["received_at"].as_str().is_some_and(|t| t.parse::<jiff::Timestamp>().is_ok()));
        assert_eq!(document["completed_at"], sent.get("completed_at").cloned().unwrap_or(Value::Null));
        assert_eq!(&document["answers"], answers, "the answers as stored");
    }

    // CSV: one table for the top level and one per repeat.
    let out = run("csv", &["--format", "csv"]);
    let files: BTreeSet<String> = std::fs::read_dir(&out)
        .expect("the export folder")
        .map(|e| e.expect("an entry").file_name().to_string_lossy().into_owned())
        .collect();
    let repeats = ["fuentes", "victimas", "actos", "perpetradores", "intervenciones"];
    let mut expected: BTreeSet<String> = repeats.iter().map(|r| format!("caso-ddhh.{r}.csv")).collect();
    expected.insert("caso-ddhh.csv".into());
    assert_eq!(files, expected);
    let metadata = ["submission_id", "reference", "form_version", "lang", "received_at", "completed_at"];
    let all_questions = questions(&manifest);
    let mut tables: Vec<(String, Table)> = Vec::new();
    for scope in std::iter::once("").chain(repeats) {
        let name = if scope.is_empty() { "caso-ddhh.csv".to_owned() } else { format!("caso-ddhh.{scope}.csv") };
        let table = Table::read(&out.join(&name));
        let mut header: Vec<String> = metadata.iter().map(|m| (*m).to_owned()).collect();
        if !scope.is_empty() {
            header.push(format!("{scope}_index"));
        }
        header.extend(all_questions.iter().filter(|q| q.0 == scope && q.2 != "note").map(|q| q.1.clone()));
        assert_eq!(table.header, header, "{name}: metadata, instance index, then the questions in form order");
        tables.push((scope.to_owned(), table));
    }
    for (scope, table) in &tables {
        let mut seen = BTreeSet::new();
        for row in &table.rows {
            let id = table.cell(row, "submission_id");
            let (reference, answers) = stored_answers.get(id).unwrap_or_else(|| panic!("an unknown id `{id}`"));
            assert_eq!(table.cell(row, "reference"), reference);
            assert_eq!(table.cell(row, "form_version"), "1");
            let instance = if scope.is_empty() {
                assert!(seen.insert((id.to_owned(), 0)), "one top-level row per submission");
                answers
            } else {
                let index: usize = table.cell(row, &format!("{scope}_index")).parse().expect("an index");
                assert!(seen.insert((id.to_owned(), index)), "{scope}: one row per instance");
                &answers[scope.as_str()][index]
            };
            for (question_scope, question, kind, _, _) in &all_questions {
                if question_scope == scope && kind != "note" {
                    assert_eq!(
                        table.cell(row, question),
                        cell_text(instance.get(question)),
                        "{scope}.{question} of {id}"
                    );
                }
            }
        }
        let expected_rows: usize = stored_answers
            .values()
            .map(|(_, a)| if scope.is_empty() { 1 } else { a[scope.as_str()].as_array().map_or(0, Vec::len) })
            .sum();
        assert_eq!(table.rows.len(), expected_rows, "{scope}: a row per instance");
    }
    let (_, top) = &tables[0];
    let second_row = top.rows.iter().find(|r| top.cell(r, "submission_id") == second["submission_id"]).expect("a row");
    assert_eq!(top.cell(second_row, "descripcion"), answers["descripcion"].as_str().expect("text"), "quoting");
    assert_eq!(top.cell(second_row, "lang"), "en");
    assert_eq!(top.cell(second_row, "completed_at"), "2026-11-21T09:15:00-06:00");
    let victims = &tables.iter().find(|(s, _)| s == "victimas").expect("victims").1;
    assert!(victims.rows.iter().any(|r| victims.cell(r, "nombres") == "José"), "UTF-8 text");

    // Labels instead of codes.
    let out = run("labels", &["--format", "csv", "--labels", "es"]);
    let label = |list: &str, code: &str| -> String {
        manifest["lists"][list]["choices"]
            .as_array()
            .expect("choices")
            .iter()
            .find(|c| c["value"] == code)
            .unwrap_or_else(|| panic!("no `{code}` in `{list}`"))["label"]["es"]
            .as_str()
            .expect("a label")
            .to_owned()
    };
    let top = Table::read(&out.join("caso-ddhh.csv"));
    let row = top.rows.iter().find(|r| top.cell(r, "submission_id") == first["submission_id"]).expect("a row");
    assert_eq!(top.cell(row, "consulado"), label("consulado", "tapachula"));
    assert_eq!(top.cell(row, "interprete"), constancia::messages::for_language("es").no);
    assert_eq!(top.cell(row, "privacidad_entrevista"), constancia::messages::for_language("es").yes);
    let codes = first_stored["consent_referencia"].as_array().expect("codes");
    let labels: Vec<String> = codes.iter().map(|c| label("destino_referencia", c.as_str().expect("a code"))).collect();
    assert_eq!(top.cell(row, "consent_referencia"), labels.join("; "));
    let victims = Table::read(&out.join("caso-ddhh.victimas.csv"));
    let sexes: BTreeSet<&str> = victims.rows.iter().map(|r| victims.cell(r, "sexo")).collect();
    assert_eq!(sexes, [label("sexo", "hombre").as_str(), label("sexo", "mujer").as_str()].into_iter().collect());
    let output = export(
        &db,
        &["--form", CASE_FORM, "--format", "csv", "--labels", "fr", "--out", dir.join("fr").to_str().expect("UTF-8")],
    );
    assert_eq!(output.status.code(), Some(1), "labels in a language the form lacks");

    // De-identified: no identifying question, in any file, in any format.
    let pii: Vec<&(String, String, String, bool, Option<String>)> = all_questions.iter().filter(|q| q.3).collect();
    assert!(pii.iter().any(|q| q.0 == "victimas" && q.1 == "nombres"), "the form marks names as pii");
    let identifying = ["Ana María", "López Hernández", "01234567-8", "girasol", "+52 962 123 4567", "Vías del tren"];
    for format in ["csv", "json"] {
        let out = run(&format!("deidentified-{format}"), &["--format", format, "--deidentified"]);
        for entry in std::fs::read_dir(&out).expect("the export folder") {
            let path = entry.expect("an entry").path();
            let text = std::fs::read_to_string(&path).expect("UTF-8");
            for secret in identifying {
                assert!(!text.contains(secret), "`{secret}` in the de-identified `{}`", path.display());
            }
            if format == "csv" {
                let table = Table::read(&path);
                let scope = path
                    .file_name()
                    .expect("a name")
                    .to_string_lossy()
                    .trim_start_matches("caso-ddhh")
                    .trim_start_matches('.')
                    .trim_end_matches("csv")
                    .trim_end_matches('.')
                    .to_owned();
                for question in &pii {
                    assert!(
                        !(question.0 == scope && table.header.contains(&question.1)),
                        "`{}` in `{}`",
                        question.1,
                        path.display()
                    );
                }
                assert!(table.rows.iter().all(|r| r.len() == table.header.len()));
            }
        }
        if format == "json" {
            let text = std::fs::read_to_string(out.join("caso-ddhh.jsonl")).expect("the export");
            let document: Value = serde_json::from_str(text.lines().next().expect("a line")).expect("JSON");
            assert_eq!(document["answers"]["consulado"], json!("tapachula"), "what is not pii stays");
            assert_eq!(document["answers"]["victimas"][0]["sexo"], json!("mujer"));
            assert!(document["answers"]["victimas"][0].get("nombres").is_none());
            assert!(document["answers"].get("palabra_clave").is_none());
        }
    }
}
