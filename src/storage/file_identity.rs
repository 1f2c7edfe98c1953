//! Which database file the connections belong to, and moving every connection to another one.
//!
//! The database file being removed or replaced under the server is detected by its identity
//! (device and inode), checked before every batch, after every commit and before every read.
//! SQLite itself would carry on committing into a removed file's orphaned inode, and
//! acknowledging those commits would break "200 means durable": a commit whose file is no longer
//! the one at the path is answered 503. Then the writer checkpoints the old file's log into it,
//! closes every connection to it, and only then opens the file now at the path, which must not
//! inherit the old `-wal` (see [`DatabaseFile::switch`]). A removed file is not created afresh:
//! restore it, or restart to start empty.

use std::path::{Path, PathBuf};
use std::sync::{PoisonError, RwLock, RwLockReadGuard};

use rusqlite::Connection;

use super::connection::Filename;

/// A file's identity: its device and inode. A file replaced or removed and created again at the
/// same path has another one, as long as the old one is still open (which it is, by us).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileId {
    device: u64,
    inode: u64,
}

impl FileId {
    /// The identity of the file now at `path`, `None` when there is none.
    #[cfg(unix)]
    fn at(path: &Path) -> Option<Self> {
        use std::os::unix::fs::MetadataExt;
        let metadata = std::fs::metadata(path).ok()?;
        Some(Self {
            device: metadata.dev(),
            inode: metadata.ino(),
        })
    }

    #[cfg(not(unix))]
    fn at(path: &Path) -> Option<Self> {
        path.exists().then_some(Self {
            device: 0,
            inode: 0,
        })
    }
}

/// `path` with `suffix` appended: SQLite's `-wal` and `-shm` files.
fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The database every connection opens, and the identity of the file they were opened on.
pub(crate) struct DatabaseFile {
    filename: Filename,
    /// The identity of the file every open connection belongs to. Read-locked for the whole of
    /// every read; write-locked by the writer while it moves everyone to another file, so that
    /// no connection to the old file is still open when the new one is opened.
    opened: RwLock<Option<FileId>>,
}

/// Proof that the file at the path is the one the connections belong to, held for a whole read:
/// no switch to another file can start until it is dropped.
pub(crate) struct Unchanged<'a> {
    _opened: RwLockReadGuard<'a, Option<FileId>>,
}

impl DatabaseFile {
    /// `filename`, whose connections belong to the file now at its path.
    pub(crate) fn new(filename: Filename) -> Self {
        let opened = filename.path().and_then(FileId::at);
        Self {
            filename,
            opened: RwLock::new(opened),
        }
    }

    pub(crate) fn filename(&self) -> &Filename {
        &self.filename
    }

    /// True when the file at the path is no longer the one the connections were opened on.
    pub(crate) fn changed(&self) -> bool {
        let opened = *self.opened.read().unwrap_or_else(PoisonError::into_inner);
        self.moved_from(opened)
    }

    /// Holds the file steady for a read; `None` when the file at the path has changed (the
    /// writer must switch files first).
    pub(crate) fn unchanged(&self) -> Option<Unchanged<'_>> {
        let opened = self.opened.read().unwrap_or_else(PoisonError::into_inner);
        (!self.moved_from(*opened)).then_some(Unchanged { _opened: opened })
    }

    /// True when the file at the path is not `file` (never for an in-memory database).
    fn moved_from(&self, file: Option<FileId>) -> bool {
        self.filename
            .path()
            .is_some_and(|path| FileId::at(path) != file)
    }

    /// Moves everyone from the old database file to the one now at the path. Called by the
    /// writer, which hands over its connection to the old file (`None` when it had dropped it)
    /// and whose `-wal` was `old_wal`; `close_readers` closes every idle reader, and runs once
    /// no read is running.
    ///
    /// SQLite does not checkpoint a moved file on close and leaves its `-wal` and `-shm` at the
    /// path, where they would be read as the new file's: pages of one database laid over
    /// another. So, with every read finished and no reader left, the old connection checkpoints
    /// its log into the old file and truncates it (a fully checkpointed log is ignored by the
    /// next opener). Without that connection, or when that fails, the old log is renamed aside.
    pub(crate) fn switch(
        &self,
        old: Option<Connection>,
        old_wal: Option<FileId>,
        close_readers: impl FnOnce(),
    ) {
        let mut opened = self.opened.write().unwrap_or_else(PoisonError::into_inner);
        close_readers();
        let Some(path) = self.filename.path() else {
            return;
        };
        let checkpointed = old.is_some_and(|conn| {
            let busy = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
                row.get::<_, i64>(0)
            });
            matches!(busy, Ok(0))
        });
        let wal = sidecar(path, "-wal");
        let leftover = std::fs::metadata(&wal).is_ok_and(|metadata| metadata.len() > 0);
        if !checkpointed && leftover && old_wal.is_some() && FileId::at(&wal) == old_wal {
            let aside = sidecar(path, "-wal.orphaned");
            let renamed = std::fs::rename(&wal, &aside);
            let _ = std::fs::remove_file(sidecar(path, "-shm"));
            tracing::error!(
                renamed = renamed.is_ok(),
                "the write-ahead log of the replaced database file could not be checkpointed: \
                 moved aside (-wal.orphaned)"
            );
        }
        *opened = FileId::at(path);
    }

    /// The identity of the `-wal` file now at the path.
    pub(crate) fn wal_identity(&self) -> Option<FileId> {
        FileId::at(&sidecar(self.filename.path()?, "-wal"))
    }
}
