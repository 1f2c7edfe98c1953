//! The one writer: a dedicated thread owns the only read-write connection and commits in groups.
//!
//! Handlers send their validated messages (one for `POST /webhook`, every message of a WhatsApp
//! delivery) and a reply channel over a bounded queue. The writer takes everything queued (up to
//! [`MAX_BATCH`] requests), inserts it in one transaction, commits once (one fsync for the whole
//! group), and only then answers each sender with the outcome of each of its messages. Under
//! load many requests share one fsync; alone, a request pays for exactly one. A request's
//! messages always share their transaction, so a delivery is stored whole or not at all.
//!
//! Between batches the writer also moves new rows into the search index ([`search`]), a step
//! at a time: once no message has come for [`IDLE_BEFORE_INDEXING`], or after every batch once
//! the backlog has grown past [`INDEX_BACKLOG`]. Searches read the backlog too, so this
//! only decides when the index's cost is paid, never what a search finds.
//!
//! New rows are stored unlisted ([`listing`]): the writer lists them (the listing indexes and the
//! aggregates) in one step once the backlog reaches [`LIST_BACKLOG`] after a commit, when it is
//! idle (before indexing for search), and when it closes. Reads merge the unlisted tail, so this
//! too only decides when the cost is paid.
//!
//! With a [`Retention`], the writer also deletes the messages older than it ([`prune`]), in
//! steps of [`RETENTION_STEP`] rows, only when it is idle and has nothing to index: so pruning
//! never holds up a commit by more than one short step, and under unbroken traffic it waits. A
//! pass starts after new rows were committed (they may be old already) and at least every
//! [`RETENTION_CHECK_EVERY`] (time alone moves the bound); it goes on step by step while steps
//! come back full, and one INFO line sums up a pass that deleted something.
//!
//! A batch that fails is answered with errors as a whole (nothing of it was committed), the
//! connection is dropped and the failure recorded until a later commit succeeds; see
//! [`super::file_identity`] for how a removed or replaced database file is handled.

use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, SubsecRound as _, Utc};
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::error::StorageError;
use super::file_identity::{DatabaseFile, FileId};
use super::insert::{Insertion, insert_messages};
use super::prune::{self, Retention};
use super::readers::Readers;
use super::{connection, listing, migrations, search};
use crate::message::NewMessage;
use crate::{telemetry, timestamp};

/// The most requests committed in one transaction. Each brings its messages: one, or a WhatsApp
/// delivery's few (as many as fit in the body limit), so a transaction stays small.
const MAX_BATCH: usize = 512;
/// How many requests may wait for the writer; beyond, a request is refused at once
/// ([`StorageError::Busy`]) rather than kept waiting until it times out, and perhaps committed
/// after its sender was told it was not.
pub(crate) const QUEUE_CAPACITY: usize = 4096;
/// How long no message must come before the writer spends time on the search index.
const IDLE_BEFORE_INDEXING: Duration = Duration::from_millis(50);
/// Rows indexed in one step: large enough that the index's per-row cost is low (its segment
/// merges are amortised over the step), small enough that a step holds the writer for a few
/// tens of milliseconds at most.
const INDEX_STEP: usize = 1024;
/// Rows waiting for the index beyond which the writer indexes a step after every commit, even
/// while messages are queued. Below it, indexing waits until the writer has nothing to commit,
/// so that a burst of messages is acknowledged at the speed of the commits alone; above it, the
/// backlog (which every search reads row by row) stops growing.
const INDEX_BACKLOG: usize = 32 * INDEX_STEP;
/// Rows waiting to be listed beyond which the writer lists them after a commit, even while
/// messages are queued: one step lists them all. Every read merges the unlisted rows one by one,
/// so the bound keeps reads cheap; a step's cost per row falls with its size (the aggregates'
/// rows are written once per step, not once per batch).
const LIST_BACKLOG: usize = 4096;
/// The most rows one listing step takes (a backlog left by an earlier run may be longer).
const LIST_STEP: usize = 4 * LIST_BACKLOG;
/// Rows one retention step deletes, in one transaction: a few milliseconds of the writer's time
/// (and one commit), so a message arriving meanwhile waits little more than for a batch.
const RETENTION_STEP: usize = 256;
/// The longest time between two retention passes: messages age past the bound with no traffic.
const RETENTION_CHECK_EVERY: Duration = Duration::from_secs(60);

