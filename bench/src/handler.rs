//! `handler`: the collector's own cost per submission, without HTTP.
//!
//! Drives `collector::app` in process (routing, layers, body, parsing,
//! validation, hashing, storage through the group-committing writer) with
//! 64 concurrent submissions on one runtime thread, and reports durable
//! submissions per second and the process CPU time per submission.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt as _;

// The same allocator as the collector binary, so the figures match it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let site = args.next().context("usage: handler SITE CASE [SECONDS]")?;
    let case_path = args.next().context("usage: handler SITE CASE [SECONDS]")?;
    let seconds: u64 = args.next().map_or(Ok(5), |n| n.parse())?;
    let case: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(case_path)?)?;
    let template = constancia_bench::submission_template(&case);
    let (before, after) = template.split_once("00000000-0000-0000-0000-000000000000").context("placeholder")?;
    let (before, after) = (Arc::new(before.to_owned()), Arc::new(after.to_owned()));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let dir = tempfile::tempdir()?;
    runtime.block_on(async move {
        let config = collector::Config {
            site: site.into(),
            db: dir.path().join("handler.sqlite"),
            listen: "127.0.0.1:0".parse()?,
            prefix: "BENCH".into(),
            max_body: 1 << 20,
            request_timeout: Duration::from_secs(30),
            allowed_origins: Vec::new(),
        };
        let (store, writer) = collector::store::Store::open(&config.db, &config.prefix)?;
        let registry = Arc::new(collector::registry::Registry::new(&config.site, store.clone()));
        registry.reload().await?;
        let app = collector::app(collector::AppState { store, registry, config: Arc::new(config) });
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let (cpu_before, started) = (cpu_seconds(), Instant::now());
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let (app, before, after) = (app.clone(), Arc::clone(&before), Arc::clone(&after));
                tokio::spawn(async move {
                    let mut stored = 0u64;
                    while Instant::now() < deadline {
                        let body = format!("{before}{}{after}", uuid::Uuid::now_v7());
                        let request = Request::post("/api/v1/submissions")
                            .header("content-type", "application/json")
                            .body(Body::from(body))
                            .expect("a request");
                        let response = app.clone().oneshot(request).await.expect("infallible");
                        if response.status() == 201 {
                            stored += 1;
                        }
                    }
                    stored
                })
            })
            .collect();
        let mut stored = 0;
        for task in tasks {
            stored += task.await?;
        }
        let (cpu, wall) = (cpu_seconds() - cpu_before, started.elapsed().as_secs_f64());
        println!(
            "in process, 64 concurrent: {:.0} durable submissions/s, {:.1} µs CPU per submission ({stored} stored)",
            stored as f64 / wall,
            cpu / stored as f64 * 1e6
        );
        drop(app);
        tokio::task::spawn_blocking(move || writer.join()).await?;
        anyhow::Ok(())
    })
}
