//! Decoding one photo, whatever the user's folder holds: every failure becomes a reason a person
//! can act on, never a panic. The result is always 8-bit RGB with EXIF orientation applied.

use image::{DynamicImage, ImageFormat, ImageReader, Limits, RgbImage};
use std::io::Cursor;
use std::path::Path;

/// Largest width or height accepted; a header claiming more is treated as a decompression bomb.
pub const MAX_DIMENSION: u32 = 30_000;
/// Largest decoded allocation accepted (a 50 MP RGBA photo needs 200 MB).
pub const MAX_DECODED_BYTES: u64 = 1 << 30;

/// Why a file could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkipReason {
    #[error("zero bytes")]
    Empty,
    #[error("unreadable: {0}")]
    Unreadable(String),
    #[error("symlink loop")]
    SymlinkLoop,
    #[error("not an image")]
    NotAnImage,
    #[error("unsupported format: {0}")]
    Unsupported(String),
    #[error("corrupt or truncated: {0}")]
    Corrupt(String),
    #[error("decompression bomb: {0}")]
    DecompressionBomb(String),
}

/// Formats Skiplane decodes.
const SUPPORTED: [ImageFormat; 6] = [
    ImageFormat::Jpeg,
    ImageFormat::Png,
    ImageFormat::WebP,
    ImageFormat::Bmp,
    ImageFormat::Gif,
    ImageFormat::Tiff,
];

/// Reads a file's bytes, classifying the ways a path can fail before decoding starts.
pub fn read_file(path: &Path) -> Result<Vec<u8>, SkipReason> {
    let meta = std::fs::metadata(path).map_err(|e| io_reason(&e))?;
    if meta.len() == 0 {
        return Err(SkipReason::Empty);
    }
    std::fs::read(path).map_err(|e| io_reason(&e))
}

pub(crate) fn io_reason(e: &std::io::Error) -> SkipReason {
    // ELOOP: too many levels of symbolic links.
    if e.raw_os_error() == Some(40) {
        return SkipReason::SymlinkLoop;
    }
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => SkipReason::Unreadable("permission denied".into()),
        _ => SkipReason::Unreadable(e.to_string()),
    }
}

/// The format from the file's first bytes (not its extension), if Skiplane can decode it.
pub fn sniff_format(bytes: &[u8]) -> Result<ImageFormat, SkipReason> {
    match image::guess_format(bytes) {
        Ok(format) if SUPPORTED.contains(&format) => Ok(format),
        Ok(format) => Err(SkipReason::Unsupported(format!("{format:?}"))),
        Err(_) => Err(SkipReason::NotAnImage),
    }
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    limits
}

/// Decoders fill in a truncated JPEG or PNG silently; PIL refuses them, and so do we.
fn check_complete(format: ImageFormat, bytes: &[u8]) -> Result<(), SkipReason> {
    let tail = &bytes[bytes.len().saturating_sub(64 * 1024)..];
    let complete = match format {
        ImageFormat::Jpeg => tail.windows(2).any(|w| w == [0xFF, 0xD9]),
        ImageFormat::Png => tail.windows(4).any(|w| w == b"IEND"),
        _ => true,
    };
    if complete {
        Ok(())
    } else {
        Err(SkipReason::Corrupt(
            "the file ends early (no end-of-image marker)".into(),
        ))
    }
}

/// Image dimensions from the header alone (fast), with the same checks as a full decode of
/// the header.
pub fn probe(bytes: &[u8]) -> Result<(ImageFormat, u32, u32), SkipReason> {
    let format = sniff_format(bytes)?;
    check_complete(format, bytes)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits());
    let (w, h) = reader.into_dimensions().map_err(image_reason)?;
    check_dimensions(w, h)?;
    Ok((format, w, h))
}

fn check_dimensions(w: u32, h: u32) -> Result<(), SkipReason> {
    if w == 0 || h == 0 {
        return Err(SkipReason::Corrupt(format!("the image is {w}x{h} pixels")));
    }
    if w > MAX_DIMENSION || h > MAX_DIMENSION || (w as u64 * h as u64 * 4) > MAX_DECODED_BYTES {
        return Err(SkipReason::DecompressionBomb(format!(
            "{w}x{h} pixels is over the {MAX_DIMENSION}-pixel / {} MiB limit",
            MAX_DECODED_BYTES >> 20
        )));
    }
    Ok(())
}

fn image_reason(e: image::ImageError) -> SkipReason {
    match e {
        image::ImageError::Limits(l) => SkipReason::DecompressionBomb(l.to_string()),
        image::ImageError::Unsupported(u) => SkipReason::Unsupported(u.to_string()),
        other => SkipReason::Corrupt(other.to_string()),
    }
}

/// Decodes bytes to 8-bit RGB: EXIF orientation applied, alpha composited on white, grayscale and
/// palette expanded, 16-bit reduced, GIF's first frame.
pub fn decode_bytes(bytes: &[u8]) -> Result<RgbImage, SkipReason> {
    let (format, _, _) = probe(bytes)?;
    let decoded = std::panic::catch_unwind(|| -> Result<DynamicImage, SkipReason> {
        use image::ImageDecoder;
        let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
        reader.limits(limits());
        let mut decoder = reader.into_decoder().map_err(image_reason)?;
        let orientation = decoder
            .orientation()
            .unwrap_or(image::metadata::Orientation::NoTransforms);
        let mut image = DynamicImage::from_decoder(decoder).map_err(image_reason)?;
        image.apply_orientation(orientation);
        Ok(image)
    })
    .map_err(|_| SkipReason::Corrupt("the decoder crashed on this file".into()))??;
    Ok(to_rgb_on_white(decoded))
}

/// Reads and decodes a file.
pub fn decode_file(path: &Path) -> Result<RgbImage, SkipReason> {
    decode_bytes(&read_file(path)?)
}

fn to_rgb_on_white(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    let (w, h) = rgba.dimensions();
    let mut out = RgbImage::new(w, h);
    for (dst, src) in out.pixels_mut().zip(rgba.pixels()) {
        let alpha = src[3] as u32;
        for c in 0..3 {
            // Round-to-nearest of a·c + (1 − a)·255, in integers.
            dst[c] = ((src[c] as u32 * alpha + 255 * (255 - alpha) + 127) / 255) as u8;
        }
    }
    out
}

/// Whether a file name says it is a photo Skiplane decodes (for picking files; the content is
/// still sniffed when the photo is read).
pub fn has_photo_extension(path: &Path) -> bool {
    path.extension().is_some_and(|e| {
        matches!(
            e.to_string_lossy().to_ascii_lowercase().as_str(),
            "jpg" | "jpeg" | "png" | "webp" | "bmp" | "gif" | "tif" | "tiff"
        )
    })
}
