//! Storage: the one narrow boundary between the collector and its database.
//!
//! Everything the rest of the collector asks of storage goes through
//! [`Store`]: submit, look a submission up, store a manifest, list manifests,
//! and stream an export. Behind it is one SQLite file in WAL mode with
//! `synchronous=FULL`:
//!
//! - **One writer thread** owns the only write connection. It takes every
//!   job queued, runs them in one transaction, commits (one fsync for the
//!   batch: group commit), and only then answers each caller. A submission is
//!   acknowledged only once durable, and durability does not cost throughput.
//! - **Readers** use their own read-only connections from a small pool.
//!
//! Reference numbers (`PREFIX-YYYY-NNNNNN`) are allocated in the writer's
//! transaction, so they are unique and never reused, even after a crash.
//! Submission ids are unique because the writer alone stores them and
//! looks each up first: in the ids it stored lately (kept in memory) and
//! in the index of ids that a thread of its own files them in, in bulk,
//! in a file beside the database ([`crate::ids`]).
//! What it deliberately does not do: interpret answers (validation happens
//! before), or hold submissions in memory after they are answered.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use rusqlite_migration::{M, Migrations};
use tokio::sync::{mpsc, oneshot};

use crate::encoding::{ANSWERS_FORMAT, StoredForms};
use crate::ids::{self, Filer, RecentIds};

/// The schema, one migration per step; the version lives in `user_version`.
///
/// `submissions.answers` holds the validated answers in one of the
/// `answers_format`s of [`crate::encoding`]. `request_sha256` is the hash
/// of a JSON submission's body as sent (rows stored before the collector
/// read requests in one pass: of its form, version, language, completion
/// time and answers as sent), beside the hash of what is stored: it
/// recognises a byte-identical retry that no longer validates (judged by
/// another day's rules).
///
/// Migrations 2 and 3 admit the second and third formats, `json+lz4+dict1`
/// and `packed1+lz4+dict2`. SQLite cannot change a CHECK constraint in
/// place, so the table is rebuilt (its rows copied as they are: a large
/// database takes a while, once, at the first start of the release).
///
/// Migration 3 also moves the uniqueness of submission ids out of the
/// table into `submission_ids`, which the writer fills in bulk
/// ([`RecentIds`]). Ids are random (`crypto.randomUUID` in the pages), so a
/// unique index on them took every new row to a random page of the index:
/// each commit wrote about one more 4 KiB page per submission, to the WAL
/// and again to the database file, which cost a quarter of the collector's
/// throughput under load (bench/README.md, "Collector").
///
/// Migration 4 moves that index into a file of its own ([`crate::ids`]),
/// filed beside the writer instead of within its commits; the first start
/// builds it from `submissions`.
///
/// Migration 5 spells the formats' CHECK as comparisons joined by OR, the
/// same rule: SQLite evaluates `IN` with three or more constants by filling
/// a temporary b-tree, once per INSERT, which cost the writer over a third
/// of its instructions per submission (57,000 of them against 35,000 since;
/// bench/README.md, "Collector"). Keep every such list at two values or
/// write it with OR.
const MIGRATIONS: &[M<'static>] = &[
    M::up(
        "CREATE TABLE manifests (
        form_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        body TEXT NOT NULL,
        stored_at TEXT NOT NULL,
        PRIMARY KEY (form_id, version)
    ) STRICT;
    CREATE TABLE submissions (
        seq INTEGER PRIMARY KEY,
        submission_id TEXT NOT NULL UNIQUE,
        reference TEXT NOT NULL UNIQUE,
        form_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        lang TEXT NOT NULL,
        content_sha256 TEXT NOT NULL,
        request_sha256 TEXT,
        answers BLOB NOT NULL,
        answers_format TEXT NOT NULL CHECK (answers_format IN ('json+lz4')),
        received_at TEXT NOT NULL,
        completed_at TEXT,
        channel TEXT NOT NULL CHECK (channel IN ('api', 'page')),
        FOREIGN KEY (form_id, version) REFERENCES manifests (form_id, version)
    ) STRICT;
    CREATE INDEX submissions_by_form ON submissions (form_id, version, seq);
    CREATE TABLE reference_counters (
        prefix TEXT NOT NULL,
        year INTEGER NOT NULL,
        last INTEGER NOT NULL,
        PRIMARY KEY (prefix, year)
    ) STRICT;",
    ),
    M::up(
        "CREATE TABLE submissions_v2 (
        seq INTEGER PRIMARY KEY,
        submission_id TEXT NOT NULL UNIQUE,
        reference TEXT NOT NULL UNIQUE,
        form_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        lang TEXT NOT NULL,
        content_sha256 TEXT NOT NULL,
        request_sha256 TEXT,
        answers BLOB NOT NULL,
        answers_format TEXT NOT NULL CHECK (answers_format IN ('json+lz4', 'json+lz4+dict1')),
        received_at TEXT NOT NULL,
        completed_at TEXT,
        channel TEXT NOT NULL CHECK (channel IN ('api', 'page')),
        FOREIGN KEY (form_id, version) REFERENCES manifests (form_id, version)
    ) STRICT;
    INSERT INTO submissions_v2 SELECT * FROM submissions;
    DROP TABLE submissions;
    ALTER TABLE submissions_v2 RENAME TO submissions;
    CREATE INDEX submissions_by_form ON submissions (form_id, version, seq);",
    ),
    M::up(
        "CREATE TABLE submissions_v3 (
        seq INTEGER PRIMARY KEY,
        submission_id TEXT NOT NULL,
        reference TEXT NOT NULL UNIQUE,
        form_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        lang TEXT NOT NULL,
        content_sha256 TEXT NOT NULL,
        request_sha256 TEXT,
        answers BLOB NOT NULL,
        answers_format TEXT NOT NULL
            CHECK (answers_format IN ('json+lz4', 'json+lz4+dict1', 'packed1+lz4+dict2')),
        received_at TEXT NOT NULL,
        completed_at TEXT,
        channel TEXT NOT NULL CHECK (channel IN ('api', 'page')),
        FOREIGN KEY (form_id, version) REFERENCES manifests (form_id, version)
    ) STRICT;
    INSERT INTO submissions_v3 SELECT * FROM submissions;
    DROP TABLE submissions;
    ALTER TABLE submissions_v3 RENAME TO submissions;
    CREATE INDEX submissions_by_form ON submissions (form_id, version, seq);
    CREATE TABLE submission_ids (
        submission_id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL REFERENCES submissions (seq)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO submission_ids SELECT submission_id, seq FROM submissions ORDER BY submission_id;
    CREATE TABLE submission_ids_filed (through INTEGER NOT NULL) STRICT;
    INSERT INTO submission_ids_filed SELECT coalesce(max(seq), 0) FROM submissions;",
    ),
    M::up("DROP TABLE submission_ids; DROP TABLE submission_ids_filed;"),
    M::up(
        "CREATE TABLE submissions_v5 (
        seq INTEGER PRIMARY KEY,
        submission_id TEXT NOT NULL,
        reference TEXT NOT NULL UNIQUE,
        form_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        lang TEXT NOT NULL,
        content_sha256 TEXT NOT NULL,
        request_sha256 TEXT,
        answers BLOB NOT NULL,
        answers_format TEXT NOT NULL CHECK (
            answers_format = 'packed1+lz4+dict2' OR answers_format = 'json+lz4+dict1' OR answers_format = 'json+lz4'
        ),
        received_at TEXT NOT NULL,
        completed_at TEXT,
        channel TEXT NOT NULL CHECK (channel IN ('api', 'page')),
        FOREIGN KEY (form_id, version) REFERENCES manifests (form_id, version)
    ) STRICT;
    INSERT INTO submissions_v5 SELECT * FROM submissions;
    DROP TABLE submissions;
    ALTER TABLE submissions_v5 RENAME TO submissions;
    CREATE INDEX submissions_by_form ON submissions (form_id, version, seq);",
    ),
];

