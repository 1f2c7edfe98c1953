//! Opening connections: the pragmas that make a 200 durable, and the SQL functions queries use.

use std::path::Path;
use std::time::Duration;

use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OpenFlags};

use super::error::StorageError;
use super::search::{contains_ci, search_fold};
use crate::config::Location;

/// How long a connection waits for a lock held by another before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// What every connection hands SQLite to open, resolved once from a [`Location`]: the database
/// file's path, or the name of an in-memory database shared by this process's connections
/// (SQLite's `memdb` VFS), alive while the writer holds it open.
#[derive(Debug)]
pub(crate) struct Filename {
    name: String,
    on_disk: bool,
}

impl Filename {
    /// Resolves `location`, creating the folders above a database file.
    pub(crate) fn resolve(location: &Location) -> Result<Self, StorageError> {
        match location {
            Location::File(path) => {
                create_parent(path)?;
                Ok(Self {
                    name: path.to_string_lossy().into_owned(),
                    on_disk: true,
                })
            }
            Location::Memory => Ok(Self {
                name: format!("file:/app-{}?vfs=memdb", uuid::Uuid::new_v4()),
                on_disk: false,
            }),
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
/// on (WAL with `synchronous=FULL` fsyncs the log before a commit returns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Durability {
    /// `wal` for a file, `memory` for an in-memory database.
    pub journal_mode: String,
    /// `off`, `normal`, `full` or `extra`.
    pub synchronous: String,
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
        Ok(Self {
            journal_mode: journal_mode.to_ascii_lowercase(),
            synchronous: synchronous.to_string(),
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
