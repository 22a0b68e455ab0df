//! The Linux package, as a user's desktop meets it: the desktop entry passes
//! `desktop-file-validate` and names the window's app id; the icons are the sizes their folders
//! say; and the `.deb` built by cargo-deb (from the binary these tests run) installs into a scratch
//! dpkg root — where dpkg first refuses it for the run-time libraries it declares — and launches
//! through its desktop entry (`gio launch`) under Xvfb to a drawn window, then uninstalls cleanly;
//! and the portable tarball, unpacked into a folder with a space in its name, registers itself for
//! the user and launches from that entry the same way.
//!
//! The tools (desktop-file-utils, gio, dpkg-dev, Xvfb, cargo-deb) come from `tests/run-all.sh`,
//! which sets `SKIPLANE_REQUIRE_PACKAGING=1`; elsewhere a missing tool skips with a message.

use crate::window::{KillOnDrop, VirtualScreen, runtime_dir};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether `program --version` (or `args`) runs; panics when missing but required.
fn have(program: &str, args: &[&str]) -> bool {
    let found = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("SKIPLANE_REQUIRE_PACKAGING").is_none(),
            "SKIPLANE_REQUIRE_PACKAGING is set but `{program}` is missing (tests/run-all.sh installs it)"
        );
        eprintln!("skipped: `{program}` is not installed");
    }
    found
}

fn desktop_entry() -> PathBuf {
    repo().join("packaging/linux/skiplane.desktop")
}

fn entry_value(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{key}=")))
        .map(str::to_string)
}

#[test]
fn the_desktop_entry_is_valid_and_matches_the_window() {
    let text = std::fs::read_to_string(desktop_entry()).unwrap();
    assert_eq!(
        entry_value(&text, "StartupWMClass").as_deref(),
        Some(skiplane::app::APP_ID)
    );
    assert_eq!(entry_value(&text, "Exec").as_deref(), Some("skiplane"));
    assert_eq!(entry_value(&text, "Icon").as_deref(), Some("skiplane"));
    assert_eq!(entry_value(&text, "Terminal").as_deref(), Some("false"));
    if !have("desktop-file-validate", &["--help"]) {
        return;
    }
    let output = Command::new("desktop-file-validate")
        .arg(desktop_entry())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && report.trim().is_empty(),
        "{report}"
    );
}

#[test]
fn every_packaged_icon_is_the_size_its_folder_names() {
    let folder = repo().join("packaging/linux/icons");
    let mut sizes = Vec::new();
    for entry in std::fs::read_dir(&folder).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let (w, h) = name.split_once('x').unwrap();
        let icon = image::open(dir.join("skiplane.png")).unwrap();
        assert_eq!(
            (icon.width(), icon.height()),
            (w.parse().unwrap(), h.parse().unwrap()),
            "{name}"
        );
        sizes.push(icon.width());
    }
    sizes.sort();
    assert_eq!(sizes, [16, 24, 32, 48, 64, 128, 256, 512]);
    // Each is listed in the package's assets.
    let manifest = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    for size in sizes {
        let asset = format!("packaging/linux/icons/{size}x{size}/skiplane.png");
        assert!(manifest.contains(&asset), "{asset} is not packaged");
    }
}

fn run(command: &mut Command) -> std::process::Output {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// dpkg on a database of its own under `root` (empty at first, as on a machine with nothing
/// installed).
fn scratch_dpkg_root(root: &Path) -> Command {
    let admin = root.join("var/lib/dpkg");
    for dir in ["info", "updates", "triggers"] {
        std::fs::create_dir_all(admin.join(dir)).unwrap();
    }
    for file in ["status", "available"] {
        if !admin.join(file).exists() {
            std::fs::write(admin.join(file), "").unwrap();
        }
    }
    let mut dpkg = Command::new("dpkg");
    dpkg.arg(format!("--root={}", root.display()))
        .arg("--log=/dev/null")
        .arg("--force-not-root")
        .arg("--force-script-chrootless");
    dpkg
}

/// The processes whose executable is `exe`.
fn processes_running(exe: &Path) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|target| target == exe)
        })
        .collect()
}

