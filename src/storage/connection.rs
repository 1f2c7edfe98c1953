//! Opening connections: the pragmas that make a 200 durable, who checkpoints the write-ahead
//! log, and the SQL functions queries use.

use std::ops::RangeInclusive;
use std::path::Path;
use std::time::Duration;

use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OpenFlags};

use super::error::StorageError;
use super::search::{contains_ci, search_fold};
use crate::config::Location;

/// How long a connection waits for a lock held by another before giving up. Five seconds is
/// also what Litestream asks of the applications it replicates: it takes the write lock for a
/// moment at each of its checkpoints, and a writer that gave up at once would answer 503.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The automatic-checkpoint thresholds `app serve` accepts, in pages: 0 (never) up to about
/// 4 GiB of log at SQLite's 4 KiB pages.
pub const AUTOCHECKPOINT_PAGES: RangeInclusive<u32> = 0..=1_000_000;

/// When the writer copies the write-ahead log back into the database file by itself: after a
/// commit that leaves at least this many pages in the log (SQLite's `wal_autocheckpoint`, a
/// `PASSIVE` checkpoint), or never.
///
/// Never is for when another process checkpoints: Litestream copies the log to its replica and
/// only then checkpoints it, and its documentation asks the application to turn automatic
/// checkpoints off, so that no checkpoint of ours restarts the log before Litestream has read
/// it (which, while Litestream is stopped, costs a full snapshot when it starts again). The
/// log then grows until Litestream checkpoints it; without Litestream it would grow for good,
/// hence SQLite's default otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoCheckpoint {
    pages: u32,
}

impl AutoCheckpoint {
    /// SQLite's own default: a checkpoint once the log holds 1000 pages (about 4 MiB).
    pub const SQLITE_DEFAULT: Self = Self { pages: 1000 };
    /// No automatic checkpoint: another process (Litestream) checkpoints.
    pub const NEVER: Self = Self { pages: 0 };

    /// A threshold of `pages` (0: never), `None` outside [`AUTOCHECKPOINT_PAGES`].
    pub fn pages(pages: u32) -> Option<Self> {
        AUTOCHECKPOINT_PAGES
            .contains(&pages)
            .then_some(Self { pages })
    }

    /// The threshold in pages, 0 for never.
    pub fn as_pages(self) -> u32 {
        self.pages
    }
}

impl Default for AutoCheckpoint {
    fn default() -> Self {
        Self::SQLITE_DEFAULT
    }
}

/// What every connection hands SQLite to open, resolved once from a [`Location`]: the database
/// file's path, or the name of an in-memory database shared by this process's connections
/// (SQLite's `memdb` VFS), alive while the writer holds it open. It carries the writer's
/// [`AutoCheckpoint`] too, so that a writer reopened after a failure checkpoints as the first
/// one did.
#[derive(Debug)]
pub(crate) struct Filename {
    name: String,
    on_disk: bool,
    autocheckpoint: AutoCheckpoint,
}

impl Filename {
    /// Resolves `location`, creating the folders above a database file. The writer
    /// checkpoints at SQLite's default ([`Filename::with_autocheckpoint`] changes it).
    pub(crate) fn resolve(location: &Location) -> Result<Self, StorageError> {
        let autocheckpoint = AutoCheckpoint::default();
        match location {
            Location::File(path) => {
                create_parent(path)?;
                Ok(Self {
                    name: path.to_string_lossy().into_owned(),
                    on_disk: true,
                    autocheckpoint,
                })
            }
            Location::Memory => Ok(Self {
                name: format!("file:/app-{}?vfs=memdb", uuid::Uuid::new_v4()),
                on_disk: false,
                autocheckpoint,
            }),
        }
    }

    /// The same database, its writer checkpointing as `autocheckpoint` says.
    pub(crate) fn with_autocheckpoint(self, autocheckpoint: AutoCheckpoint) -> Self {
        Self {
            autocheckpoint,
            ..self
        }
    }

    /// The database file, when the database is on disk.
    pub(crate) fn path(&self) -> Option<&Path> {
        self.on_disk.then(|| Path::new(&self.name))
    }
}

