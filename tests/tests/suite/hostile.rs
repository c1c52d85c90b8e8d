//! Hundreds of malformed and adversarial requests against the real
//! collector: bad and truncated JSON, wrong types for every question type,
//! huge numbers, deep nesting, oversize bodies, very long strings, unknown
//! forms and versions, injection strings, invalid UTF-8, path traversal in
//! static paths, odd methods, broken headers and framing.
//!
//! For each: never a 5xx, the status the contract gives where it gives one,
//! and nothing stored. Afterwards the process is still running, answers
//! `/healthz`, has logged no panic, and the database holds exactly the
//! few submissions that were valid on purpose (injection strings in text
//! answers, which must be stored verbatim).

use std::collections::BTreeSet;

use constancia_tests::collector::{Collector, RawReply, Reply, Workplace, case, count_submissions, stored, submission};
use serde_json::{Value, json};

/// Content that must never leave the server.
const SECRETS: [&str; 5] = [
    "TOP-SECRET-OUTSIDE-THE-SITE",
    "TOP-SECRET-HIDDEN-IN-THE-SITE",
    "root:x:0:0",
    "SQLite format 3",
    "Written by `constancia build`",
];

/// Sends hostile requests and keeps score.
struct Attack<'a> {
    collector: &'a Collector,
    sent: usize,
    failures: Vec<String>,
}

impl Attack<'_> {
    fn check(&mut self, what: &str, status: u16, body: &str, html: bool, allowed: &[u16]) {
        self.sent += 1;
        if status >= 500 {
            self.failures.push(format!("{what}: {status} (a server error): {}", clip(body)));
        } else if !allowed.is_empty() && !allowed.contains(&status) {
            self.failures.push(format!("{what}: {status}, expected one of {allowed:?}: {}", clip(body)));
        }
        for secret in SECRETS {
            if body.contains(secret) {
                self.failures.push(format!("{what}: the answer reveals `{secret}`"));
            }
        }
        if html && body.contains("<script>alert") {
            self.failures.push(format!("{what}: an injected script is reflected unescaped"));
        }
    }

    fn reply(&mut self, what: &str, reply: &Reply, allowed: &[u16]) {
        let html = reply.header("content-type").is_some_and(|t| t.starts_with("text/html"));
        self.check(what, reply.status, &reply.text(), html, allowed);
    }

    /// Posts raw bytes as JSON to the submissions endpoint.
    fn json_bytes(&mut self, what: &str, body: &[u8], allowed: &[u16]) -> Option<Reply> {
        match self.collector.try_request("POST", "/api/v1/submissions", &[("content-type", "application/json")], body) {
            Ok(reply) => {
                self.reply(what, &reply, allowed);
                Some(reply)
            }
            Err(error) => {
                self.sent += 1;
                self.failures.push(format!("{what}: no answer ({error})"));
                None
            }
        }
    }

    /// Posts a submission; expects 422 naming exactly `fields` (or, with
    /// `at_least`, naming them among others).
    fn invalid(&mut self, what: &str, submission: &Value, fields: &[&str], at_least: bool) {
        let Some(reply) = self.json_bytes(what, submission.to_string().as_bytes(), &[422]) else { return };
        if reply.status != 422 {
            return;
        }
        let named: BTreeSet<String> = reply.error_fields().into_iter().collect();
        let wanted: BTreeSet<String> = fields.iter().map(|f| (*f).to_owned()).collect();
        let fine = if at_least { wanted.is_subset(&named) } else { wanted == named };
        if !fine {
            self.failures.push(format!("{what}: errors name {named:?}, expected {wanted:?}"));
        }
    }

    /// Posts urlencoded bytes to a page endpoint.
    fn form_bytes(&mut self, what: &str, path: &str, content_type: &str, body: &[u8], allowed: &[u16]) {
        match self.collector.try_request("POST", path, &[("content-type", content_type)], body) {
            Ok(reply) => self.reply(what, &reply, allowed),
            Err(error) => {
                self.sent += 1;
                self.failures.push(format!("{what}: no answer ({error})"));
            }
        }
    }

    /// Sends bytes on a raw connection. `allowed` empty: any status below
    /// 500; `may_close`: the server may also close without answering
    /// (bytes that are not HTTP at all).
    fn raw(&mut self, what: &str, request: &[u8], half_close: bool, allowed: &[u16], may_close: bool) -> RawReply {
        let reply = self.collector.raw(request, half_close);
        let text = reply.text();
        let head = text.split("\r\n\r\n").next().unwrap_or_default().to_ascii_lowercase();
        let html = head.contains("content-type: text/html");
        match reply.status {
            Some(status) => self.check(what, status, &text, html, allowed),
            None if may_close => self.check(what, 400, &text, html, &[]),
            None => {
                self.sent += 1;
                self.failures.push(format!("{what}: no HTTP answer: {:?}", clip(&reply.text())));
            }
        }
        reply
    }
}

