//! The index of stored submission ids, in a file of its own beside the
//! database: `<database>-ids`, like SQLite's own `-wal` and `-shm`.
//!
//! Idempotency needs every stored id found at once, and ids are random
//! (`crypto.randomUUID()` in the pages). An index on them puts each new id
//! on a random page: one more 4 KiB page written per submission, to the
//! WAL and again at the checkpoint, on the commits submissions wait for.
//! So the writer keeps the ids it stores in memory ([`RecentIds`]) and a
//! filer thread files them in bulk, sorted, once [`FILE_IDS_AT`] have
//! gathered: a filing touches each page of the index at most once.
//!
//! The index has a file of its own because SQLite has one writer per file:
//! a filing (a tenth of a second on a large index) runs beside the writer
//! instead of holding it. Filing ids in chunks within the writer's own
//! commits, as the previous release did, touched nearly a page per id once
//! the index outgrew a chunk, and cost a tenth of the throughput at 100,000
//! submissions (bench/README.md, "Collector").
//!
//! The index is derived data; the database is the record. The index notes
//! how far it has filed (`filed`: the last submission's sequence number and
//! id), and at every start files what the database holds beyond that; it
//! is rebuilt whole when it is missing, unreadable, or notes a submission
//! its database does not hold (a database restored from a backup, or
//! another one). So it needs no fsync of its own (`synchronous=NORMAL`: a
//! crash may lose its last filings, which the next start files again), and
//! a backup of the database file alone loses nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{JoinHandle, Thread};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use rusqlite_migration::{M, Migrations};

use crate::store::StoreError;

/// How many ids gather in memory before they are filed: about a second of
/// submissions at full load, 1–2 MB (twice that while a filing runs).
pub const FILE_IDS_AT: usize = 16_384;

/// How long a connection to the index waits for another's lock (the
/// filer's checkpoints, a reader's snapshot) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the checkpoint after a filing waits for readers to move on.
const CHECKPOINT_WAIT: Duration = Duration::from_millis(200);

/// How often the filer looks at the gathered ids without being woken.
const FILER_IDLE: Duration = Duration::from_secs(1);

const MIGRATIONS: &[M<'static>] = &[M::up(
    "CREATE TABLE submission_ids (
        submission_id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE filed (
        through INTEGER NOT NULL,
        through_id TEXT
    ) STRICT;
    INSERT INTO filed (through, through_id) VALUES (0, NULL);",
)];

/// The index file of the database at `database`.
pub fn index_path(database: &Path) -> PathBuf {
    let mut name = database.file_name().unwrap_or_default().to_owned();
    name.push("-ids");
    database.with_file_name(name)
}

type IdMap = HashMap<String, i64>;

/// The ids stored but not yet filed in the index, by id: sequence number.
/// Together with the index it knows every stored id: ids enter it after
/// their commit, before anyone hears of them, and leave it only after the
/// filing that holds them is committed. So whoever looks here first and
/// then in the index (a new read of it) finds every stored id.
#[derive(Default)]
pub struct RecentIds(Mutex<Recent>);

#[derive(Default)]
struct Recent {
    /// Stored since the filing in progress began.
    gathering: IdMap,
    /// Being filed; kept until that filing is committed.
    filing: Arc<IdMap>,
}

impl RecentIds {
    /// A poisoned lock means a thread panicked while holding it: the ids
    /// may be incomplete, so the caller stores nothing rather than a twin.
    fn lock(&self) -> Result<MutexGuard<'_, Recent>, StoreError> {
        self.0.lock().map_err(|_| StoreError::Task)
    }

    /// The sequence number of a stored id not yet filed.
    pub fn get(&self, submission_id: &str) -> Result<Option<i64>, StoreError> {
        let recent = self.lock()?;
        Ok(recent.gathering.get(submission_id).or_else(|| recent.filing.get(submission_id)).copied())
    }

    /// Adds the ids of a committed batch; whether enough have gathered to
    /// file them.
    pub fn add(&self, ids: impl IntoIterator<Item = (String, i64)>) -> Result<bool, StoreError> {
        let mut recent = self.lock()?;
        recent.gathering.extend(ids);
        Ok(recent.gathering.len() >= FILE_IDS_AT)
    }

    /// How many ids are not filed yet.
    pub fn len(&self) -> usize {
        self.lock().map_or(0, |recent| recent.gathering.len() + recent.filing.len())
    }

    /// Whether every stored id is filed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ids to file now: those of a filing that failed, else the
    /// gathered ones once there are enough (any, with `all`).
    fn to_file(&self, all: bool) -> Result<Option<Arc<IdMap>>, StoreError> {
        let mut recent = self.lock()?;
        if recent.filing.is_empty() {
            if recent.gathering.is_empty() || (!all && recent.gathering.len() < FILE_IDS_AT) {
                return Ok(None);
            }
            recent.filing = Arc::new(std::mem::take(&mut recent.gathering));
        }
        Ok(Some(Arc::clone(&recent.filing)))
    }

    /// Forgets the ids of a committed filing.
    fn filed(&self) -> Result<(), StoreError> {
        self.lock()?.filing = Arc::default();
        Ok(())
    }
}