/// How many jobs one transaction takes at most.
const MAX_BATCH: usize = 4096;

/// How long a commit may wait for submissions still being read and
/// validated, so that they share its fsync: 7–30 % more submissions per
/// second at 64 clients in interleaved runs (bench/README.md, "Collector").
/// Only while some are on their way: a lone submission is committed at once.
const GATHER: Duration = Duration::from_micros(700);

/// How often a gathering writer looks at its queue again.
const GATHER_STEP: Duration = Duration::from_micros(100);

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("database error")]
    Sqlite(#[from] rusqlite::Error),
    /// The schema could not be brought up to date.
    #[error("cannot migrate the database")]
    Migration(#[from] rusqlite_migration::Error),
    /// The folder of the database could not be created.
    #[error("cannot create the database folder `{0}`")]
    Folder(PathBuf, #[source] std::io::Error),
    /// A file of the database could not be opened, locked or removed.
    #[error("cannot use `{0}`")]
    File(PathBuf, #[source] std::io::Error),
    /// The writer thread has stopped (shutting down, or it failed).
    #[error("the database writer has stopped")]
    WriterGone,
    /// A blocking task failed to run.
    #[error("a database task failed")]
    Task,
    /// Stored answers could not be decoded.
    #[error("stored answers cannot be read: {0}")]
    Corrupt(String),
    /// Another process holds the database: two collectors on one file
    /// would each take ids the other stored for new.
    #[error("`{0}` is in use by another collector; run one per database")]
    InUse(PathBuf),
    /// The database's path cannot be given to SQLite as text.
    #[error("the database path `{0}` is not UTF-8")]
    NotUtf8(PathBuf),
}

/// A validated submission, ready to be stored.
#[derive(Debug, Clone)]
pub struct NewSubmission {
    /// The client's UUID (or one made by the server for pages without JavaScript).
    pub submission_id: String,
    /// Form id.
    pub form_id: String,
    /// Form version.
    pub version: u32,
    /// Language the case was taken in.
    pub lang: String,
    /// SHA-256 of what is stored, with the submission's metadata (idempotency).
    pub content_sha256: String,
    /// SHA-256 of the answers as sent, with the same metadata (empty: none).
    pub request_sha256: String,
    /// The validated answers as stored ([`crate::encoding::encode`]).
    pub answers: Vec<u8>,
    /// When it arrived (RFC 3339, UTC).
    pub received_at: String,
    /// When the officer finished it, if sent.
    pub completed_at: Option<String>,
    /// `api` or `page`.
    pub channel: &'static str,
}

/// What a caller gets back for a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The human-readable reference.
    pub reference: String,
    /// When the submission was first received.
    pub received_at: String,
}

/// The outcome of storing a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// Stored now.
    Created(Receipt),
    /// Stored before with the same content (a retry).
    Existing(Receipt),
    /// The id was used before with other content.
    Conflict,
    /// The id was stored by an earlier release, whose content hash covers
    /// the answers' JSON text rather than their packed bytes: the caller
    /// compares that hash with `content_sha256` (equal: a retry).
    Earlier {
        /// The stored submission's receipt.
        receipt: Receipt,
        /// The stored content hash.
        content_sha256: String,
    },
}

/// A stored submission.
#[derive(Debug, Clone)]
pub struct SubmissionRow {
    /// The submission id.
    pub submission_id: String,
    /// The reference.
    pub reference: String,
    /// Form id.
    pub form_id: String,
    /// Form version.
    pub version: u32,
    /// Language.
    pub lang: String,
    /// The content hash.
    pub content_sha256: String,
    /// The hash of the request as sent, if recorded.
    pub request_sha256: Option<String>,
    /// Validated answers (JSON).
    pub answers: String,
    /// Received at (RFC 3339).
    pub received_at: String,
    /// Completed at (RFC 3339), if sent.
    pub completed_at: Option<String>,
}

/// A manifest as stored.
#[derive(Debug, Clone)]
pub struct StoredManifest {
    /// Form id.
    pub form_id: String,
    /// Version.
    pub version: u32,
    /// SHA-256 of the body.
    pub sha256: String,
    /// The manifest JSON.
    pub body: String,
}

/// The outcome of storing a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestStored {
    /// First time seen.
    New,
    /// Already stored with the same content.
    Same,
    /// Already stored with other content: the stored one stays.
    Different {
        /// The hash of what is stored.
        stored_sha256: String,
    },
}

enum Job {
    Submit(Box<NewSubmission>, oneshot::Sender<Result<Stored, StoreError>>),
    Manifest(StoredManifest, oneshot::Sender<Result<ManifestStored, StoreError>>),
    /// Commit what is queued, refuse anything after, and end.
    Stop,
}

/// Applies the connection settings every connection needs. Pragmas that
/// change the journal are set outside any transaction.
fn configure(connection: &Connection) -> Result<(), rusqlite::Error> {
    connection.busy_timeout(std::time::Duration::from_secs(10))?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// Opens and migrates the database ([`hold`] created it), returning the
/// writer connection.
fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    let mut connection = Connection::open(path)?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    // Most checkpointing runs on its own thread (see `checkpointer`), off
    // the commits that submissions wait for. But under sustained load that
    // thread never catches up with the last frame, and the WAL restarts
    // from its beginning only after a checkpoint that did: so the writer
    // completes one itself once the WAL holds 4,096 pages (16 MiB), by then
    // mostly copied already. Without it the WAL grew by ~60 MB a second
    // under the load benchmark, for as long as the load lasted.
    connection.pragma_update(None, "wal_autocheckpoint", WAL_PAGES_BEFORE_RESTART)?;
    // After a restart, a WAL file larger than this is truncated back.
    connection.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    configure(&connection)?;
    Migrations::from_slice(MIGRATIONS).to_latest(&mut connection)?;
    Ok(connection)
}

