//! Training augmentation in torchvision's manner: `RandomResizedCrop`, horizontal flip, a small
//! rotation and colour jitter. Each sample draws from its own generator seeded by (seed, epoch,
//! sample index), so a run reproduces whatever order threads finish in.

use super::preprocess::{IMAGENET_MEAN, IMAGENET_STD, to_normalized_chw};
use image::RgbImage;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Augmentation {
    /// Output side in pixels.
    pub size: u32,
    /// Range of the crop's area as a share of the image (torchvision: 0.08–1).
    pub scale: (f64, f64),
    /// Range of the crop's aspect ratio (torchvision: 3/4–4/3).
    pub ratio: (f64, f64),
    pub horizontal_flip: bool,
    /// Rotation drawn from ±degrees (0 = none); corners are filled with black.
    pub rotation_degrees: f32,
    /// Colour jitter strengths (torchvision's `ColorJitter`); 0 = off.
    pub brightness: f32,
    pub contrast: f32,
    pub saturation: f32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl Default for Augmentation {
    fn default() -> Self {
        Self {
            size: 224,
            scale: (0.08, 1.0),
            ratio: (3.0 / 4.0, 4.0 / 3.0),
            horizontal_flip: true,
            rotation_degrees: 10.0,
            brightness: 0.2,
            contrast: 0.2,
            saturation: 0.2,
            mean: IMAGENET_MEAN,
            std: IMAGENET_STD,
        }
    }
}

/// A crop box: left, top, width, height.
pub type CropBox = (u32, u32, u32, u32);

/// The generator for one sample of one epoch.
pub fn sample_rng(seed: u64, epoch: u64, index: u64) -> ChaCha8Rng {
    // SplitMix64 over the three numbers, so neighbouring samples get unrelated streams.
    let mut x = seed
        ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ index.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ChaCha8Rng::seed_from_u64(x ^ (x >> 31))
}

impl Augmentation {
    /// Rejects settings that cannot work, naming the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.size == 0 {
            return Err("`size` must be at least 1 pixel".into());
        }
        if !(0.0 < self.scale.0 && self.scale.0 <= self.scale.1 && self.scale.1 <= 1.0) {
            return Err(format!(
                "`scale` {:?} must satisfy 0 < low ≤ high ≤ 1",
                self.scale
            ));
        }
        if !(0.0 < self.ratio.0 && self.ratio.0 <= self.ratio.1) {
            return Err(format!(
                "`ratio` {:?} must satisfy 0 < low ≤ high",
                self.ratio
            ));
        }
        if !(0.0..=180.0).contains(&self.rotation_degrees) {
            return Err(format!(
                "`rotation_degrees` is {}: must be in 0–180",
                self.rotation_degrees
            ));
        }
        for (name, v) in [
            ("brightness", self.brightness),
            ("contrast", self.contrast),
            ("saturation", self.saturation),
        ] {
            if !(v >= 0.0) {
                return Err(format!("`{name}` is {v}: must be 0 or more"));
            }
        }
        if let Some(c) = (0..3).find(|&c| !(self.std[c] > 0.0)) {
            return Err(format!(
                "`std[{c}]` is {}: it must be positive",
                self.std[c]
            ));
        }
        Ok(())
    }

    /// Applies the augmentation: CHW floats (3 × size × size), normalised.
    pub fn apply(&self, image: &RgbImage, rng: &mut impl Rng) -> Vec<f32> {
        let crop = self.random_resized_crop_box(image.width(), image.height(), rng);
        let mut out = crop_and_resize(image, crop, self.size);
        if self.horizontal_flip && rng.random_bool(0.5) {
            image::imageops::flip_horizontal_in_place(&mut out);
        }
        if self.rotation_degrees > 0.0 {
            let angle = rng.random_range(-self.rotation_degrees..=self.rotation_degrees);
            out = rotate_about_center(&out, angle);
        }
        self.jitter_colours(&mut out, rng);
        to_normalized_chw(&out, 0, 0, self.size, self.size, self.mean, self.std)
    }

    /// torchvision's `RandomResizedCrop.get_params`: ten tries at a box of random area and aspect
    /// ratio, else a center crop clamped to the ratio range.
    pub fn random_resized_crop_box(&self, width: u32, height: u32, rng: &mut impl Rng) -> CropBox {
        let area = (width * height) as f64;
        let (log_low, log_high) = (self.ratio.0.ln(), self.ratio.1.ln());
        for _ in 0..10 {
            let target_area = area * rng.random_range(self.scale.0..=self.scale.1);
            let aspect = rng.random_range(log_low..=log_high).exp();
            let w = (target_area * aspect).sqrt().round() as u32;
            let h = (target_area / aspect).sqrt().round() as u32;
            if 0 < w && w <= width && 0 < h && h <= height {
                let top = rng.random_range(0..=height - h);
                let left = rng.random_range(0..=width - w);
                return (left, top, w, h);
            }
        }
        let in_ratio = width as f64 / height as f64;
        let (w, h) = if in_ratio < self.ratio.0 {
            (
                width,
                ((width as f64 / self.ratio.0).round() as u32).clamp(1, height),
            )
        } else if in_ratio > self.ratio.1 {
            (
                ((height as f64 * self.ratio.1).round() as u32).clamp(1, width),
                height,
            )
        } else {
            (width, height)
        };
        ((width - w) / 2, (height - h) / 2, w, h)
    }

    /// Brightness, contrast and saturation in a random order, as `ColorJitter` does.
    fn jitter_colours(&self, image: &mut RgbImage, rng: &mut impl Rng) {
        let mut ops: Vec<(u8, f32)> = Vec::new();
        for (op, strength) in [
            (0u8, self.brightness),
            (1, self.contrast),
            (2, self.saturation),
        ] {
            if strength > 0.0 {
                ops.push((
                    op,
                    rng.random_range((1.0 - strength).max(0.0)..=1.0 + strength),
                ));
            }
        }
        // A random permutation of the enabled operations.
        for i in (1..ops.len()).rev() {
            let j = rng.random_range(0..=i);
            ops.swap(i, j);
        }
        for (op, factor) in ops {
            match op {
                0 => blend_each(image, factor, |_| [0.0; 3]),
                1 => {
                    let mean = image.pixels().map(|p| luma(p.0)).sum::<f32>()
                        / (image.width() * image.height()).max(1) as f32;
                    blend_each(image, factor, |_| [mean; 3]);
                }
                _ => blend_each(image, factor, |p| [luma(p); 3]),
            }
        }
    }
}

