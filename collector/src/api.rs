//! The JSON API: submissions from pages with JavaScript (and their offline
//! outbox), the list of accepted forms, and the health check.
//!
//! `POST /api/v1/submissions` answers 201 with a receipt once the submission
//! is durable; 200 with the same receipt for a retry of the same content;
//! 409 when the id was used for other content; 404 for an unknown form or
//! version; 422 with every field error; 400 for a malformed body; 413 when
//! too large; 415 for another content type.

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use constancia::validate::{AnswersSeed, FieldError, Input, ReadAnswers, validate, validate_read};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde_json::json;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;
use crate::registry::{FormRef, Registry};
use crate::store::{NewSubmission, Stored};

/// Reads a body up to `limit` bytes: 413 beyond.
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|error| {
        // Both an oversized body and a body cut short end here; only the
        // first is the client's size problem.
        let too_large = std::error::Error::source(&error)
            .is_some_and(|source| source.to_string().contains("length limit"))
            || error.to_string().contains("length limit");
        if too_large {
            ApiError::TooLarge(limit)
        } else {
            ApiError::BadRequest("the request body could not be read".into())
        }
    })
}

/// Checks the content type's essence; a `charset` parameter, if any, must
/// be UTF-8 (what the pages send and what is stored).
pub fn require_content_type(headers: &HeaderMap, expected: &str) -> Result<(), ApiError> {
    let value = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut parts = value.split(';');
    let essence = parts.next().map(|v| v.trim().to_ascii_lowercase());
    let utf8 = parts.all(|parameter| match parameter.split_once('=') {
        Some((name, charset)) if name.trim().eq_ignore_ascii_case("charset") => {
            let charset = charset.trim().trim_matches('"');
            charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("utf8")
        }
        _ => true,
    });
    if essence.as_deref() == Some(expected) && utf8 {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(format!("send the body as {expected} in UTF-8")))
    }
}

/// A JSON submission's members other than its answers ([`Answers`]). The
/// request is read in one pass: when `form`, `version` and `lang` come
/// before `answers`, as the pages send them, the answers are read into the
/// form's answer tree on the way; otherwise (or for a form or language not
/// accepted here) they are kept as text and read after.
struct SubmissionBody {
    submission_id: String,
    form: String,
    version: u32,
    lang: String,
    completed_at: Option<String>,
}

enum Answers<'a> {
    /// Read on the way against this form version.
    Read(FormRef, ReadAnswers),
    /// As sent.
    Text(&'a RawValue),
}

/// The members a submission may have; any other is refused.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Member {
    SubmissionId,
    Form,
    Version,
    Lang,
    Answers,
    CompletedAt,
}

/// Reads a [`SubmissionBody`], looking its form up in `registry` once the
/// members that name it are known.
struct BodySeed<'r> {
    registry: &'r Registry,
}

impl<'de> DeserializeSeed<'de> for BodySeed<'_> {
    type Value = (SubmissionBody, Answers<'de>);

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

/// Takes a member's value, refusing a member given twice.
fn once<'de, T: Deserialize<'de>, A: MapAccess<'de>>(
    slot: &mut Option<T>,
    map: &mut A,
    name: &'static str,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(de::Error::duplicate_field(name));
    }
    *slot = Some(map.next_value()?);
    Ok(())
}

