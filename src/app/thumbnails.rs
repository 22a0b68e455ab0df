//! Small previews of photos, decoded off the UI thread (with the same decoder training uses, so
//! EXIF rotation and odd formats look as the network sees them) and kept as textures.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};

/// Longest side of a thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 160;
/// At most this many photos decode at once; the rest wait their turn.
const IN_FLIGHT: usize = 8;

pub enum Thumbnail {
    Ready(egui::TextureHandle),
    Failed(String),
}

type Decoded = (PathBuf, Result<egui::ColorImage, String>);

pub struct Thumbnails {
    ctx: egui::Context,
    ready: HashMap<PathBuf, Thumbnail>,
    pending: HashSet<PathBuf>,
    sender: Sender<Decoded>,
    receiver: Receiver<Decoded>,
}

impl Default for Thumbnails {
    fn default() -> Self {
        Self::new()
    }
}

impl Thumbnails {
    fn new() -> Self {
        let (sender, receiver) = channel();
        Thumbnails {
            ctx: egui::Context::default(),
            ready: HashMap::new(),
            pending: HashSet::new(),
            sender,
            receiver,
        }
    }

    pub fn is_busy(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The thumbnail of `path`, asking for it if it is not there yet.
    pub fn get(&mut self, path: &Path) -> Option<&Thumbnail> {
        if !self.ready.contains_key(path)
            && !self.pending.contains(path)
            && self.pending.len() < IN_FLIGHT
        {
            self.pending.insert(path.to_path_buf());
            let sender = self.sender.clone();
            let ctx = self.ctx.clone();
            let path = path.to_path_buf();
            rayon::spawn(move || {
                let image = decode_thumbnail(&path);
                let _ = sender.send((path, image));
                ctx.request_repaint();
            });
        }
        self.ready.get(path)
    }

    /// Uploads what finished decoding.
    pub fn poll(&mut self, ctx: &egui::Context) {
        self.ctx = ctx.clone(); // decoders wake this window
        while let Ok((path, decoded)) = self.receiver.try_recv() {
            self.pending.remove(&path);
            let thumbnail = match decoded {
                Ok(image) => Thumbnail::Ready(ctx.load_texture(
                    path.display().to_string(),
                    image,
                    egui::TextureOptions::LINEAR,
                )),
                Err(reason) => Thumbnail::Failed(reason),
            };
            self.ready.insert(path, thumbnail);
        }
    }
}

fn decode_thumbnail(path: &Path) -> Result<egui::ColorImage, String> {
    let image = crate::data::decode::decode_file(path).map_err(|e| e.to_string())?;
    let (w, h) = fit(
        image.width(),
        image.height(),
        THUMBNAIL_SIDE,
        THUMBNAIL_SIDE,
    );
    let thumbnail = image::imageops::thumbnail(&image, w, h);
    Ok(egui::ColorImage::from_rgb(
        [w as usize, h as usize],
        thumbnail.as_raw(),
    ))
}

/// The size that fits `width`x`height` in the box, keeping its shape.
fn fit(width: u32, height: u32, box_w: u32, box_h: u32) -> (u32, u32) {
    let scale = (box_w as f64 / width.max(1) as f64).min(box_h as f64 / height.max(1) as f64);
    (
        ((width as f64 * scale).round() as u32).max(1),
        ((height as f64 * scale).round() as u32).max(1),
    )
}