/// See `open_writer`.
const WAL_PAGES_BEFORE_RESTART: i64 = 4096;

/// Takes an exclusive lock on the database file (creating it and its
/// folder) for as long as the returned file is open (`flock`, which
/// SQLite's own `fcntl` locks do not see), before anything migrates or
/// writes. Idempotency rests on one writer knowing every id it stored: a
/// second collector on the same file is refused at its start.
fn hold(path: &Path) -> Result<std::fs::File, StoreError> {
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(|e| StoreError::Folder(folder.to_owned(), e))?;
    }
    // An empty file is a new database to SQLite.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| StoreError::File(path.to_owned(), e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::InUse(path.to_owned())),
        Err(std::fs::TryLockError::Error(error)) => Err(StoreError::File(path.to_owned(), error)),
    }
}

/// How soon the checkpoint thread looks again after copying frames (the
/// writer is busy: keep up with it), and after finding nothing new.
const CHECKPOINT_BUSY: Duration = Duration::from_millis(30);
const CHECKPOINT_IDLE: Duration = Duration::from_millis(500);

/// Copies committed WAL frames into the database file from its own
/// connection (PASSIVE: it never blocks the writer or readers), so the
/// writer's commits seldom pause for it. Ends when `stop` is set, after a
/// last checkpoint.
fn checkpointer(path: PathBuf, stop: Arc<AtomicBool>) {
    let connection = match Connection::open(&path).and_then(|c| configure(&c).map(|()| c)) {
        Ok(connection) => connection,
        Err(error) => {
            tracing::error!(%error, "cannot open the checkpoint connection; the writer will checkpoint alone");
            return;
        }
    };
    // Frames in the WAL at the last look: when it has not moved, the writer
    // is idle and there is nothing to copy.
    let mut last_frames = -1;
    loop {
        let stopping = stop.load(Ordering::Acquire);
        let frames = match connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get::<_, i64>(1)) {
            Ok(frames) => frames,
            Err(error) => {
                tracing::warn!(%error, "a checkpoint failed; the next one will retry");
                last_frames
            }
        };
        if stopping {
            break;
        }
        let busy = frames != last_frames;
        last_frames = frames;
        std::thread::park_timeout(if busy { CHECKPOINT_BUSY } else { CHECKPOINT_IDLE });
    }
}

fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let connection =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    configure(&connection)?;
    Ok(connection)
}

/// The handle to storage: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Store {
    path: Arc<PathBuf>,
    jobs: mpsc::Sender<Job>,
    readers: Arc<Mutex<Vec<Connection>>>,
    /// Submissions being read and validated, not yet queued.
    arriving: Arc<AtomicUsize>,
    /// Ids stored but not yet filed in the index.
    recent: Arc<RecentIds>,
}

/// A submission on its way to the writer: while any exists, a commit waits
/// a little for them (at most [`GATHER`]) so that they share its fsync.
/// Dropping it (queued, or refused) ends the wait for it. The writer is
/// not woken for each one (a wake-up per submission costs more than it
/// saves); it looks again every [`GATHER_STEP`].
pub struct Arriving(Arc<AtomicUsize>);

impl Drop for Arriving {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Owns the writer thread; [`Writer::join`] flushes what is queued and
/// stops it.
pub struct Writer {
    thread: JoinHandle<()>,
    jobs: mpsc::Sender<Job>,
    filer: Filer,
    checkpointer: JoinHandle<()>,
    stop_checkpoints: Arc<AtomicBool>,
    /// The database file, locked ([`hold`]) until the writer has stopped.
    _held: std::fs::File,
}

impl Writer {
    /// Commits every job queued so far, refuses later ones, and waits for
    /// the thread to end; then checkpoints once more. Blocks: call it off
    /// the async threads.
    pub fn join(self) {
        // If the thread is already gone there is nothing left to flush.
        let _ = self.jobs.blocking_send(Job::Stop);
        if self.thread.join().is_err() {
            tracing::error!("the database writer thread panicked");
        }
        // After the writer: it files every id stored.
        self.filer.stop();
        self.stop_checkpoints.store(true, Ordering::Release);
        self.checkpointer.thread().unpark();
        if self.checkpointer.join().is_err() {
            tracing::error!("the checkpoint thread panicked");
        }
    }
}

impl Store {
    /// Opens the database at `path` (creating it and its folder) and starts
    /// the writer thread.
    pub fn open(path: &Path, prefix: &str) -> Result<(Self, Writer), StoreError> {
        let held = hold(path)?;
        let connection = open_writer(path)?;
        let (recent, lookups, filer) = ids::open(path)?;
        let ids = Ids { recent: Arc::clone(&recent), lookups, filer: filer.waker() };
        let (jobs, receiver) = mpsc::channel(MAX_BATCH * 2);
        let prefix = prefix.to_owned();
        let arriving = Arc::new(AtomicUsize::new(0));
        let waiting_for = Arc::clone(&arriving);
        let thread = std::thread::Builder::new()
            .name("db-writer".into())
            .spawn(move || writer_loop(connection, receiver, &prefix, &waiting_for, &ids))
            .map_err(|_| StoreError::WriterGone)?;
        let stop_checkpoints = Arc::new(AtomicBool::new(false));
        let checkpointer = {
            let (path, stop) = (path.to_owned(), Arc::clone(&stop_checkpoints));
            std::thread::Builder::new()
                .name("db-checkpoint".into())
                .spawn(move || checkpointer(path, stop))
                .map_err(|_| StoreError::WriterGone)?
        };
        let store = Self {
            path: Arc::new(path.to_owned()),
            jobs: jobs.clone(),
            readers: Arc::new(Mutex::new(Vec::new())),
            arriving,
            recent,
        };
        Ok((store, Writer { thread, jobs, filer, checkpointer, stop_checkpoints, _held: held }))
    }

    /// Announces a submission that is being read and validated, so that a
    /// commit about to happen waits for it. Take it when a submission
    /// request starts; [`Store::submit`] consumes it.
    pub fn arriving(&self) -> Arriving {
        self.arriving.fetch_add(1, Ordering::AcqRel);
        Arriving(Arc::clone(&self.arriving))
    }

