//! `load`: measures the collector the way consulates use it.
//!
//! Starts the real `constancia-collector` binary on loopback with a fresh
//! SQLite file and a built site, then, in one run:
//!
//! 1. durable submissions per second and p50/p99 latency with 1, 16 and 64
//!    concurrent clients (each a keep-alive HTTP/1.1 connection) posting the
//!    real case form (`bench/case-ddhh.json`, a fresh UUID each time); only
//!    201 answers count;
//! 2. the two ceilings those figures are measured against: `GET /healthz`
//!    requests per second at 64 clients (HTTP alone), and batched SQLite
//!    inserts of the same stored rows with the same settings (WAL,
//!    `synchronous=FULL`) in transactions of 1,000 (storage alone);
//! 3. the collector's peak resident memory (VmHWM).
//!
//! Prints a markdown table (for bench/README.md) and exits non-zero if a
//! request failed.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;

/// Load-test the collector with the real case form.
#[derive(Debug, Parser)]
struct Args {
    /// The collector binary (build it with --release).
    #[arg(long, default_value = "target/release/constancia-collector")]
    collector: PathBuf,
    /// A site built from forms/ (`constancia build forms --out DIR`).
    #[arg(long)]
    site: PathBuf,
    /// The answers posted (a valid caso-ddhh case).
    #[arg(long, default_value = "bench/case-ddhh.json")]
    case: PathBuf,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Measure a collector already running at this address (host:port)
    /// instead of starting one (for profiling).
    #[arg(long)]
    address: Option<String>,
    /// Threads of the load generator's runtime. One is plenty to keep 64
    /// keep-alive connections busy and leaves the other core to the
    /// collector being measured.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Measure submissions only, without the two ceilings.
    #[arg(long)]
    no_ceilings: bool,
    /// Client counts to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 16, 64])]
    clients: Vec<usize>,
}

struct Collector {
    child: Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl Collector {
    fn start(binary: &PathBuf, site: &PathBuf) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut child = Command::new(binary)
            .args(["serve", "--listen", "127.0.0.1:0", "--prefix", "BENCH", "--site"])
            .arg(site)
            .arg("--db")
            .arg(dir.path().join("bench.sqlite"))
            .env("CONSTANCIA_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("failed to start `{}`", binary.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let address = line
            .trim()
            .rsplit("http://")
            .next()
            .map(|a| a.trim_end_matches('/').to_owned())
            .filter(|a| !a.is_empty())
            .context("the collector did not say where it listens")?;
        Ok(Self { child, address, _dir: dir })
    }

    /// The collector's CPU time so far, in seconds.
    fn cpu_seconds(&self) -> f64 {
        cpu_seconds(&self.child.id().to_string())
    }

    fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Default)]
struct Tally {
    ok: u64,
    failed: u64,
    latencies_us: Vec<u32>,
}

/// Makes the bytes of one whole HTTP/1.1 request.
type MakeRequest = Arc<dyn Fn(&mut Vec<u8>) + Send + Sync>;

/// One keep-alive connection sending requests one after another. Requests
/// are written as prepared bytes and responses read with `httparse`: the
/// generator shares the machine with the collector, so it spends as little
/// CPU per request as it can (about a third of a hyper client's).
async fn client(address: String, make: MakeRequest, expect: u16, stop: Arc<AtomicBool>) -> anyhow::Result<Tally> {
    use tokio::io::AsyncWriteExt as _;
    let mut stream = tokio::net::TcpStream::connect(&address).await?;
    stream.set_nodelay(true)?;
    let mut tally = Tally::default();
    let mut request = Vec::with_capacity(8192);
    let mut buffer = vec![0u8; 16 * 1024];
    while !stop.load(Ordering::Relaxed) {
        request.clear();
        make(&mut request);
        let started = Instant::now();
        stream.write_all(&request).await?;
        let status = read_response(&mut stream, &mut buffer).await?;
        let elapsed = started.elapsed();
        if status == expect {
            tally.ok += 1;
            tally.latencies_us.push(u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX));
        } else {
            tally.failed += 1;
        }
    }
    Ok(tally)
}

/// Reads one response (head and a `Content-Length` body) and returns its
/// status. The collector answers with lengths, never chunked, on these paths.
async fn read_response(stream: &mut tokio::net::TcpStream, buffer: &mut Vec<u8>) -> anyhow::Result<u16> {
    use tokio::io::AsyncReadExt as _;
    let mut filled = 0;
    loop {
        if filled == buffer.len() {
            buffer.resize(buffer.len() * 2, 0);
        }
        let read = stream.read(&mut buffer[filled..]).await?;
        if read == 0 {
            bail!("the collector closed the connection");
        }
        filled += read;
        let (head, status, length) = {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            let httparse::Status::Complete(head) = response.parse(&buffer[..filled])? else { continue };
            let length: usize = response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
                .context("a response without Content-Length")?;
            (head, response.code.context("a status")?, length)
        };
        let mut remaining = (head + length).saturating_sub(filled);
        while remaining > 0 {
            let chunk = remaining.min(buffer.len());
            let read = stream.read(&mut buffer[..chunk]).await?;
            if read == 0 {
                bail!("the collector closed the connection mid-body");
            }
            remaining -= read;
        }
        if filled > head + length {
            bail!("unexpected bytes after a response");
        }
        return Ok(status);
    }
}

