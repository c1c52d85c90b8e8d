//! # The Constancia collector
//!
//! One process that serves the static site built by `constancia build`,
//! receives submissions (JSON from pages with JavaScript and their offline
//! outbox, urlencoded from pages without), validates each against the exact
//! form version it was filled on, keeps it durably in SQLite and answers
//! with a receipt.
//!
//! [`app`] builds the router that [`serve`] runs and tests drive; storage
//! sits behind [`store::Store`]; forms are taken up at run time by
//! [`registry::Registry`]. Exports for the operator are in [`export`].
//!
//! Logs carry form ids, versions, submission ids and timings, never an answer.

pub mod api;
pub mod encoding;
pub mod error;
pub mod export;
pub mod ids;
pub mod pages;
pub mod registry;
pub mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::routing::{get, post};
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate, SizeAbove};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::registry::Registry;
use crate::store::Store;

/// How the collector runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The built site to serve and to take manifests from.
    pub site: PathBuf,
    /// The SQLite file.
    pub db: PathBuf,
    /// Where to listen.
    pub listen: SocketAddr,
    /// The first part of receipt references (`MXTAP` in `MXTAP-2026-000123`).
    pub prefix: String,
    /// The largest request body accepted, in bytes.
    pub max_body: usize,
    /// How long a request may take.
    pub request_timeout: Duration,
    /// Origins allowed to post from pages served elsewhere (CORS).
    pub allowed_origins: Vec<String>,
}

/// What every request handler shares (behind one `Arc`: a request then
/// clones one pointer, not each of these).
pub struct AppState {
    /// Storage.
    pub store: Store,
    /// Accepted forms.
    pub registry: Arc<Registry>,
    /// Settings.
    pub config: Arc<Config>,
}

/// The security headers of every response. The pages carry no inline script
/// or style, so the policy can forbid both.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";
const PERMISSIONS_POLICY: &str = "camera=(), microphone=(), geolocation=(), interest-cohort=()";

/// Bodies smaller than this go out as they are. Browsers ask for
/// compression on every request, and a receipt (~120 bytes) gzipped is
/// no smaller, costs a compressor's state, and goes out chunked; under a
/// TCP segment's worth, compression saves no packet.
const COMPRESS_ABOVE: u16 = 1024;

/// A response header set on every response that does not set it itself.
fn always(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// The collector's routes and layers.
pub fn app(state: AppState) -> Router {
    let config = Arc::clone(&state.config);
    let api = Router::new()
        .route("/api/v1/submissions", post(api::submit_json))
        .route("/api/v1/forms", get(api::forms))
        .route("/healthz", get(api::healthz))
        .route("/submit/{form}/{version}", post(pages::submit_page))
        .route("/receipt/{submission_id}", get(pages::receipt));
    // Without allowed origins there is no CORS to answer: browsers keep
    // pages of other origins out by default, and no layer adds its `Vary`
    // headers to every answer.
    let cors = (!config.allowed_origins.is_empty()).then(|| {
        let origins: Vec<HeaderValue> =
            config.allowed_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::POST, Method::GET])
            .allow_headers([header::CONTENT_TYPE])
    });
    // One stack of layers, applied once: each `Router::layer` call boxes the
    // routes again, and every request then clones and polls every box.
    let layers = tower::ServiceBuilder::new()
        .layer(always(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .layer(always(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(always(header::REFERRER_POLICY, "no-referrer"))
        .layer(always(header::X_FRAME_OPTIONS, "DENY"))
        .layer(always(HeaderName::from_static("permissions-policy"), PERMISSIONS_POLICY))
        .layer(always(HeaderName::from_static("cross-origin-opener-policy"), "same-origin"))
        .layer(TraceLayer::new_for_http())
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, config.request_timeout))
        .layer(
            CompressionLayer::new()
                .gzip(true)
                .compress_when(DefaultPredicate::new().and(SizeAbove::new(COMPRESS_ABOVE))),
        )
        .option_layer(cors)
        // Bodies are read by the handlers themselves, with the configured
        // limit, so that an oversized body gets our 413 answer.
        .layer(DefaultBodyLimit::disable());
    api.fallback(pages::static_file).with_state(Arc::new(state)).layer(layers)
}

/// Opens the database, loads the forms, starts watching the site, listens,
/// and serves until SIGTERM or SIGINT; then finishes the requests in
/// flight and flushes the database writer. `ready` receives the bound
/// address (useful with port 0).
pub async fn serve(config: Config, ready: impl FnOnce(SocketAddr)) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let (store, writer) = Store::open(&config.db, &config.prefix)
        .with_context(|| format!("failed to open the database `{}`", config.db.display()))?;
    let registry = Arc::new(Registry::new(&config.site, store.clone()));
    let report = registry.reload().await.context("failed to load the forms")?;
    tracing::info!(forms = registry.all().len(), refused = report.refused.len(), "forms loaded");
    let watcher = registry::watch(Arc::clone(&registry)).context("failed to watch the site folder")?;
    spawn_reload_on_hangup(Arc::clone(&registry)).context("failed to listen for SIGHUP")?;
    let shutdown = shutdown_signal().context("failed to listen for SIGTERM and SIGINT")?;

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("failed to listen on {}", config.listen))?;
    let address = listener.local_addr()?;
    let state = AppState { store, registry, config: Arc::new(config) };
    let router = app(state);
    ready(address);
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await.context("the server failed")?;
    tracing::info!("stopped taking requests; flushing the database");
    drop(watcher);
    // The router (and with it every Store handle) is gone: the writer drains
    // what is queued, commits, and ends.
    tokio::task::spawn_blocking(move || writer.join()).await.ok();
    tracing::info!("stopped");
    Ok(())
}

/// Listens for SIGTERM and SIGINT from now on (not only once the returned
/// future is first polled: a signal sent as soon as the address is printed
/// must still stop the server gracefully) and resolves at the first.
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        tracing::info!("shutdown requested");
    })
}

fn spawn_reload_on_hangup(registry: Arc<Registry>) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    // Registered before the server is announced, so no SIGHUP is missed.
    let mut hangups = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading forms");
            if let Err(error) = registry.reload().await {
                tracing::error!(%error, "reloading forms failed");
            }
        }
    });
    Ok(())
}
