//! # Constancia's form language
//!
//! Ministry editors describe case forms in TOML; this crate reads them,
//! checks them with precise diagnostics, compiles them into manifests,
//! validates submissions against a manifest, and (with the default `site`
//! feature) compiles a static HTML site.
//!
//! ```
//! use constancia::project::check_sources;
//! let site = "[site]\ntitle = 'Casos'\ndefault_language = 'es'\nlanguages = ['es']\n";
//! let form = r#"
//! [form]
//! id = "demo"
//! version = 1
//! title = "Demo"
//!
//! [[section]]
//! id = "persona"
//! title = "Persona"
//!
//! [[section.question]]
//! id = "edad"
//! type = "integer"
//! label = "Edad"
//! constraint = ". >= 0 and . <= 120"
//! "#;
//! let project = check_sources(
//!     "forms".as_ref(),
//!     vec![("forms/site.toml".into(), Ok(site.into())), ("forms/demo.toml".into(), Ok(form.into()))],
//! );
//! assert!(!project.diagnostics.has_errors());
//! assert_eq!(project.forms[0].manifest.sections[0].questions[0].path, "edad");
//! ```
//!
//! The collector depends on this crate without the `site` feature: it needs
//! manifests, expressions and validation, not templates or markdown.

pub mod answers;
pub mod diagnostic;
pub mod expr;
pub mod html;
mod lower;
pub mod manifest;
pub mod messages;
pub mod packed;
pub mod project;
mod schema;
pub mod validate;
pub mod value;

#[cfg(feature = "site")]
pub mod render;
#[cfg(feature = "site")]
pub mod site;
