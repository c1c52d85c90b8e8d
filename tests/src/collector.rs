//! Runs the real `constancia-collector` binary for end-to-end tests.
//!
//! [`Workplace`] is a temporary folder with a site built from the real
//! forms (or from an editable copy of them) and a path for the database;
//! [`Collector`] starts the binary on `127.0.0.1:0` over it, reads the one
//! line it prints to learn the address, speaks HTTP to it (through ureq, or
//! byte for byte through [`Collector::raw`] for requests no well-behaved
//! client would send), and stops it with SIGTERM or SIGKILL. The process
//! is always killed when the handle is dropped, so a failing test leaves
//! nothing running. The collector's log goes to a file in the workplace,
//! which failing assertions can show.
//!
//! The module also reads the database file directly (read-only), reads
//! the no-JavaScript form out of a built page and fills it from an answers
//! object the way a browser would post it.
//!
//! What it deliberately does not do: mock anything. Every helper talks to
//! the real binary over real loopback sockets, on a real SQLite file.
//!
//! ```no_run
//! use constancia_tests::collector::{Collector, Workplace, submission, case};
//! let place = Workplace::real_forms();
//! let collector = Collector::start(place.options("DOC"));
//! let reply = collector.post_json("/api/v1/submissions", &submission(&case()));
//! assert_eq!(reply.status, 201);
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{binary, build_into, forms_dir, workspace_root};

/// The form the real case (`bench/case-ddhh.json`) answers.
pub const CASE_FORM: &str = "caso-ddhh";

/// How long any wait on the collector may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// A temporary folder holding a built site, the database and the log.
pub struct Workplace {
    /// The folder; removed when dropped.
    pub dir: tempfile::TempDir,
}

impl Workplace {
    /// The real `forms/` built into `<dir>/site`.
    pub fn real_forms() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        build_into(&forms_dir(), &dir.path().join("site"));
        Self { dir }
    }

    /// A copy of the real `forms/` in `<dir>/forms` (for a test to edit),
    /// built into `<dir>/site`.
    pub fn editable_forms() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        copy_tree(&forms_dir(), &dir.path().join("forms"));
        let place = Self { dir };
        place.rebuild();
        place
    }

    /// The site folder the collector serves.
    pub fn site(&self) -> PathBuf {
        self.dir.path().join("site")
    }

    /// The editable forms folder (only with [`Workplace::editable_forms`]).
    pub fn forms(&self) -> PathBuf {
        self.dir.path().join("forms")
    }

    /// The database file (in a folder the collector must create).
    pub fn db(&self) -> PathBuf {
        self.dir.path().join("data").join("collector.sqlite")
    }

    /// The collector's log file.
    pub fn log(&self) -> PathBuf {
        self.dir.path().join("collector.log")
    }

    /// Builds the editable forms into the site again, in place, as an
    /// editor publishing a change would.
    pub fn rebuild(&self) {
        build_into(&self.forms(), &self.site());
    }

    /// Options to serve this workplace with the given reference prefix.
    pub fn options(&self, prefix: &str) -> Options {
        Options { site: self.site(), db: self.db(), prefix: prefix.to_owned(), args: Vec::new(), log: self.log() }
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("cannot create `{}`: {e}", to.display()));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("cannot list `{}`: {e}", from.display())) {
        let path = entry.expect("a folder entry").path();
        let target = to.join(path.file_name().expect("a name"));
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap_or_else(|e| panic!("cannot copy `{}`: {e}", path.display()));
        }
    }
}

/// How to start the collector.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--site`.
    pub site: PathBuf,
    /// `--db`.
    pub db: PathBuf,
    /// `--prefix`.
    pub prefix: String,
    /// More arguments for `serve` (`--max-body 65536`).
    pub args: Vec<String>,
    /// Where stderr goes (appended to across restarts).
    pub log: PathBuf,
}

