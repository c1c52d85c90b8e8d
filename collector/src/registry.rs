//! The forms the collector accepts, taken up at run time.
//!
//! Manifests are read from `site/forms/<id>/<version>.json` at start, again
//! whenever that folder changes (a debounced file watcher) and on SIGHUP.
//! Every manifest ever loaded is also stored in the database, so a
//! submission on an old version stays valid after `site/` moves on. A
//! manifest whose content changed under the same id and version is refused
//! loudly: the stored one stays.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use constancia::answers::Instance;
use constancia::manifest::{FORMAT, Manifest};
use constancia::validate::Form;
use sha2::{Digest, Sha256};

use crate::encoding::Encoded;
use crate::store::{ManifestStored, Store, StoreError, StoredManifest};

/// A form version the collector accepts.
pub type FormRef = Arc<AcceptedForm>;

/// A form version with what validating and storing its answers need.
pub struct AcceptedForm {
    form: Form,
    dictionary: Vec<u8>,
}

impl AcceptedForm {
    fn new(manifest: Manifest) -> Self {
        let dictionary = crate::encoding::packed_dictionary(&manifest);
        Self { form: Form::new(manifest), dictionary }
    }

    /// The form, for validation.
    pub fn form(&self) -> &Form {
        &self.form
    }

    /// Validated answers as a new row holds them.
    pub fn encode(&self, answers: &Instance) -> Encoded {
        crate::encoding::encode(self.form.layout(), answers, &self.dictionary)
    }
}

impl std::ops::Deref for AcceptedForm {
    type Target = Form;

    fn deref(&self) -> &Form {
        &self.form
    }
}

/// What one reload found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReloadReport {
    /// Versions seen for the first time.
    pub added: Vec<(String, u32)>,
    /// Files refused (unreadable, invalid, or changed after publication).
    pub refused: Vec<PathBuf>,
}

/// The accepted forms, by id and version.
pub struct Registry {
    site: PathBuf,
    store: Store,
    forms: RwLock<BTreeMap<(String, u32), FormRef>>,
    stylesheet: RwLock<Option<String>>,
    reloading: tokio::sync::Mutex<()>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

fn parse_manifest(body: &[u8]) -> Result<Manifest, String> {
    let manifest: Manifest = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    if manifest.format != FORMAT {
        return Err(format!("manifest format {} is not {FORMAT}", manifest.format));
    }
    Ok(manifest)
}

impl Registry {
    /// An empty registry over a site folder.
    pub fn new(site: &Path, store: Store) -> Self {
        Self {
            site: site.to_owned(),
            store,
            forms: RwLock::new(BTreeMap::new()),
            stylesheet: RwLock::new(None),
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    /// The form version, if accepted.
    pub fn get(&self, id: &str, version: u32) -> Option<FormRef> {
        self.forms.read().ok()?.get(&(id.to_owned(), version)).cloned()
    }

    /// Every accepted form version.
    pub fn all(&self) -> Vec<FormRef> {
        self.forms.read().map(|forms| forms.values().cloned().collect()).unwrap_or_default()
    }

    /// The site's hashed stylesheet, for the collector's own pages.
    pub fn stylesheet(&self) -> Option<String> {
        self.stylesheet.read().ok().and_then(|s| s.clone())
    }

    fn insert(&self, manifest: Manifest) -> bool {
        let key = (manifest.id.clone(), manifest.version);
        let Ok(mut forms) = self.forms.write() else { return false };
        if forms.contains_key(&key) {
            return false;
        }
        forms.insert(key, Arc::new(AcceptedForm::new(manifest)));
        true
    }

    /// Loads the stored manifests, then the site's. Safe to call at any time;
    /// concurrent calls run one after the other.
    pub async fn reload(&self) -> Result<ReloadReport, StoreError> {
        let _guard = self.reloading.lock().await;
        let mut report = ReloadReport::default();
        for stored in self.store.manifests().await? {
            match parse_manifest(stored.body.as_bytes()) {
                Ok(manifest) => {
                    self.insert(manifest);
                }
                Err(error) => {
                    tracing::error!(form = %stored.form_id, version = stored.version, %error, "a stored manifest cannot be read")
                }
            }
        }
        for path in manifest_files(&self.site.join("forms")) {
            let body = match std::fs::read(&path) {
                Ok(body) => body,
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "cannot read a manifest");
                    report.refused.push(path);
                    continue;
                }
            };
            let manifest = match parse_manifest(&body) {
                Ok(manifest) => manifest,
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "not a valid manifest; ignored");
                    report.refused.push(path);
                    continue;
                }
            };
            let expected = Path::new(&manifest.id).join(format!("{}.json", manifest.version));
            if !path.ends_with(&expected) {
                tracing::warn!(path = %path.display(), "a manifest's file name does not match its id and version; ignored");
                report.refused.push(path);
                continue;
            }
            let sha256 = sha256_hex(&body);
            let body = String::from_utf8_lossy(&body).into_owned();
            let stored = StoredManifest {
                form_id: manifest.id.clone(),
                version: manifest.version,
                sha256: sha256.clone(),
                body,
            };
            match self.store.store_manifest(stored).await? {
                ManifestStored::New => {
                    tracing::info!(form = %manifest.id, version = manifest.version, "new form version accepted");
                    report.added.push((manifest.id.clone(), manifest.version));
                    self.insert(manifest);
                }
                ManifestStored::Same => {
                    self.insert(manifest);
                }
                ManifestStored::Different { stored_sha256 } => {
                    tracing::error!(
                        form = %manifest.id,
                        version = manifest.version,
                        file = %path.display(),
                        file_sha256 = %sha256,
                        stored_sha256 = %stored_sha256,
                        "REFUSED: this manifest changed after it was published; the stored version stays in force. Publish the change as a new version."
                    );
                    report.refused.push(path);
                }
            }
        }
        let stylesheet = find_stylesheet(&self.site.join("assets"));
        if let Ok(mut current) = self.stylesheet.write() {
            *current = stylesheet;
        }
        Ok(report)
    }
}