impl<'de> Visitor<'de> for BodySeed<'_> {
    type Value = (SubmissionBody, Answers<'de>);

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a submission object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut submission_id, mut form, mut lang): (Option<String>, Option<String>, Option<String>) =
            (None, None, None);
        let (mut version, mut completed_at): (Option<u32>, Option<Option<String>>) = (None, None);
        let mut answers = None;
        while let Some(member) = map.next_key::<Member>()? {
            match member {
                Member::SubmissionId => once(&mut submission_id, &mut map, "submission_id")?,
                Member::Form => once(&mut form, &mut map, "form")?,
                Member::Version => once(&mut version, &mut map, "version")?,
                Member::Lang => once(&mut lang, &mut map, "lang")?,
                Member::CompletedAt => once(&mut completed_at, &mut map, "completed_at")?,
                Member::Answers => {
                    if answers.is_some() {
                        return Err(de::Error::duplicate_field("answers"));
                    }
                    let accepted = match (&form, version, &lang) {
                        (Some(form), Some(version), Some(lang)) => self
                            .registry
                            .get(form, version)
                            .filter(|accepted| accepted.manifest.languages.contains(lang))
                            .map(|accepted| (accepted, lang.as_str())),
                        _ => None,
                    };
                    answers = Some(match accepted {
                        Some((accepted, lang)) => {
                            let read = map.next_value_seed(AnswersSeed { form: accepted.form(), lang })?;
                            Answers::Read(accepted, read)
                        }
                        None => Answers::Text(map.next_value()?),
                    });
                }
            }
        }
        let body = SubmissionBody {
            submission_id: submission_id.ok_or_else(|| de::Error::missing_field("submission_id"))?,
            form: form.ok_or_else(|| de::Error::missing_field("form"))?,
            version: version.ok_or_else(|| de::Error::missing_field("version"))?,
            lang: lang.ok_or_else(|| de::Error::missing_field("lang"))?,
            completed_at: completed_at.flatten(),
        };
        Ok((body, answers.ok_or_else(|| de::Error::missing_field("answers"))?))
    }
}

/// The submission as earlier releases read it, for the hash they stored.
#[derive(Deserialize)]
struct EarlierBody<'a> {
    form: String,
    version: u32,
    lang: String,
    #[serde(borrow)]
    answers: &'a RawValue,
    #[serde(default)]
    completed_at: Option<String>,
}

/// The request hash that releases before one-pass reading stored: over the
/// form, version, language, completion time and the answers' text as sent.
fn earlier_request_hash(bytes: &[u8]) -> Option<String> {
    let body: EarlierBody = serde_json::from_slice(bytes).ok()?;
    let fields = (&body.form, body.version, &body.lang, &body.completed_at);
    Some(hash_of(fields, body.answers.get().as_bytes()))
}

