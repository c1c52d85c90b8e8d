//! What every browser test stands on: the real `forms/` built into a temp
//! folder, the real collector binary serving it on loopback with a temp
//! database, and helpers that read the database and fill forms.
//!
//! Each test builds its own site and starts its own collector and browser,
//! so tests share no state and run in parallel.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use constancia_tests::browser::{Browser, WAIT};
use constancia_tests::{BuiltSite, binary, build_real_forms};
use fantoccini::Locator;
use serde_json::{Value, json};

/// The real forms, built into a temp folder: the pages exactly as the
/// generator writes them, with its runtime.
pub fn site() -> BuiltSite {
    let site = build_real_forms();
    let files = constancia_tests::read_tree(site.dir.path());
    assert!(
        files.keys().any(|p| p.starts_with("assets/runtime.") && p.ends_with(".js")) && files.contains_key("sw.js"),
        "the build has no runtime (assets/runtime.<hash>.js) or no sw.js"
    );
    site
}

/// The real collector binary serving `site` on 127.0.0.1 with its own
/// database, stopped when dropped. Unlike `constancia_tests::collector`'s,
/// it starts again on the same address: the page's origin, its outbox and
/// its service worker must survive the collector going down.
pub struct Collector {
    child: Option<Child>,
    /// Where it listens; kept across [`Collector::stop`] and
    /// [`Collector::start_again`].
    pub addr: SocketAddr,
    site: PathBuf,
    db: PathBuf,
    _data: tempfile::TempDir,
}

impl Collector {
    /// Starts the collector on a free port with a new database.
    pub fn start(site: &Path) -> Collector {
        let data = tempfile::Builder::new().prefix("constancia-collector-").tempdir().expect("a temp folder");
        let db = data.path().join("constancia.sqlite");
        let (child, addr) = spawn(site, &db, "127.0.0.1:0");
        Collector { child: Some(child), addr, site: site.to_owned(), db, _data: data }
    }

    /// `http://127.0.0.1:PORT` followed by `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops it at once (SIGKILL: a crash or a pulled cable, as far as the
    /// page can tell).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same address with the same database.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the collector is still running");
        let (child, addr) = spawn(&self.site, &self.db, &self.addr.to_string());
        assert_eq!(addr, self.addr);
        self.child = Some(child);
    }

    /// The stored submissions, oldest first: `{reference, submission_id,
    /// form, version, channel, answers}`.
    pub fn submissions(&self) -> Vec<Value> {
        let db = rusqlite::Connection::open_with_flags(&self.db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap_or_else(|e| panic!("cannot open `{}`: {e}", self.db.display()));
        let mut query = db
            .prepare(
                "SELECT reference, submission_id, form_id, version, channel, answers_format, answers FROM submissions \
                 ORDER BY seq",
            )
            .expect("the submissions table");
        let mut forms = collector::encoding::StoredForms::new(&db);
        query
            .query_map([], |row| {
                let format: String = row.get(5)?;
                let bytes: Vec<u8> = row.get(6)?;
                let form = forms.of(&row.get::<_, String>(2)?, row.get(3)?).expect("the stored manifest");
                let answers = form.decode(&format, &bytes).expect("stored answers decode");
                Ok(json!({
                    "reference": row.get::<_, String>(0)?,
                    "submission_id": row.get::<_, String>(1)?,
                    "form": row.get::<_, String>(2)?,
                    "version": row.get::<_, i64>(3)?,
                    "channel": row.get::<_, String>(4)?,
                    "answers": serde_json::from_str::<Value>(&answers).expect("stored answers are JSON"),
                }))
            })
            .expect("the query runs")
            .map(|row| row.expect("a row"))
            .collect()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.stop();
    }
}