fn manifest_files(forms: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(dirs) = std::fs::read_dir(forms) else { return files };
    for dir in dirs.flatten() {
        let Ok(entries) = std::fs::read_dir(dir.path()) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") && path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn find_stylesheet(assets: &Path) -> Option<String> {
    let mut names: Vec<String> = std::fs::read_dir(assets)
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("constancia.") && n.ends_with(".css"))
        .collect();
    names.sort();
    names.pop()
}

/// Watches the site folder and reloads on every change (debounced). The
/// returned handle must be kept alive.
pub fn watch(registry: Arc<Registry>) -> anyhow::Result<Box<dyn std::any::Any + Send>> {
    use notify::{EventKind, RecursiveMode};
    use notify_debouncer_full::{DebounceEventResult, new_debouncer};

    let (changed, mut changes) = tokio::sync::mpsc::channel::<()>(1);
    let mut debouncer = new_debouncer(Duration::from_millis(150), None, move |result: DebounceEventResult| {
        // Only changes count: reading the manifests during a reload raises
        // access events, which must not trigger another reload.
        let changes = result.is_ok_and(|events| {
            events
                .iter()
                .any(|event| matches!(event.kind, EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)))
        });
        if changes {
            // A full channel already means "reload pending".
            let _ = changed.try_send(());
        }
    })?;
    std::fs::create_dir_all(&registry.site)?;
    debouncer.watch(&registry.site, RecursiveMode::Recursive)?;
    tokio::spawn(async move {
        while changes.recv().await.is_some() {
            match registry.reload().await {
                Ok(report) if !report.added.is_empty() => tracing::debug!(?report.added, "site changed"),
                Ok(_) => {}
                // Shutting down: nothing more to take up.
                Err(StoreError::WriterGone) => break,
                Err(error) => tracing::error!(%error, "reloading forms failed"),
            }
        }
    });
    Ok(Box::new(debouncer))
}
