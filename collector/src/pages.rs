//! What browsers without JavaScript get: the form post, its receipt page,
//! the page listing errors, and the static site itself.
//!
//! `POST /submit/<id>/<version>` validates the urlencoded fields exactly as
//! the JSON API validates answers, then answers 303 to a receipt page, or
//! 422 with a page whose error summary links to each field on the form and
//! tells the officer that going back keeps their answers.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use constancia::html::escape;
use constancia::validate::{FieldError, Form, Input, validate};
use sha2::{Digest, Sha256};
use tower::ServiceExt as _;
use tower_http::services::ServeDir;

use crate::AppState;
use crate::api::{judging_date, now, read_body, require_content_type};
use crate::error::ApiError;
use crate::store::{NewSubmission, Stored};

struct Words {
    received_title: &'static str,
    reference: &'static str,
    received_at: &'static str,
    keep_reference: &'static str,
    another: &'static str,
    all_forms: &'static str,
    problem: &'static str,
    go_back: &'static str,
    not_found: &'static str,
    error_prefix: &'static str,
    request_problem: &'static str,
}

const ES: Words = Words {
    received_title: "Caso registrado",
    reference: "Referencia",
    received_at: "Recibido",
    keep_reference: "Anote esta referencia: identifica el caso en el sistema.",
    another: "Registrar otro caso",
    all_forms: "Todos los formularios",
    problem: "Hay un problema",
    go_back: "Vuelva al formulario con el botón «Atrás» de su navegador: sus respuestas se conservan. Corrija lo siguiente y envíe de nuevo:",
    not_found: "No se encontró",
    error_prefix: "Error: ",
    request_problem: "No se pudo recibir el envío",
};

const EN: Words = Words {
    received_title: "Case recorded",
    reference: "Reference",
    received_at: "Received",
    keep_reference: "Note this reference: it identifies the case in the system.",
    another: "Record another case",
    all_forms: "All forms",
    problem: "There is a problem",
    go_back: "Go back to the form with your browser's Back button: your answers are kept. Correct the following and send again:",
    not_found: "Not found",
    error_prefix: "Error: ",
    request_problem: "The submission could not be received",
};

fn words(lang: &str) -> &'static Words {
    if lang == "es" { &ES } else { &EN }
}

/// A whole page in the site's look (its stylesheet, if built).
fn page(state: &AppState, lang: &str, title: &str, main: &str) -> String {
    let stylesheet = state
        .registry
        .stylesheet()
        .map(|css| format!("<link rel=\"stylesheet\" href=\"/assets/{}\">\n", escape(&css)))
        .unwrap_or_default();
    format!(
        "<!doctype html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n{stylesheet}\
         </head>\n<body>\n<main id=\"main\">\n{main}\n</main>\n</body>\n</html>\n",
        lang = escape(lang),
        title = escape(title),
    )
}

