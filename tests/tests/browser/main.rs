//! Constancia in real Chromium: the built pages, served by the real
//! collector, driven over WebDriver. A separate test target, as mdBook
//! keeps its browser tests, so that the quick suite does not wait for
//! browsers.
//!
//! Needs Debian's `chromium` and `chromium-driver`, the
//! `constancia-collector` binary (`cargo test --workspace` builds it) and
//! `npm ci` (axe-core). Each test builds the real `forms/` into its own
//! folder, starts its own collector on a free port with a new database and
//! its own Chromium with a fresh profile: tests share nothing.

mod harness;

mod axe;
mod conformance;
mod drafts;
mod form;
mod submit;