enum Job {
    /// Messages to store together: answered with each one's outcome, in order, once committed.
    Insert {
        messages: Vec<NewMessage>,
        reply: oneshot::Sender<Result<Vec<Insertion>, StorageError>>,
    },
    /// "Can you commit?": answered by the batch it shares, or alone by [`Writer::probe`].
    Probe {
        reply: oneshot::Sender<Result<(), StorageError>>,
    },
}

/// The senders' side of the writer. Cheap to clone.
#[derive(Clone)]
pub(crate) struct WriterHandle {
    queue: Arc<Mutex<Option<mpsc::Sender<Job>>>>,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
    failure: Arc<LastFailure>,
}

/// Why the last commit (or write probe) failed; `None` once one succeeds. The writer records
/// it; readiness reads it.
#[derive(Default)]
struct LastFailure(Mutex<Option<String>>);

impl LastFailure {
    fn get(&self) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Records the outcome of a commit; returns what was recorded before.
    fn replace(&self, failure: Option<String>) -> Option<String> {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut *slot, failure)
    }
}

/// Starts the writer thread on `conn`, a connection to `file`; it closes `readers` whenever it
/// moves to another file.
/// At most `queue_capacity` requests wait for it.
pub(crate) fn spawn(
    conn: Connection,
    file: Arc<DatabaseFile>,
    readers: Arc<Readers>,
    retention: Option<Retention>,
    queue_capacity: usize,
) -> WriterHandle {
    let (sender, receiver) = mpsc::channel(queue_capacity);
    // Rows left unindexed by an earlier run (or a migration). A guess is enough: it only
    // schedules index steps, and each step reports what it moved.
    let unindexed = search::backlog(&conn).unwrap_or(INDEX_STEP);
    let unlisted = listing::backlog(&conn).unwrap_or(LIST_STEP);
    let failure = Arc::new(LastFailure::default());
    let recorded = Arc::clone(&failure);
    let thread = std::thread::Builder::new()
        .name("sqlite-writer".into())
        .spawn(move || {
            Writer {
                conn: Some(conn),
                broken: false,
                wal: file.wal_identity(),
                file,
                readers,
                failure: recorded,
                unindexed,
                unlisted,
                last_batch: Instant::now(),
                retention: retention.map(|retention| RetentionPass {
                    retention,
                    due: Instant::now(),
                    deleted: 0,
                }),
                // Without it the writer still works; it indexes only past the backlog limit.
                timer: tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build()
                    .ok(),
            }
            .run(receiver)
        })
        .expect("the OS can start a thread");
    WriterHandle {
        queue: Arc::new(Mutex::new(Some(sender))),
        thread: Arc::new(Mutex::new(Some(thread))),
        failure,
    }
}

impl WriterHandle {
    /// Queues `messages` and waits until their outcomes are committed, in one transaction.
    pub(crate) async fn insert(
        &self,
        messages: Vec<NewMessage>,
    ) -> Result<Vec<Insertion>, StorageError> {
        let (reply, outcome) = oneshot::channel();
        self.send(Job::Insert { messages, reply })?;
        outcome.await.map_err(|_| StorageError::Closed)?
    }

    /// Asks the writer whether it can commit: it switches to a replaced database file, reopens
    /// a dropped connection, and after a failure commits an empty change to find out.
    pub(crate) async fn probe(&self) -> Result<(), StorageError> {
        let (reply, outcome) = oneshot::channel();
        self.send(Job::Probe { reply })?;
        outcome.await.map_err(|_| StorageError::Closed)?
    }