fn spawn(site: &Path, db: &Path, listen: &str) -> (Child, SocketAddr) {
    let exe = binary("constancia-collector");
    let mut child = Command::new(&exe)
        .arg("serve")
        .arg("--site")
        .arg(site)
        .arg("--db")
        .arg(db)
        .args(["--listen", listen, "--prefix", "CASO"])
        .env("CONSTANCIA_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{}`: {e}", exe.display()));
    // Its one line on stdout says where it listens.
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let _ = tx.send(lines.next().and_then(Result::ok).unwrap_or_default());
        lines.for_each(drop);
    });
    let line = rx.recv_timeout(std::time::Duration::from_secs(20)).unwrap_or_default();
    let addr = line
        .trim()
        .strip_prefix("constancia-collector listening on http://")
        .and_then(|rest| rest.trim_end_matches('/').parse().ok())
        .unwrap_or_else(|| {
            let _ = child.kill();
            panic!("the collector did not say where it listens within 20 s: {line:?}")
        });
    (child, addr)
}

/// A browser, a collector and the site it serves, for one test.
pub struct Rig {
    pub browser: Browser,
    pub collector: Collector,
    pub site: BuiltSite,
}

impl Rig {
    /// The real site, served by the real collector, in Chromium with JavaScript.
    pub async fn start() -> Rig {
        Rig::with(Browser::start().await)
    }

    /// The same with a given browser.
    pub fn with(browser: Browser) -> Rig {
        let site = site();
        let collector = Collector::start(site.dir.path());
        Rig { browser, collector, site }
    }

    /// Opens a page of the site (`/es/caso-ddhh/`) and, on form pages,
    /// waits for the runtime to have set the page up.
    pub async fn open(&self, path: &str) {
        self.browser.goto(&self.collector.url(path)).await;
        if path.matches('/').count() == 3 {
            self.ready().await;
        }
    }

    /// Waits until the runtime has set the form up (the outbox status it
    /// adds to every page, and its first pass over the form).
    pub async fn ready(&self) {
        self.browser.wait_for("the runtime to start", "document.querySelector('p.outbox') != null", vec![]).await;
    }

    /// Sets fields by name, as an officer would (each value as the control
    /// holds it: text, a choice's code, a list of codes for checkboxes),
    /// firing `input` and `change` after each so that the page reacts
    /// before the next one. Fails on a name the page does not have, or on
    /// a choice it does not offer.
    pub async fn fill(&self, fields: &[(&str, Value)]) {
        self.fill_fields(fields, false).await;
    }

    async fn fill_fields(&self, fields: &[(&str, Value)], lenient: bool) {
        let pairs: Vec<Value> = fields.iter().map(|(name, value)| json!([name, value])).collect();
        let result = self.browser.eval_with(FILL, vec![Value::Array(pairs), json!(lenient)]).await;
        assert!(result.is_null(), "filling the form failed: {result}");
    }

    /// Whether the element `selector` names is shown: present, with no
    /// `hidden` on it or an ancestor, and laid out.
    pub async fn shown(&self, selector: &str) -> bool {
        let v = self.browser.eval_with(&format!("return {VISIBLE}(arguments[0])"), vec![json!(selector)]).await;
        v.as_bool().unwrap_or_else(|| panic!("no element `{selector}` on the page"))
    }

    /// Waits until the element `selector` names is shown (`true`) or
    /// hidden (`false`).
    pub async fn wait_shown(&self, selector: &str, shown: bool) {
        self.browser
            .wait_for(
                &format!("`{selector}` to be {}", if shown { "shown" } else { "hidden" }),
                &format!("{VISIBLE}(arguments[0]) === arguments[1]"),
                vec![json!(selector), json!(shown)],
            )
            .await;
    }

    /// Clicks the element `selector` names, as a user would (WebDriver
    /// moves the pointer there and clicks).
    pub async fn click(&self, selector: &str) {
        let element = self
            .browser
            .client()
            .find(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("no element `{selector}` to click: {e}"));
        element.click().await.unwrap_or_else(|e| panic!("cannot click `{selector}`: {e}"));
    }

    /// Chooses `value` in the `<select>` named `name` as a user does (a
    /// click on the option).
    pub async fn choose(&self, name: &str, value: &str) {
        let select = self
            .browser
            .client()
            .find(Locator::Css(&format!("select[name='{name}']")))
            .await
            .unwrap_or_else(|e| panic!("no select `{name}`: {e}"));
        select.select_by_value(value).await.unwrap_or_else(|e| panic!("cannot choose `{value}` in `{name}`: {e}"));
    }

