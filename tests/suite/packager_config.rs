//! The Windows and macOS packages' configuration, packaging/Packager.toml: it parses with
//! cargo-packager's own `Config` (which refuses unknown keys), read the way `cargo packager
//! --config` reads it; it names the product, identifier, version, binary and formats the project
//! means; and every file it names exists, relative to packaging/ as cargo-packager resolves them:
//! the sample dataset, and icons that are what their extensions say, with every frame the same
//! picture as the Linux hicolor PNG of that size (all drawn by assets/make_icon.py).
//!
//! Building the installers themselves needs Windows (WiX, NSIS) and macOS (hdiutil); see the
//! commands at the top of packaging/Packager.toml.

use cargo_packager::config::{
    AppCategory, Config, HookCommand, NSISInstallerMode, PackageFormat, Resource,
};
use image::{ImageFormat, RgbaImage};
use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The folder cargo-packager changes into before it resolves the config's paths.
fn config_dir() -> PathBuf {
    repo().join("packaging")
}

fn config() -> Config {
    let path = config_dir().join("Packager.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    toml::from_str::<Config>(&text)
        .unwrap_or_else(|e| panic!("{} is not a cargo-packager config: {e}", path.display()))
}

/// `path` from the config, resolved against packaging/ and with `..` folded (lexically, so a path
/// that does not exist yet, like the output folder, compares too).
fn resolve(path: &Path) -> PathBuf {
    assert!(path.is_relative(), "{} should be relative", path.display());
    let mut out = PathBuf::new();
    for part in config_dir().join(path).components() {
        match part {
            Component::ParentDir => assert!(out.pop(), "{} leaves /", path.display()),
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// A path that cargo-packager would glob: these name one file each, so no glob characters.
fn literal(pattern: &str) -> PathBuf {
    assert!(
        !pattern.contains(['*', '?', '[', '{']),
        "{pattern}: name the file itself"
    );
    resolve(Path::new(pattern))
}

fn hicolor(size: u32) -> RgbaImage {
    let path = repo().join(format!("packaging/linux/icons/{size}x{size}/skiplane.png"));
    image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgba8()
}

fn assert_same_picture(frame: &RgbaImage, size: u32, what: &str) {
    assert_eq!(frame.dimensions(), (size, size), "{what}");
    assert!(
        frame.as_raw() == hicolor(size).as_raw(),
        "{what} differs from packaging/linux/icons/{size}x{size}/skiplane.png: run assets/make_icon.py"
    );
}

#[test]
fn the_config_names_the_app_its_binary_and_the_formats() {
    let config = config();
    assert_eq!(config.product_name, "Skiplane");
    assert_eq!(config.identifier.as_deref(), Some("dev.skiplane.Skiplane"));
    // Reverse-DNS as cargo-packager documents it: alphanumerics, hyphens and periods.
    let id = config.identifier();
    assert!(
        id.split('.').count() >= 3
            && id.split('.').all(|part| {
                !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            }),
        "{id}"
    );
    // A config file inherits nothing from Cargo.toml.
    assert_eq!(config.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(
        config.description.as_deref(),
        Some(env!("CARGO_PKG_DESCRIPTION"))
    );
    assert_eq!(config.category, Some(AppCategory::Education));
    assert_eq!(
        config
            .macos()
            .and_then(|m| m.minimum_system_version.as_deref()),
        Some("10.15")
    );

    // The one binary, `skiplane` (the name of the [[bin]] these tests run), built in release.
    assert_eq!(config.binaries.len(), 1);
    let binary = &config.binaries[0];
    assert!(binary.main);
    assert_eq!(binary.path, Path::new("skiplane"));
    assert_eq!(
        Path::new(env!("CARGO_BIN_EXE_skiplane")).file_stem(),
        binary.path.file_name()
    );
    assert_eq!(config.main_binary_name().unwrap(), "skiplane");
    match &config.before_packaging_command {
        Some(HookCommand::Script(script)) => assert_eq!(script, "cargo build --release"),
        other => panic!("before-packaging-command: {other:?}"),
    }
    let binaries_dir = config.binaries_dir.as_deref().expect("binaries-dir");
    assert_eq!(resolve(binaries_dir), repo().join("target/release"));
    assert_eq!(resolve(&config.out_dir), repo().join("target/packager"));

    // MSI (through WiX) and NSIS on Windows; the .app and its .dmg on macOS.
    let formats = config.formats.clone().expect("formats");
    for format in [
        PackageFormat::Wix,
        PackageFormat::Nsis,
        PackageFormat::App,
        PackageFormat::Dmg,
    ] {
        assert!(formats.contains(&format), "{format} is not in {formats:?}");
    }
}

#[test]
fn the_sample_dataset_is_a_resource_where_the_app_looks_for_it() {
    let config = config();
    let resources = config.resources.as_deref().unwrap_or_default();
    assert_eq!(resources.len(), 1, "{resources:?}");
    let Resource::Mapped { src, target } = &resources[0] else {
        panic!("map the dataset to a target folder: {:?}", resources[0]);
    };
    let src = literal(src);
    assert!(src.is_dir(), "{} is not a folder", src.display());
    assert_eq!(
        src.canonicalize().unwrap(),
        repo().join("datasets/gcompris4").canonicalize().unwrap()
    );
    let classes = std::fs::read_dir(&src)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_dir())
        .count();
    assert!(
        classes >= 2,
        "{} has {classes} class folders",
        src.display()
    );
    // NSIS and WiX install resources beside skiplane.exe, where the app looks for
    // `<exe dir>/datasets/gcompris4` (skiplane::app::sample_dataset).
    assert_eq!(target, Path::new("datasets/gcompris4"));
}

#[test]
fn every_icon_exists_and_is_the_image_its_extension_says() {
    let config = config();
    let icons = config.icons.clone().expect("icons");
    let mut kinds = BTreeSet::new();
    for pattern in &icons {
        let path = literal(pattern);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let extension = path.extension().unwrap().to_str().unwrap();
        match extension {
            "ico" => check_ico(&bytes, pattern),
            "icns" => check_icns(&bytes, pattern),
            "png" => {
                let image = image::load_from_memory_with_format(&bytes, ImageFormat::Png)
                    .unwrap_or_else(|e| panic!("{pattern}: {e}"));
                assert_eq!(image.width(), image.height(), "{pattern} is not square");
            }
            other => panic!("{pattern}: cargo-packager uses .ico, .icns and .png, not .{other}"),
        }
        kinds.insert(extension.to_string());
    }
    // The installers and the MSI take the first .ico; the .app the first .icns (without one it
    // would build its own from the other icons).
    assert!(kinds.contains("ico") && kinds.contains("icns"), "{kinds:?}");

    let nsis = config.nsis().expect("[nsis]");
    let installer_icon = nsis.installer_icon.as_deref().expect("installer-icon");
    assert_eq!(installer_icon.extension().unwrap(), "ico");
    assert!(icons.iter().any(|i| literal(i) == resolve(installer_icon)));
    assert_eq!(nsis.install_mode, NSISInstallerMode::CurrentUser);
}

/// A Windows icon: every size Explorer and the installers ask for, each frame decodable (BMP
/// below 256 px, PNG at 256) and the same picture as the hicolor PNG of its size.
fn check_ico(bytes: &[u8], name: &str) {
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    assert!(bytes.len() > 6, "{name} is truncated");
    assert_eq!((u16_at(0), u16_at(2)), (0, 1), "{name} is not an .ico");
    let count = u16_at(4) as usize;
    let mut sizes = Vec::new();
    for i in 0..count {
        let entry = &bytes[6 + 16 * i..6 + 16 * (i + 1)];
        let (length, offset) = (u32_at(6 + 16 * i + 8), u32_at(6 + 16 * i + 12));
        let data = bytes
            .get(offset as usize..(offset + length) as usize)
            .unwrap_or_else(|| panic!("{name}: frame {i} runs past the end"));
        let size = if entry[0] == 0 { 256 } else { entry[0] as u32 };
        // The frame alone, as a one-image .ico, through the image crate's decoder.
        let mut single = vec![0, 0, 1, 0, 1, 0];
        single.extend_from_slice(&entry[..8]);
        single.extend_from_slice(&length.to_le_bytes());
        single.extend_from_slice(&22u32.to_le_bytes());
        single.extend_from_slice(data);
        let frame = image::load_from_memory_with_format(&single, ImageFormat::Ico)
            .unwrap_or_else(|e| panic!("{name}: the {size} px frame: {e}"))
            .to_rgba8();
        assert_same_picture(&frame, size, &format!("{name}, {size} px"));
        sizes.push(size);
    }
    assert_eq!(sizes, [16, 24, 32, 48, 64, 128, 256], "{name}");
    // And whole, as Windows reads it (the largest frame).
    let whole = image::load_from_memory_with_format(bytes, ImageFormat::Ico).unwrap();
    assert_eq!((whole.width(), whole.height()), (256, 256));
}

/// A macOS icon family: the `icns` magic and length, then typed chunks to the end. The PNG
/// types (ic07–ic14) decode to their sizes and, up to 512 px, match the hicolor PNGs.
fn check_icns(bytes: &[u8], name: &str) {
    assert_eq!(&bytes[..4], b"icns", "{name} is not an .icns");
    let u32_at = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    assert_eq!(u32_at(4), bytes.len(), "{name}: length in the header");
    let mut at = 8;
    let mut sizes = BTreeSet::new();
    while at < bytes.len() {
        let kind = &bytes[at..at + 4];
        let length = u32_at(at + 4);
        assert!(
            length >= 8 && at + length <= bytes.len(),
            "{name}: bad chunk at {at}"
        );
        let data = &bytes[at + 8..at + length];
        let size = match kind {
            b"ic07" => Some(128),
            b"ic08" | b"ic13" => Some(256),
            b"ic09" | b"ic14" => Some(512),
            b"ic10" => Some(1024),
            b"ic11" => Some(32),
            b"ic12" => Some(64),
            _ => None,
        };
        if let Some(size) = size {
            let kind = String::from_utf8_lossy(kind);
            let frame = image::load_from_memory_with_format(data, ImageFormat::Png)
                .unwrap_or_else(|e| panic!("{name}: {kind}: {e}"))
                .to_rgba8();
            if size <= 512 {
                assert_same_picture(&frame, size, &format!("{name}, {kind}"));
            } else {
                assert_eq!(frame.dimensions(), (size, size), "{name}, {kind}");
            }
            sizes.insert(size);
        }
        at += length;
    }
    // Finder and the Dock draw from 32 px (16 @2x) up to 1024 px (512 @2x).
    assert_eq!(
        sizes.into_iter().collect::<Vec<_>>(),
        [32, 64, 128, 256, 512, 1024],
        "{name}"
    );
}
