//! torchvision's evaluation transform on a PIL image, reproduced: `Resize(resize)` (shorter side,
//! bilinear with antialias — PIL's separable triangle filter widened by the scale factor),
//! `CenterCrop(crop)`, `ToTensor()`, `Normalize(mean, std)`. The resize is Pillow's own algorithm
//! ([`resample`](super::resample)), so given the same decoded pixels the tensors are identical.

use image::RgbImage;
use serde::{Deserialize, Serialize};

pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Resize-then-center-crop preprocessing with normalisation; `resize: 256, crop: 224` is
/// torchvision's ImageNet evaluation transform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvalTransform {
    /// The shorter side is resized to this many pixels.
    pub resize: u32,
    /// Then the center `crop`x`crop` square is kept.
    pub crop: u32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl Default for EvalTransform {
    fn default() -> Self {
        Self {
            resize: 256,
            crop: 224,
            mean: IMAGENET_MEAN,
            std: IMAGENET_STD,
        }
    }
}

impl EvalTransform {
    /// `resize`/`crop` with ImageNet normalisation (e.g. 232/224 for ResNet-50 V2 weights).
    pub fn new(resize: u32, crop: u32) -> Self {
        Self {
            resize,
            crop,
            ..Self::default()
        }
    }

    /// Rejects sizes that cannot work, naming the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.resize == 0 || self.crop == 0 {
            return Err(format!(
                "`resize` ({}) and `crop` ({}) must be at least 1 pixel",
                self.resize, self.crop
            ));
        }
        if let Some(c) = (0..3).find(|&c| !(self.std[c] > 0.0)) {
            return Err(format!(
                "`std[{c}]` is {}: it must be positive",
                self.std[c]
            ));
        }
        Ok(())
    }

    /// The resized image, shorter side = `resize`: the part worth caching between epochs.
    pub fn resize_shorter_side(&self, image: &RgbImage) -> RgbImage {
        let (w, h) = image.dimensions();
        let (nw, nh) = shorter_side_size(w, h, self.resize);
        resize_bilinear(image, nw, nh)
    }

    /// The full transform: an image of any size → CHW floats (3 × crop × crop).
    pub fn apply(&self, image: &RgbImage) -> Vec<f32> {
        self.crop_and_normalize(&self.resize_shorter_side(image))
    }

    /// The second half of [`apply`](Self::apply), for an image already resized.
    pub fn crop_and_normalize(&self, resized: &RgbImage) -> Vec<f32> {
        let (w, h) = resized.dimensions();
        let (left, top) = (center_offset(w, self.crop), center_offset(h, self.crop));
        to_normalized_chw(
            resized, left, top, self.crop, self.crop, self.mean, self.std,
        )
    }
}

/// torchvision's `_compute_resized_output_size`: shorter side to `size`, the longer scaled and
/// truncated (`int(size * long / short)`).
pub fn shorter_side_size(w: u32, h: u32, size: u32) -> (u32, u32) {
    if w <= h {
        (
            size,
            ((size as u64 * h as u64) / w.max(1) as u64).max(1) as u32,
        )
    } else {
        (
            ((size as u64 * w as u64) / h.max(1) as u64).max(1) as u32,
            size,
        )
    }
}

/// torchvision's `CenterCrop` offset: `int(round((size - crop) / 2))`, Python's round-half-even.
/// Negative when the crop is larger than the image (torchvision pads with zeros there).
pub fn center_offset(size: u32, crop: u32) -> i64 {
    let twice = size as i64 - crop as i64; // offset = twice / 2, rounded half to even
    if twice.rem_euclid(2) == 0 {
        twice / 2
    } else {
        let down = twice.div_euclid(2);
        if down % 2 == 0 { down } else { down + 1 }
    }
}

/// Pillow-exact antialiased bilinear resize of an RGB image.
pub fn resize_bilinear(image: &RgbImage, width: u32, height: u32) -> RgbImage {
    if image.dimensions() == (width, height) {
        return image.clone();
    }
    super::resample::resize(image, width, height)
}

/// Crops (zero-padding outside the image, as torchvision's CenterCrop does), scales to [0, 1] and
/// normalises, giving CHW floats.
pub fn to_normalized_chw(
    image: &RgbImage,
    left: i64,
    top: i64,
    width: u32,
    height: u32,
    mean: [f32; 3],
    std: [f32; 3],
) -> Vec<f32> {
    let (w, h) = (image.width() as i64, image.height() as i64);
    let plane = (width * height) as usize;
    let mut out = vec![0f32; 3 * plane];
    let scale: [f32; 3] = std::array::from_fn(|c| 1.0 / (255.0 * std[c]));
    let shift: [f32; 3] = std::array::from_fn(|c| -mean[c] / std[c]);
    let raw = image.as_raw();
    let (r_plane, rest) = out.split_at_mut(plane);
    let (g_plane, b_plane) = rest.split_at_mut(plane);
    for y in 0..height as i64 {
        let sy = y + top;
        let row_start = (y * width as i64) as usize;
        for x in 0..width as i64 {
            let sx = x + left;
            // Outside the image torchvision's CenterCrop pads with zeros (before normalising).
            let pixel = if (0..w).contains(&sx) && (0..h).contains(&sy) {
                let i = ((sy * w + sx) * 3) as usize;
                [raw[i], raw[i + 1], raw[i + 2]]
            } else {
                [0, 0, 0]
            };
            let index = row_start + x as usize;
            r_plane[index] = pixel[0] as f32 * scale[0] + shift[0];
            g_plane[index] = pixel[1] as f32 * scale[1] + shift[1];
            b_plane[index] = pixel[2] as f32 * scale[2] + shift[2];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn center_offsets_round_half_to_even_like_python() {
        assert_eq!(center_offset(256, 224), 16);
        assert_eq!(center_offset(225, 224), 0); // round(0.5) == 0
        assert_eq!(center_offset(227, 224), 2); // round(1.5) == 2
        assert_eq!(center_offset(229, 224), 2); // round(2.5) == 2
        assert_eq!(center_offset(200, 224), -12);
    }

    #[test]
    fn shorter_side_resize_truncates_like_torchvision() {
        assert_eq!(shorter_side_size(320, 240, 256), (341, 256));
        assert_eq!(shorter_side_size(240, 320, 256), (256, 341));
        assert_eq!(shorter_side_size(500, 500, 256), (256, 256));
    }
}