/// ITU-R 601-2 luma, as PIL's `convert("L")`.
fn luma(p: [u8; 3]) -> f32 {
    0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32
}

/// `factor · pixel + (1 − factor) · other(pixel)`, clamped to 0–255 (torchvision's `_blend`).
fn blend_each(image: &mut RgbImage, factor: f32, other: impl Fn([u8; 3]) -> [f32; 3]) {
    for pixel in image.pixels_mut() {
        let o = other(pixel.0);
        for c in 0..3 {
            pixel[c] = (factor * pixel[c] as f32 + (1.0 - factor) * o[c])
                .round()
                .clamp(0.0, 255.0) as u8;
        }
    }
}

/// Crops a box and resizes it to `size`x`size` (torchvision's `resized_crop` on a PIL image).
pub fn crop_and_resize(image: &RgbImage, (left, top, w, h): CropBox, size: u32) -> RgbImage {
    super::resample::resize_box(
        image,
        (left as f64, top as f64, w as f64, h as f64),
        size,
        size,
    )
}

/// Rotates about the center by `degrees` (counter-clockwise), bilinear, black outside.
pub fn rotate_about_center(image: &RgbImage, degrees: f32) -> RgbImage {
    let (w, h) = image.dimensions();
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = ((w as f32 - 1.0) / 2.0, (h as f32 - 1.0) / 2.0);
    let mut out = RgbImage::new(w, h);
    for (x, y, pixel) in out.enumerate_pixels_mut() {
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        // Inverse mapping: where in the source does this output pixel come from?
        let sx = cos * dx - sin * dy + cx;
        let sy = sin * dx + cos * dy + cy;
        if sx < 0.0 || sy < 0.0 || sx > (w - 1) as f32 || sy > (h - 1) as f32 {
            continue;
        }
        let (x0, y0) = (sx.floor() as u32, sy.floor() as u32);
        let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
        let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
        for c in 0..3 {
            let top = image.get_pixel(x0, y0)[c] as f32 * (1.0 - fx)
                + image.get_pixel(x1, y0)[c] as f32 * fx;
            let bottom = image.get_pixel(x0, y1)[c] as f32 * (1.0 - fx)
                + image.get_pixel(x1, y1)[c] as f32 * fx;
            pixel[c] = (top * (1.0 - fy) + bottom * fy).round() as u8;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_epoch_and_index_give_the_same_augmentation() {
        let image = RgbImage::from_fn(120, 90, |x, y| {
            image::Rgb([(x * 2) as u8, (y * 2) as u8, ((x + y) % 256) as u8])
        });
        let aug = Augmentation {
            size: 32,
            ..Augmentation::default()
        };
        let a = aug.apply(&image, &mut sample_rng(7, 3, 11));
        let b = aug.apply(&image, &mut sample_rng(7, 3, 11));
        let c = aug.apply(&image, &mut sample_rng(7, 4, 11));
        assert_eq!(a, b);
        assert_ne!(a, c, "another epoch draws another augmentation");
        assert_eq!(a.len(), 3 * 32 * 32);
    }

    #[test]
    fn crop_boxes_stay_inside_the_image_and_respect_the_ranges() {
        let aug = Augmentation::default();
        let mut rng = sample_rng(1, 0, 0);
        for _ in 0..500 {
            let (left, top, w, h) = aug.random_resized_crop_box(320, 240, &mut rng);
            assert!(w > 0 && h > 0 && left + w <= 320 && top + h <= 240);
        }
        // A very wide image falls back to the widest allowed center crop.
        let (left, top, w, h) = aug.random_resized_crop_box(1000, 10, &mut rng);
        assert!(left + w <= 1000 && top + h <= 10);
    }

    #[test]
    fn invalid_settings_name_their_field() {
        let bad = |f: fn(&mut Augmentation)| {
            let mut a = Augmentation::default();
            f(&mut a);
            a.validate().unwrap_err()
        };
        assert!(bad(|a| a.size = 0).contains("size"));
        assert!(bad(|a| a.scale = (0.5, 0.2)).contains("scale"));
        assert!(bad(|a| a.ratio = (0.0, 1.0)).contains("ratio"));
        assert!(bad(|a| a.brightness = -1.0).contains("brightness"));
        assert!(Augmentation::default().validate().is_ok());
    }

    #[test]
    fn rotation_by_zero_is_the_identity_and_flip_mirrors() {
        let image = RgbImage::from_fn(9, 7, |x, y| image::Rgb([x as u8 * 20, y as u8 * 30, 5]));
        assert_eq!(rotate_about_center(&image, 0.0), image);
        let rotated = rotate_about_center(&image, 90.0);
        assert_eq!(
            rotated.get_pixel(4, 3),
            image.get_pixel(4, 3),
            "the center stays put"
        );
    }
}