    /// Types `text` into the element `selector` names, key by key.
    pub async fn type_into(&self, selector: &str, text: &str) {
        let element = self
            .browser
            .client()
            .find(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("no element `{selector}` to type into: {e}"));
        element.send_keys(text).await.unwrap_or_else(|e| panic!("cannot type into `{selector}`: {e}"));
    }

    /// The text of the element `selector` names (null if none).
    pub async fn text(&self, selector: &str) -> Option<String> {
        let v = self
            .browser
            .eval_with(
                "const e = document.querySelector(arguments[0]); return e && e.textContent",
                vec![json!(selector)],
            )
            .await;
        v.as_str().map(str::to_owned)
    }

    /// The value of the control named `name` in `form.case`.
    pub async fn value(&self, name: &str) -> String {
        let v = self
            .browser
            .eval_with(
                "const c = document.querySelector('form.case').elements[arguments[0]]; return c ? c.value : null",
                vec![json!(name)],
            )
            .await;
        v.as_str().unwrap_or_else(|| panic!("no control `{name}`")).to_owned()
    }

    /// Everything in one of the runtime's IndexedDB stores (`outbox`,
    /// `drafts`) of this page's origin.
    pub async fn stored(&self, store: &str) -> Vec<Value> {
        let v = self.browser.eval_async(IDB_ALL, vec![json!(store)]).await;
        match v {
            Value::Array(items) => items,
            other => panic!("cannot read the IndexedDB store `{store}`: {other}"),
        }
    }

    /// Waits until the page has downloaded the list asset of the picker
    /// `name` (it does when the question is shown or focused), so that
    /// typing opens the list.
    pub async fn wait_for_list(&self, name: &str) {
        self.browser
            .wait_for(
                &format!("the list of `{name}` to load"),
                "(u => performance.getEntriesByType('resource').some(e => e.name == u && e.responseEnd > 0))\
                 (new URL(document.querySelector('form.case').elements[arguments[0]].dataset.list, location).href)",
                vec![json!(name)],
            )
            .await;
    }

