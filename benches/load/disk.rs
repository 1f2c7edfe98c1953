//! What one `fsync` costs this machine in CPU: a floor under the cost of every durable commit.
//!
//! Each writer commit ends with an fsync of the write-ahead log (`synchronous=FULL`: a 200 means
//! the message is on disk), and the kernel spends CPU on it, in the writer's thread, whatever
//! SQLite does. It is measured the way a commit syncs: a few pages written over a file's
//! existing pages (a log reused after a checkpoint), then `fsync`, in the folder the servers'
//! databases are in; less the same writes without the `fsync`. Divided by the messages per
//! commit, it says how much of a new message's CPU no change to the server's code can remove
//! short of larger commits.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// The pages a commit of a few messages writes to the log (the table's and the primary key's
/// last pages, a frame header each).
pub const WRITE_BYTES: usize = 3 * 4096;
/// The file the writes rotate over: about SQLite's log at its default checkpoint threshold.
const FILE_BYTES: u64 = 4 << 20;

/// The median cost of one `fsync` after a commit-sized write.
#[derive(Debug, Clone, Copy)]
pub struct SyncCost {
    /// CPU of this thread per `fsync`, the write's own CPU taken out.
    pub cpu_us: f64,
    /// Wall time per write and `fsync`.
    pub wall_us: f64,
    /// How many `fsync` calls each pass made.
    pub syncs: u32,
}

impl SyncCost {
    /// Its CPU shared by the messages of one commit: what the fsync adds to each new message.
    pub fn cpu_us_per_message(&self, messages_per_commit: f64) -> f64 {
        self.cpu_us / messages_per_commit
    }
}

/// Measures `passes` passes of `syncs` synced writes (and as many unsynced ones) in a scratch
/// file in `dir`, and returns the median pass.
pub fn fsync_cost(dir: &Path, syncs: u32, passes: usize) -> io::Result<SyncCost> {
    let scratch = tempfile::NamedTempFile::new_in(dir)?;
    let file = scratch.as_file();
    file.write_all_at(&vec![0; FILE_BYTES as usize], 0)?;
    file.sync_all()?;
    let mut cpu = Vec::with_capacity(passes);
    let mut wall = Vec::with_capacity(passes);
    for _ in 0..passes {
        let (synced_cpu, synced_wall) = writes(file, syncs, true)?;
        let (unsynced_cpu, _) = writes(file, syncs, false)?;
        let per_call = |time: Duration| time.as_secs_f64() * 1e6 / f64::from(syncs);
        cpu.push((per_call(synced_cpu) - per_call(unsynced_cpu)).max(0.0));
        wall.push(per_call(synced_wall));
    }
    Ok(SyncCost {
        cpu_us: crate::median(cpu),
        wall_us: crate::median(wall),
        syncs,
    })
}

/// `count` commit-sized writes over the file's pages, each followed by `fsync` when `sync`:
/// the CPU this thread used and the time it took.
fn writes(file: &File, count: u32, sync: bool) -> io::Result<(Duration, Duration)> {
    let page = vec![0x5a; WRITE_BYTES];
    let slots = FILE_BYTES / WRITE_BYTES as u64;
    let cpu_before = thread_cpu()?;
    let started = Instant::now();
    for i in 0..u64::from(count) {
        file.write_all_at(&page, (i % slots) * WRITE_BYTES as u64)?;
        if sync {
            file.sync_all()?;
        }
    }
    let took = started.elapsed();
    Ok((thread_cpu()?.saturating_sub(cpu_before), took))
}

/// The CPU this thread has used (the kernel's scheduler accounting, in nanoseconds).
fn thread_cpu() -> io::Result<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat")?;
    crate::on_cpu(&stat).ok_or_else(|| io::Error::other(format!("unexpected schedstat: {stat:?}")))
}

/// The measurement itself, small, for the test run: it counts what it was asked, and one
/// thread's CPU per call cannot exceed the call's wall time.
pub fn self_check(dir: &Path) {
    let cost = fsync_cost(dir, 20, 3).expect("the bench folder takes a scratch file");
    assert_eq!(cost.syncs, 20);
    assert!(cost.cpu_us.is_finite() && cost.cpu_us >= 0.0, "{cost:?}");
    assert!(cost.wall_us >= cost.cpu_us, "{cost:?}");
}