    /// Stores a validated submission; answers once it is durable.
    pub async fn submit(&self, submission: NewSubmission, arriving: Arriving) -> Result<Stored, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send(Job::Submit(Box::new(submission), reply)).await.map_err(|_| StoreError::WriterGone)?;
        drop(arriving);
        answer.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Stores a manifest the first time it is seen; reports when a stored
    /// one differs.
    pub async fn store_manifest(&self, manifest: StoredManifest) -> Result<ManifestStored, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send(Job::Manifest(manifest, reply)).await.map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Runs `work` on a pooled read-only connection, off the async threads.
    pub async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let path = Arc::clone(&self.path);
        let readers = Arc::clone(&self.readers);
        tokio::task::spawn_blocking(move || {
            let pooled = readers.lock().map_err(|_| StoreError::Task)?.pop();
            let connection = match pooled {
                Some(connection) => connection,
                None => {
                    let connection = open_reader(&path)?;
                    ids::attach(&connection, &path)?;
                    connection
                }
            };
            let result = work(&connection);
            if let Ok(mut pool) = readers.lock()
                && pool.len() < 8
            {
                pool.push(connection);
            }
            result
        })
        .await
        .map_err(|_| StoreError::Task)?
    }

    /// The stored submission with this id.
    pub async fn submission(&self, submission_id: String) -> Result<Option<SubmissionRow>, StoreError> {
        // Looked up before the read: an id filed since is in the index.
        let recent = self.recent.get(&submission_id)?;
        self.read(move |c| submission_by_id(c, &submission_id, recent)).await
    }

    /// Every stored manifest.
    pub async fn manifests(&self) -> Result<Vec<StoredManifest>, StoreError> {
        self.read(manifests).await
    }
}

/// The stored submission with this id; `recent` is its sequence number if
/// the writer has not filed the id yet.
fn submission_by_id(
    connection: &Connection,
    submission_id: &str,
    recent: Option<i64>,
) -> Result<Option<SubmissionRow>, StoreError> {
    let mut statement = connection.prepare_cached(
        "SELECT submission_id, reference, form_id, version, lang, content_sha256, answers, received_at, completed_at,
                request_sha256, answers_format
         FROM submissions
         WHERE seq = coalesce(?2, (SELECT seq FROM ids.submission_ids WHERE submission_id = ?1)) AND submission_id = ?1",
    )?;
    let found = statement.query_row(params![submission_id, recent], row_to_submission).optional()?;
    let Some(raw) = found else { return Ok(None) };
    Ok(Some(raw.decode(&mut StoredForms::new(connection))?))
}

/// A stored submission before its answers are decoded.
struct RawSubmission {
    row: SubmissionRow,
    format: String,
    answers: Vec<u8>,
}

impl RawSubmission {
    fn decode(mut self, forms: &mut StoredForms<'_>) -> Result<SubmissionRow, StoreError> {
        self.row.answers = forms.of(&self.row.form_id, self.row.version)?.decode(&self.format, &self.answers)?;
        Ok(self.row)
    }
}