/// The start of a text, on one line, for a failure message.
fn clip(text: &str) -> String {
    let body = text.split_once("\r\n\r\n").map_or(text, |(_, body)| body);
    body.chars().take(160).collect::<String>().replace(['\r', '\n'], " ")
}

/// An HTTP/1.1 request, byte for byte, closing the connection after.
fn http(method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut request = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" || method == "PUT" || method == "PATCH" {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// The case with one answer replaced (`path` like `victimas.0.sexo`).
fn with(path: &str, value: Value) -> Value {
    let mut answers = case();
    let mut node = &mut answers;
    let parts: Vec<&str> = path.split('.').collect();
    for part in &parts[..parts.len() - 1] {
        node = match part.parse::<usize>() {
            Ok(index) => &mut node[index],
            Err(_) => &mut node[*part],
        };
    }
    node[parts[parts.len() - 1]] = value;
    answers
}

/// The case with its first source not the victim, so that the source's
/// e-mail is asked.
fn with_source_email(email: Value) -> Value {
    let mut answers = case();
    answers["fuentes"][0] = json!({
        "fuente_es_victima": false,
        "fuente_conexion": "testigo",
        "fuente_email": email,
    });
    answers
}

/// A workplace with secrets where a path traversal or a hidden-file leak
/// would find them, and a collector over it.
fn hostile_place() -> (Workplace, Collector) {
    let place = Workplace::real_forms();
    std::fs::write(place.dir.path().join("secret.txt"), "TOP-SECRET-OUTSIDE-THE-SITE").expect("a secret");
    std::fs::write(place.site().join(".env"), "TOP-SECRET-HIDDEN-IN-THE-SITE").expect("a hidden file");
    std::fs::create_dir_all(place.site().join(".git")).expect("a hidden folder");
    std::fs::write(place.site().join(".git/config"), "TOP-SECRET-HIDDEN-IN-THE-SITE").expect("a hidden file");
    let collector = Collector::start(place.options("HOSTIL"));
    (place, collector)
}

/// The collector is still running, answers, and has logged no panic.
fn assert_survived(collector: &mut Collector) {
    assert!(collector.is_alive(), "the collector died:\n{}", collector.log());
    assert_eq!(collector.get("/healthz").status, 200, "the collector still answers");
    let log = collector.log();
    assert!(!log.contains("panicked"), "a panic in the log:\n{log}");
}

/// Fails with every mishandled request listed.
fn assert_no_failures(attack: &Attack<'_>) {
    assert!(
        attack.failures.is_empty(),
        "{} problems in {} hostile requests:\n{}",
        attack.failures.len(),
        attack.sent,
        attack.failures.join("\n")
    );
}

#[test]
fn hostile_requests_get_no_server_error_and_store_nothing() {
    let (place, mut collector) = hostile_place();
    let db = place.db();
    let mut attack = Attack { collector: &collector, sent: 0, failures: Vec::new() };
    let valid_text = submission(&case()).to_string();

    // --- Bad JSON: 400 -------------------------------------------------------
    let mut bad: Vec<Vec<u8>> = [
        "",
        " ",
        "{",
        "}",
        "[",
        "]",
        "{}",
        "null",
        "true",
        "0",
        "\"x\"",
        "[1,2]",
        "{\"a\":}",
        "{'form': 'caso-ddhh'}",
        "-",
        "1e",
        "{\"submission_id\":",
        "{\"version\": 1,}",
        "/* comment */ {}",
        "{\"answers\": {\"titulo\": NaN}}",
        "{\"answers\": Infinity}",
        "\u{feff}{}",
    ]
    .into_iter()
    .map(|b| b.as_bytes().to_vec())
    .collect();
    bad.push(format!("{valid_text}x").into_bytes());
    bad.push(format!("{valid_text}}}").into_bytes());
    bad.push(format!("\u{feff}{valid_text}").into_bytes());
    bad.push(format!("{valid_text}{valid_text}").into_bytes());
    // A key twice.
    bad.push(valid_text.replacen("{", "{\"form\": \"seguimiento\", ", 1).into_bytes());
    // Invalid UTF-8 and a lone surrogate inside a text answer.
    bad.push(
        valid_text.replacen("Secuestro y extorsión", "Secuestro \u{1}", 1).replace('\u{1}', "\\ud800").into_bytes(),
    );
    let mut latin1 = valid_text.replacen("extorsión", "extorsi\u{1}n", 1).into_bytes();
    for byte in &mut latin1 {
        if *byte == 1 {
            *byte = 0xF3; // ó in Latin-1, invalid alone in UTF-8
        }
    }
    bad.push(latin1);
    // Deep nesting.
    bad.push("[".repeat(10_000).into_bytes());
    bad.push("{\"a\":".repeat(10_000).into_bytes());
    bad.push(valid_text.replacen("\"Secuestro y extorsión en tren de carga\"", &"[".repeat(10_000), 1).into_bytes());
    bad.push(format!("{}1{}", "[".repeat(5_000), "]".repeat(5_000)).into_bytes());
    // Huge numbers no JSON parser here can hold.
    bad.push(valid_text.replacen("\"version\":1", "\"version\":1e400", 1).into_bytes());
    bad.push(valid_text.replacen("\"n_afectados_total\":12", "\"n_afectados_total\":1e400", 1).into_bytes());
    bad.push(valid_text.replacen("\"version\":1", "\"version\":4294967296", 1).into_bytes());
    bad.push(valid_text.replacen("\"version\":1", "\"version\":1152921504606846976", 1).into_bytes());
    bad.push(valid_text.replacen("\"version\":1", "\"version\":-1", 1).into_bytes());
    bad.push(valid_text.replacen("\"version\":1", "\"version\":\"1\"", 1).into_bytes());
    // Ids that are not UUIDs, one of them very long.
    for id in ["' OR 1=1 --", "../../etc/passwd", "<script>alert(1)</script>", "\\u0000", ""] {
        let mut body = submission(&case());
        body["submission_id"] = json!(id);
        bad.push(body.to_string().into_bytes());
    }
    let mut body = submission(&case());
    body["submission_id"] = json!("9".repeat(200_000));
    bad.push(body.to_string().into_bytes());
    // Truncated bodies.
    let bytes = valid_text.as_bytes();
    for cut in [1, 2, 10, 100, bytes.len() / 4, bytes.len() / 2, bytes.len() - 2, bytes.len() - 1] {
        bad.push(bytes[..cut].to_vec());
    }
    for (index, body) in bad.iter().enumerate() {
        let what = format!("bad JSON #{index} ({:?}...)", clip(&String::from_utf8_lossy(&body[..body.len().min(40)])));
        attack.json_bytes(&what, body, &[400]);
    }
    assert!(count_submissions(&db) == 0, "bad JSON stored something");

    // --- Wrong types for every question type: 422 on that field ------------------
    let wrong: Vec<(&str, Vec<Value>)> = vec![
        (
            "titulo",
            vec![
                json!(5),
                json!(true),
                json!([]),
                json!({}),
                json!(["Secuestro en tren"]),
                json!("Título\u{0}con NUL"),
                json!(1e3),
            ],
        ),
        (
            "descripcion",
            vec![json!(5), json!(false), json!(["a"]), json!({"es": "texto"}), json!("texto\u{7}con campana")],
        ),
        (
            "victimas.0.telefono_contacto",
            vec![
                json!("abc"),
                json!("12"),
                json!(529621234567u64),
                json!(true),
                json!("1".repeat(30)),
                json!("+52 962 123 4567 ext. 9"),
            ],
        ),
        (
            "n_afectados_total",
            vec![
                json!("12"),
                json!(12.5),
                json!(1_152_921_504_606_846_976u64),
                json!(9_007_199_254_740_993u64),
                json!(-0.5),
                json!(true),
                json!([12]),
                json!(1e300),
            ],
        ),
        (
            "actos.0.monto_exigido",
            vec![json!("3000"), json!(true), json!([]), json!({}), json!(1e16), json!(-1e308), json!(1e308)],
        ),
        (
            "fecha_entrevista",
            vec![
                json!("2026-02-30"),
                json!("20-11-2026"),
                json!("2026/11/20"),
                json!(20_261_120),
                json!("2026-11-20T00:00:00"),
                json!("+02026-11-20"),
                json!("9999-99-99"),
                json!(true),
                json!(""),
            ],
        ),
        (
            "hora_inicio",
            vec![
                json!("25:00"),
                json!("10:60"),
                json!("1030"),
                json!("10:30:15"),
                json!(1030),
                json!(true),
                json!("diez"),
            ],
        ),
        (
            "interprete",
            vec![json!("true"), json!("false"), json!(1), json!(0), json!("sí"), json!(null), json!([]), json!({})],
        ),
        (
            "consulado",
            vec![
                json!("nope"),
                json!(1),
                json!(true),
                json!(["tapachula"]),
                json!({}),
                json!("TAPACHULA"),
                json!("' OR 1=1 --"),
                json!("<script>alert(1)</script>"),
            ],
        ),
        (
            "consent_referencia",
            vec![
                json!("oim"),
                json!([1]),
                json!([true]),
                json!(["nope"]),
                json!([["oim"]]),
                json!({}),
                json!([null]),
                json!(["ninguna", "oim"]),
            ],
        ),
        ("victimas.1.edad_declarada", vec![json!(-1), json!(111), json!("diecisiete"), json!(17.5)]),
    ];
    for (field, values) in &wrong {
        // Other dates are checked against the interview's: a bad interview
        // date also fails their constraints.
        let others_too = *field == "fecha_entrevista";
        for value in values {
            attack.invalid(
                &format!("{field} = {value}"),
                &submission(&with(field, value.clone())),
                &[field],
                others_too,
            );
        }
    }
    for email in [
        json!("no-es-correo"),
        json!("a@b"),
        json!("@example.org"),
        json!(42),
        json!(true),
        json!("a b@example.org"),
        json!("x@example.org\u{0}"),
    ] {
        attack.invalid(
            &format!("e-mail {email}"),
            &submission(&with_source_email(email.clone())),
            &["fuentes.0.fuente_email"],
            false,
        );
    }
    let many_victims: Vec<Value> = (0..51).map(|_| case()["victimas"][0].clone()).collect();
    for (what, value, field) in [
        ("a string", json!("x"), "victimas"),
        ("an object", json!({}), "victimas"),
        ("numbers", json!([1]), "victimas.0"),
        ("arrays", json!([[]]), "victimas.0"),
        ("a number", json!(5), "victimas"),
        ("none", json!([]), "victimas"),
        ("51 instances", json!(many_victims), "victimas"),
        ("10,000 instances", Value::Array(vec![json!({}); 10_000]), "victimas"),
        ("a nested unknown repeat", json!([{"victimas": [{"victimas": [{}]}]}]), "victimas.0.victimas"),
    ] {
        attack.invalid(&format!("victimas as {what}"), &submission(&with("victimas", value)), &[field], true);
    }
    let mut unknown = case();
    unknown["no_existe"] = json!(1);
    unknown["victimas"][0]["tampoco"] = json!("x");
    unknown[&"k".repeat(100_000)] = json!(1);
    attack.invalid(
        "unknown fields",
        &submission(&unknown),
        &["no_existe", "victimas.0.tampoco", &"k".repeat(100_000)],
        false,
    );
    attack.invalid(
        "a title of 100,000 characters",
        &submission(&with("titulo", json!("x".repeat(100_000)))),
        &["titulo"],
        false,
    );
    attack.invalid(
        "a description of 20,001 characters",
        &submission(&with("descripcion", json!("x".repeat(20_001)))),
        &["descripcion"],
        false,
    );
    let mut body = submission(&case());
    body["lang"] = json!("es'; DROP TABLE submissions; --");
    attack.invalid("SQL in lang", &body, &["lang"], false);
    let mut body = submission(&case());
    body["completed_at"] = json!("9999-12-31T23:59:59Z");
    attack.invalid("a completion far in the future", &body, &["completed_at"], false);
    assert!(count_submissions(&db) == 0, "wrong types stored something");

    // --- Unknown forms and versions: 404 --------------------------------------
    for (form, version) in [
        ("nope", json!(1)),
        ("../caso-ddhh", json!(1)),
        ("caso-ddhh/../seguimiento", json!(1)),
        ("../../etc/passwd", json!(1)),
        ("", json!(1)),
        ("CASO-DDHH", json!(1)),
        ("caso-ddhh\u{0}", json!(1)),
        ("caso-ddhh ", json!(1)),
        ("<script>alert(1)</script>", json!(1)),
        ("caso-ddhh", json!(0)),
        ("caso-ddhh", json!(2)),
        ("caso-ddhh", json!(4_294_967_295u64)),
        ("seguimiento", json!(2)),
    ] {
        let mut body = submission(&case());
        body["form"] = json!(form);
        body["version"] = version.clone();
        attack.json_bytes(&format!("form {form:?} version {version}"), body.to_string().as_bytes(), &[404]);
    }
    let form_type = "application/x-www-form-urlencoded";
    for path in [
        "/submit/nope/1",
        "/submit/..%2fcaso-ddhh/1",
        "/submit/caso-ddhh/0",
        "/submit/caso-ddhh/99",
        "/submit/caso-ddhh/-1",
        "/submit/caso-ddhh/1.0",
        "/submit/caso-ddhh/%00",
        "/submit/caso-ddhh/4294967296",
        "/submit/caso-ddhh/99999999999999999999999",
        "/submit/%3Cscript%3Ealert(1)%3C%2Fscript%3E/1",
    ] {
        attack.form_bytes(&format!("POST {path}"), path, form_type, b"_lang=es&titulo=x", &[404]);
    }
    for path in [
        "/receipt/not-a-uuid",
        "/receipt/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/receipt/'%20OR%201=1%20--",
        "/receipt/00000000-0000-0000-0000-000000000000",
    ] {
        let reply = collector.get(path);
        attack.reply(&format!("GET {path}"), &reply, &[404]);
    }

    // --- Oversize bodies: 413 ---------------------------------------------------
    let limit = 1024 * 1024;
    let mut huge = submission(&case()).to_string().into_bytes();
    huge.resize(limit + 1, b' ');
    attack.json_bytes("JSON one byte over 1 MiB", &huge, &[413]);
    let mut huge_form = b"_lang=es&titulo=".to_vec();
    huge_form.resize(limit + 1, b'x');
    attack.form_bytes("a page post one byte over 1 MiB", "/submit/caso-ddhh/1", form_type, &huge_form, &[413]);
    let head = "POST /api/v1/submissions HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
                Content-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n{\"form\":";
    attack.raw("a Content-Length of 100 GB", head.as_bytes(), true, &[400, 413], false);

    // --- Wrong content types: 415 ------------------------------------------------
    for content_type in
        ["text/plain", "application/xml", "multipart/form-data; boundary=x", "application/json-patch+json", "json", ""]
    {
        let request = http("POST", "/api/v1/submissions", &[("Content-Type", content_type)], valid_text.as_bytes());
        attack.raw(&format!("JSON as {content_type:?}"), &request, false, &[415], false);
        let request =
            http("POST", "/submit/caso-ddhh/1", &[("Content-Type", content_type)], b"_lang=es&titulo=Secuestro");
        attack.raw(&format!("a page post as {content_type:?}"), &request, false, &[415], false);
    }
    let utf16: Vec<u8> = valid_text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    attack.raw(
        "JSON in UTF-16",
        &http("POST", "/api/v1/submissions", &[("Content-Type", "application/json; charset=utf-16")], &utf16),
        false,
        &[400, 415],
        false,
    );

    // --- Page posts that are not a valid case: 422, nothing stored --------------
    let page = constancia_tests::collector::page_form(&collector.get("/es/caso-ddhh/").text());
    let fields = constancia_tests::collector::fill(&page, &case()).unwrap_or_else(|e| panic!("{e}"));
    let encode = |fields: &[(String, String)]| constancia_tests::collector::urlencode(fields).into_bytes();
    let replace = |name: &str, value: &str| -> Vec<u8> {
        let mut changed = fields.clone();
        let field = changed.iter_mut().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no field `{name}`"));
        field.1 = value.to_owned();
        encode(&changed)
    };
    let mut page_bodies: Vec<(String, Vec<u8>)> = vec![
        ("an empty body".into(), Vec::new()),
        ("separators only".into(), b"&&&&====".to_vec()),
        ("bad percent escapes".into(), b"titulo=%&%zz=%G0&_lang=%".to_vec()),
        ("a NUL in a name".into(), b"titu%00lo=Secuestro+en+tren".to_vec()),
        ("5,000 unknown fields".into(), "x=1&".repeat(5_000).into_bytes()),
    ];
    for name in [
        "victimas.99999999999.sexo",
        "victimas.-1.sexo",
        "victimas.0.0.sexo",
        "victimas..sexo",
        ".",
        "victimas.50.sexo",
        "constructor.prototype.x",
        &"a.".repeat(1_000),
        "titulo.0",
    ] {
        let mut changed = fields.clone();
        changed.push((name.to_owned(), "mujer".to_owned()));
        page_bodies.push((format!("the field name {:?}", clip(name)), encode(&changed)));
    }
    for (name, value) in [
        ("n_afectados_total", "12abc"),
        ("n_afectados_total", "1e400"),
        ("n_afectados_total", "99999999999999999"),
        ("n_afectados_total", "0x10"),
        ("fecha_entrevista", "2026-02-30"),
        ("hora_inicio", "25:61"),
        ("interprete", "yes"),
        ("consulado", "nope"),
        ("actos.0.monto_exigido", "1,2,3"),
        ("actos.0.monto_exigido", "NaN"),
        ("actos.0.monto_exigido", "inf"),
        ("titulo", "abc\u{0}def"),
        ("victimas.0.telefono_contacto", "'; DROP TABLE submissions; --"),
    ] {
        page_bodies.push((format!("{name} = {value:?}"), replace(name, value)));
    }
    for (what, body) in &page_bodies {
        attack.form_bytes(&format!("page post: {what}"), "/submit/caso-ddhh/1", form_type, body, &[400, 422]);
    }
    let stored_after_pages = count_submissions(&db);

    // --- Odd methods --------------------------------------------------------------
    for method in ["PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND", "FOO", "get"] {
        for path in ["/api/v1/submissions", "/submit/caso-ddhh/1", "/healthz", "/api/v1/forms"] {
            // A valid case as the body: no method but POST may store it.
            let request = http(method, path, &[("Content-Type", "application/json")], valid_text.as_bytes());
            // CORS answers every OPTIONS as a preflight: 200, empty.
            let allowed: &[u16] = if method == "OPTIONS" { &[200, 204, 405] } else { &[400, 404, 405] };
            let reply = attack.raw(&format!("{method} {path}"), &request, false, allowed, false);
            if method == "OPTIONS" && reply.text().contains("\r\n\r\n{") {
                attack.failures.push(format!("OPTIONS {path} answered with a body"));
            }
        }
        let request = http(method, "/es/caso-ddhh/", &[], b"");
        attack.raw(&format!("{method} a page"), &request, false, &[], false);
    }
    attack.raw("CONNECT", b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n", true, &[], true);
    let reply = attack.raw("HEAD a page", &http("HEAD", "/es/caso-ddhh/", &[], b""), false, &[200], false);
    if reply.text().contains("<form") {
        attack.failures.push("HEAD answered with a body".into());
    }

    // --- Broken headers and framing ---------------------------------------------
    let post = "POST /api/v1/submissions HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n";
    let framing: Vec<(&str, Vec<u8>, bool)> = vec![
        (
            "a body shorter than Content-Length",
            format!("{post}Content-Length: 5000\r\n\r\n{}", &valid_text[..200]).into_bytes(),
            true,
        ),
        ("a negative Content-Length", format!("{post}Content-Length: -1\r\n\r\n{valid_text}").into_bytes(), false),
        (
            "a Content-Length that is not a number",
            format!("{post}Content-Length: abc\r\n\r\n{valid_text}").into_bytes(),
            false,
        ),
        (
            "two different Content-Lengths",
            format!("{post}Content-Length: 10\r\nContent-Length: 20\r\n\r\n{valid_text}").into_bytes(),
            false,
        ),
        (
            "a broken chunk size",
            format!("{post}Transfer-Encoding: chunked\r\n\r\nzz\r\n{valid_text}\r\n0\r\n\r\n").into_bytes(),
            true,
        ),
        (
            "a chunked body cut short",
            format!("{post}Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{}", valid_text.len(), &valid_text[..100])
                .into_bytes(),
            true,
        ),
        (
            "Content-Length and a broken chunked body",
            format!("{post}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n").into_bytes(),
            true,
        ),
        ("an unknown transfer coding", format!("{post}Transfer-Encoding: gzip\r\n\r\n{valid_text}").into_bytes(), true),
        (
            "a NUL in a header value",
            format!("{post}X-Bad: a\u{0}b\r\nContent-Length: 2\r\n\r\n{{}}").into_bytes(),
            false,
        ),
        (
            "a header without a colon",
            format!("{post}Broken header line\r\nContent-Length: 2\r\n\r\n{{}}").into_bytes(),
            false,
        ),
        (
            "a 100 KB header",
            format!("{post}X-Pad: {}\r\nContent-Length: 2\r\n\r\n{{}}", "a".repeat(100_000)).into_bytes(),
            false,
        ),
        (
            "2,000 headers",
            format!("{post}{}Content-Length: 2\r\n\r\n{{}}", "X-Many: 1\r\n".repeat(2_000)).into_bytes(),
            false,
        ),
        ("an HTTP/9.9 request", b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n".to_vec(), true),
        ("an HTTP/0.9 request", b"GET /\r\n\r\n".to_vec(), true),
        (
            "a request line of 100 KB",
            format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(100_000)).into_bytes(),
            true,
        ),
        (
            "binary garbage",
            vec![0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x00, 0xff, 0xfe],
            true,
        ),
        ("an HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(), true),
        ("a bare newline", b"\r\n\r\n".to_vec(), true),
    ];
    for (what, request, half_close) in &framing {
        attack.raw(what, request, *half_close, &[], true);
    }
    attack.raw("no Host header", b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", false, &[], false);
    attack.raw("a range past the end", &http("GET", "/es/", &[("Range", "bytes=99999999-")], b""), false, &[], false);
    let ranges = format!("bytes={}", vec!["0-0"; 2_000].join(","));
    attack.raw("2,000 ranges", &http("GET", "/es/", &[("Range", &ranges)], b""), false, &[], false);
    attack.raw(
        "Expect: 100-continue with an invalid case",
        &http(
            "POST",
            "/api/v1/submissions",
            &[("Content-Type", "application/json"), ("Expect", "100-continue")],
            b"{}",
        ),
        false,
        &[400],
        false,
    );

    // --- Valid on purpose: injection strings are data, stored verbatim ---------------
    let injections = [
        ("titulo", "<script>alert('x')</script>"),
        ("descripcion", "'; DROP TABLE submissions; --\n\" OR 1=1 --"),
        ("lugar_referencia", "Robert'); DROP TABLE students;-- {{7*7}} ${7*7} %s%n"),
        ("victimas.0.nombres", "Ana <b>María</b> \u{202e}"),
    ];
    let mut answers = case();
    for (path, text) in injections {
        answers = {
            let mut changed = answers.clone();
            let mut node = &mut changed;
            let parts: Vec<&str> = path.split('.').collect();
            for part in &parts[..parts.len() - 1] {
                node = match part.parse::<usize>() {
                    Ok(index) => &mut node[index],
                    Err(_) => &mut node[*part],
                };
            }
            node[parts[parts.len() - 1]] = json!(text);
            changed
        };
    }
    let body = submission(&answers);
    let reply = attack.json_bytes("injection strings as answers", body.to_string().as_bytes(), &[201]);
    let id = body["submission_id"].as_str().expect("an id");
    if reply.is_some_and(|r| r.status == 201) {
        let (_, kept) = stored(&db, id).expect("stored");
        for (path, text) in injections {
            let value = path.split('.').fold(&kept, |node, part| match part.parse::<usize>() {
                Ok(index) => &node[index],
                Err(_) => &node[part],
            });
            if value != &json!(text) {
                attack.failures.push(format!("`{path}` stored as {value}, sent {text:?}"));
            }
        }
        let receipt = collector.get(&format!("/receipt/{id}"));
        attack.reply("the receipt of the injection case", &receipt, &[200]);
    }
    // The same through a page: 303, stored, the title verbatim.
    let mut page_answers = case();
    page_answers["titulo"] = json!("<script>alert(1)</script> ' OR 1=1 --");
    let page_fields = constancia_tests::collector::fill(&page, &page_answers).unwrap_or_else(|e| panic!("{e}"));
    let reply = collector.post_form("/submit/caso-ddhh/1", &page_fields);
    attack.reply("a page post with injection strings", &reply, &[303]);
    if let Some(id) = reply.header("location").and_then(|l| l.strip_prefix("/receipt/")) {
        let kept = stored(&db, id).map(|(_, answers)| answers["titulo"].clone());
        if kept != Some(page_answers["titulo"].clone()) {
            attack.failures.push(format!("the page's title stored as {kept:?}"));
        }
    }
    let valid_on_purpose = 2;

    // --- Afterwards ------------------------------------------------------------------
    assert!(attack.sent >= 200, "only {} hostile requests", attack.sent);
    assert_no_failures(&attack);
    assert_eq!(stored_after_pages, 0, "a page post that is not a valid case was stored");
    assert_eq!(count_submissions(&db), valid_on_purpose, "only the valid cases are stored");
    assert_survived(&mut collector);
}

#[test]
fn static_paths_never_reach_outside_the_site() {
    let (place, mut collector) = hostile_place();
    let mut attack = Attack { collector: &collector, sent: 0, failures: Vec::new() };
    for target in [
        "/../secret.txt",
        "/../../../../../../etc/passwd",
        "/%2e%2e/secret.txt",
        "/%2E%2E/%2E%2E/%2E%2E/%2E%2E/etc/passwd",
        "/..%2fsecret.txt",
        "/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/assets/../../secret.txt",
        "/assets/%2e%2e/%2e%2e/secret.txt",
        "/es/..%5c..%5csecret.txt",
        "/%5c..%5csecret.txt",
        "/%252e%252e/secret.txt",
        "/%c0%ae%c0%ae/secret.txt",
        "/secret.txt%00.html",
        "/index.html%00",
        "/%00",
        "/forms/../../secret.txt",
        "/../data/collector.sqlite",
        "/%2e%2e/data/collector.sqlite",
        "//etc/passwd",
        "http://127.0.0.1/../secret.txt",
        "/es/caso-ddhh/index.html/../../../secret.txt",
    ] {
        let request = http("GET", target, &[], b"");
        attack.raw(&format!("GET {target}"), &request, false, &[400, 404], false);
    }
    // What the site should serve, it serves (so the checks above could fail).
    let reply = collector.get("/forms/caso-ddhh/1.json");
    attack.reply("GET a published manifest", &reply, &[200]);
    assert_no_failures(&attack);
    assert_eq!(count_submissions(&place.db()), 0);
    assert_survived(&mut collector);
}

#[test]
fn hidden_files_in_the_site_are_never_served() {
    let (place, mut collector) = hostile_place();
    let mut attack = Attack { collector: &collector, sent: 0, failures: Vec::new() };
    for target in [
        "/.constancia-site",
        "/%2econstancia-site",
        "/%2Econstancia-site",
        "/es/../.constancia-site",
        "/es/%2e%2e/%2econstancia-site",
        "/.env",
        "/%2eenv",
        "/.git/config",
        "/%2egit/config",
        "/%2Egit%2Fconfig",
        "/es/%2e./%2egit/config",
    ] {
        let request = http("GET", target, &[], b"");
        attack.raw(&format!("GET {target}"), &request, false, &[400, 404], false);
    }
    assert_no_failures(&attack);
    assert_eq!(count_submissions(&place.db()), 0);
    assert_survived(&mut collector);
}

#[test]
fn a_page_post_with_invalid_utf8_is_refused_not_stored_altered() {
    let (place, mut collector) = hostile_place();
    let mut attack = Attack { collector: &collector, sent: 0, failures: Vec::new() };
    let form_type = "application/x-www-form-urlencoded";
    let page = constancia_tests::collector::page_form(&collector.get("/es/caso-ddhh/").text());
    let fields = constancia_tests::collector::fill(&page, &case()).unwrap_or_else(|e| panic!("{e}"));
    let encode = |fields: &[(String, String)]| constancia_tests::collector::urlencode(fields).into_bytes();
    let valid = encode(&fields);
    let mut page_bodies: Vec<(String, Vec<u8>)> = Vec::new();
    // Invalid UTF-8 in a text answer, percent-encoded and raw: a browser
    // posting the UTF-8 page never sends it, so it must not be stored
    // silently altered.
    let mut encoded = encode(&fields);
    let title = b"titulo=Secuestro+y+extorsi%C3%B3n";
    let at = encoded.windows(title.len()).position(|w| w == title).expect("the title field");
    encoded.splice(at..at + title.len(), b"titulo=Secuestro+y+extorsi%F3n".iter().copied());
    page_bodies.push(("Latin-1 percent-encoded in a title".into(), encoded.clone()));
    let raw_latin1: Vec<u8> = {
        let mut body = encode(&fields);
        let at = body.windows(title.len()).position(|w| w == title).expect("the title field");
        let mut replacement = b"titulo=Secuestro+y+extorsi".to_vec();
        replacement.extend_from_slice(&[0xF3, b'n']);
        body.splice(at..at + title.len(), replacement);
        body
    };
    page_bodies.push(("raw Latin-1 in a title".into(), raw_latin1));
    for (what, body) in &page_bodies {
        attack.form_bytes(&format!("page post: {what}"), "/submit/caso-ddhh/1", form_type, body, &[400, 422]);
    }
    attack.form_bytes(
        "page post: declared ISO-8859-1",
        "/submit/caso-ddhh/1",
        "application/x-www-form-urlencoded; charset=iso-8859-1",
        &encoded,
        &[400, 415, 422],
    );
    // The same case in valid UTF-8 is stored (so the checks above could fail).
    attack.form_bytes("the case in UTF-8", "/submit/caso-ddhh/1", form_type, &valid, &[303]);
    assert_no_failures(&attack);
    assert_eq!(count_submissions(&place.db()), 1, "only the UTF-8 case is stored");
    assert_survived(&mut collector);
}