    /// Waits until the runtime has saved a draft holding `name = value`.
    pub async fn wait_for_draft(&self, name: &str, value: &str) {
        let start = std::time::Instant::now();
        loop {
            let drafts = self.stored("drafts").await;
            let has = drafts
                .iter()
                .any(|d| d["e"].as_array().is_some_and(|e| e.iter().any(|pair| pair[0] == name && pair[1] == value)));
            if has {
                return;
            }
            assert!(start.elapsed() < WAIT, "no draft with `{name}` = {value:?} after {WAIT:?}: {drafts:?}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Fills the form with a whole case in the answers JSON of the
    /// collector contract, as an officer would: top to bottom, adding the
    /// repeat instances it needs with the page's own "add" buttons once
    /// their section is shown, then going over every field again.
    pub async fn fill_case(&self, answers: &Value) {
        let mut fields = Vec::new();
        flatten(answers, "", &mut fields);
        let fields: Vec<(&str, Value)> = fields.iter().map(|(n, v)| (n.as_str(), v.clone())).collect();
        self.fill_fields(&fields, true).await;
        for (key, value) in answers.as_object().expect("answers are an object") {
            if let Some(items) = value.as_array().filter(|a| a.first().is_some_and(Value::is_object)) {
                for _ in 1..items.len() {
                    self.click(&format!("[data-add=\"{key}\"]")).await;
                }
            }
        }
        self.fill_fields(&fields, false).await;
    }
}

/// The wrapper of the question whose field is `name` (`victimas.0.sexo`).
pub fn q(name: &str) -> String {
    format!("[data-q=\"{name}\"]")
}

/// A function of a selector: null when nothing matches, else whether the
/// element is shown.
const VISIBLE: &str =
    "(s => (e => e ? !e.closest('[hidden]') && e.getClientRects().length > 0 : null)(document.querySelector(s)))";

/// Answers JSON as page fields: `victimas.1.sexo`, a list of codes for a
/// multiple choice, `true`/`false` for yes/no.
fn flatten(value: &Value, prefix: &str, out: &mut Vec<(String, Value)>) {
    for (key, value) in value.as_object().expect("an object") {
        let name = format!("{prefix}{key}");
        match value {
            Value::Null => {}
            Value::Array(items) if items.first().is_some_and(Value::is_object) => {
                for (i, item) in items.iter().enumerate() {
                    flatten(item, &format!("{name}.{i}."), out);
                }
            }
            Value::Bool(b) => out.push((name, json!(b.to_string()))),
            Value::Number(n) => out.push((name, json!(n.to_string()))),
            other => out.push((name, other.clone())),
        }
    }
}

/// The real case of `caso-ddhh` version 1 (`bench/case-ddhh.json`): two
/// victims, acts, perpetrators, a cascade in each of its two geographies.
pub fn real_case() -> Value {
    let path = constancia_tests::workspace_root().join("bench/case-ddhh.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read `{}`: {e}", path.display()));
    serde_json::from_str(&text).expect("the real case is JSON")
}

/// A short valid case of `caso-ddhh`: the person declines to be recorded,
/// so only the interview and the consent are asked.
pub fn declined_case() -> Value {
    json!({
        "consulado": "tapachula",
        "fecha_entrevista": "2026-01-15",
        "modalidad": "albergue",
        "interprete": false,
        "privacidad_entrevista": true,
        "info_explicada": true,
        "es_nna": false,
        "consent_registro": "no",
    })
}

/// All records of an IndexedDB store of the runtime's database.
const IDB_ALL: &str = r#"
const [store, done] = arguments
;(async () => {
  // Opening a database that does not exist would create it without the
  // runtime's stores: look first.
  if (!(await indexedDB.databases()).some(d => d.name == 'constancia')) return []
  const db = await new Promise((ok, ko) => {
    const open = indexedDB.open('constancia')
    open.onsuccess = () => ok(open.result)
    open.onerror = () => ko(open.error)
  })
  try {
    if (!db.objectStoreNames.contains(store)) return []
    return await new Promise((ok, ko) => {
      const request = db.transaction(store, 'readonly').objectStore(store).getAll()
      request.onsuccess = () => ok(request.result)
      request.onerror = () => ko(request.error)
    })
  } finally { db.close() }
})().then(done, e => done('failed: ' + e))
"#;

/// Sets each `[name, value]` on `form.case` (see [`Rig::fill`]), in the
/// order the controls come on the page; returns null, or what went wrong.
/// Lenient (`arguments[1]`), it passes over names the page lacks.
const FILL: &str = r#"
const form = document.querySelector('form.case')
if (!form) return 'no form.case on the page'
const controls = [...form.elements], at = name => controls.findIndex(e => e.name == name)
const pairs = arguments[0].map((p, i) => [at(p[0]), i, p]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(x => x[2])
for (const [name, value] of pairs) {
  const controls = [...form.elements].filter(e => e.name == name)
  if (!controls.length) { if (arguments[1]) continue; return 'no field named ' + name }
  const first = controls[0]
  // As an officer would: the field takes focus first (the page may load
  // what it needs on the first focus).
  first.focus()
  if (first.type == 'radio' || first.type == 'checkbox') {
    const want = Array.isArray(value) ? value.map(String) : [String(value)]
    for (const c of controls) c.checked = want.includes(c.value)
    const missing = want.filter(w => !controls.some(c => c.value == w))
    if (missing.length) return name + ' offers no ' + missing.join(', ')
  } else if (first.tagName == 'SELECT') {
    if (![...first.options].some(o => o.value == String(value))) return name + ' offers no ' + value
    first.value = String(value)
  } else {
    first.value = String(value)
  }
  first.dispatchEvent(new Event('input', { bubbles: true }))
  first.dispatchEvent(new Event('change', { bubbles: true }))
}
return null
"#;