struct Measured {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    failed: u64,
    /// The load generator's own CPU time per request (µs).
    generator_cpu_us: f64,
}

/// The CPU time this process has used so far, in seconds.
fn own_cpu_seconds() -> f64 {
    cpu_seconds("self")
}

/// The CPU time a process (`self` or a pid) has used so far, in seconds.
fn cpu_seconds(process: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{process}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

async fn measure(
    address: &str,
    clients: usize,
    seconds: u64,
    expect: u16,
    make: MakeRequest,
) -> anyhow::Result<Measured> {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let cpu_before = own_cpu_seconds();
    let tasks: Vec<_> = (0..clients)
        .map(|_| tokio::spawn(client(address.to_owned(), Arc::clone(&make), expect, Arc::clone(&stop))))
        .collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Tally::default();
    for task in tasks {
        let tally = task.await??;
        all.ok += tally.ok;
        all.failed += tally.failed;
        all.latencies_us.extend(tally.latencies_us);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let generator_cpu_us = (own_cpu_seconds() - cpu_before) / (all.ok + all.failed).max(1) as f64 * 1e6;
    all.latencies_us.sort_unstable();
    let percentile = |p: f64| -> f64 {
        if all.latencies_us.is_empty() {
            return 0.0;
        }
        let index = ((all.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        f64::from(all.latencies_us[index]) / 1000.0
    };
    Ok(Measured {
        per_second: all.ok as f64 / elapsed,
        p50_ms: percentile(0.50),
        p99_ms: percentile(0.99),
        failed: all.failed,
        generator_cpu_us,
    })
}

/// Batched inserts of `count` rows like the collector stores (`answers`
/// encoded as it encodes them), in a fresh file with the collector's
/// settings: the storage ceiling.
fn sqlite_ceiling(answers: &[u8], count: usize) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let connection = rusqlite::Connection::open(dir.path().join("ceiling.sqlite"))?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    // The collector's tables; ids filed in bulk once as many have gathered
    // as make the collector file them (checked after each 1,000 rows), into an
    // index in a file of its own, as it does (there on a thread of its own).
    connection.execute_batch(
        "CREATE TABLE submissions (
            seq INTEGER PRIMARY KEY, submission_id TEXT NOT NULL, reference TEXT NOT NULL UNIQUE,
            form_id TEXT NOT NULL, version INTEGER NOT NULL, lang TEXT NOT NULL, content_sha256 TEXT NOT NULL,
            request_sha256 TEXT, answers BLOB NOT NULL, answers_format TEXT NOT NULL, received_at TEXT NOT NULL,
            completed_at TEXT, channel TEXT NOT NULL) STRICT;
         CREATE INDEX submissions_by_form ON submissions (form_id, version, seq);",
    )?;
    let mut index = rusqlite::Connection::open(dir.path().join("ceiling.sqlite-ids"))?;
    index.pragma_update(None, "journal_mode", "WAL")?;
    index.pragma_update(None, "synchronous", "NORMAL")?;
    index.execute_batch(
        "CREATE TABLE submission_ids (submission_id TEXT PRIMARY KEY, seq INTEGER NOT NULL) STRICT, WITHOUT ROWID;",
    )?;
    let started = Instant::now();
    let mut connection = connection;
    let mut unfiled: Vec<(String, i64)> = Vec::new();
    for batch in 0..count.div_ceil(1000) {
        let transaction = connection.transaction()?;
        {
            let mut insert = transaction.prepare_cached(
                "INSERT INTO submissions (submission_id, reference, form_id, version, lang, content_sha256, request_sha256,
                 answers, answers_format, received_at, completed_at, channel)
                 VALUES (?1, ?2, 'caso-ddhh', 1, 'es', ?3, ?3, ?4, ?5, '2026-11-27T09:00:00.000Z', NULL, 'api')",
            )?;
            for i in 0..1000 {
                let n = batch * 1000 + i;
                let id = uuid::Uuid::new_v4().to_string();
                insert.execute(rusqlite::params![
                    id,
                    format!("BENCH-2026-{n:06}"),
                    format!("{n:064x}"),
                    answers,
                    collector::encoding::ANSWERS_FORMAT,
                ])?;
                unfiled.push((id, transaction.last_insert_rowid()));
            }
        }
        transaction.commit()?;
        if unfiled.len() >= collector::ids::FILE_IDS_AT {
            unfiled.sort_unstable();
            let filing = index.transaction()?;
            {
                let mut insert =
                    filing.prepare_cached("INSERT INTO submission_ids (submission_id, seq) VALUES (?1, ?2)")?;
                for (id, seq) in unfiled.drain(..) {
                    insert.execute(rusqlite::params![id, seq])?;
                }
            }
            filing.commit()?;
        }
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let case: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&args.case).with_context(|| format!("failed to read `{}`", args.case.display()))?,
    )?;
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(args.threads.max(1)).enable_all().build()?;
    let collector = match &args.address {
        Some(_) => None,
        None => Some(Collector::start(&args.collector, &args.site)?),
    };
    let address = args.address.clone().or_else(|| collector.as_ref().map(|c| c.address.clone())).unwrap_or_default();
    println!(
        "| measurement | clients | per second | p50 (ms) | p99 (ms) | collector CPU (µs/request) | generator CPU (µs/request) |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut failures = 0;
    for &clients in &args.clients {
        // The headers that change the answer are those of a browser's
        // `fetch`, which always asks for compression. The body is built once
        // around a placeholder; each request only splices in a fresh id, so
        // the generator spends its CPU on HTTP, not on JSON, and leaves the
        // rest to the collector being measured.
        let template = constancia_bench::submission_template(&case);
        let (before, after) = template.split_once("00000000-0000-0000-0000-000000000000").context("placeholder")?;
        let (before, after) = (before.to_owned(), after.to_owned());
        let head = format!(
            "POST /api/v1/submissions HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\n\
             accept-encoding: gzip, deflate, br, zstd\r\ncontent-length: {}\r\n\r\n",
            before.len() + 36 + after.len()
        );
        let make: MakeRequest = Arc::new(move |request: &mut Vec<u8>| {
            // Random (UUID v4), as the pages make them (`crypto.randomUUID`):
            // each lands anywhere in the database's unique index.
            let id = uuid::Uuid::new_v4();
            request.extend_from_slice(head.as_bytes());
            request.extend_from_slice(before.as_bytes());
            request.extend_from_slice(id.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()).as_bytes());
            request.extend_from_slice(after.as_bytes());
        });
        let collector_cpu_before = collector.as_ref().map(Collector::cpu_seconds);
        let result = runtime.block_on(measure(&address, clients, args.seconds, 201, make))?;
        failures += result.failed;
        let collector_cpu = match (collector.as_ref().map(Collector::cpu_seconds), collector_cpu_before) {
            (Some(after), Some(before)) => {
                format!("{:.0}", (after - before) / (result.per_second * args.seconds as f64).max(1.0) * 1e6)
            }
            _ => "–".to_owned(),
        };
        println!(
            "| durable submissions (201) | {clients} | {:.0} | {:.2} | {:.2} | {collector_cpu} | {:.0} |",
            result.per_second, result.p50_ms, result.p99_ms, result.generator_cpu_us
        );
    }
    if args.no_ceilings {
        if failures > 0 {
            bail!("{failures} request(s) did not get the expected status");
        }
        return Ok(());
    }
    let healthz_request = format!("GET /healthz HTTP/1.1\r\nhost: {address}\r\n\r\n");
    let healthz: MakeRequest =
        Arc::new(move |request: &mut Vec<u8>| request.extend_from_slice(healthz_request.as_bytes()));
    let result = runtime.block_on(measure(&address, 64, args.seconds, 200, healthz))?;
    failures += result.failed;
    println!(
        "| ceiling: GET /healthz | 64 | {:.0} | {:.2} | {:.2} | – | {:.0} |",
        result.per_second, result.p50_ms, result.p99_ms, result.generator_cpu_us
    );
    // The case as the collector stores it: validated, packed, compressed.
    let manifest_path = args.site.join("forms/caso-ddhh/1.json");
    let manifest: constancia::manifest::Manifest = serde_json::from_str(
        &std::fs::read_to_string(&manifest_path)
            .with_context(|| format!("failed to read `{}`", manifest_path.display()))?,
    )?;
    let dictionary = collector::encoding::packed_dictionary(&manifest);
    let form = constancia::validate::Form::new(manifest);
    let today = jiff::civil::date(2026, 11, 20);
    let answers =
        constancia::validate::validate(&form, constancia::validate::Input::JsonText(&case.to_string()), "es", today)
            .map_err(|errors| anyhow::anyhow!("the case does not validate: {errors:?}"))?;
    let stored = collector::encoding::encode(form.layout(), &answers, &dictionary).stored;
    let inserts = sqlite_ceiling(&stored, 100_000)?;
    println!("| ceiling: batched SQLite inserts (1,000 per transaction) | – | {inserts:.0} | – | – | – | – |");
    match collector.as_ref().and_then(Collector::peak_rss_kib) {
        Some(kib) => println!("\ncollector peak RSS (VmHWM): {:.1} MB", kib as f64 / 1024.0),
        None => println!("\ncollector peak RSS: not available"),
    }
    if failures > 0 {
        bail!("{failures} request(s) did not get the expected status");
    }
    Ok(())
}
