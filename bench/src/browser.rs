//! `browser`: the browser figures of `bench/README.md` ("Browser").
//!
//! ```text
//! browser --collector BIN --synthetic SITE --real SITE [--runs N]
//! ```
//!
//! Serves each built site with the real collector on loopback, opens it in
//! headless Chromium (Debian's `chromium` and `chromedriver`, through the
//! test suite's `Browser`) and prints, as Markdown:
//!
//! - on the synthetic form (1,000 questions, written by `site-forms` in
//!   `bench/browser.sh`), the time the page takes to re-evaluate every rule after
//!   one input: `performance.now()` around the `input` event the runtime
//!   handles (reading the fields, relevance, calculations, cascades, and
//!   the DOM updates), the same around a click on a radio button (a
//!   choice), and the runtime's exported `validate()` alone on the same
//!   fields (every rule, no DOM): median, 90th percentile and extremes of
//!   `--runs` samples after a warm-up;
//! - the same on the flagship case form;
//! - the flagship page's weight: what Chromium loads when the page opens
//!   (the HTML, the stylesheet, the runtime), compressed as the collector
//!   sends it and uncompressed, from the Resource Timing entries.
//!
//! It is a measurement, not a test: nothing here fails on a budget; the
//! budgets are printed beside the figures.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context as _, bail};
use clap::Parser;
use constancia_tests::browser::Browser;
use serde_json::{Value, json};

/// Browser figures: rule re-evaluation time and the flagship page weight.
#[derive(Debug, Parser)]
struct Args {
    /// The `constancia-collector` binary.
    #[arg(long, default_value = "target/release/constancia-collector")]
    collector: PathBuf,
    /// The built synthetic site (1,000 questions).
    #[arg(long)]
    synthetic: PathBuf,
    /// The synthetic form's page in it.
    #[arg(long, default_value = "/es/sintetico/")]
    synthetic_page: String,
    /// The field whose input is timed on the synthetic form.
    #[arg(long, default_value = "s0000_edad")]
    synthetic_field: String,
    /// The real `forms/`, built.
    #[arg(long)]
    real: PathBuf,
    /// Inputs timed (after as many again to warm up, at most 50).
    #[arg(long, default_value_t = 200)]
    runs: usize,
}

/// A collector serving `site` on a free port with a throwaway database.
struct Collector {
    child: Child,
    addr: SocketAddr,
    _data: tempfile::TempDir,
}

impl Collector {
    fn start(binary: &Path, site: &Path) -> anyhow::Result<Collector> {
        let data = tempfile::tempdir().context("a temp folder")?;
        let mut child = Command::new(binary)
            .arg("serve")
            .arg("--site")
            .arg(site)
            .arg("--db")
            .arg(data.path().join("bench.sqlite"))
            .args(["--listen", "127.0.0.1:0"])
            .env("CONSTANCIA_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("failed to start `{}`", binary.display()))?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("constancia-collector listening on http://")
            .and_then(|rest| rest.trim_end_matches('/').parse().ok());
        let Some(addr) = addr else {
            let _ = child.kill();
            bail!("the collector did not say where it listens: {line:?}");
        };
        Ok(Collector { child, addr, _data: data })
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Times `runs` inputs on the field `arguments[0]`, clicks on the first
/// two radio buttons named `arguments[1]` (each after warming up) and the
/// runtime's `validate()` on the same fields; returns `{questions,
/// wrappers, fields, input: [ms], click: [ms], validate: [ms]}`.
/// Chromium's clock has a 0.1 ms grain here, so each figure is the mean
/// of a batch (5 inputs, 4 clicks, 10 validations).
const TIME: &str = r#"
const [name, choice, runs, done] = arguments
;(async () => {
  const form = document.querySelector('form.case'), input = form.elements[name]
  const radios = [...form.querySelectorAll(`input[type=radio][name="${choice}"]`)].slice(0, 2)
  if (!input || radios.length < 2) throw new Error('no field ' + name + ' or no radio buttons ' + choice)
  input.focus()
  const value = i => input.type == 'date' ? `2026-01-${String(i % 28 + 1).padStart(2, '0')}` : String(i % 60 + 10)
  const batch = (n, f) => { const t = performance.now(); for (let i = 0; i < n; i++) f(i); return (performance.now() - t) / n }
  const once = i => { input.value = value(i); input.dispatchEvent(new Event('input', { bubbles: true })) }
  for (let i = 0; i < Math.min(runs, 50); i++) batch(5, once)
  const times = []
  for (let i = 0; i < runs; i++) times.push(batch(5, once))
  const click = i => radios[i % 2].click()
  for (let i = 0; i < Math.min(runs, 50); i++) batch(4, click)
  const clicks = []
  for (let i = 0; i < runs; i++) clicks.push(batch(4, click))
  const runtime = await import(document.querySelector('script[type=module][src*="runtime."]').src)
  const rules = JSON.parse(document.getElementById('constancia-rules').textContent)
  const fields = [...new FormData(form)].filter(e => typeof e[1] == 'string')
  const check = () => runtime.validate(rules, fields)
  for (let i = 0; i < Math.min(runs, 50); i++) batch(10, check)
  const pure = []
  for (let i = 0; i < runs; i++) pure.push(batch(10, check))
  return { questions: rules.questions.length, wrappers: form.querySelectorAll('[data-q]').length, fields: fields.length, input: times, click: clicks, validate: pure }
})().then(done, e => done({ error: String(e) }))
"#;

/// Resource Timing of the page as it opened.
const WEIGHT: &str = r#"
const nav = performance.getEntriesByType('navigation')[0]
// The browser's own request for /favicon.ico is not the page's.
return [nav, ...performance.getEntriesByType('resource')].map(e =>
  ({ name: new URL(e.name).pathname, encoded: e.encodedBodySize, decoded: e.decodedBodySize }))
  .filter(e => e.name != '/favicon.ico')
"#;

fn stats(values: &Value) -> (f64, f64, f64, f64) {
    let mut v: Vec<f64> = values.as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN, f64::NAN);
    }
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.9), v[0], v[v.len() - 1])
}