/// Opens the index of the database at `database` (its schema current),
/// files what it lacks (rebuilding it if it cannot be trusted), and starts
/// the filer. Returns the ids not yet filed (none, at the start), a
/// connection for the writer's lookups, and the filer.
pub fn open(database: &Path) -> Result<(Arc<RecentIds>, Connection, Filer), StoreError> {
    let path = index_path(database);
    let connection = match open_index(&path, database) {
        Ok(connection) => connection,
        Err(error) => {
            tracing::warn!(%error, index = %path.display(), "the id index cannot be used; rebuilding it from the database");
            remove_index(&path)?;
            open_index(&path, database)?
        }
    };
    let lookups = Connection::open(&path)?;
    lookups.busy_timeout(BUSY_TIMEOUT)?;
    let recent = Arc::new(RecentIds::default());
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let (recent, stop) = (Arc::clone(&recent), Arc::clone(&stop));
        std::thread::Builder::new()
            .name("id-filer".into())
            .spawn(move || filer_loop(connection, &recent, &stop))
            .map_err(|_| StoreError::WriterGone)?
    };
    Ok((recent, lookups, Filer { thread, stop }))
}

/// Deletes the index and its journal files.
fn remove_index(path: &Path) -> Result<(), StoreError> {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::remove_file(&name) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(StoreError::File(PathBuf::from(name), error)),
        }
    }
    Ok(())
}

fn open_index(path: &Path, database: &Path) -> Result<Connection, StoreError> {
    let mut connection = Connection::open(path)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    Migrations::from_slice(MIGRATIONS).to_latest(&mut connection)?;
    let caught_up = catch_up(&mut connection, database);
    // Detached whatever happened, so the filer's transactions stay on
    // the index alone.
    connection.execute("DETACH DATABASE store", []).ok();
    let filed = caught_up?;
    if filed > 0 {
        tracing::info!(filed, "filed the ids of submissions stored since the index was last written");
    }
    Ok(connection)
}

/// Files the ids of the submissions stored after the index's last filing,
/// after rebuilding it if it notes a submission the database does not
/// hold. An id already filed for another submission is an error.
fn catch_up(connection: &mut Connection, database: &Path) -> Result<usize, StoreError> {
    let database = database.to_str().ok_or_else(|| StoreError::NotUtf8(database.to_owned()))?;
    connection.execute("ATTACH DATABASE ?1 AS store", [database])?;
    let transaction = connection.transaction()?;
    let (through, through_id): (i64, Option<String>) =
        transaction.query_row("SELECT through, through_id FROM filed", [], |row| Ok((row.get(0)?, row.get(1)?)))?;
    let holds: Option<String> = transaction
        .query_row("SELECT submission_id FROM store.submissions WHERE seq = ?1", [through], |row| row.get(0))
        .optional()?;
    let from = if through == 0 || (through_id.is_some() && holds == through_id) {
        through
    } else {
        tracing::warn!(through, "the id index does not match the database; rebuilding it");
        transaction.execute("DELETE FROM submission_ids", [])?;
        0
    };
    let filed = transaction.execute(
        "INSERT INTO submission_ids (submission_id, seq)
         SELECT submission_id, seq FROM store.submissions WHERE seq > ?1 ORDER BY submission_id",
        [from],
    )?;
    transaction.execute(
        "UPDATE filed SET (through, through_id) =
            (SELECT seq, submission_id FROM store.submissions ORDER BY seq DESC LIMIT 1)
         WHERE EXISTS (SELECT 1 FROM store.submissions)",
        [],
    )?;
    transaction.commit()?;
    Ok(filed)
}

/// The sequence number of a filed id (`lookups` from [`open`]). Read in a
/// snapshot taken after the id was looked up in [`RecentIds`], it sees every
/// filing that the id left memory for.
pub fn filed_seq(lookups: &Connection, submission_id: &str) -> Result<Option<i64>, rusqlite::Error> {
    lookups
        .prepare_cached("SELECT seq FROM submission_ids WHERE submission_id = ?1")?
        .query_row([submission_id], |row| row.get(0))
        .optional()
}

