//! The real binary's window, end to end: `skiplane` with no arguments under Xvfb, on whatever
//! renderer Mesa offers there. Xvfb writes its screen to a file (`-fbdir`, XWD format); the test
//! waits until that screen is no longer one flat colour, checks the app is still running, and
//! saves the screenshot as `target/window-screenshot.png` for a person to look at.
//!
//! Skipped (with a message) where Xvfb is missing, unless `SKIPLANE_REQUIRE_XVFB=1` (as in
//! `tests/run-all.sh`, which installs it).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The screen in Xvfb's XWD file as RGB pixels (24-bit depth, 32 bits per pixel).
fn read_xwd(path: &Path) -> Option<(u32, u32, Vec<[u8; 3]>)> {
    let bytes = std::fs::read(path).ok()?;
    let field = |i: usize| -> Option<u32> {
        Some(u32::from_be_bytes(
            bytes.get(i * 4..i * 4 + 4)?.try_into().ok()?,
        ))
    };
    let header_size = field(0)? as usize;
    let (width, height) = (field(4)?, field(5)?);
    let byte_order = field(7)?; // 0 = least significant byte first
    let bits_per_pixel = field(11)?;
    let bytes_per_line = field(12)? as usize;
    let colormap_entries = field(19)? as usize;
    if bits_per_pixel != 32 {
        return None;
    }
    let start = header_size + colormap_entries * 12;
    let mut pixels = Vec::with_capacity((width * height) as usize);
    for y in 0..height as usize {
        for x in 0..width as usize {
            let at = start + y * bytes_per_line + x * 4;
            let p = bytes.get(at..at + 4)?;
            let value = if byte_order == 0 {
                u32::from_le_bytes(p.try_into().ok()?)
            } else {
                u32::from_be_bytes(p.try_into().ok()?)
            };
            pixels.push([(value >> 16) as u8, (value >> 8) as u8, value as u8]);
        }
    }
    Some((width, height, pixels))
}

fn distinct_colours(pixels: &[[u8; 3]]) -> usize {
    let mut seen = std::collections::HashSet::new();
    for p in pixels.iter().step_by(7) {
        seen.insert(*p);
        if seen.len() > 64 {
            break;
        }
    }
    seen.len()
}

/// A virtual X screen whose pixels the test can read.
pub struct VirtualScreen {
    pub display: String,
    screen_file: PathBuf,
    _xvfb: KillOnDrop,
}

