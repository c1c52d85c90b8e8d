//! What the benchmarks share.

/// A JSON submission of the case in `answers`, its id left as
/// `00000000-0000-0000-0000-000000000000` for a fresh one to be spliced in,
/// its members in the order the pages send them: the form, version and
/// language before the answers, which the collector then reads in the same
/// pass as the rest of the request.
pub fn submission_template(answers: &serde_json::Value) -> String {
    format!(
        r#"{{"submission_id":"00000000-0000-0000-0000-000000000000","form":"caso-ddhh","version":1,"lang":"es","completed_at":"2026-11-20T12:00:00-06:00","answers":{answers}}}"#
    )
}