fn html_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, Html(body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn error_page(state: &AppState, lang: &str, error: &ApiError) -> Response {
    if let ApiError::Internal(_) = error {
        // Logs the fault once.
        let _ = error.body();
    }
    let w = words(lang);
    let heading = if error.status() == StatusCode::NOT_FOUND { w.not_found } else { w.request_problem };
    let message = match error {
        ApiError::Internal(_) => "internal error".to_owned(),
        other => other.to_string(),
    };
    let main = format!("<h1>{}</h1>\n<p>{}</p>", escape(heading), escape(&message));
    html_response(error.status(), page(state, lang, &format!("{}{heading}", w.error_prefix), &main))
}

/// The label of the question a field path names, with the instance it is
/// in: "Tipo de acto (Hecho 2)".
fn field_label(form: &Form, field: &str, lang: &str) -> String {
    let parts: Vec<&str> = field.split('.').collect();
    let mut path = Vec::new();
    let mut instances = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        path.push(parts[i]);
        if let Some(index) = parts.get(i + 1).and_then(|p| p.parse::<usize>().ok()) {
            let repeat_path = path.join(".");
            if let Some(section) = form.repeat(&repeat_path) {
                let item = section.item_label.as_ref().unwrap_or(&section.title).get(lang);
                instances.push(format!("{item} {}", index + 1));
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    let path = path.join(".");
    let label = match (form.question(&path), form.repeat(&path)) {
        (Some(question), _) => question.label.get(lang).to_owned(),
        (None, Some(section)) => section.title.get(lang).to_owned(),
        _ => field.to_owned(),
    };
    if instances.is_empty() { label } else { format!("{label} ({})", instances.join(", ")) }
}

fn invalid_page(state: &AppState, form: &Form, lang: &str, errors: &[FieldError]) -> Response {
    let w = words(lang);
    let manifest = &form.manifest;
    let form_url = format!("/{}/{}/", lang, manifest.id);
    let mut items = String::new();
    for error in errors {
        let label = field_label(form, &error.field, lang);
        let text = format!("{label}: {}", error.message);
        let target = if form
            .repeat(&error.field.split('.').filter(|p| p.parse::<usize>().is_err()).collect::<Vec<_>>().join("."))
            .is_some()
        {
            Some(format!("s-{}", error.field))
        } else if error.code == "unknown_field" || error.field.is_empty() {
            None
        } else {
            Some(format!("f-{}", error.field))
        };
        match target {
            Some(anchor) => items.push_str(&format!(
                "<li><a href=\"{}#{}\">{}</a></li>\n",
                escape(&form_url),
                escape(&anchor),
                escape(&text)
            )),
            None => items.push_str(&format!("<li>{}</li>\n", escape(&text))),
        }
    }
    let title = manifest.title.get(lang);
    let main = format!(
        "<div class=\"error-summary\" role=\"alert\" aria-labelledby=\"error-title\" tabindex=\"-1\">\n\
         <h2 id=\"error-title\">{problem}</h2>\n<p>{go_back}</p>\n<ul>\n{items}</ul>\n</div>\n<h1>{title}</h1>\n\
         <p><a href=\"{form_url}\">{title}</a></p>",
        problem = escape(w.problem),
        go_back = escape(w.go_back),
        title = escape(title),
        form_url = escape(&form_url),
    );
    html_response(
        StatusCode::UNPROCESSABLE_ENTITY,
        page(state, lang, &format!("{}{} — {}", w.error_prefix, w.problem, title), &main),
    )
}

/// Decodes an `application/x-www-form-urlencoded` body. Unlike a lenient
/// decoder it refuses bytes that are not UTF-8 instead of replacing them:
/// an altered answer must never be stored as if the officer had typed it.
pub fn parse_fields(body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let decode = |part: &[u8]| -> Result<String, ApiError> {
        let spaced: Vec<u8> = part.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
        let bytes: Vec<u8> = percent_encoding::percent_decode(&spaced).collect();
        String::from_utf8(bytes).map_err(|_| ApiError::BadRequest("the form data is not valid UTF-8".into()))
    };
    body.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &pair[pair.len()..]),
            };
            Ok((decode(name)?, decode(value)?))
        })
        .collect()
}

/// `POST /submit/<id>/<version>`: a form posted by a page without JavaScript.
pub async fn submit_page(
    State(state): State<Arc<AppState>>,
    UrlPath((form_id, version)): UrlPath<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let fallback_lang = "es";
    // Announced before the body is read, as in the JSON API.
    let arriving = state.store.arriving();
    let result = async {
        require_content_type(&headers, "application/x-www-form-urlencoded")?;
        let bytes = read_body(body, state.config.max_body).await?;
        let fields = parse_fields(&bytes)?;
        let form = version
            .parse::<u32>()
            .ok()
            .and_then(|version| state.registry.get(&form_id, version))
            .ok_or_else(|| ApiError::NotFound(format!("no form `{form_id}` version {version} is accepted here")))?;
        Ok::<_, ApiError>((form, fields))
    }
    .await;
    let (form, fields) = match result {
        Ok(found) => found,
        Err(error) => return error_page(&state, fallback_lang, &error),
    };
    let manifest = &form.manifest;
    let field = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let lang = field("_lang")
        .filter(|l| manifest.languages.iter().any(|x| x == l))
        .unwrap_or(&manifest.default_language)
        .to_owned();
    let (now, received_at) = now();
    let today = match judging_date(None, now, &lang) {
        Ok(today) => today,
        Err(error) => return invalid_page(&state, &form, &lang, &[error]),
    };
    let answers = match validate(&form, Input::Fields(&fields), &lang, today) {
        Ok(answers) => answers,
        Err(errors) => {
            tracing::info!(form = %manifest.id, version = manifest.version, errors = errors.len(), "page submission refused: invalid answers");
            return invalid_page(&state, &form, &lang, &errors);
        }
    };
    // Random, not time-ordered: the receipt URL carries it and must not be guessable.
    let submission_id = uuid::Uuid::new_v4().hyphenated().to_string();
    let mut hasher = Sha256::new();
    for (name, value) in &fields {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(value.as_bytes());
        hasher.update([0]);
    }
    let submission = NewSubmission {
        submission_id: submission_id.clone(),
        form_id: manifest.id.clone(),
        version: manifest.version,
        lang,
        content_sha256: format!("{:x}", hasher.finalize()),
        // Pages get a new id on every post: no retry to recognise.
        request_sha256: String::new(),
        answers: form.encode(&answers).stored,
        received_at,
        completed_at: None,
        channel: "page",
    };
    match state.store.submit(submission, arriving).await {
        Ok(Stored::Created(receipt) | Stored::Existing(receipt)) => {
            tracing::info!(form = %manifest.id, version = manifest.version, %submission_id, reference = %receipt.reference, "page submission stored");
            let location = format!("/receipt/{submission_id}");
            let mut response = StatusCode::SEE_OTHER.into_response();
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            response
        }
        // A page's id is new on every post: an id stored before is not its own.
        Ok(Stored::Conflict | Stored::Earlier { .. }) => {
            error_page(&state, &manifest.default_language, &ApiError::Conflict)
        }
        Err(error) => error_page(&state, &manifest.default_language, &ApiError::Internal(error.into())),
    }
}