/// The current time, RFC 3339 in UTC to the millisecond.
pub fn now() -> (jiff::Timestamp, String) {
    let now = jiff::Timestamp::now();
    // Fixed width, so references and times sort and line up in exports.
    (now, now.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

/// What `today()` means for a submission: the local date the officer
/// completed it (if given and not in the future), or the day received.
pub fn judging_date(
    completed_at: Option<&str>,
    now: jiff::Timestamp,
    lang: &str,
) -> Result<jiff::civil::Date, FieldError> {
    let Some(completed_at) = completed_at else {
        return Ok(now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date());
    };
    let invalid = |code: &'static str, es: &str, en: &str| FieldError {
        field: "completed_at".into(),
        code,
        message: if lang == "es" { es.into() } else { en.into() },
    };
    let instant: jiff::Timestamp = completed_at
        .parse()
        .map_err(|_| invalid("type", "Fecha y hora no válidas (RFC 3339).", "Not a valid RFC 3339 date and time."))?;
    if instant > now + jiff::SignedDuration::from_secs(60) {
        return Err(invalid(
            "future",
            "La hora de finalización es posterior a la de recepción.",
            "The completion time is later than the time received.",
        ));
    }
    // RFC 3339 starts with the local date the officer saw.
    completed_at
        .get(..10)
        .and_then(constancia::value::parse_date)
        .ok_or_else(|| invalid("type", "Fecha y hora no válidas (RFC 3339).", "Not a valid RFC 3339 date and time."))
}

/// Feeds what is written into a hash.
struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// SHA-256 of a submission's form, version, language, completion time and
/// the given bytes of its answers.
fn submission_hash(body: &SubmissionBody, answers: &[u8]) -> String {
    hash_of((&body.form, body.version, &body.lang, &body.completed_at), answers)
}

fn hash_of(fields: (&String, u32, &String, &Option<String>), answers: &[u8]) -> String {
    let mut writer = HashWriter(Sha256::new());
    // Writing into a hash cannot fail.
    let _ = serde_json::to_writer(&mut writer, &fields);
    writer.0.update(answers);
    format!("{:x}", writer.0.finalize())
}

/// `POST /api/v1/submissions`.
pub async fn submit_json(State(state): State<Arc<AppState>>, request: Request) -> Result<Response, ApiError> {
    // The request taken whole: the `HeaderMap` extractor would copy the
    // headers of every submission.
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    // Announced before the body is read: a commit about to start waits a
    // moment for this submission to share its fsync.
    let arriving = state.store.arriving();
    require_content_type(headers, "application/json")?;
    let bytes = read_body(body, state.config.max_body).await?;
    // Checked as UTF-8 at once (fast over mostly ASCII) rather than string
    // by string while reading.
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| ApiError::BadRequest("the body is not a valid submission: it is not UTF-8".into()))?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let (body, sent) = BodySeed { registry: &state.registry }
        .deserialize(&mut deserializer)
        .and_then(|body| deserializer.end().map(|()| body))
        .map_err(|error| ApiError::BadRequest(format!("the body is not a valid submission: {error}")))?;
    let submission_id = uuid::Uuid::parse_str(&body.submission_id)
        .map_err(|_| ApiError::BadRequest("`submission_id` must be a UUID".into()))?
        .hyphenated()
        .to_string();
    let form = match &sent {
        Answers::Read(form, _) => Some(Arc::clone(form)),
        Answers::Text(_) => state.registry.get(&body.form, body.version),
    }
    .ok_or_else(|| ApiError::NotFound(format!("no form `{}` version {} is accepted here", body.form, body.version)))?;
    let lang = body.lang.as_str();
    if !form.manifest.languages.iter().any(|l| l == lang) {
        return Err(ApiError::Invalid(vec![FieldError {
            field: "lang".into(),
            code: "invalid_language",
            message: format!("the form is not available in `{lang}`"),
        }]));
    }
    let (now, received_at) = now();
    let today = judging_date(body.completed_at.as_deref(), now, lang).map_err(|e| ApiError::Invalid(vec![e]))?;
    // The hash of the request as sent: it recognises a byte-identical retry
    // even when the answers no longer validate.
    let request_sha256 = format!("{:x}", Sha256::digest(&bytes));
    let validated = match sent {
        Answers::Read(_, read) => validate_read(&form, read, lang, today),
        Answers::Text(text) => validate(&form, Input::JsonText(text.get()), lang, today),
    };
    let answers = match validated {
        Ok(answers) => answers,
        Err(errors) => {
            // Answers that are not JSON (raw text is only checked lightly
            // when the body is read) are a malformed body, not invalid answers.
            if let Some(malformed) = errors.iter().find(|e| e.code == "malformed") {
                return Err(ApiError::BadRequest(malformed.message.clone()));
            }
            // A retry of a case stored before (judged then by that day's
            // rules, without a completion time) still gets its receipt.
            if let Some(stored) = state.store.submission(submission_id.clone()).await.map_err(anyhow::Error::from)? {
                // Rows stored before one-pass reading hold the hash of
                // the request's parts, not of its bytes.
                let same = stored.request_sha256.as_deref().is_some_and(|stored| {
                    stored == request_sha256 || earlier_request_hash(&bytes).is_some_and(|earlier| stored == earlier)
                });
                return Ok(receipt_or_conflict(same, stored.reference, stored.received_at, &submission_id));
            }
            tracing::info!(form = %form.manifest.id, version = form.manifest.version, %submission_id, errors = errors.len(), "submission refused: invalid answers");
            return Err(ApiError::Invalid(errors));
        }
    };
    let encoded = form.encode(&answers);
    // Idempotency compares what would be stored: answers by question, values
    // typed, answers that are not relevant dropped. So a retry is the same
    // submission however its JSON is spelt (spacing, key order, escapes).
    let content_sha256 = submission_hash(&body, &encoded.packed);
    // The answers' tree and the request are freed here, on the thread that
    // allocated them: after the wait below the task may resume on another
    // worker, where freeing their few hundred blocks costs the allocator
    // cross-thread work.
    drop(answers);
    drop(bytes);
    let packed = encoded.packed;
    let submission = NewSubmission {
        submission_id: submission_id.clone(),
        form_id: form.manifest.id.clone(),
        version: form.manifest.version,
        lang: lang.to_owned(),
        content_sha256,
        request_sha256,
        answers: encoded.stored,
        received_at,
        completed_at: body.completed_at.clone(),
        channel: "api",
    };
    let stored = match state.store.submit(submission, arriving).await.map_err(anyhow::Error::from)? {
        // Stored by an earlier release, which hashed the answers' JSON
        // text: the same content gives the same text.
        Stored::Earlier { receipt, content_sha256 } => {
            let answers = constancia::packed::unpack(form.layout(), &packed).map_err(anyhow::Error::from)?;
            if submission_hash(&body, form.layout().json(&answers).as_bytes()) == content_sha256 {
                Stored::Existing(receipt)
            } else {
                Stored::Conflict
            }
        }
        stored => stored,
    };
    match stored {
        Stored::Created(receipt) => {
            tracing::info!(form = %form.manifest.id, version = form.manifest.version, %submission_id, reference = %receipt.reference, "submission stored");
            Ok((StatusCode::CREATED, receipt_json(&receipt.reference, &receipt.received_at, &submission_id))
                .into_response())
        }
        Stored::Existing(receipt) => {
            tracing::info!(%submission_id, reference = %receipt.reference, "retry of a stored submission");
            Ok((StatusCode::OK, receipt_json(&receipt.reference, &receipt.received_at, &submission_id)).into_response())
        }
        Stored::Earlier { .. } | Stored::Conflict => Err(ApiError::Conflict),
    }
}

