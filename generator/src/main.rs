//! `constancia`: check case forms and compile them into a static site.
//!
//! Everything for humans goes to stderr; stdout carries only machine output
//! (`--format json`). Exit codes: 0 success, 1 the forms have errors or the
//! build failed, 2 the command line was wrong.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use constancia::project::{Project, check_dir};
use constancia::render::render_all;

/// A build allocates and frees hundreds of thousands of small values
/// (parsed TOML, the model, page views) and a few large buffers, then
/// exits. mimalloc serves that a third faster than the system allocator,
/// mostly by asking the kernel for fresh pages far less often (2,000
/// questions: 8,400 page faults with glibc's malloc, 330 with mimalloc).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Check Constancia case forms written in TOML and compile them into a
/// static, accessible HTML site.
///
/// A forms folder holds `site.toml` (the site's title and languages),
/// `lists/*.toml` (shared code lists) and one TOML file per form. See
/// docs/reference.md for every key, type and function.
#[derive(Debug, Parser)]
#[command(name = "constancia", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a forms folder and report every problem with its file, line and column.
    ///
    /// Exits with 1 if there is any error; warnings (such as a missing
    /// translation) are reported but do not fail.
    Check {
        /// The forms folder.
        #[arg(default_value = "forms")]
        dir: PathBuf,
        /// How to print diagnostics: for people (stderr) or as JSON (stdout).
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Check a forms folder, then write the static site.
    ///
    /// Writes one page per form and language (`<lang>/<form>/index.html`), an
    /// index page per language, the compiled manifests
    /// (`forms/<id>/<version>.json`) and content-hashed assets. Unchanged
    /// files are not rewritten; manifests of earlier versions are kept.
    Build {
        /// The forms folder.
        #[arg(default_value = "forms")]
        dir: PathBuf,
        /// The output folder.
        #[arg(long, default_value = "site")]
        out: PathBuf,
        /// How to print diagnostics: for people (stderr) or as JSON (stdout).
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Rendered with the source line and a caret, on stderr.
    Human,
    /// One JSON document on stdout.
    Json,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CONSTANCIA_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check { dir, format } => {
            let project = check_dir(&dir)?;
            report(&project, format);
            if project.diagnostics.has_errors() {
                return Ok(ExitCode::from(1));
            }
            if format == Format::Human {
                eprintln!("checked {} form(s) in {}: no errors", project.forms.len(), dir.display());
            }
            leak(project);
            Ok(ExitCode::SUCCESS)
        }
        Command::Build { dir, out, format } => {
            let started = Instant::now();
            let project = check_dir(&dir)?;
            tracing::debug!(elapsed_us = started.elapsed().as_micros() as u64, "checked the forms");
            report(&project, format);
            if project.diagnostics.has_errors() {
                eprintln!("error: the site was not built: fix the errors above first");
                return Ok(ExitCode::from(1));
            }
            let summary = constancia::site::build(&project, &out)
                .with_context(|| format!("failed to build the site into `{}`", out.display()))?;
            eprintln!(
                "built {} form(s) into {}: {} file(s) written, {} unchanged, {} removed in {} ms",
                project.forms.len(),
                out.display(),
                summary.written,
                summary.unchanged,
                summary.removed,
                started.elapsed().as_millis()
            );
            leak(project);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Leaves the checked project to the end of the process instead of freeing
/// it: the process exits right after, and freeing a large form's model
/// (every text, choice and expression) costs milliseconds for nothing.
fn leak(project: Project) {
    std::mem::forget(project);
}

fn report(project: &Project, format: Format) {
    match format {
        Format::Json => {
            println!("{}", project.diagnostics.to_json(&project.sources));
        }
        Format::Human => {
            if project.diagnostics.is_empty() {
                return;
            }
            let color = std::io::stderr().is_terminal();
            eprint!("{}", render_all(&project.diagnostics, &project.sources, color));
            let (errors, warnings) = project.diagnostics.counts();
            eprintln!("{errors} error(s), {warnings} warning(s)");
        }
    }
}