/// Attaches the index to a reader's connection as `ids`.
pub fn attach(connection: &Connection, database: &Path) -> Result<(), StoreError> {
    let path = index_path(database);
    let path = path.to_str().ok_or_else(|| StoreError::NotUtf8(database.to_owned()))?;
    connection.execute("ATTACH DATABASE ?1 AS ids", [path])?;
    Ok(())
}

/// The filer thread. [`Filer::stop`] files what is left and ends it.
pub struct Filer {
    thread: JoinHandle<()>,
    stop: Arc<AtomicBool>,
}

impl Filer {
    /// A handle that wakes the filer (unpark) when enough ids gathered.
    pub fn waker(&self) -> Thread {
        self.thread.thread().clone()
    }

    /// Files every id left and ends the thread. Call it after the writer
    /// has stopped: ids stored later would wait for the next start.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Release);
        self.thread.thread().unpark();
        if self.thread.join().is_err() {
            tracing::error!("the id filer thread panicked");
        }
    }
}

fn filer_loop(mut connection: Connection, recent: &RecentIds, stop: &AtomicBool) {
    loop {
        let stopping = stop.load(Ordering::Acquire);
        let started = std::time::Instant::now();
        match recent.to_file(stopping) {
            Ok(Some(ids)) => match file(&mut connection, &ids).and_then(|()| recent.filed()) {
                Ok(()) => tracing::debug!(
                    filed = ids.len(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "filed submission ids"
                ),
                // They stay in memory, found there, and are tried again.
                Err(error) => tracing::error!(%error, "cannot file submission ids; they stay in memory"),
            },
            Ok(None) => {}
            Err(error) => {
                tracing::error!(%error, "the ids in memory cannot be read; the next start files them");
                return;
            }
        }
        if stopping {
            return;
        }
        std::thread::park_timeout(FILER_IDLE);
    }
}

/// Files `ids` in one transaction, in id order, and notes the last
/// submission filed. They are all the ids stored since the previous
/// filing (the writer adds a batch's ids at once, in commit order), so
/// every submission up to that last one is filed.
fn file(connection: &mut Connection, ids: &IdMap) -> Result<(), StoreError> {
    let mut sorted: Vec<(&String, &i64)> = ids.iter().collect();
    sorted.sort_unstable();
    let Some((last_id, last)) = ids.iter().max_by_key(|(_, seq)| **seq) else { return Ok(()) };
    let transaction = connection.transaction()?;
    {
        let mut insert =
            transaction.prepare_cached("INSERT INTO submission_ids (submission_id, seq) VALUES (?1, ?2)")?;
        for (id, seq) in sorted {
            insert.execute(params![id, seq])?;
        }
    }
    transaction.execute("UPDATE filed SET through = ?1, through_id = ?2 WHERE through < ?1", params![last, last_id])?;
    transaction.commit()?;
    // The filing is committed whatever becomes of the checkpoint: a
    // failure there must not have the same ids filed again.
    match restart_wal(connection) {
        Ok(true) => {}
        Ok(false) => tracing::debug!("the id index's WAL could not start over after a filing; the next one will try"),
        Err(error) => tracing::warn!(%error, "cannot checkpoint the id index after a filing"),
    }
    Ok(())
}

/// Checkpoints the index so that its WAL starts over; false when a reader
/// held on. The writer reads the index in a snapshot per batch, nearly
/// without pause: the automatic checkpoint, which gives way to readers,
/// could leave the WAL to grow by a filing each time. This one waits for
/// them, briefly (a batch reads for a millisecond or so).
fn restart_wal(connection: &Connection) -> Result<bool, rusqlite::Error> {
    connection.busy_timeout(CHECKPOINT_WAIT)?;
    let blocked = connection.query_row("PRAGMA wal_checkpoint(RESTART)", [], |row| row.get::<_, i64>(0));
    connection.busy_timeout(BUSY_TIMEOUT)?;
    Ok(blocked? == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        assert!(Migrations::from_slice(MIGRATIONS).validate().is_ok());
    }

    #[test]
    fn the_index_sits_beside_its_database() {
        assert_eq!(index_path(Path::new("data/constancia.sqlite")), Path::new("data/constancia.sqlite-ids"));
        assert_eq!(index_path(Path::new("c.sqlite")), Path::new("c.sqlite-ids"));
    }
}
