//! Opening connections: the pragmas that make a 200 durable, and the SQL functions queries use.

use std::path::Path;
use std::time::Duration;

use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OpenFlags};

use super::StorageError;
use crate::config::Location;

/// How long a connection waits for a lock held by another before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// What connections open: a file, or a named in-memory database shared by this process's
/// connections (SQLite's `memdb` VFS), alive while the writer holds it open.
#[derive(Debug)]
pub struct Target {
    path: String,
    on_disk: bool,
}

impl Target {
    /// Resolves a location, creating the folders above a database file.
    pub fn new(location: &Location) -> Result<Self, StorageError> {
        match location {
            Location::File(path) => {
                create_parent(path)?;
                Ok(Self {
                    path: path.to_string_lossy().into_owned(),
                    on_disk: true,
                })
            }
            Location::Memory => Ok(Self {
                path: format!("file:/app-{}?vfs=memdb", uuid::Uuid::new_v4()),
                on_disk: false,
            }),
        }
    }

    /// The database file, when the database is on disk.
    pub fn file(&self) -> Option<&Path> {
        self.on_disk.then(|| Path::new(&self.path))
    }

    /// An existing database file, for commands that must not create one.
    pub fn existing(location: &Location) -> Result<Self, StorageError> {
        match location.path() {
            Some(path) if !path.exists() => Err(StorageError::Missing(path.display().to_string())),
            _ => Self::new(location),
        }
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
pub fn open_writer(target: &Target) -> Result<Connection, StorageError> {
    writer_with(target, OpenFlags::SQLITE_OPEN_CREATE)
}

/// The read-write connection again, after a failure or after the file changed: like
/// [`open_writer`], except that a database file that has vanished is not created afresh (an
/// empty database would take every message already delivered for a new one).
pub fn reopen_writer(target: &Target) -> Result<Connection, StorageError> {
    if target.file().is_some_and(|path| !path.exists()) {
        return Err(StorageError::Vanished);
    }
    // The in-memory database is created again only if the writer was its last connection.
    let create = if target.on_disk {
        OpenFlags::empty()
    } else {
        OpenFlags::SQLITE_OPEN_CREATE
    };
    writer_with(target, create)
}

fn writer_with(target: &Target, create: OpenFlags) -> Result<Connection, StorageError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | create
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&target.path, flags)?;
    // SQLite quietly opens a file it cannot write read-only; every commit would then fail.
    if conn.is_readonly(rusqlite::MAIN_DB)? {
        return Err(StorageError::ReadOnly);
    }
    conn.busy_timeout(BUSY_TIMEOUT)?;
    if target.on_disk {
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))?;
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    register_functions(&conn)?;
    Ok(conn)
}

/// A read-only connection: it can never write, and in WAL mode it reads a consistent snapshot
/// while the writer commits.
pub fn open_reader(target: &Target) -> Result<Connection, StorageError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&target.path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    register_functions(&conn)?;
    Ok(conn)
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

/// A text as the search index holds it: lower-cased exactly as [`contains_ci`] compares, so
/// that whatever `contains_ci` finds, the index has every trigram of.
pub fn search_fold(text: &str) -> String {
    text.to_lowercase()
}

/// True when `haystack` contains `needle_lower` ignoring case. `needle_lower` is already lower
/// case. ASCII text is compared in place; anything else is lower-cased first (a few non-ASCII
/// characters, such as the Kelvin sign, lower-case to ASCII letters).
pub fn contains_ci(haystack: &str, needle_lower: &str) -> bool {
    if needle_lower.is_empty() {
        return true;
    }
    if haystack.is_ascii() && needle_lower.is_ascii() {
        let needle = needle_lower.as_bytes();
        haystack
            .as_bytes()
            .windows(needle.len())
            .any(|window| window.eq_ignore_ascii_case(needle))
    } else {
        search_fold(haystack).contains(needle_lower)
    }
}

#[cfg(test)]
mod tests {
    use super::contains_ci;

    #[test]
    fn substring_search_ignores_case_across_unicode() {
        assert!(contains_ci("Hello World", "world"));
        assert!(contains_ci("CAFÉ au lait", "café"));
        assert!(contains_ci("Temperature 5\u{212A}", "5k"));
        assert!(!contains_ci("Hello", "hellos"));
        assert!(!contains_ci("100 percent", "100%"));
        assert!(contains_ci("a_b", "a_b"));
        assert!(!contains_ci("axb", "a_b"));
    }
}