fn receipt_or_conflict(same: bool, reference: String, received_at: String, submission_id: &str) -> Response {
    if same {
        (StatusCode::OK, receipt_json(&reference, &received_at, submission_id)).into_response()
    } else {
        ApiError::Conflict.into_response()
    }
}

/// The receipt's JSON body (keys in the order they always had).
#[derive(serde::Serialize)]
struct ReceiptBody<'a> {
    received_at: &'a str,
    reference: &'a str,
    submission_id: &'a str,
}

fn receipt_json<'a>(reference: &'a str, received_at: &'a str, submission_id: &'a str) -> Json<ReceiptBody<'a>> {
    Json(ReceiptBody { received_at, reference, submission_id })
}

/// `GET /api/v1/forms`: the forms and versions accepted now.
pub async fn forms(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    let mut forms: Vec<serde_json::Value> = Vec::new();
    let all = state.registry.all();
    let mut index = 0;
    while index < all.len() {
        let id = &all[index].manifest.id;
        let versions: Vec<&constancia::validate::Form> =
            all[index..].iter().take_while(|f| &f.manifest.id == id).map(|f| f.form()).collect();
        index += versions.len();
        let latest = versions.last().map(|f| &f.manifest);
        forms.push(json!({
            "id": id,
            "versions": versions.iter().map(|f| f.manifest.version).collect::<Vec<_>>(),
            "latest": latest.map(|m| m.version),
            "title": latest.map(|m| &m.title),
            "languages": latest.map(|m| &m.languages),
        }));
    }
    Json(json!({ "forms": forms }))
}

/// `GET /healthz`.
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows stored before one-pass reading keep the request hash of their
    /// release: a byte-identical retry must still be known by it.
    #[test]
    fn the_earlier_request_hash_is_computed_as_it_was_stored() {
        let answers = r#"{ "titulo": "Extorsión en Tapachula",  "edad": 30 }"#;
        let body = format!(
            r#"{{"submission_id":"0b6f5bde-6c3c-4f3c-9a43-6f2b3c1f4b2e","form":"caso-ddhh","version":1,"lang":"es","completed_at":"2026-11-20T12:00:00-06:00","answers":{answers}}}"#
        );
        let mut expected = Sha256::new();
        expected.update(br#"["caso-ddhh",1,"es","2026-11-20T12:00:00-06:00"]"#);
        expected.update(answers.as_bytes());
        assert_eq!(earlier_request_hash(body.as_bytes()), Some(format!("{:x}", expected.finalize())));
        let without_time = body.replace(r#""completed_at":"2026-11-20T12:00:00-06:00","#, "");
        let mut expected = Sha256::new();
        expected.update(br#"["caso-ddhh",1,"es",null]"#);
        expected.update(answers.as_bytes());
        assert_eq!(earlier_request_hash(without_time.as_bytes()), Some(format!("{:x}", expected.finalize())));
        assert_eq!(earlier_request_hash(b"{\"answers\": 1"), None, "not a submission");
    }
}