impl VirtualScreen {
    /// Starts Xvfb on a free-ish display number, writing its screen under `scratch`; `None` (with
    /// a message) when Xvfb is missing, unless `SKIPLANE_REQUIRE_XVFB=1`.
    pub fn start(scratch: &Path) -> Option<VirtualScreen> {
        let required = std::env::var("SKIPLANE_REQUIRE_XVFB").as_deref() == Ok("1");
        if Command::new("Xvfb")
            .arg("-help")
            .stderr(Stdio::null())
            .status()
            .is_err()
        {
            assert!(
                !required,
                "SKIPLANE_REQUIRE_XVFB=1 but Xvfb is not installed"
            );
            eprintln!("skipped: Xvfb is not installed");
            return None;
        }
        let fbdir = scratch.join("fb");
        std::fs::create_dir_all(&fbdir).unwrap();
        // Distinct per test (two tests in one process start screens).
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let display = format!(":{}", 90 + (std::process::id() % 400) * 2 + n);
        let xvfb = KillOnDrop(
            Command::new("Xvfb")
                .args([
                    display.as_str(),
                    "-screen",
                    "0",
                    "1280x800x24",
                    "-nolisten",
                    "tcp",
                    "-fbdir",
                ])
                .arg(&fbdir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        std::thread::sleep(Duration::from_millis(500));
        Some(VirtualScreen {
            display,
            screen_file: fbdir.join("Xvfb_screen0"),
            _xvfb: xvfb,
        })
    }

    /// Waits (up to 90 s) until the screen is no longer one flat colour, calling `still_running`
    /// meanwhile (it returns the reason when the app has gone); then lets the first frames
    /// finish and returns the picture.
    pub fn wait_until_drawn(
        &self,
        mut still_running: impl FnMut() -> Result<(), String>,
    ) -> image::RgbImage {
        let started = Instant::now();
        let mut drawn = None;
        while started.elapsed() < Duration::from_secs(90) {
            std::thread::sleep(Duration::from_millis(500));
            if let Err(reason) = still_running() {
                panic!("the app exited before drawing: {reason}");
            }
            if let Some((w, h, pixels)) = read_xwd(&self.screen_file)
                && distinct_colours(&pixels) > 16
            {
                drawn = Some((w, h, pixels));
                break;
            }
        }
        let Some((width, height, pixels)) = drawn else {
            panic!("the screen stayed blank for 90 s");
        };
        std::thread::sleep(Duration::from_secs(2));
        let (width, height, pixels) =
            read_xwd(&self.screen_file).unwrap_or((width, height, pixels));
        let raw: Vec<u8> = pixels.iter().flatten().copied().collect();
        image::RgbImage::from_raw(width, height, raw).unwrap()
    }
}

/// A private runtime folder, as Mesa and winit want one.
pub fn runtime_dir(scratch: &Path) -> PathBuf {
    let runtime = scratch.join("runtime");
    std::fs::create_dir_all(&runtime).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    runtime
}

#[test]
fn the_window_opens_under_xvfb_and_draws_the_app() {
    let scratch = tempfile::tempdir().unwrap();
    let Some(screen) = VirtualScreen::start(scratch.path()) else {
        return;
    };
    let log = scratch.path().join("app.log");
    let mut app = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_skiplane"))
            .env("DISPLAY", &screen.display)
            .env_remove("WAYLAND_DISPLAY")
            .env("XDG_RUNTIME_DIR", runtime_dir(scratch.path()))
            .env("XDG_CONFIG_HOME", scratch.path().join("config"))
            .env("XDG_DATA_HOME", scratch.path().join("data"))
            .env("SKIPLANE_DATA_DIR", scratch.path().join("skiplane-data"))
            .env("SKIPLANE_BACKEND", "cpu")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let picture = screen.wait_until_drawn(|| match app.0.try_wait().unwrap() {
        Some(status) => Err(format!(
            "{status}\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        )),
        None => Ok(()),
    });
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("window-screenshot.png");
    picture.save(&out).unwrap();
    eprintln!("screenshot: {}", out.display());
    assert!(
        app.0.try_wait().unwrap().is_none(),
        "the app is still running"
    );
    // Started without a terminal, it keeps a log file in its data folder.
    let log_file = scratch.path().join("skiplane-data/logs/skiplane.log");
    let logged = std::fs::read_to_string(&log_file).unwrap();
    assert!(logged.contains("Skiplane 0.1.0 started"), "{logged}");
}

#[test]
fn a_panic_in_the_window_is_logged_with_its_backtrace_and_shown_in_a_dialog() {
    let scratch = tempfile::tempdir().unwrap();
    let Some(screen) = VirtualScreen::start(scratch.path()) else {
        return;
    };
    let data = scratch.path().join("skiplane-data");
    // A previous session's log, to be rotated away.
    std::fs::create_dir_all(data.join("logs")).unwrap();
    std::fs::write(data.join("logs/skiplane.log"), "the last session\n").unwrap();
    let mut app = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_skiplane"))
            .env("DISPLAY", &screen.display)
            .env_remove("WAYLAND_DISPLAY")
            .env("XDG_RUNTIME_DIR", runtime_dir(scratch.path()))
            .env("XDG_CONFIG_HOME", scratch.path().join("config"))
            .env("SKIPLANE_DATA_DIR", &data)
            .env("SKIPLANE_BACKEND", "cpu")
            .env(skiplane::app::TEST_PANIC_ENV, "frame")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let picture = screen.wait_until_drawn(|| match app.0.try_wait().unwrap() {
        Some(status) => Err(status.to_string()),
        None => Ok(()),
    });
    picture
        .save(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("crash-dialog-screenshot.png"))
        .unwrap();
    assert!(
        app.0.try_wait().unwrap().is_none(),
        "the app is still running after the panic"
    );
    let logged = std::fs::read_to_string(data.join("logs/skiplane.log")).unwrap();
    assert!(
        logged.contains("panic in thread 'main'")
            && logged.contains("a test panic, asked for with SKIPLANE_TEST_PANIC")
            && logged.contains("backtrace:")
            && logged.contains("draw_frame"),
        "{logged}"
    );
    assert_eq!(
        std::fs::read_to_string(data.join("logs/skiplane.1.log")).unwrap(),
        "the last session\n"
    );
}
