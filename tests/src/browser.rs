//! Real Chromium for the browser tests (`tests/tests/browser/`) and the
//! browser benchmark, driven over WebDriver by fantoccini.
//!
//! Each [`Browser`] spawns its own `chromedriver` on a free loopback port
//! and opens one Chromium session with a fresh profile folder, so tests
//! share nothing and can run in parallel. Debian's `chromium` and
//! `chromium-driver` must be installed (`/usr/bin/chromium`,
//! `/usr/bin/chromedriver`); nothing is ever downloaded, and a missing
//! browser fails the test with what to install rather than skipping it.
//!
//! What this does not do: serve pages (see [`crate::collector`]) or know
//! anything of Constancia's pages; the tests say what to look for.
//!
//! ```no_run
//! # async fn demo() {
//! let browser = constancia_tests::browser::Browser::start().await;
//! browser.goto("http://127.0.0.1:8080/es/").await;
//! let title = browser.eval("return document.title").await;
//! # }
//! ```

use std::io::{BufRead as _, BufReader};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

/// How long a wait for a condition lasts before the test fails.
pub const WAIT: Duration = Duration::from_secs(15);

/// The Chromium binary (Debian's `chromium`); `CHROMIUM` overrides it.
pub fn chromium_binary() -> PathBuf {
    std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// The chromedriver binary (Debian's `chromium-driver`); `CHROMEDRIVER`
/// overrides it.
pub fn chromedriver_binary() -> PathBuf {
    std::env::var_os("CHROMEDRIVER").map_or_else(|| PathBuf::from("/usr/bin/chromedriver"), PathBuf::from)
}

/// A `chromedriver` process on a free loopback port, killed with the
/// Chromium it started when dropped.
pub struct Driver {
    child: Child,
    /// The port it listens on.
    pub port: u16,
}

impl Driver {
    /// Spawns chromedriver on a port the system picks and waits until it
    /// says which.
    ///
    /// # Panics
    ///
    /// If chromedriver is missing or does not start.
    pub fn spawn() -> Driver {
        let binary = chromedriver_binary();
        assert!(
            binary.is_file(),
            "chromedriver is missing at `{}`: install Debian's `chromium` and `chromium-driver` \
             (apt-get install chromium chromium-driver), or set CHROMEDRIVER",
            binary.display()
        );
        let mut child = Command::new(&binary)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            // Its own process group, so that dropping it also ends the
            // Chromium it started, whatever state the session is in.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{}`: {e}", binary.display()));
        // It says its port on stdout ("... started successfully on port
        // 41234."), then only logs; a reader thread keeps draining it.
        let stdout = child.stdout.take().expect("chromedriver's stdout is piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut said = false;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let port = line.split("started successfully on port ").nth(1);
                if let (false, Some(rest)) = (said, port) {
                    said = true;
                    let _ = tx.send(rest.trim_end_matches('.').trim().parse::<u16>().ok());
                }
            }
        });
        let port = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(Some(port)) => port,
            _ => {
                let _ = child.kill();
                panic!("chromedriver did not say its port within 20 s");
            }
        };
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group: chromedriver and the browser processes it spawned.
        let pgid = self.child.id();
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{pgid}")]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How to start Chromium.
#[derive(Debug, Clone)]
pub struct Launch {
    /// Whether pages may run JavaScript.
    pub javascript: bool,
    /// The window size.
    pub size: (u32, u32),
}

impl Default for Launch {
    fn default() -> Self {
        Launch { javascript: true, size: (1280, 1024) }
    }
}

/// Chromium in a fresh profile, driven over WebDriver.
pub struct Browser {
    client: Option<Client>,
    // Dropped after the client: the profile folder outlives the browser.
    _driver: Driver,
    profile: tempfile::TempDir,
}

impl Browser {
    /// Chromium with JavaScript on.
    pub async fn start() -> Browser {
        Browser::launch(Launch::default()).await
    }