fn create_parent(path: &Path) -> Result<(), StorageError> {
    match path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        Some(parent) => std::fs::create_dir_all(parent).map_err(|source| StorageError::CreateDir {
            path: parent.display().to_string(),
            source,
        }),
        None => Ok(()),
    }
}

/// The one read-write connection: WAL, so readers never block it, and `synchronous=FULL`, so
/// a commit is on disk (the WAL fsynced) before the writer answers anyone.
pub(crate) fn open_writer(filename: &Filename) -> Result<Connection, StorageError> {
    writer_with(filename, OpenFlags::SQLITE_OPEN_CREATE)
}

/// The read-write connection again, after a failure or after the file changed: like
/// [`open_writer`], except that a database file that has vanished is not created afresh (an
/// empty database would take every message already delivered for a new one).
pub(crate) fn reopen_writer(filename: &Filename) -> Result<Connection, StorageError> {
    if filename.path().is_some_and(|path| !path.exists()) {
        return Err(StorageError::Vanished);
    }
    // The in-memory database is created again only if the writer was its last connection.
    let create = if filename.on_disk {
        OpenFlags::empty()
    } else {
        OpenFlags::SQLITE_OPEN_CREATE
    };
    writer_with(filename, create)
}

fn writer_with(filename: &Filename, create: OpenFlags) -> Result<Connection, StorageError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | create
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&filename.name, flags)?;
    // SQLite quietly opens a file it cannot write read-only; every commit would then fail.
    if conn.is_readonly(rusqlite::MAIN_DB)? {
        return Err(StorageError::ReadOnly);
    }
    conn.busy_timeout(BUSY_TIMEOUT)?;
    if filename.on_disk {
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))?;
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(
        None,
        "wal_autocheckpoint",
        filename.autocheckpoint.as_pages(),
    )?;
    register_functions(&conn)?;
    Ok(conn)
}

/// A read-only connection: it can never write, and in WAL mode it reads a consistent snapshot
/// while the writer commits.
pub(crate) fn open_reader(filename: &Filename) -> Result<Connection, StorageError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&filename.name, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    register_functions(&conn)?;
    Ok(conn)
}

/// How the writer commits, read back from its own connection: what "200 means durable" rests
/// on (WAL with `synchronous=FULL` fsyncs the log before a commit returns), and who
/// checkpoints the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Durability {
    /// `wal` for a file, `memory` for an in-memory database.
    pub journal_mode: String,
    /// `off`, `normal`, `full` or `extra`.
    pub synchronous: String,
    /// Pages in the log after which the writer checkpoints it itself; 0: never (see
    /// [`AutoCheckpoint`]).
    pub wal_autocheckpoint: i64,
}

impl Durability {
    pub(crate) fn read(conn: &Connection) -> Result<Self, StorageError> {
        let journal_mode: String = conn.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
        let synchronous: i64 = conn.query_row("PRAGMA synchronous", [], |row| row.get(0))?;
        let synchronous = match synchronous {
            0 => "off",
            1 => "normal",
            2 => "full",
            3 => "extra",
            _ => "unknown",
        };
        let wal_autocheckpoint: i64 =
            conn.query_row("PRAGMA wal_autocheckpoint", [], |row| row.get(0))?;
        Ok(Self {
            journal_mode: journal_mode.to_ascii_lowercase(),
            synchronous: synchronous.to_string(),
            wal_autocheckpoint,
        })
    }
}

/// The SQL functions every connection has:
///
/// - `contains_ci(haystack, needle)`: Unicode case-insensitive substring test, with no wildcard
///   characters (SQLite's own `LIKE` folds ASCII only and treats `%` and `_` as wildcards);
/// - `search_fold(text)`: the text as the search index holds it, [`search_fold`].
fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "search_fold",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(ctx.get_raw(0).as_str_or_null()?.map(search_fold)),
    )?;
    conn.create_scalar_function(
        "contains_ci",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let needle = ctx.get_or_create_aux(1, |value| -> rusqlite::Result<String> {
                Ok(value.as_str().map(search_fold).unwrap_or_default())
            })?;
            Ok(match ctx.get_raw(0).as_str_or_null()? {
                Some(haystack) => contains_ci(haystack, &needle),
                None => false,
            })
        },
    )
}