async fn time(browser: &Browser, url: &str, field: &str, choice: &str, runs: usize) -> anyhow::Result<Value> {
    browser.goto(url).await;
    browser.wait_for("the runtime to start", "document.querySelector('p.outbox')", vec![]).await;
    let result = browser.eval_async(TIME, vec![json!(field), json!(choice), json!(runs)]).await;
    if let Some(error) = result.get("error") {
        bail!("timing failed on {url}: {error}");
    }
    Ok(result)
}

fn row(label: &str, result: &Value) {
    for (what, key) in [
        ("after one `input` event in a text field (rules + DOM)", "input"),
        ("after a click on a radio button (rules + DOM)", "click"),
        ("`validate()` alone (rules)", "validate"),
    ] {
        let (median, p90, min, max) = stats(&result[key]);
        println!(
            "| {label} | {} | {} | {what} | **{median:.2}** | {p90:.2} | {min:.2}–{max:.2} |",
            result["wrappers"].as_u64().unwrap_or(0),
            result["questions"].as_u64().unwrap_or(0),
        );
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let synthetic = Collector::start(&args.collector, &args.synthetic)?;
    let real = Collector::start(&args.collector, &args.real)?;
    let browser = Browser::start().await;

    let big =
        time(&browser, &synthetic.url(&args.synthetic_page), &args.synthetic_field, "s0001_forma", args.runs).await?;
    let flagship = time(&browser, &real.url("/es/caso-ddhh/"), "fecha_entrevista", "modalidad", args.runs).await?;

    // The flagship page's weight, in a fresh tab's first load.
    let fresh = Browser::start().await;
    fresh.goto(&real.url("/es/caso-ddhh/")).await;
    fresh.wait_for("the runtime to start", "document.querySelector('p.outbox')", vec![]).await;
    let entries = fresh.eval(WEIGHT).await;
    fresh.close().await;
    browser.close().await;

    let version = Command::new(constancia_tests::browser::chromium_binary())
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    println!("Headless {version}; {} runs after a warm-up, each the mean of a batch; times in ms.\n", args.runs);
    println!("| form | questions on the page | in its rules | what is timed | median | p90 | min–max |");
    println!("| --- | ---: | ---: | --- | ---: | ---: | ---: |");
    row("synthetic (1,000 questions)", &big);
    row("flagship `caso-ddhh`", &flagship);
    println!("\nBudget: 5 ms for the synthetic form after one input.\n");

    println!("Flagship page `/es/caso-ddhh/` as it opens (bytes; compressed as the collector sends it):\n");
    println!("| file | compressed | uncompressed |");
    println!("| --- | ---: | ---: |");
    let (mut encoded, mut decoded) = (0, 0);
    for entry in entries.as_array().context("resource entries")? {
        let (e, d) = (entry["encoded"].as_u64().unwrap_or(0), entry["decoded"].as_u64().unwrap_or(0));
        encoded += e;
        decoded += d;
        println!("| `{}` | {e} | {d} |", entry["name"].as_str().unwrap_or(""));
    }
    println!("| **total** | **{encoded}** | {decoded} |");
    println!("\nBudget: 30 KB (30,720 bytes) compressed in total, of which the runtime at most 12 KB.");
    Ok(())
}