    /// Queues `job`, or refuses it at once when the queue is full: waiting for room would only
    /// move the refusal to the request's deadline, when the job could still be committed.
    fn send(&self, job: Job) -> Result<(), StorageError> {
        let sender = self
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let sender = sender.ok_or(StorageError::Closed)?;
        sender.try_send(job).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => StorageError::Busy("the writer's queue is full"),
            mpsc::error::TrySendError::Closed(_) => StorageError::Closed,
        })
    }

    /// True while the last commit (or write probe) has failed.
    pub(crate) fn failing(&self) -> bool {
        self.failure.get().is_some()
    }

    /// Closes the queue and blocks until the writer has committed what was queued and stopped.
    pub(crate) fn close(&self) {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

struct Writer {
    /// `None` when it could not be opened: the next attempt tries again.
    conn: Option<Connection>,
    /// The last attempt failed: the next one reopens the connection.
    broken: bool,
    /// The identity of `conn`'s `-wal` file, to recognise it once its database file is gone.
    wal: Option<FileId>,
    file: Arc<DatabaseFile>,
    readers: Arc<Readers>,
    failure: Arc<LastFailure>,
    /// About how many rows wait for the search index.
    unindexed: usize,
    /// About how many rows wait to be listed.
    unlisted: usize,
    /// When the last batch arrived: indexing waits for a quiet moment.
    last_batch: Instant,
    /// With `RETENTION` set: when to prune next, and what the pass under way deleted.
    retention: Option<RetentionPass>,
    /// A clock to wait on the queue with a timeout (a current-thread runtime with timers only).
    timer: Option<tokio::runtime::Runtime>,
}

/// Where the writer is with `RETENTION`.
struct RetentionPass {
    retention: Retention,
    /// The next step may run from then on (once the writer is idle).
    due: Instant,
    /// Deleted by the pass under way, logged when it ends.
    deleted: u64,
}

impl Writer {
    fn run(mut self, mut queue: mpsc::Receiver<Job>) {
        let mut jobs = Vec::with_capacity(MAX_BATCH);
        let mut messages = Vec::with_capacity(MAX_BATCH);
        // Each request's reply, and how many of the batch's messages are its own.
        let mut replies = Vec::with_capacity(MAX_BATCH);
        let mut probes = Vec::new();
        while self.next_batch(&mut queue, &mut jobs) {
            for job in jobs.drain(..) {
                match job {
                    Job::Insert {
                        messages: mut own,
                        reply,
                    } => {
                        replies.push((reply, own.len()));
                        messages.append(&mut own);
                    }
                    Job::Probe { reply } => probes.push(reply),
                }
            }
            let started = Instant::now();
            let outcome = if messages.is_empty() {
                self.probe().map(|()| Vec::new())
            } else {
                self.commit(&messages)
            };
            let took = started.elapsed();
            let failure = outcome.as_ref().err().map(ToString::to_string);
            self.record(failure.clone(), messages.len());
            match (outcome, &failure) {
                (Ok(insertions), _) => {
                    let created = insertions
                        .iter()
                        .filter(|insertion| **insertion == Insertion::Created)
                        .count();
                    if !messages.is_empty() {
                        observe_commit(messages.len(), replies.len(), created, took);
                    }
                    self.unindexed += created;
                    self.unlisted += created;
                    if let Some(pass) = self.retention.as_mut().filter(|_| created > 0) {
                        pass.due = Instant::now();
                    }
                    let mut insertions = insertions.into_iter();
                    for (reply, count) in replies.drain(..) {
                        let _ = reply.send(Ok(insertions.by_ref().take(count).collect()));
                    }
                }
                (Err(_), reason) => {
                    let reason = reason.clone().unwrap_or_default();
                    for (reply, _) in replies.drain(..) {
                        let _ = reply.send(Err(StorageError::Unavailable(reason.clone())));
                    }
                }
            }
            for reply in probes.drain(..) {
                let _ = reply.send(match &failure {
                    None => Ok(()),
                    Some(reason) => Err(StorageError::Unavailable(reason.clone())),
                });
            }
            messages.clear();
            if self.unlisted >= LIST_BACKLOG {
                self.list_step();
            }
            if self.unindexed >= INDEX_BACKLOG {
                self.index_step();
            }
        }
        // Closing: what is left is listed, so that a stopped server leaves no tail behind.
        while self.unlisted > 0 {
            self.list_step();
        }
    }

    /// Waits for the next jobs; `false` once the queue is closed and empty. While there is idle
    /// work (rows waiting for the search index, or a retention step due) and no job has come for
    /// [`IDLE_BEFORE_INDEXING`], it does that work a step at a time, looking at the queue
    /// between steps.
    fn next_batch(&mut self, queue: &mut mpsc::Receiver<Job>, jobs: &mut Vec<Job>) -> bool {
        loop {
            let (timer, due) = match (&self.timer, self.idle_work_due()) {
                (Some(timer), Some(due)) => (timer, due),
                _ => {
                    let received = queue.blocking_recv_many(jobs, MAX_BATCH) > 0;
                    self.last_batch = Instant::now();
                    return received;
                }
            };
            let now = Instant::now();
            if now >= due && queue.is_empty() && !queue.is_closed() {
                self.idle_step();
                continue;
            }
            let wait = due
                .saturating_duration_since(now)
                .max(Duration::from_millis(1));
            let received = timer.block_on(async {
                tokio::time::timeout(wait, queue.recv_many(jobs, MAX_BATCH)).await
            });
            match received {
                Ok(0) => return false,
                Ok(_) => {
                    self.last_batch = Instant::now();
                    return true;
                }
                Err(_elapsed) => continue,
            }
        }
    }

    /// When the writer may next work while idle: a quiet moment after the last batch when rows
    /// wait for the index, else when the next retention step is due (and quiet); `None` when it
    /// has nothing to do but wait for jobs.
    fn idle_work_due(&self) -> Option<Instant> {
        let quiet = self.last_batch + IDLE_BEFORE_INDEXING;
        if self.unindexed > 0 || self.unlisted > 0 {
            return Some(quiet);
        }
        self.retention.as_ref().map(|pass| pass.due.max(quiet))
    }

    /// One step of idle work: listing first, then indexing, as reads go through their backlogs
    /// row by row.
    fn idle_step(&mut self) {
        if self.unlisted > 0 {
            self.list_step();
        } else if self.unindexed > 0 {
            self.index_step();
        } else {
            self.retention_step();
        }
    }

    /// Deletes a step of the messages older than the retention, on a healthy connection to the
    /// file at the path (anything else waits for the next pass). A full step leaves the pass
    /// going; a partial one ends it, logging what it deleted. A failure is logged and retried
    /// on the next pass.
    fn retention_step(&mut self) {
        let Some(pass) = &mut self.retention else {
            return;
        };
        let conn = match &mut self.conn {
            Some(conn) if !self.broken && !self.file.changed() => conn,
            _ => {
                pass.due = Instant::now() + RETENTION_CHECK_EVERY;
                return;
            }
        };
        // From a whole second, so that the bound logged is exactly the one applied.
        let cutoff = pass.retention.cutoff(Utc::now().trunc_subsecs(0));
        let step = prune::delete_older(conn, &prune::bound_at(cutoff), RETENTION_STEP);
        match step {
            Ok(deleted) => {
                pass.deleted += deleted as u64;
                metrics::counter!(telemetry::MESSAGES_PRUNED_TOTAL).increment(deleted as u64);
                if deleted == RETENTION_STEP {
                    pass.due = Instant::now();
                    return;
                }
                if pass.deleted > 0 {
                    let before = cutoff.map(|at| at.to_rfc3339_opts(SecondsFormat::Secs, true));
                    tracing::info!(
                        deleted = pass.deleted,
                        before = before.as_deref(),
                        "pruned the messages older than RETENTION"
                    );
                }
            }
            Err(error) => {
                tracing::warn!(error = %error, "pruning failed; the next pass tries again");
            }
        }
        pass.deleted = 0;
        pass.due = Instant::now() + RETENTION_CHECK_EVERY;
    }

    /// Lists a step of the unlisted rows. A failure leaves them unlisted, where reads still
    /// find them.
    fn list_step(&mut self) {
        self.unlisted = self.catch_up(
            self.unlisted,
            LIST_STEP,
            listing::list_pending,
            "listing failed; the rows stay readable",
        );
    }

    /// Moves a step of the backlog into the search index. A failure leaves the rows in the
    /// backlog, where searches still find them.
    fn index_step(&mut self) {
        self.unindexed = self.catch_up(
            self.unindexed,
            INDEX_STEP,
            search::index_pending,
            "search indexing failed; the rows stay searchable",
        );
    }

    /// One step of work owed to committed rows (`waiting` of them, about), on a healthy
    /// connection to the file at the path; anything else is left to the next batch. Returns
    /// about how many still wait: none once a step comes back short, or after a failure, which
    /// is logged (the next new row retries).
    fn catch_up(
        &mut self,
        waiting: usize,
        step: usize,
        work: fn(&mut Connection, usize) -> Result<usize, StorageError>,
        failure: &str,
    ) -> usize {
        let conn = match &mut self.conn {
            Some(conn) if !self.broken && !self.file.changed() => conn,
            _ => return 0,
        };
        match work(conn, step) {
            Ok(done) if done < step => 0,
            Ok(done) => waiting.saturating_sub(done).max(1),
            Err(error) => {
                tracing::warn!(error = %error, "{failure}");
                0
            }
        }
    }

    /// Logs and publishes how the last attempt went. After a failure the connection may be
    /// unusable (file replaced, disk gone): the next attempt starts afresh.
    fn record(&mut self, failure: Option<String>, batch: usize) {
        let before = self.failure.replace(failure.clone());
        metrics::gauge!(telemetry::STORAGE_COMMIT_FAILING).set(if failure.is_some() {
            1.0
        } else {
            0.0
        });
        match (failure, before) {
            (Some(error), before) => {
                self.broken = true;
                if batch > 0 {
                    metrics::counter!(telemetry::STORAGE_COMMIT_FAILURES_TOTAL).increment(1);
                    metrics::gauge!(telemetry::STORAGE_LAST_COMMIT_FAILURE_TIMESTAMP_SECONDS)
                        .set(Utc::now().timestamp_micros() as f64 / 1e6);
                }
                // Refused messages are always logged; a probe only when the reason changes.
                if batch > 0 || before.as_ref() != Some(&error) {
                    tracing::error!(error = %error, batch, "storage write failed");
                }
            }
            (None, Some(before)) => {
                tracing::info!(previous_error = %before, "storage writable again");
            }
            (None, None) => {}
        }
    }

    /// The connection to the file now at the database path: the current one when the file is
    /// unchanged and the last attempt succeeded; else a new one, opened once every connection
    /// to the old file is closed (see [`DatabaseFile::switch`]).
    fn connection(&mut self) -> Result<&mut Connection, StorageError> {
        if self.file.changed() {
            tracing::warn!("the database file was removed or replaced: reopening");
            let readers = &self.readers;
            self.file
                .switch(self.conn.take(), self.wal, || readers.close_idle());
        } else if self.broken {
            self.conn = None;
        }
        self.broken = false;
        match &mut self.conn {
            Some(conn) => Ok(conn),
            none => {
                let mut conn = connection::reopen_writer(self.file.filename())?;
                migrations::run(&mut conn)?;
                self.wal = self.file.wal_identity();
                self.unindexed = search::backlog(&conn).unwrap_or(INDEX_STEP);
                self.unlisted = listing::backlog(&conn).unwrap_or(LIST_STEP);
                Ok(none.insert(conn))
            }
        }
    }

    /// After a commit: it counts only if it went into the file that is at the path now.
    fn verify_file(&mut self) -> Result<(), StorageError> {
        if self.file.changed() {
            return Err(StorageError::Replaced);
        }
        Ok(())
    }

    /// Makes sure the writer can commit. Healthy, that is a look at the file; after a failure,
    /// it commits a change of nothing (the schema cookie `user_version`, rewritten unchanged),
    /// which goes through the same WAL append and fsync as a batch.
    fn probe(&mut self) -> Result<(), StorageError> {
        let failing = self.failure.get().is_some();
        let conn = self.connection()?;
        if failing {
            let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
            let tx = conn.transaction()?;
            tx.pragma_update(None, "user_version", version)?;
            tx.commit()?;
            self.verify_file()?;
        }
        Ok(())
    }

    /// Inserts a batch in one transaction; every outcome or none.
    fn commit(&mut self, batch: &[NewMessage]) -> Result<Vec<Insertion>, StorageError> {
        let conn = self.connection()?;
        let created_at = timestamp::now_iso();
        let tx = conn.transaction()?;
        let insertions = insert_messages(&tx, batch, &created_at)?;
        tx.commit()?;
        self.verify_file()?;
        Ok(insertions)
    }
}

/// Records a successful commit of `messages` (from `requests` senders, `created` of them new)
/// that took `took`: the storage metrics, and one DEBUG line.
fn observe_commit(messages: usize, requests: usize, created: usize, took: Duration) {
    #[allow(clippy::cast_precision_loss)] // a batch is far below 2^52 messages
    metrics::histogram!(telemetry::STORAGE_COMMIT_BATCH_MESSAGES).record(messages as f64);
    metrics::histogram!(telemetry::STORAGE_COMMIT_DURATION_SECONDS).record(took.as_secs_f64());
    let commit_ms = (took.as_secs_f64() * 1e6).round() / 1e3;
    tracing::debug!(
        messages,
        requests,
        created,
        duplicates = messages - created,
        commit_ms,
        "commit"
    );
}