    /// Chromium as `launch` says.
    ///
    /// # Panics
    ///
    /// If Chromium or chromedriver is missing or cannot start a session.
    pub async fn launch(launch: Launch) -> Browser {
        let chromium = chromium_binary();
        assert!(
            chromium.is_file(),
            "Chromium is missing at `{}`: install Debian's `chromium` and `chromium-driver` \
             (apt-get install chromium chromium-driver), or set CHROMIUM",
            chromium.display()
        );
        let driver = Driver::spawn();
        let profile = tempfile::Builder::new().prefix("constancia-chromium-").tempdir().expect("a profile folder");
        let mut args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--no-default-browser-check".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            format!("--window-size={},{}", launch.size.0, launch.size.1),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut prefs = serde_json::Map::new();
        if !launch.javascript {
            args.push("--blink-settings=scriptEnabled=false".to_owned());
            prefs.insert("profile.managed_default_content_settings.javascript".to_owned(), json!(2));
        }
        let mut capabilities = Capabilities::new();
        capabilities
            .insert("goog:chromeOptions".to_owned(), json!({ "binary": chromium, "args": args, "prefs": prefs }));
        // Errors in pages fail the tests through what they check; the
        // browser's console is not read.
        capabilities.insert("unhandledPromptBehavior".to_owned(), json!("ignore"));
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .unwrap_or_else(|e| panic!("cannot open a Chromium session through chromedriver: {e}"));
        Browser { client: Some(client), _driver: driver, profile }
    }

    /// The WebDriver client.
    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("the session is open until drop")
    }

    /// The profile folder (where IndexedDB, the service worker and the
    /// caches live).
    pub fn profile(&self) -> &Path {
        self.profile.path()
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) {
        self.client().goto(url).await.unwrap_or_else(|e| panic!("cannot open `{url}`: {e}"));
    }

    /// Runs `script` (a function body: `arguments[0]`..., `return ...`) in
    /// the page and returns its result.
    pub async fn eval_with(&self, script: &str, args: Vec<Value>) -> Value {
        self.client().execute(script, args).await.unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// [`Browser::eval_with`] without arguments.
    pub async fn eval(&self, script: &str) -> Value {
        self.eval_with(script, Vec::new()).await
    }

    /// Runs `script`, whose last argument is a callback it must call with
    /// its result, and returns that result.
    pub async fn eval_async(&self, script: &str, args: Vec<Value>) -> Value {
        self.client().execute_async(script, args).await.unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Evaluates `expression` (a JavaScript expression, `arguments[0]`...
    /// available) until it is truthy and returns that value; fails the
    /// test after [`WAIT`], saying `what` was awaited and the page's last
    /// answer.
    pub async fn wait_for(&self, what: &str, expression: &str, args: Vec<Value>) -> Value {
        let script = format!("return ({expression})");
        let start = Instant::now();
        loop {
            let value = self.client().execute(&script, args.clone()).await;
            match value {
                Ok(v) if truthy(&v) => return v,
                Ok(v) if start.elapsed() > WAIT => panic!("waited {WAIT:?} for {what}; `{expression}` is {v}"),
                Err(e) if start.elapsed() > WAIT => panic!("waited {WAIT:?} for {what}; `{expression}` failed: {e}"),
                _ => tokio::time::sleep(Duration::from_millis(25)).await,
            }
        }
    }

    /// Sends a Chrome DevTools Protocol command (through chromedriver's
    /// `goog/cdp/execute`) and returns its result, e.g.
    /// `Network.setBlockedURLs`.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        let command = Cdp { cmd: cmd.to_owned(), params };
        self.client().issue_cmd(command).await.unwrap_or_else(|e| panic!("the DevTools command `{cmd}` failed: {e}"))
    }

    /// Ends the session (Chromium writes its profile down and quits).
    pub async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = client.close().await;
        }
    }
}

/// A DevTools command through chromedriver.
#[derive(Debug)]
struct Cdp {
    cmd: String,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/goog/cdp/execute", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({ "cmd": self.cmd, "params": self.params }).to_string()))
    }
}

/// JavaScript's truthiness of a WebDriver result.
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}