/// A running `constancia-collector serve`, killed when dropped.
pub struct Collector {
    child: Option<Child>,
    /// Where it listens (learned from its one line on stdout).
    pub address: SocketAddr,
    /// How it was started (a restart reuses them).
    pub options: Options,
    agent: ureq::Agent,
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Headers, names in lowercase.
    pub headers: Vec<(String, String)>,
    /// The body, as received.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    ///
    /// # Panics
    ///
    /// If it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("the {} answer is not JSON ({e}):\n{}", self.status, self.text()))
    }

    /// The first header of that name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The `field` of every error of a JSON error answer, in order.
    pub fn error_fields(&self) -> Vec<String> {
        self.json()["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("no `errors` array in the {} answer: {}", self.status, self.text()))
            .iter()
            .map(|e| e["field"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    /// (field, code) of every error of a JSON error answer.
    pub fn errors(&self) -> Vec<(String, String)> {
        self.json()["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("no `errors` array in the {} answer: {}", self.status, self.text()))
            .iter()
            .map(|e| (e["field"].as_str().unwrap_or("").to_owned(), e["code"].as_str().unwrap_or("").to_owned()))
            .collect()
    }
}

/// What came back on a raw connection.
#[derive(Debug, Clone)]
pub struct RawReply {
    /// The status code, if a status line came back at all (a server may
    /// close a connection it cannot parse without answering).
    pub status: Option<u16>,
    /// Everything received, head and body.
    pub bytes: Vec<u8>,
}

impl RawReply {
    /// What was received, as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(PATIENCE))
        // Tests share one agent between threads: keep a connection per thread.
        .max_idle_connections(256)
        .max_idle_connections_per_host(256)
        .build()
        .into()
}

impl Collector {
    /// Starts `constancia-collector serve` and waits for its address.
    ///
    /// # Panics
    ///
    /// If it does not start, with its log.
    pub fn start(options: Options) -> Self {
        let child = spawn(&options);
        let mut collector =
            Self { child: None, address: SocketAddr::from(([127, 0, 0, 1], 0)), options, agent: agent() };
        collector.take(child);
        collector
    }

    fn take(&mut self, mut child: Child) {
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let line = receiver.recv_timeout(PATIENCE).unwrap_or_default();
        self.child = Some(child);
        let Some(address) = parse_listening_line(&line) else {
            let status = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
            panic!(
                "the collector did not print `constancia-collector listening on http://ADDRESS/` \
                 (got {line:?}, exit status {status:?}); its log:\n{}",
                self.log()
            );
        };
        self.address = address;
    }

    /// Starts it again, on the same database and site, after a stop.
    ///
    /// # Panics
    ///
    /// If it is still running.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop the collector before restarting it");
        let child = spawn(&self.options);
        self.take(child);
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the collector is running").id()
    }

    /// Whether the process is still running.
    pub fn is_alive(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// Sends a signal with `kill(1)` (the workspace forbids `unsafe`, so no
    /// `libc::kill`).
    pub fn signal(&self, name: &str) {
        let status =
            Command::new("kill").arg(format!("-{name}")).arg(self.pid().to_string()).status().expect("`kill` runs");
        assert!(status.success(), "kill -{name} {} failed", self.pid());
    }

    /// Asks it to stop (SIGTERM) and waits for it to exit.
    ///
    /// # Panics
    ///
    /// If it does not exit in time.
    pub fn terminate(&mut self) -> ExitStatus {
        self.signal("TERM");
        self.wait()
    }

    /// Waits for the process to exit.
    ///
    /// # Panics
    ///
    /// If it does not exit in time.
    pub fn wait(&mut self) -> ExitStatus {
        let started = Instant::now();
        let child = self.child.as_mut().expect("the collector is running");
        loop {
            if let Some(status) = child.try_wait().expect("the collector can be waited for") {
                self.child = None;
                return status;
            }
            if started.elapsed() > PATIENCE {
                let _ = child.kill();
                let _ = child.wait();
                self.child = None;
                panic!("the collector did not exit in {PATIENCE:?}; its log:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kills it with SIGKILL, as a power cut or the OOM killer would.
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("the collector is running");
        child.kill().expect("SIGKILL");
        child.wait().expect("the killed collector is reaped");
    }

    /// Everything it logged so far (all runs).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.options.log).unwrap_or_default()
    }

    /// `http://ADDRESS` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Any request through ureq; errors (a connection refused or reset)
    /// are returned.
    pub fn try_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Reply, ureq::Error> {
        let mut builder = ureq::http::Request::builder().method(method).uri(self.url(path));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder.body(body.to_vec()).expect("a well-formed request");
        let mut response = self.agent.run(request)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let body = response.body_mut().with_config().limit(64 * 1024 * 1024).read_to_vec()?;
        Ok(Reply { status, headers, body })
    }

    /// Any request through ureq.
    ///
    /// # Panics
    ///
    /// If no answer comes back, with the collector's log.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        self.try_request(method, path, headers, body).unwrap_or_else(|error| {
            panic!("{method} {path}: no answer ({error}); the collector's log:\n{}", self.log())
        })
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Reply {
        self.request("GET", path, &[], b"")
    }

    /// `POST path` with a content type (or none) and a body.
    pub fn post(&self, path: &str, content_type: Option<&str>, body: &[u8]) -> Reply {
        match content_type {
            Some(content_type) => self.request("POST", path, &[("content-type", content_type)], body),
            None => self.request("POST", path, &[], body),
        }
    }

    /// `POST path` with a JSON body.
    pub fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.post(path, Some("application/json"), body.to_string().as_bytes())
    }

    /// Posts a submission to `/api/v1/submissions`.
    pub fn submit(&self, submission: &Value) -> Reply {
        self.post("/api/v1/submissions", Some("application/json"), pages_order(submission).as_bytes())
    }

    /// `POST path` with urlencoded fields, as a browser posts a form.
    pub fn post_form(&self, path: &str, fields: &[(String, String)]) -> Reply {
        self.post(path, Some("application/x-www-form-urlencoded"), urlencode(fields).as_bytes())
    }

    /// Sends `request` byte for byte on a new connection and reads until
    /// the server closes it (or 10 s pass). With `half_close`, the writing
    /// side is shut after sending, so a body shorter than announced ends
    /// there.
    pub fn raw(&self, request: &[u8], half_close: bool) -> RawReply {
        let mut stream = TcpStream::connect(self.address).expect("connect to the collector");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("a read timeout");
        // The server may answer and close before reading everything (413):
        // a failed write is not the test's business, the answer is.
        let _ = stream.write_all(request);
        if half_close {
            let _ = stream.shutdown(Shutdown::Write);
        }
        let mut bytes = Vec::new();
        let mut buffer = [0u8; 16 * 1024];
        loop {
            match stream.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => bytes.extend_from_slice(&buffer[..n]),
            }
        }
        // Interim answers (100 Continue) come before the real one.
        let mut start = 0;
        while bytes[start..].starts_with(b"HTTP/1.1 1") {
            match bytes[start..].windows(4).position(|w| w == b"\r\n\r\n") {
                Some(end) => start += end + 4,
                None => break,
            }
        }
        let status = std::str::from_utf8(bytes.get(start..start + 12).unwrap_or_default())
            .ok()
            .filter(|head| head.starts_with("HTTP/1."))
            .and_then(|head| head[9..12].parse().ok());
        RawReply { status, bytes }
    }

    /// Polls `GET /api/v1/forms` until `form` lists `version`.
    ///
    /// # Panics
    ///
    /// If it does not within the patience.
    pub fn wait_for_version(&self, form: &str, version: u64) {
        let started = Instant::now();
        loop {
            if accepted_versions(&self.get("/api/v1/forms").json(), form).contains(&version) {
                return;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "`{form}` version {version} was not taken up in {PATIENCE:?}; the collector's log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn(options: &Options) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&options.log)
        .unwrap_or_else(|e| panic!("cannot open the log `{}`: {e}", options.log.display()));
    Command::new(binary("constancia-collector"))
        .arg("serve")
        .arg("--site")
        .arg(&options.site)
        .arg("--db")
        .arg(&options.db)
        .args(["--listen", "127.0.0.1:0", "--prefix", &options.prefix])
        .args(&options.args)
        .env_remove("CONSTANCIA_SITE")
        .env_remove("CONSTANCIA_DB")
        .env_remove("CONSTANCIA_LISTEN")
        .env_remove("CONSTANCIA_PREFIX")
        .env_remove("CONSTANCIA_MAX_BODY")
        .env_remove("CONSTANCIA_ALLOWED_ORIGINS")
        .env("CONSTANCIA_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("the collector binary starts")
}

/// The address in `constancia-collector listening on http://ADDRESS/`, if
/// the line is exactly that.
pub fn parse_listening_line(line: &str) -> Option<SocketAddr> {
    line.strip_suffix('\n')?.strip_prefix("constancia-collector listening on http://")?.strip_suffix('/')?.parse().ok()
}

/// The versions `GET /api/v1/forms` lists for a form.
pub fn accepted_versions(forms: &Value, form: &str) -> Vec<u64> {
    forms["forms"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["id"] == form)
        .flat_map(|f| f["versions"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.as_u64())
        .collect()
}

/// Encodes fields as `application/x-www-form-urlencoded`.
pub fn urlencode(fields: &[(String, String)]) -> String {
    fields.iter().map(|(name, value)| format!("{}={}", percent(name), percent(value))).collect::<Vec<_>>().join("&")
}

/// Percent-encodes everything but unreserved characters; spaces as `+`.
fn percent(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => out.push(byte as char),
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

// --- The real case ---------------------------------------------------------

/// The answers of a valid, complete case of `caso-ddhh` version 1
/// (`bench/case-ddhh.json`).
pub fn case() -> Value {
    let path = workspace_root().join("bench/case-ddhh.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read `{}`: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("`{}` is not JSON: {e}", path.display()))
}

/// A JSON submission of `answers` to `caso-ddhh` version 1 in Spanish,
/// with a fresh submission id.
pub fn submission(answers: &Value) -> Value {
    json!({
        "submission_id": uuid::Uuid::new_v4().to_string(),
        "form": CASE_FORM,
        "version": 1,
        "lang": "es",
        "answers": answers,
    })
}

/// A JSON submission as the pages write it: its members in the order they
/// give them (`submission_id`, `form`, `version`, `lang`, `completed_at`,
/// then `answers`), which lets the collector read the answers in the same
/// pass as the rest; members not in that list follow.
pub fn pages_order(submission: &Value) -> String {
    const ORDER: [&str; 6] = ["submission_id", "form", "version", "lang", "completed_at", "answers"];
    let Some(members) = submission.as_object() else { return submission.to_string() };
    let rank = |key: &str| ORDER.iter().position(|k| *k == key).unwrap_or(ORDER.len());
    let mut keys: Vec<&String> = members.keys().collect();
    keys.sort_by_key(|key| rank(key));
    let members: Vec<String> = keys.iter().map(|key| format!("{}:{}", json!(key), members[key.as_str()])).collect();
    format!("{{{}}}", members.join(","))
}

/// Whether `reference` looks like `PREFIX-YYYY-NNNNNN` for this prefix,
/// with this year; returns its sequence number.
pub fn reference_number(reference: &str, prefix: &str, year: i16) -> Option<u64> {
    let rest = reference.strip_prefix(prefix)?.strip_prefix('-')?;
    let (y, number) = rest.split_once('-')?;
    (y == year.to_string() && number.len() >= 6 && number.bytes().all(|b| b.is_ascii_digit()))
        .then(|| number.parse().ok())
        .flatten()
}

// --- The database, read directly --------------------------------------------

/// Opens the collector's database read-only (alongside a running collector:
/// WAL lets readers in).
pub fn open_db(path: &Path) -> rusqlite::Connection {
    let connection = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap_or_else(|e| panic!("cannot open `{}` read-only: {e}", path.display()));
    connection.busy_timeout(Duration::from_secs(10)).expect("a busy timeout");
    connection
}

/// How many submissions the database holds.
pub fn count_submissions(path: &Path) -> i64 {
    open_db(path).query_row("SELECT count(*) FROM submissions", [], |row| row.get(0)).expect("count submissions")
}

/// A stored submission: (reference, stored answers as JSON).
pub fn stored(path: &Path, submission_id: &str) -> Option<(String, Value)> {
    let connection = open_db(path);
    let mut statement = connection
        .prepare(
            "SELECT reference, answers_format, answers, form_id, version FROM submissions WHERE submission_id = ?1",
        )
        .expect("a query");
    let mut rows = statement.query([submission_id]).expect("a query");
    let row = rows.next().expect("a row")?;
    let reference: String = row.get(0).expect("reference");
    let format: String = row.get(1).expect("answers_format");
    let bytes: Vec<u8> = row.get(2).expect("answers");
    let (form_id, version): (String, u32) = (row.get(3).expect("form_id"), row.get(4).expect("version"));
    let mut forms = collector::encoding::StoredForms::new(&connection);
    let form = forms.of(&form_id, version).expect("the stored manifest");
    let answers = form.decode(&format, &bytes).expect("stored answers decode");
    Some((reference, serde_json::from_str(&answers).expect("stored answers are JSON")))
}

// --- The form of a page without JavaScript ---------------------------------

/// One named control of a page's form.
#[derive(Debug, Clone, Default)]
pub struct Control {
    /// `text`, `date`, `radio`, `checkbox`, `hidden`, ..., `select`, `textarea`.
    pub kind: String,
    /// For radios, checkboxes and selects: the values offered.
    pub options: Vec<String>,
    /// What a browser sends if nobody touches it: the checked radios and
    /// checkboxes, the selected option, the value of a text input.
    pub defaults: Vec<String>,
}

/// The form of a built page: where it posts and its controls by name, in
/// page order.
#[derive(Debug, Clone, Default)]
pub struct PageForm {
    /// The `action` of the form.
    pub action: String,
    /// The `method` of the form.
    pub method: String,
    /// Control names in the order they first appear.
    pub names: Vec<String>,
    /// Controls by name.
    pub controls: BTreeMap<String, Control>,
    /// Every `id` on the page (link targets).
    pub ids: BTreeSet<String>,
}

/// Reads the case form out of a built page.
///
/// # Panics
///
/// If the page has no `form.case`.
pub fn page_form(html: &str) -> PageForm {
    use scraper::{Html, Selector};
    let document = Html::parse_document(html);
    let form_selector = Selector::parse("form.case").expect("a selector");
    let form = document.select(&form_selector).next().expect("the page has a <form class=\"case\">");
    let mut page = PageForm {
        action: form.value().attr("action").unwrap_or_default().to_owned(),
        method: form.value().attr("method").unwrap_or_default().to_owned(),
        ..PageForm::default()
    };
    let ids = Selector::parse("[id]").expect("a selector");
    page.ids = document.select(&ids).filter_map(|e| e.value().attr("id")).map(str::to_owned).collect();
    let controls = Selector::parse("input[name], select[name], textarea[name]").expect("a selector");
    let options = Selector::parse("option").expect("a selector");
    for element in form.select(&controls) {
        let value = element.value();
        let name = value.attr("name").expect("selected by name").to_owned();
        if !page.controls.contains_key(&name) {
            page.names.push(name.clone());
        }
        let control = page.controls.entry(name).or_default();
        match value.name() {
            "select" => {
                control.kind = "select".into();
                let mut selected = None;
                for option in element.select(&options) {
                    let text = option.text().collect::<String>();
                    let code = option.value().attr("value").map_or(text, str::to_owned);
                    if option.value().attr("selected").is_some() || selected.is_none() {
                        selected = Some(code.clone());
                    }
                    control.options.push(code);
                }
                control.defaults = selected.into_iter().collect();
            }
            "textarea" => {
                control.kind = "textarea".into();
                control.defaults = vec![element.text().collect()];
            }
            _ => {
                let kind = value.attr("type").unwrap_or("text").to_ascii_lowercase();
                let code = value.attr("value").unwrap_or_default().to_owned();
                if kind == "radio" || kind == "checkbox" {
                    control.options.push(code.clone());
                    if value.attr("checked").is_some() {
                        control.defaults.push(code);
                    }
                } else {
                    control.defaults = vec![code];
                }
                control.kind = kind;
            }
        }
    }
    page
}

/// The page name of a field: instance indexes replaced by 0, since a page
/// without JavaScript shows the first instance of each repeat.
pub fn first_instance_name(name: &str) -> String {
    name.split('.')
        .map(|part| if part.bytes().all(|b| b.is_ascii_digit()) { "0" } else { part })
        .collect::<Vec<_>>()
        .join(".")
}

/// The fields a browser posts for `answers` on `page`: every answer under
/// its page name (instances beyond the first as `victimas.1.sexo`, the
/// names the page's script gives added instances), the page's hidden
/// fields, and an empty value for each text box or select left empty.
/// Radios and checkboxes checked by default but not answered are not
/// sent, so the post carries the case and nothing else.
///
/// # Errors
///
/// If an answer has no control on the page, or a choice is not offered.
pub fn fill(page: &PageForm, answers: &Value) -> Result<Vec<(String, String)>, String> {
    let mut given: BTreeMap<String, Vec<String>> = BTreeMap::new();
    flatten(answers, "", &mut given)?;
    let mut fields = Vec::new();
    for (name, values) in &given {
        let pattern = first_instance_name(name);
        let control =
            page.controls.get(&pattern).ok_or_else(|| format!("the answer `{name}` has no control `{pattern}`"))?;
        if matches!(control.kind.as_str(), "radio" | "checkbox" | "select")
            && let Some(missing) = values.iter().find(|v| !control.options.contains(v))
        {
            return Err(format!("`{pattern}` does not offer `{missing}` (it offers {:?})", control.options));
        }
        if control.kind == "radio" && values.len() != 1 {
            return Err(format!("`{name}` is a radio group but has {} answers", values.len()));
        }
    }
    for name in &page.names {
        let control = &page.controls[name];
        match given.get(name) {
            Some(values) => fields.extend(values.iter().map(|v| (name.clone(), v.clone()))),
            // Hidden fields as they are; an untouched text box or a select
            // left on its empty choice is sent empty. Radios checked by
            // default are left out, so that what is sent is the case and
            // nothing else.
            None if control.kind == "hidden" || control.defaults == [""] => {
                fields.extend(control.defaults.iter().map(|v| (name.clone(), v.clone())));
            }
            None => {}
        }
    }
    // Instances beyond the first, as the page's script names them.
    for (name, values) in &given {
        if !page.controls.contains_key(name) {
            fields.extend(values.iter().map(|v| (name.clone(), v.clone())));
        }
    }
    Ok(fields)
}

fn flatten(value: &Value, prefix: &str, out: &mut BTreeMap<String, Vec<String>>) -> Result<(), String> {
    let Value::Object(object) = value else { return Err(format!("`{prefix}` is not an object")) };
    for (key, value) in object {
        let name = format!("{prefix}{key}");
        match value {
            Value::Null => {}
            Value::Bool(b) => {
                out.insert(name, vec![b.to_string()]);
            }
            Value::Number(n) => {
                out.insert(name, vec![n.to_string()]);
            }
            Value::String(s) => {
                out.insert(name, vec![s.clone()]);
            }
            Value::Array(items) if items.iter().all(Value::is_object) && !items.is_empty() => {
                for (index, item) in items.iter().enumerate() {
                    flatten(item, &format!("{name}.{index}."), out)?;
                }
            }
            Value::Array(items) => {
                let codes = items
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned).ok_or_else(|| format!("`{name}` holds a non-string")))
                    .collect::<Result<Vec<_>, _>>()?;
                out.insert(name, codes);
            }
            Value::Object(_) => return Err(format!("`{name}` is an object")),
        }
    }
    Ok(())
}

// --- Export ----------------------------------------------------------------

/// Runs `constancia-collector export --db DB ARGS...` and returns its output.
pub fn export(db: &Path, args: &[&str]) -> std::process::Output {
    Command::new(binary("constancia-collector"))
        .arg("export")
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("CONSTANCIA_DB")
        .stdin(Stdio::null())
        .output()
        .expect("the collector binary runs")
}