fn row_to_submission(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawSubmission> {
    Ok(RawSubmission {
        row: SubmissionRow {
            submission_id: row.get(0)?,
            reference: row.get(1)?,
            form_id: row.get(2)?,
            version: row.get(3)?,
            lang: row.get(4)?,
            content_sha256: row.get(5)?,
            answers: String::new(),
            received_at: row.get(7)?,
            completed_at: row.get(8)?,
            request_sha256: row.get(9)?,
        },
        format: row.get(10)?,
        answers: row.get(6)?,
    })
}

/// Every stored manifest, by form and version.
pub fn manifests(connection: &Connection) -> Result<Vec<StoredManifest>, StoreError> {
    let mut statement =
        connection.prepare_cached("SELECT form_id, version, sha256, body FROM manifests ORDER BY form_id, version")?;
    let rows = statement.query_map([], |row| {
        Ok(StoredManifest { form_id: row.get(0)?, version: row.get(1)?, sha256: row.get(2)?, body: row.get(3)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Calls `each` with every submission of a form (optionally one version),
/// in the order received, without loading them all at once.
pub fn for_each_submission(
    connection: &Connection,
    form_id: &str,
    version: Option<u32>,
    mut each: impl FnMut(SubmissionRow) -> anyhow::Result<()>,
) -> anyhow::Result<usize> {
    let mut statement = connection.prepare(
        "SELECT submission_id, reference, form_id, version, lang, content_sha256, answers, received_at, completed_at,
                request_sha256, answers_format
         FROM submissions WHERE form_id = ?1 AND (?2 IS NULL OR version = ?2) ORDER BY seq",
    )?;
    let mut rows = statement.query(params![form_id, version])?;
    let mut forms = StoredForms::new(connection);
    let mut count = 0;
    while let Some(row) = rows.next()? {
        each(row_to_submission(row)?.decode(&mut forms)?)?;
        count += 1;
    }
    Ok(count)
}

/// Opens a database read-only, for the `export` command.
pub fn open_read_only(path: &Path) -> Result<Connection, StoreError> {
    if !path.is_file() {
        return Err(StoreError::Sqlite(rusqlite::Error::InvalidPath(path.to_owned())));
    }
    open_reader(path)
}

/// The next reference numbers, per year, as the writer allocates them.
struct Counters {
    prefix: String,
    last: HashMap<i64, i64>,
}

impl Counters {
    fn next(&mut self, transaction: &Connection, year: i64) -> Result<(i64, String), rusqlite::Error> {
        let last = match self.last.get(&year) {
            Some(last) => *last,
            None => transaction
                .prepare_cached("SELECT last FROM reference_counters WHERE prefix = ?1 AND year = ?2")?
                .query_row(params![self.prefix, year], |row| row.get(0))
                .optional()?
                .unwrap_or(0),
        };
        let next = last + 1;
        self.last.insert(year, next);
        Ok((next, format!("{}-{year}-{next:06}", self.prefix)))
    }

    /// Gives back a number whose insert failed, so numbering has no gaps.
    fn give_back(&mut self, year: i64, number: i64) {
        if self.last.get(&year) == Some(&number) {
            self.last.insert(year, number - 1);
        }
    }

    fn save(&self, transaction: &rusqlite::Transaction<'_>) -> Result<(), rusqlite::Error> {
        let mut statement = transaction.prepare_cached(
            "INSERT INTO reference_counters (prefix, year, last) VALUES (?1, ?2, ?3)
             ON CONFLICT (prefix, year) DO UPDATE SET last = excluded.last",
        )?;
        for (year, last) in &self.last {
            statement.execute(params![self.prefix, year, last])?;
        }
        Ok(())
    }
}

fn year_of(timestamp: &str) -> i64 {
    timestamp.get(..4).and_then(|y| y.parse().ok()).unwrap_or(0)
}

/// Takes every job queued now into `batch`; whether a stop was asked.
fn drain(receiver: &mut mpsc::Receiver<Job>, batch: &mut Vec<Job>) -> bool {
    let mut stopping = false;
    while batch.len() < MAX_BATCH {
        match receiver.try_recv() {
            Ok(Job::Stop) => stopping = true,
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    stopping
}

/// What the writer needs of the id index: the ids not yet filed, its own
/// connection to look filed ones up, and the filer to wake.
struct Ids {
    recent: Arc<RecentIds>,
    lookups: Connection,
    filer: std::thread::Thread,
}

fn writer_loop(
    mut connection: Connection,
    mut receiver: mpsc::Receiver<Job>,
    prefix: &str,
    arriving: &AtomicUsize,
    ids: &Ids,
) {
    let mut batch = Vec::with_capacity(64);
    let mut stopping = false;
    while !stopping {
        let Some(first) = receiver.blocking_recv() else { break };
        match first {
            Job::Stop => stopping = true,
            job => batch.push(job),
        }
        stopping |= drain(&mut receiver, &mut batch);
        // Group commit: while submissions are still being validated, wait
        // for them (briefly) so one fsync makes them all durable.
        let deadline = Instant::now() + GATHER;
        while !stopping && batch.len() < MAX_BATCH && arriving.load(Ordering::Acquire) > 0 {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            std::thread::sleep((deadline - now).min(GATHER_STEP));
            stopping |= drain(&mut receiver, &mut batch);
        }
        if stopping {
            // Whatever was queued before the stop is committed with this batch;
            // senders from now on hear that the writer is gone.
            receiver.close();
            while let Ok(job) = receiver.try_recv() {
                if !matches!(job, Job::Stop) {
                    batch.push(job);
                }
            }
        }
        if batch.is_empty() {
            continue;
        }
        let started = std::time::Instant::now();
        let size = batch.len();
        match run_batch(&mut connection, &batch, prefix, ids) {
            Ok((outcomes, new_ids)) => {
                // Known before anyone hears of them: a receipt's id is found.
                // (A poisoned lock already fails every lookup, so nothing more
                // is stored.)
                if ids.recent.add(new_ids).unwrap_or(false) {
                    ids.filer.unpark();
                }
                for (job, outcome) in batch.drain(..).zip(outcomes) {
                    match (job, outcome) {
                        (Job::Submit(_, reply), Ok(Outcome::Submit(stored))) => {
                            let _ = reply.send(Ok(stored));
                        }
                        (Job::Manifest(_, reply), Ok(Outcome::Manifest(stored))) => {
                            let _ = reply.send(Ok(stored));
                        }
                        (Job::Submit(_, reply), Err(error)) => {
                            let _ = reply.send(Err(StoreError::Sqlite(error)));
                        }
                        (Job::Manifest(_, reply), Err(error)) => {
                            let _ = reply.send(Err(StoreError::Sqlite(error)));
                        }
                        (Job::Submit(_, reply), Ok(_)) => {
                            let _ = reply.send(Err(StoreError::Task));
                        }
                        (Job::Manifest(_, reply), Ok(_)) => {
                            let _ = reply.send(Err(StoreError::Task));
                        }
                        (Job::Stop, _) => {}
                    }
                }
            }
            Err(error) => {
                // Nothing of the batch was committed; every caller hears so.
                tracing::error!(error = %error, jobs = size, "a write transaction failed; no job of the batch was stored");
                for job in batch.drain(..) {
                    match job {
                        Job::Submit(_, reply) => {
                            let _ = reply.send(Err(StoreError::Sqlite(rusqlite::Error::InvalidQuery)));
                        }
                        Job::Manifest(_, reply) => {
                            let _ = reply.send(Err(StoreError::Sqlite(rusqlite::Error::InvalidQuery)));
                        }
                        Job::Stop => {}
                    }
                }
            }
        }
        tracing::trace!(jobs = size, elapsed_us = started.elapsed().as_micros() as u64, "committed a batch");
    }
    tracing::debug!("the database writer stopped");
}

enum Outcome {
    Submit(Stored),
    Manifest(ManifestStored),
}

/// What became of each job of a batch.
type Outcomes = Vec<Result<Outcome, rusqlite::Error>>;

/// Returns the outcomes and the ids of the submissions stored.
fn run_batch(
    connection: &mut Connection,
    batch: &[Job],
    prefix: &str,
    ids: &Ids,
) -> Result<(Outcomes, HashMap<String, i64>), rusqlite::Error> {
    // Every id of the batch is looked up in memory first, then the index is
    // read in one snapshot taken after: an id leaves memory only once its
    // filing is committed, so an id not in memory then is in the snapshot.
    // (One read transaction per batch rather than per submission.)
    let mut unfiled = Vec::with_capacity(batch.len());
    for job in batch {
        if let Job::Submit(submission, _) = job {
            unfiled.push(ids.recent.get(&submission.submission_id).map_err(|_| rusqlite::Error::InvalidQuery)?);
        }
    }
    let snapshot = ids.lookups.unchecked_transaction()?;
    let transaction = connection.transaction()?;
    let mut counters = Counters { prefix: prefix.to_owned(), last: HashMap::new() };
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut ids = BatchIds { lookups: &snapshot, new: HashMap::new() };
    let mut unfiled = unfiled.into_iter();
    // Prepared once for the batch, not looked up in the cache per row.
    let mut insert = transaction.prepare_cached(INSERT_SUBMISSION)?;
    for job in batch {
        outcomes.push(match job {
            Job::Submit(submission, _) => {
                let unfiled = unfiled.next().flatten();
                insert_submission(&transaction, &mut insert, &mut counters, &mut ids, submission, unfiled)
                    .map(Outcome::Submit)
            }
            Job::Manifest(manifest, _) => insert_manifest(&transaction, manifest).map(Outcome::Manifest),
            Job::Stop => continue,
        });
    }
    drop(insert);
    counters.save(&transaction)?;
    let new = ids.new;
    transaction.commit()?;
    // Read only: ending it cannot lose anything.
    let _ = snapshot.finish();
    Ok((outcomes, new))
}

/// Where a batch looks for the ids stored before it: the ids of this
/// batch, those not filed yet (looked up before the batch), and the index.
struct BatchIds<'a> {
    lookups: &'a Connection,
    new: HashMap<String, i64>,
}

impl BatchIds<'_> {
    fn find(&self, submission_id: &str, unfiled: Option<i64>) -> Result<Option<i64>, rusqlite::Error> {
        if let Some(seq) = self.new.get(submission_id).copied().or(unfiled) {
            return Ok(Some(seq));
        }
        ids::filed_seq(self.lookups, submission_id)
    }
}

/// How the writer stores a new submission.
const INSERT_SUBMISSION: &str = "INSERT INTO submissions
     (submission_id, reference, form_id, version, lang, content_sha256, answers, received_at, completed_at, channel,
      request_sha256, answers_format)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULLIF(?11, ''), ?12)";

fn insert_submission(
    transaction: &Connection,
    insert: &mut rusqlite::CachedStatement<'_>,
    counters: &mut Counters,
    ids: &mut BatchIds<'_>,
    submission: &NewSubmission,
    unfiled: Option<i64>,
) -> Result<Stored, rusqlite::Error> {
    if let Some(seq) = ids.find(&submission.submission_id, unfiled)? {
        let (reference, received_at, sha256, format, channel) = transaction
            .prepare_cached(
                // The id checked again: an index that lies gives an error,
                // never another submission's receipt.
                "SELECT reference, received_at, content_sha256, answers_format, channel FROM submissions
                 WHERE seq = ?1 AND submission_id = ?2",
            )?
            .query_row(params![seq, submission.submission_id], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                ))
            })?;
        let receipt = Receipt { reference, received_at };
        // The hash of a JSON submission stored by an earlier release
        // covers other bytes; a page's covers its fields in any format.
        let hashed_as_now = format == ANSWERS_FORMAT || channel == "page";
        return Ok(if sha256 == submission.content_sha256 {
            Stored::Existing(receipt)
        } else if hashed_as_now {
            Stored::Conflict
        } else {
            Stored::Earlier { receipt, content_sha256: sha256 }
        });
    }
    let year = year_of(&submission.received_at);
    let (number, reference) = counters.next(transaction, year)?;
    let inserted = insert.execute(params![
        submission.submission_id,
        reference,
        submission.form_id,
        submission.version,
        submission.lang,
        submission.content_sha256,
        submission.answers,
        submission.received_at,
        submission.completed_at,
        submission.channel,
        submission.request_sha256,
        ANSWERS_FORMAT,
    ]);
    match inserted {
        Ok(_) => {
            ids.new.insert(submission.submission_id.clone(), transaction.last_insert_rowid());
            Ok(Stored::Created(Receipt { reference, received_at: submission.received_at.clone() }))
        }
        Err(error) => {
            counters.give_back(year, number);
            Err(error)
        }
    }
}

fn insert_manifest(transaction: &Connection, manifest: &StoredManifest) -> Result<ManifestStored, rusqlite::Error> {
    let stored: Option<String> = transaction
        .prepare_cached("SELECT sha256 FROM manifests WHERE form_id = ?1 AND version = ?2")?
        .query_row(params![manifest.form_id, manifest.version], |row| row.get(0))
        .optional()?;
    match stored {
        Some(sha256) if sha256 == manifest.sha256 => Ok(ManifestStored::Same),
        Some(stored_sha256) => Ok(ManifestStored::Different { stored_sha256 }),
        None => {
            let now = jiff::Timestamp::now().to_string();
            transaction
                .prepare_cached(
                    "INSERT INTO manifests (form_id, version, sha256, body, stored_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![manifest.form_id, manifest.version, manifest.sha256, manifest.body, now])?;
            Ok(ManifestStored::New)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submission(id: &str, sha: &str) -> NewSubmission {
        NewSubmission {
            submission_id: id.into(),
            form_id: "f".into(),
            version: 1,
            lang: "es".into(),
            content_sha256: sha.into(),
            request_sha256: String::new(),
            answers: stored_answers(None),
            received_at: "2026-03-01T10:00:00Z".into(),
            completed_at: None,
            channel: "api",
        }
    }

    /// The answers of the small form (`respuesta` answered with `code`, if
    /// any) as a new row stores them.
    fn stored_answers(code: Option<&str>) -> Vec<u8> {
        let manifest = manifest();
        let layout = constancia::answers::Layout::for_manifest(&manifest);
        let mut answers = layout.instance(0);
        if let Some(code) = code {
            answers.values[0] = constancia::value::Value::Text(code.into());
        }
        crate::encoding::encode(&layout, &answers, &crate::encoding::packed_dictionary(&manifest)).stored
    }

    use crate::encoding::tests::manifest;

    fn manifest_body() -> String {
        serde_json::to_string(&manifest()).unwrap()
    }

    /// A database of the first schema, with answers in the first format,
    /// then of the second, with answers in the second, is migrated in
    /// place: its rows read as before, new rows are packed, all three come
    /// out of an export's reading, and a retry of a row of an earlier
    /// format is left to the caller to compare.
    #[tokio::test]
    async fn a_database_of_each_schema_is_migrated_and_its_answers_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite");
        let insert =
            "INSERT INTO submissions (submission_id, reference, form_id, version, lang, content_sha256, answers,
                      answers_format, received_at, channel) VALUES (?1, ?2, 'f', 1, 'es', 'x', ?3, ?4,
                      '2025-01-01T00:00:00Z', 'api')";
        {
            let mut connection = Connection::open(&path).unwrap();
            Migrations::from_slice(&MIGRATIONS[..1]).to_latest(&mut connection).unwrap();
            connection
                .execute(
                    "INSERT INTO manifests (form_id, version, sha256, body, stored_at) VALUES ('f', 1, 'a', ?1, 'then')",
                    [manifest_body()],
                )
                .unwrap();
            let plain = lz4_flex::compress_prepend_size(br#"{"respuesta":"no"}"#);
            connection.execute(insert, params!["first", "OLD-2025-000001", plain, "json+lz4"]).unwrap();
            Migrations::from_slice(&MIGRATIONS[..2]).to_latest(&mut connection).unwrap();
            let dictionary = crate::encoding::json_dictionary(&manifest());
            let second = lz4_flex::block::compress_prepend_size_with_dict(br#"{"respuesta":"si"}"#, &dictionary);
            connection.execute(insert, params!["second", "OLD-2025-000002", second, "json+lz4+dict1"]).unwrap();
        }
        let (store, writer) = Store::open(&path, "NEW").unwrap();
        let first = store.submission("first".into()).await.unwrap().unwrap();
        assert_eq!(first.answers, r#"{"respuesta":"no"}"#);
        let new = NewSubmission { answers: stored_answers(Some("si")), ..submission("new", "y") };
        assert!(matches!(store.submit(new, store.arriving()).await.unwrap(), Stored::Created(_)));
        let retry = store.submit(submission("second", "z"), store.arriving()).await.unwrap();
        let Stored::Earlier { receipt, content_sha256 } = retry else { panic!("{retry:?}") };
        assert_eq!((receipt.reference.as_str(), content_sha256.as_str()), ("OLD-2025-000002", "x"));
        tokio::task::spawn_blocking(move || writer.join()).await.unwrap();

        let connection = open_read_only(&path).unwrap();
        let format: String = connection
            .query_row("SELECT answers_format FROM submissions WHERE submission_id = 'new'", [], |row| row.get(0))
            .unwrap();
        assert_eq!(format, ANSWERS_FORMAT);
        let mut answers = Vec::new();
        for_each_submission(&connection, "f", None, |row| {
            answers.push(row.answers);
            Ok(())
        })
        .unwrap();
        assert_eq!(answers, [r#"{"respuesta":"no"}"#, r#"{"respuesta":"si"}"#, r#"{"respuesta":"si"}"#]);
    }

    /// How many ids the index beside the database at `path` holds.
    fn filed(path: &Path) -> i64 {
        let connection = Connection::open(ids::index_path(path)).unwrap();
        connection.query_row("SELECT count(*) FROM submission_ids", [], |row| row.get(0)).unwrap()
    }

    fn rows(path: &Path) -> i64 {
        open_read_only(path).unwrap().query_row("SELECT count(*) FROM submissions", [], |row| row.get(0)).unwrap()
    }

    /// Runs SQL on the index beside the database at `path`.
    fn on_index(path: &Path, sql: &str) {
        Connection::open(ids::index_path(path)).unwrap().execute_batch(sql).unwrap();
    }

    /// Ids are known to the writer and to readers before they are filed
    /// in the index, after, and after a crash lost the last filing.
    #[tokio::test]
    async fn every_stored_id_is_known_filed_or_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ids.sqlite");
        let manifest = StoredManifest { form_id: "f".into(), version: 1, sha256: "a".into(), body: manifest_body() };
        let (store, writer) = Store::open(&path, "IDS").unwrap();
        store.store_manifest(manifest).await.unwrap();
        let Stored::Created(first) = store.submit(submission("a", "x"), store.arriving()).await.unwrap() else {
            panic!("created")
        };
        // Not filed yet, and found.
        assert_eq!(filed(&path), 0);
        assert_eq!(store.submission("a".into()).await.unwrap().map(|row| row.reference), Some(first.reference.clone()));
        assert_eq!(
            store.submit(submission("a", "x"), store.arriving()).await.unwrap(),
            Stored::Existing(first.clone())
        );
        assert_eq!(store.submit(submission("a", "y"), store.arriving()).await.unwrap(), Stored::Conflict);
        assert!(matches!(store.submit(submission("b", "x"), store.arriving()).await.unwrap(), Stored::Created(_)));
        assert!(store.submission("c".into()).await.unwrap().is_none());
        // A clean stop files them.
        tokio::task::spawn_blocking(move || writer.join()).await.unwrap();
        assert_eq!(filed(&path), 2);

        // As if the process had died before filing `b`.
        on_index(
            &path,
            "DELETE FROM submission_ids WHERE submission_id = 'b';
             UPDATE filed SET (through, through_id) = (SELECT seq, submission_id FROM submission_ids WHERE submission_id = 'a');",
        );
        let (store, writer) = Store::open(&path, "IDS").unwrap();
        assert_eq!(filed(&path), 2, "filed again at the start");
        assert_eq!(store.submit(submission("a", "x"), store.arriving()).await.unwrap(), Stored::Existing(first));
        assert!(matches!(store.submit(submission("b", "x"), store.arriving()).await.unwrap(), Stored::Existing(_)));
        assert!(store.submission("b".into()).await.unwrap().is_some());
        tokio::task::spawn_blocking(move || writer.join()).await.unwrap();
        assert_eq!(rows(&path), 2, "every id stored once");
    }

    /// Under load, the filer files ids beside the writer while
    /// submissions go on; every id stays known throughout. An index that
    /// is missing, unreadable, behind, or of another database is brought
    /// in line at the start, and nothing is ever stored twice.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ids_are_filed_beside_the_writer_and_the_index_is_rebuilt_when_untrusted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("filing.sqlite");
        let (store, writer) = Store::open(&path, "FIL").unwrap();
        let manifest = StoredManifest { form_id: "f".into(), version: 1, sha256: "a".into(), body: manifest_body() };
        store.store_manifest(manifest).await.unwrap();
        let total = ids::FILE_IDS_AT + 3_000;
        let clients: Vec<_> = (0..32)
            .map(|client| {
                let store = store.clone();
                tokio::spawn(async move {
                    for n in (client..total).step_by(32) {
                        let id = format!("id-{n:05}");
                        let stored = store.submit(submission(&id, "x"), store.arriving()).await;
                        assert!(matches!(stored.unwrap(), Stored::Created(_)));
                        if n % 97 == 0 {
                            // Found at once, whether filed yet or not.
                            assert!(store.submission(id).await.unwrap().is_some());
                        }
                    }
                })
            })
            .collect();
        for client in clients {
            client.await.unwrap();
        }
        // The filer was woken once enough ids gathered; it files them on its
        // own time. Every id is then filed or in memory, exactly once.
        let mut settled = false;
        for _ in 0..400 {
            let (unfiled, filed) = (store.recent.len() as i64, filed(&path));
            if filed > 0 && unfiled + filed == total as i64 {
                settled = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(settled, "a filing of {} ids completed, leaving {} in memory", filed(&path), store.recent.len());
        for n in [0, total / 2, total - 1] {
            let id = format!("id-{n:05}");
            assert!(store.submission(id.clone()).await.unwrap().is_some(), "{id} is found");
            assert!(matches!(store.submit(submission(&id, "x"), store.arriving()).await.unwrap(), Stored::Existing(_)));
        }
        tokio::task::spawn_blocking(move || writer.join()).await.unwrap();
        assert_eq!(filed(&path), total as i64);

        let index = ids::index_path(&path);
        let untrusted: [(&str, &dyn Fn()); 4] = [
            ("a filing lost in a crash", &|| {
                on_index(
                    &path,
                    "DELETE FROM submission_ids WHERE seq > 1000;
                     UPDATE filed SET (through, through_id) = (SELECT seq, submission_id FROM submission_ids WHERE seq = 1000);",
                )
            }),
            ("an index of another database", &|| {
                on_index(
                    &path,
                    "DELETE FROM submission_ids WHERE seq % 3 = 0; UPDATE filed SET through_id = 'elsewhere';",
                )
            }),
            ("a missing index", &|| {
                std::fs::remove_file(&index).unwrap();
            }),
            ("an unreadable index", &|| {
                std::fs::write(&index, b"not an index at all, and longer than a header of one").unwrap();
            }),
        ];
        for (case, damage) in untrusted {
            damage();
            let (store, writer) = Store::open(&path, "FIL").unwrap();
            assert_eq!(filed(&path), total as i64, "{case}: every id filed at the start");
            assert!(store.recent.is_empty(), "{case}");
            let retry = store.submit(submission("id-02999", "x"), store.arriving()).await.unwrap();
            assert!(matches!(retry, Stored::Existing(_)), "{case}: {retry:?}");
            assert!(store.submission(format!("id-{:05}", total - 1)).await.unwrap().is_some(), "{case}");
            tokio::task::spawn_blocking(move || writer.join()).await.unwrap();
        }
        assert_eq!(rows(&path), total as i64, "nothing stored twice");
    }

    /// One collector per database: a second is refused while the first
    /// runs, and starts once it has stopped.
    #[tokio::test]
    async fn a_second_collector_on_the_same_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("one.sqlite");
        let (_store, writer) = Store::open(&path, "ONE").unwrap();
        let second = Store::open(&path, "TWO");
        assert!(matches!(second, Err(StoreError::InUse(ref held)) if held == &path), "{:?}", second.err());
        tokio::task::spawn_blocking(move || writer.join()).await.unwrap();
        let (_store, writer) = Store::open(&path, "TWO").unwrap();
        tokio::task::spawn_blocking(move || writer.join()).await.unwrap();
    }

    #[test]
    fn migrations_are_valid() {
        assert!(Migrations::from_slice(MIGRATIONS).validate().is_ok());
    }

    /// The writer's INSERT builds no temporary b-tree per row (SQLite
    /// builds one for an `IN` list of three or more constants in a CHECK),
    /// and the formats' CHECK still takes every format and only those.
    #[test]
    fn inserting_a_submission_builds_no_temporary_table_and_checks_its_format() {
        let mut connection = Connection::open_in_memory().unwrap();
        Migrations::from_slice(MIGRATIONS).to_latest(&mut connection).unwrap();
        let mut explain = connection.prepare(&format!("EXPLAIN {INSERT_SUBMISSION}")).unwrap();
        // Bound, not run: EXPLAIN lists the program.
        let nulls = rusqlite::params_from_iter(vec![rusqlite::types::Null; explain.parameter_count()]);
        let operations: Vec<String> =
            explain.query_map(nulls, |row| row.get(1)).unwrap().collect::<Result<_, _>>().unwrap();
        drop(explain);
        assert!(operations.iter().any(|op| op == "Insert"), "{operations:?}");
        assert!(!operations.iter().any(|op| op == "OpenEphemeral"), "{operations:?}");

        connection.execute("INSERT INTO manifests VALUES ('f', 1, 'sha', '{}', '2026-01-01T00:00:00Z')", []).unwrap();
        let insert = |id: &str, format: &str| {
            connection.execute(
                "INSERT INTO submissions (submission_id, reference, form_id, version, lang, content_sha256, answers,
                 answers_format, received_at, channel) VALUES (?1, ?1, 'f', 1, 'es', 'sha', x'00', ?2, 'now', 'api')",
                params![id, format],
            )
        };
        for (id, format) in [("a", ANSWERS_FORMAT), ("b", crate::encoding::JSON_FORMAT), ("c", "json+lz4")] {
            assert!(insert(id, format).is_ok(), "{format} is taken");
        }
        for (id, format) in [("d", "json"), ("e", "packed1+lz4+dict2 "), ("f", "")] {
            let error = insert(id, format).expect_err(format).to_string();
            assert!(error.contains("CHECK constraint failed"), "{format:?}: {error}");
        }
    }

    /// Under writes that never pause, the WAL still restarts from its
    /// beginning: its file stays near `WAL_PAGES_BEFORE_RESTART` pages
    /// instead of holding everything written since the start.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_stays_bounded_under_sustained_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite");
        let (store, writer) = Store::open(&path, "WAL").unwrap();
        let manifest = StoredManifest { form_id: "f".into(), version: 1, sha256: "a".into(), body: manifest_body() };
        store.store_manifest(manifest).await.unwrap();
        // About 4 KiB per row (the store takes answers as given): 12,000 rows
        // write three times the pages after which the WAL must restart.
        let noise = |seed: usize| -> String {
            let mut state = (seed as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            (0..4000)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    char::from(b'a' + (state % 26) as u8)
                })
                .collect()
        };
        let clients: Vec<_> = (0..32)
            .map(|client| {
                let store = store.clone();
                let payload = noise(client).into_bytes();
                tokio::spawn(async move {
                    for n in 0..375 {
                        let submission =
                            NewSubmission { answers: payload.clone(), ..submission(&format!("{client}-{n}"), "x") };
                        let stored = store.submit(submission, store.arriving()).await.unwrap();
                        assert!(matches!(stored, Stored::Created(_)));
                    }
                })
            })
            .collect();
        for client in clients {
            client.await.unwrap();
        }
        let written = 12_000 * 4_000;
        let wal = std::fs::metadata(dir.path().join("c.sqlite-wal")).unwrap().len();
        let bound = (WAL_PAGES_BEFORE_RESTART as u64 + 1_024) * 4_096;
        assert!(wal < bound, "the WAL holds {wal} bytes after {written} bytes of rows; expected under {bound}");
        tokio::task::spawn_blocking(move || writer.join()).await.unwrap();
    }

    #[tokio::test]
    async fn references_idempotency_and_conflicts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db/c.sqlite");
        let (store, writer) = Store::open(&path, "MXTAP").unwrap();
        let manifest = StoredManifest { form_id: "f".into(), version: 1, sha256: "a".into(), body: manifest_body() };
        assert_eq!(store.store_manifest(manifest.clone()).await.unwrap(), ManifestStored::New);
        assert_eq!(store.store_manifest(manifest.clone()).await.unwrap(), ManifestStored::Same);
        let changed = StoredManifest { sha256: "b".into(), ..manifest };
        assert_eq!(
            store.store_manifest(changed).await.unwrap(),
            ManifestStored::Different { stored_sha256: "a".into() }
        );

        let first = store.submit(submission("1", "x"), store.arriving()).await.unwrap();
        let Stored::Created(receipt) = first else { panic!("created") };
        assert_eq!(receipt.reference, "MXTAP-2026-000001");
        assert_eq!(store.submit(submission("1", "x"), store.arriving()).await.unwrap(), Stored::Existing(receipt));
        assert_eq!(store.submit(submission("1", "y"), store.arriving()).await.unwrap(), Stored::Conflict);
        let Stored::Created(second) = store.submit(submission("2", "x"), store.arriving()).await.unwrap() else {
            panic!("created")
        };
        assert_eq!(second.reference, "MXTAP-2026-000002");
        // An unknown form version cannot be stored (foreign key).
        let orphan = NewSubmission { version: 9, ..submission("3", "x") };
        assert!(store.submit(orphan, store.arriving()).await.is_err());
        // ... and its failure costs no reference number.
        let Stored::Created(after) = store.submit(submission("5", "x"), store.arriving()).await.unwrap() else {
            panic!("created")
        };
        assert_eq!(after.reference, "MXTAP-2026-000003");
        assert!(store.submission("2".into()).await.unwrap().is_some());
        tokio::task::spawn_blocking(move || writer.join()).await.unwrap();
        assert!(store.submit(submission("6", "x"), store.arriving()).await.is_err(), "refused after the stop");
        drop(store);

        // Counters continue after a restart.
        let (store, writer) = Store::open(&path, "MXTAP").unwrap();
        let Stored::Created(third) = store.submit(submission("4", "x"), store.arriving()).await.unwrap() else {
            panic!("created")
        };
        assert_eq!(third.reference, "MXTAP-2026-000004");
        tokio::task::spawn_blocking(move || writer.join()).await.unwrap();
    }
}
