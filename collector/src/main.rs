//! `constancia-collector`: serve the site and receive submissions, or export them.
//!
//! Exit codes: 0 success, 1 failure (stated on stderr), 2 usage error.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand, ValueEnum};
use collector::{Config, export};

/// Validating a submission allocates many small strings and maps, briefly;
/// mimalloc serves that pattern markedly faster than the system allocator
/// (measured with bench/: see bench/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Receive, validate and durably keep Constancia case submissions.
///
/// `serve` runs the service: it serves the static site built by
/// `constancia build`, takes up new form versions as they appear in
/// `<site>/forms/` (or on SIGHUP), and stores submissions in an embedded
/// SQLite file. `export` writes the stored submissions of a form as CSV or
/// JSON for the operator who holds the database file.
#[derive(Debug, Parser)]
#[command(name = "constancia-collector", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the site and receive submissions until SIGTERM or Ctrl-C.
    Serve(Serve),
    /// Export the stored submissions of a form.
    Export(Export),
}

#[derive(Debug, clap::Args)]
struct Serve {
    /// The site built by `constancia build`.
    #[arg(long, env = "CONSTANCIA_SITE", default_value = "site")]
    site: PathBuf,
    /// The SQLite database file (created, with its folder, if missing).
    #[arg(long, env = "CONSTANCIA_DB", default_value = "data/constancia.sqlite")]
    db: PathBuf,
    /// Address and port to listen on (port 0 picks a free one).
    #[arg(long, env = "CONSTANCIA_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// First part of receipt references, e.g. MXTAP for MXTAP-2026-000123:
    /// 2 to 12 capital letters or digits, one per collector.
    #[arg(long, env = "CONSTANCIA_PREFIX", default_value = "CASO")]
    prefix: String,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "CONSTANCIA_MAX_BODY", default_value_t = 1024 * 1024)]
    max_body: usize,
    /// Longest time a request may take, in seconds.
    #[arg(long, env = "CONSTANCIA_REQUEST_TIMEOUT", default_value_t = 30)]
    request_timeout: u64,
    /// Origins allowed to submit from pages hosted elsewhere (CORS), comma-separated.
    #[arg(long, env = "CONSTANCIA_ALLOWED_ORIGINS", value_delimiter = ',')]
    allow_origin: Vec<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExportFormat {
    /// CSV files: one for the top level, one per repeat.
    Csv,
    /// JSON Lines: one document per submission.
    Json,
}

#[derive(Debug, clap::Args)]
struct Export {
    /// The SQLite database file.
    #[arg(long, env = "CONSTANCIA_DB")]
    db: PathBuf,
    /// The form id.
    #[arg(long)]
    form: String,
    /// Only this version (default: every version).
    #[arg(long)]
    version: Option<u32>,
    /// Output format.
    #[arg(long, value_enum)]
    format: ExportFormat,
    /// The folder to write into (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Write choice labels in this language instead of codes.
    #[arg(long, value_name = "LANG")]
    labels: Option<String>,
    /// Leave out the questions marked as identifying (pii).
    #[arg(long)]
    deidentified: bool,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CONSTANCIA_LOG")
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(serve) => run_serve(serve),
        Command::Export(options) => run_export(options),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}

fn valid_prefix(prefix: &str) -> bool {
    (2..=12).contains(&prefix.len()) && prefix.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn run_serve(serve: Serve) -> anyhow::Result<()> {
    if !valid_prefix(&serve.prefix) {
        bail!("--prefix must be 2 to 12 capital letters or digits, like MXTAP");
    }
    if !serve.site.is_dir() {
        tracing::warn!(site = %serve.site.display(), "the site folder does not exist yet; run `constancia build` to create it");
    }
    let config = Config {
        site: serve.site,
        db: serve.db,
        listen: serve.listen,
        prefix: serve.prefix,
        max_body: serve.max_body,
        request_timeout: Duration::from_secs(serve.request_timeout.max(1)),
        allowed_origins: serve.allow_origin,
    };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("failed to start the runtime")?;
    runtime.block_on(collector::serve(config, |address| {
        // The one line on stdout: where to open the site (tests read it too).
        println!("constancia-collector listening on http://{address}/");
    }))
}

fn run_export(options: Export) -> anyhow::Result<()> {
    export::check_out(&options.out)?;
    let summary = export::export(&export::Options {
        db: options.db,
        form: options.form,
        version: options.version,
        format: match options.format {
            ExportFormat::Csv => export::Format::Csv,
            ExportFormat::Json => export::Format::Json,
        },
        out: options.out,
        labels: options.labels,
        deidentified: options.deidentified,
    })?;
    eprintln!("exported {} submission(s) into {} file(s):", summary.submissions, summary.files.len());
    for file in &summary.files {
        eprintln!("  {}", file.display());
    }
    Ok(())
}