#[test]
fn the_deb_installs_launches_from_its_desktop_entry_and_uninstalls() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    if !have(&cargo, &["deb", "--version"])
        || !have("dpkg-deb", &["--version"])
        || !have("gio", &["--version"])
    {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let deb = scratch.path().join("skiplane.deb");
    // The binary these tests already built (target/debug): cargo-deb packages it as is. The
    // documented release command (`cargo deb`) builds with the release profile first.
    run(Command::new(&cargo)
        .current_dir(repo())
        .args(["deb", "--no-build", "--profile", "dev", "--output"])
        .arg(&deb));
    let control = String::from_utf8(
        run(Command::new("dpkg-deb")
            .args(["-f"])
            .arg(&deb)
            .arg("Depends"))
        .stdout,
    )
    .unwrap();
    for library in [
        "libvulkan1",
        "libegl1",
        "libx11-6",
        "libxkbcommon-x11-0",
        "libwayland-client0",
        "libc6",
    ] {
        assert!(
            control.contains(library),
            "Depends lacks {library}: {control}"
        );
    }

    // dpkg on a machine without those libraries refuses, naming them.
    let root = scratch.path().join("root");
    let refused = scratch_dpkg_root(&root)
        .arg("--install")
        .arg(&deb)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{said}");
    assert!(said.contains("depends on libvulkan1"), "{said}");
    // Installed regardless of them (this machine has them outside the scratch root).
    run(scratch_dpkg_root(&root)
        .args(["--force-depends", "--install"])
        .arg(&deb));
    let installed = root.join("usr/bin/skiplane");
    assert!(installed.is_file());
    assert!(
        root.join("usr/share/applications/skiplane.desktop")
            .is_file()
    );
    assert!(
        root.join("usr/share/icons/hicolor/256x256/apps/skiplane.png")
            .is_file()
    );
    let sample = root.join("usr/share/skiplane/datasets/gcompris4");
    assert_eq!(
        std::fs::read_dir(sample.join("fishes")).unwrap().count(),
        28
    );

    // Launched the way a desktop does it: through the entry, by name on PATH.
    let path = format!(
        "{}:{}",
        root.join("usr/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let desktop_file = root.join("usr/share/applications/skiplane.desktop");
    if !launches_from_desktop_entry(&desktop_file, &installed, &path, scratch.path(), "deb") {
        return;
    }

    let removal = run(scratch_dpkg_root(&root).args(["--remove", "skiplane"]));
    assert!(
        !installed.exists(),
        "still installed after dpkg --remove:\n{}{}",
        String::from_utf8_lossy(&removal.stdout),
        String::from_utf8_lossy(&removal.stderr)
    );
    assert!(!root.join("usr/share/skiplane").exists());
}

/// Launches `desktop_file` with `gio launch` (as a desktop does) under Xvfb, with `path` as PATH,
/// and checks that `exe` is what runs and draws a window; stops it after. False when Xvfb is
/// missing (and not required).
fn launches_from_desktop_entry(
    desktop_file: &Path,
    exe: &Path,
    path: &str,
    scratch: &Path,
    name: &str,
) -> bool {
    let Some(screen) = VirtualScreen::start(scratch) else {
        return false;
    };
    let home = scratch.join("home");
    let launcher = KillOnDrop(
        Command::new("gio")
            .arg("launch")
            .arg(desktop_file)
            .env("PATH", path)
            .env("DISPLAY", &screen.display)
            .env_remove("WAYLAND_DISPLAY")
            .env("XDG_RUNTIME_DIR", runtime_dir(scratch))
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("SKIPLANE_BACKEND", "cpu")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut seen = false;
    let picture = screen.wait_until_drawn(|| {
        let running = !processes_running(exe).is_empty();
        seen |= running;
        // Allow gio a moment to start it; after that it must keep running.
        if seen && !running {
            return Err(format!("{} is no longer running", exe.display()));
        }
        Ok(())
    });
    picture
        .save(
            PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("{name}-launch-screenshot.png")),
        )
        .unwrap();
    let pids = processes_running(exe);
    assert!(!pids.is_empty(), "the window is {}'s", exe.display());
    for pid in pids {
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }
    drop(launcher);
    true
}

#[test]
fn the_portable_tarball_registers_for_the_user_and_launches_from_its_entry() {
    if !have("gio", &["--version"]) || !have("desktop-file-validate", &["--help"]) {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let output = run(Command::new("bash")
        .arg(repo().join("packaging/linux/make-tarball.sh"))
        .arg(env!("CARGO_BIN_EXE_skiplane"))
        .arg(scratch.path()));
    let tarball = PathBuf::from(String::from_utf8(output.stdout).unwrap().trim());
    assert!(tarball.is_file(), "{}", tarball.display());
    // Unpacked into a folder with a space in its name, as users' folders often have.
    let apps = scratch.path().join("My Apps");
    std::fs::create_dir_all(&apps).unwrap();
    run(Command::new("tar")
        .arg("-C")
        .arg(&apps)
        .arg("-xzf")
        .arg(&tarball));
    let unpacked = apps.join(format!(
        "skiplane-{}-linux-{}",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH
    ));
    let exe = unpacked.join("bin/skiplane");
    assert!(exe.is_file());
    assert_eq!(
        std::fs::read_dir(unpacked.join("share/skiplane/datasets/gcompris4/fishes"))
            .unwrap()
            .count(),
        28
    );

    let data_home = scratch.path().join("home/.local/share");
    run(Command::new("bash")
        .arg(unpacked.join("install.sh"))
        .env("XDG_DATA_HOME", &data_home));
    let entry = data_home.join("applications/skiplane.desktop");
    let validated = Command::new("desktop-file-validate")
        .arg(&entry)
        .output()
        .unwrap();
    assert!(
        validated.status.success() && validated.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&validated.stdout)
    );
    let text = std::fs::read_to_string(&entry).unwrap();
    assert_eq!(
        entry_value(&text, "Exec"),
        Some(format!("\"{}\"", exe.display()))
    );
    assert!(
        data_home
            .join("icons/hicolor/48x48/apps/skiplane.png")
            .is_file()
    );
    // Not on PATH: the entry's absolute Exec is what starts it.
    launches_from_desktop_entry(&entry, &exe, "/usr/bin:/bin", scratch.path(), "tarball");
}
