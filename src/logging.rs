//! Where Skiplane's log goes, and what happens on a panic.
//!
//! The command line logs to stderr. The window is usually started from a desktop entry, with no
//! terminal to read, so it also writes to `<data dir>/logs/skiplane.log` — rotated at each start
//! and whenever it passes [`MAX_LOG_BYTES`], keeping [`KEPT_LOGS`] older files
//! (`skiplane.1.log` is the previous one). A panic hook writes every panic, on any thread, with its
//! backtrace, to that log.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A log file is rotated once it grows past this.
pub const MAX_LOG_BYTES: u64 = 5 << 20;
/// How many rotated files are kept beside the current one.
pub const KEPT_LOGS: usize = 4;

/// `<data dir>/logs` (`~/.local/share/skiplane/logs` on Linux; `SKIPLANE_DATA_DIR` moves it).
pub fn log_dir() -> Option<PathBuf> {
    crate::train::run_folder::app_data_dir().map(|dir| dir.join("logs"))
}

/// `skiplane.log` → `skiplane.<n>.log`.
fn rotated_name(path: &Path, n: usize) -> PathBuf {
    path.with_extension(format!("{n}.log"))
}

/// Shifts `path` to `.1.log`, `.1.log` to `.2.log`, …, dropping the oldest beyond `keep`.
fn rotate(path: &Path, keep: usize) -> std::io::Result<()> {
    if keep == 0 {
        return match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    let _ = std::fs::remove_file(rotated_name(path, keep));
    for n in (1..keep).rev() {
        let from = rotated_name(path, n);
        if from.exists() {
            std::fs::rename(&from, rotated_name(path, n + 1))?;
        }
    }
    if path.exists() {
        std::fs::rename(path, rotated_name(path, 1))?;
    }
    Ok(())
}

/// A log file that starts fresh (the last one rotated away) and rotates itself when full.
pub struct RotatingFile {
    path: PathBuf,
    file: std::fs::File,
    written: u64,
    max_bytes: u64,
    keep: usize,
}

impl RotatingFile {
    pub fn open(path: &Path, max_bytes: u64, keep: usize) -> std::io::Result<RotatingFile> {
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder)?;
        }
        rotate(path, keep)?;
        Ok(RotatingFile {
            path: path.to_path_buf(),
            file: std::fs::File::create(path)?,
            written: 0,
            max_bytes,
            keep,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.written > 0 && self.written + buf.len() as u64 > self.max_bytes {
            // A rotation that fails (a full disk, a renamed folder) must not stop the logging:
            // go on in the current file and try again after another `max_bytes`.
            let _ = self.file.flush();
            let rotated =
                rotate(&self.path, self.keep).and_then(|()| std::fs::File::create(&self.path));
            if let Ok(file) = rotated {
                self.file = file;
            }
            self.written = 0;
        }
        self.file.write_all(buf)?;
        self.written += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Every log line to stderr and, when there is one, to the log file.
struct Tee {
    file: Option<Arc<Mutex<RotatingFile>>>,
}

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().write_all(buf);
        if let Some(file) = &self.file
            && let Ok(mut file) = file.lock()
        {
            // Written through at once: the process may be about to die.
            file.write_all(buf)?;
            file.flush()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn filter() -> env_logger::Env<'static> {
    env_logger::Env::default().default_filter_or("skiplane=info")
}

/// The command line's logging: stderr, no timestamps.
pub fn init_cli_logging() {
    let _ = env_logger::Builder::from_env(filter())
        .format_timestamp(None)
        .format_target(false)
        .try_init();
}

/// The window's logging: stderr and the rotating log file (timestamped). Returns the log file's
/// path, or `None` (said on stderr) when it cannot be created — the app runs on regardless.
pub fn init_app_logging() -> Option<PathBuf> {
    let opened = log_dir()
        .ok_or_else(|| "no data folder for this user".to_string())
        .and_then(|dir| {
            let path = dir.join("skiplane.log");
            RotatingFile::open(&path, MAX_LOG_BYTES, KEPT_LOGS)
                .map_err(|e| format!("{}: {e}", path.display()))
        });
    let file = match opened {
        Ok(file) => Some(file),
        Err(reason) => {
            eprintln!("skiplane: cannot write a log file ({reason}); logging to stderr only");
            None
        }
    };
    let path = file.as_ref().map(|f| f.path().to_path_buf());
    let tee = Tee {
        file: file.map(|f| Arc::new(Mutex::new(f))),
    };
    let _ = env_logger::Builder::from_env(filter())
        .format_timestamp_millis()
        .target(env_logger::Target::Pipe(Box::new(tee)))
        .try_init();
    if let Some(path) = &path {
        *LOG_PATH.lock().unwrap_or_else(|e| e.into_inner()) = Some(path.clone());
    }
    log::info!(
        "Skiplane {} started (log: {})",
        env!("CARGO_PKG_VERSION"),
        path.as_ref()
            .map_or("stderr only".into(), |p| p.display().to_string())
    );
    path
}

static LOG_PATH: Mutex<Option<PathBuf>> = Mutex::new(None);

/// The log file of this process, when the window's logging is on.
pub fn log_path() -> Option<PathBuf> {
    LOG_PATH.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The text of a panic payload (`panic!("…")` gives a `&str` or a `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

/// Logs every panic with its thread, location and backtrace (as an error, so it reaches the log
/// file). Panics still unwind as before: the training worker and the background jobs catch theirs
/// and report a failure; the window catches one in its frame and shows it.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .to_string();
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_default();
        let backtrace = std::backtrace::Backtrace::force_capture();
        log::error!(
            "panic in thread '{thread}' at {location}: {}\nbacktrace:\n{backtrace}",
            panic_message(info.payload())
        );
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_rotates_at_start_and_when_full_keeping_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("skiplane.log");
        std::fs::write(&path, "last session\n").unwrap();
        let mut log = RotatingFile::open(&path, 100, 2).unwrap();
        assert_eq!(
            std::fs::read_to_string(rotated_name(&path, 1)).unwrap(),
            "last session\n"
        );
        log.write_all(&[b'a'; 60]).unwrap();
        log.write_all(&[b'b'; 60]).unwrap(); // past 100 bytes: a's move to .1, last session to .2
        log.write_all(&[b'c'; 60]).unwrap(); // again: b's to .1, a's to .2, last session dropped
        log.flush().unwrap();
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap();
        assert_eq!(read(path.clone()), "c".repeat(60));
        assert_eq!(read(rotated_name(&path, 1)), "b".repeat(60));
        assert_eq!(read(rotated_name(&path, 2)), "a".repeat(60));
        assert!(!rotated_name(&path, 3).exists());
    }
}
