//! The collector killed with SIGKILL under load: every submission that was
//! acknowledged (a 2xx) must be in the database after a restart, with the
//! reference it was given, none twice, and the file must pass
//! `PRAGMA integrity_check`.
//!
//! Sixteen threads post valid cases with fresh ids (and now and then a
//! retry of one already acknowledged) while the main thread kills the
//! collector at a chosen moment; this runs three times on the same
//! database, killing at different moments. SIGKILL leaves the operating
//! system's page cache intact, so this proves that an answer is sent only
//! after the commit, not that the disk keeps what it was told to (that is
//! `synchronous=FULL`, checked here as a setting).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use constancia_tests::collector::{Collector, Workplace, case, open_db, submission};
use serde_json::Value;

const CLIENTS: usize = 16;

/// Acknowledgements a round waits for, whatever its kill moment.
const MIN_ACKNOWLEDGED: usize = 20;

/// What the clients of one round saw.
#[derive(Default)]
struct Round {
    /// Acknowledged submissions: id → reference.
    acknowledged: BTreeMap<String, String>,
    /// Retries answered 200.
    retries: usize,
    /// Anything else the collector answered while it was up.
    unexpected: Vec<String>,
}

/// Posts cases from `CLIENTS` threads until the collector is killed `after`
/// the start; returns what was acknowledged.
fn load_then_kill(collector: &mut Collector, after: Duration, round: usize) -> Round {
    let killing = AtomicBool::new(false);
    let results = Mutex::new(Round::default());
    let sent = AtomicUsize::new(0);
    let acknowledged = AtomicUsize::new(0);
    let answers = case();
    std::thread::scope(|scope| {
        let this = &*collector;
        for client in 0..CLIENTS {
            let (killing, results, sent, acknowledged, answers) = (&killing, &results, &sent, &acknowledged, &answers);
            scope.spawn(move || {
                let mut mine: Vec<(Value, String)> = Vec::new();
                let mut n = 0usize;
                loop {
                    n += 1;
                    let retry = n.is_multiple_of(5) && !mine.is_empty();
                    let body = if retry { mine[n % mine.len()].0.clone() } else { submission(answers) };
                    let id = body["submission_id"].as_str().expect("an id").to_owned();
                    sent.fetch_add(1, Ordering::Relaxed);
                    let reply = this.try_request(
                        "POST",
                        "/api/v1/submissions",
                        &[("content-type", "application/json")],
                        body.to_string().as_bytes(),
                    );
                    let mut results = results.lock().expect("the results");
                    match reply {
                        Ok(reply) if reply.status == 201 && !retry => {
                            let reference = reply.json()["reference"].as_str().expect("a reference").to_owned();
                            results.acknowledged.insert(id, reference.clone());
                            acknowledged.fetch_add(1, Ordering::SeqCst);
                            mine.push((body, reference));
                        }
                        Ok(reply) if reply.status == 200 && retry => {
                            let reference = reply.json()["reference"].as_str().unwrap_or_default().to_owned();
                            let first = &mine[n % mine.len()].1;
                            if &reference != first {
                                results.unexpected.push(format!("a retry got {reference}, first {first}"));
                            }
                            results.retries += 1;
                        }
                        Ok(reply) => results.unexpected.push(format!(
                            "round {round}, client {client}: {} for a {}: {}",
                            reply.status,
                            if retry { "retry" } else { "new case" },
                            reply.text()
                        )),
                        // Once the kill is under way, failures are expected.
                        Err(_) if killing.load(Ordering::SeqCst) => break,
                        Err(error) => results.unexpected.push(format!("round {round}, client {client}: {error}")),
                    }
                    if killing.load(Ordering::SeqCst) {
                        break;
                    }
                }
            });
        }
        std::thread::sleep(after);
        // On a slow machine, wait for some acknowledgements: a round that
        // kills before any proves nothing.
        let started = std::time::Instant::now();
        while acknowledged.load(Ordering::SeqCst) < MIN_ACKNOWLEDGED && started.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(5));
        }
        killing.store(true, Ordering::SeqCst);
        // Scoped threads hold `&Collector`; the kill goes through the pid.
        let status =
            std::process::Command::new("kill").args(["-KILL", &this.pid().to_string()]).status().expect("kill runs");
        assert!(status.success(), "SIGKILL was sent");
    });
    collector.wait();
    let round_results = results.into_inner().expect("the results");
    assert!(sent.load(Ordering::Relaxed) > 0);
    round_results
}

#[test]
fn every_acknowledged_submission_survives_sigkill_under_load() {
    let place = Workplace::real_forms();
    let mut collector = Collector::start(place.options("CRASH"));
    let mut acknowledged: BTreeMap<String, String> = BTreeMap::new();
    for (round, after) in
        [Duration::from_millis(300), Duration::from_millis(1100), Duration::from_millis(700)].into_iter().enumerate()
    {
        let results = load_then_kill(&mut collector, after, round);
        assert!(
            results.unexpected.is_empty(),
            "round {round}:\n{}\n{}",
            results.unexpected.join("\n"),
            collector.log()
        );
        assert!(
            results.acknowledged.len() >= MIN_ACKNOWLEDGED,
            "round {round}: only {} acknowledged before the kill",
            results.acknowledged.len()
        );
        assert!(results.retries > 0 || round == 0, "round {round}: retries were exercised");
        for (id, reference) in results.acknowledged {
            assert!(acknowledged.insert(id, reference).is_none(), "a fresh id was acknowledged twice");
        }
        collector.restart();

        // Every acknowledged case is there with its reference; none twice.
        let connection = open_db(&place.db());
        let rows: BTreeMap<String, String> = connection
            .prepare("SELECT submission_id, reference FROM submissions")
            .expect("a query")
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("rows");
        for (id, reference) in &acknowledged {
            assert_eq!(rows.get(id), Some(reference), "round {round}: acknowledged `{id}` lost or changed");
        }
        let (count, ids, references): (i64, i64, i64) = connection
            .query_row(
                "SELECT count(*), count(DISTINCT submission_id), count(DISTINCT reference) FROM submissions",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .expect("counts");
        assert_eq!((ids, references), (count, count), "round {round}: a submission or a reference twice");
        let integrity: String =
            connection.query_row("PRAGMA integrity_check", [], |row| row.get(0)).expect("integrity_check");
        assert_eq!(integrity, "ok", "round {round}");
        let journal: String = connection.query_row("PRAGMA journal_mode", [], |row| row.get(0)).expect("journal");
        assert_eq!(journal, "wal");
        drop(connection);

        // The restarted collector knows them too (retries get their receipt)
        // and numbers new cases after the highest reference.
        for (id, reference) in acknowledged.iter().step_by(acknowledged.len() / 10 + 1) {
            let receipt = collector.get(&format!("/receipt/{id}"));
            assert_eq!(receipt.status, 200, "round {round}: the receipt of `{id}`");
            assert!(receipt.text().contains(reference.as_str()), "round {round}: the receipt shows {reference}");
        }
        let highest = rows.values().filter_map(|r| r.rsplit('-').next()?.parse::<u64>().ok()).max().unwrap_or(0);
        let reply = collector.submit(&submission(&case()));
        assert_eq!(reply.status, 201, "{}", reply.text());
        let next = reply.json()["reference"].as_str().and_then(|r| r.rsplit('-').next()?.parse::<u64>().ok());
        assert!(next.is_some_and(|n| n > highest), "round {round}: a new reference after {highest}, got {next:?}");
    }
    eprintln!("crash test: {} acknowledged submissions over three kills", acknowledged.len());
}