/// `GET /receipt/<submission_id>`: the reference of a stored case.
pub async fn receipt(State(state): State<Arc<AppState>>, UrlPath(submission_id): UrlPath<String>) -> Response {
    let lookup = match uuid::Uuid::parse_str(&submission_id) {
        Ok(id) => state.store.submission(id.hyphenated().to_string()).await,
        Err(_) => Ok(None),
    };
    let row = match lookup {
        Ok(Some(row)) => row,
        Ok(None) => return error_page(&state, "es", &ApiError::NotFound("no such receipt".into())),
        Err(error) => return error_page(&state, "es", &ApiError::Internal(error.into())),
    };
    let lang = row.lang.as_str();
    let w = words(lang);
    let main = format!(
        "<div class=\"receipt\" role=\"status\">\n<h1>{title}</h1>\n<p>{reference_label}:</p>\n\
         <p class=\"reference\">{reference}</p>\n<p>{received_label}: <time datetime=\"{received}\">{received}</time></p>\n\
         <p>{keep}</p>\n</div>\n<p><a href=\"/{lang}/{form}/\">{another}</a></p>\n<p><a href=\"/{lang}/\">{all}</a></p>",
        title = escape(w.received_title),
        reference_label = escape(w.reference),
        reference = escape(&row.reference),
        received_label = escape(w.received_at),
        received = escape(&row.received_at),
        keep = escape(w.keep_reference),
        lang = escape(lang),
        form = escape(&row.form_id),
        another = escape(w.another),
        all = escape(w.all_forms),
    );
    html_response(StatusCode::OK, page(&state, lang, &format!("{} — {}", w.received_title, row.reference), &main))
}

/// Serves the built site: hashed assets are cached for a year, everything
/// else is revalidated. Hidden files are not served.
pub async fn static_file(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    // Judge the path as the file server will read it: decoded (`%2e` is a
    // dot, `%2F` a slash). Hidden files and folders are never served.
    let decoded = percent_encoding::percent_decode_str(&path).decode_utf8_lossy();
    if decoded.split(['/', '\\']).any(|segment| segment.starts_with('.')) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let immutable = path.starts_with("/assets/");
    let served = ServeDir::new(&state.config.site).append_index_html_on_directories(true).oneshot(request).await;
    let mut response = match served {
        Ok(response) => response.into_response(),
        Err(error) => match error {},
    };
    if response.status().is_success() {
        let policy = if immutable { "public, max-age=31536000, immutable" } else { "no-cache" };
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::parse_fields;

    #[test]
    fn form_data_is_decoded_strictly() {
        let fields = parse_fields(b"a=1&b=x+y%C3%B3&c&d=&e=%26%3D").unwrap();
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        assert_eq!(pairs, [("a", "1"), ("b", "x yó"), ("c", ""), ("d", ""), ("e", "&=")]);
        // Latin-1 bytes, encoded or raw, are refused rather than replaced.
        assert!(parse_fields(b"titulo=extorsi%F3n").is_err());
        assert!(parse_fields(b"titulo=extorsi\xf3n").is_err());
        assert!(parse_fields(b"").unwrap().is_empty());
    }
}
