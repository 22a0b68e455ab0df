//! Pillow's antialiased bilinear resize (`Image.resize(size, Image.BILINEAR)`, `libImaging/Resample.c`),
//! ported line for line so Skiplane's pixels equal the ones torchvision gets from PIL: the same
//! triangle filter widened by the scale factor, the same 22-bit fixed-point coefficients, and the
//! same two passes (horizontal, then vertical) each rounded to 8 bits.

use image::RgbImage;

/// Fixed-point precision of the coefficients: `32 - 8 - 2` bits, as Pillow.
const PRECISION_BITS: u32 = 32 - 8 - 2;

/// Per output pixel: first input index, number of inputs, and their fixed-point weights.
struct Coefficients {
    bounds: Vec<(usize, usize)>,
    weights: Vec<i32>,
    kernel_size: usize,
}

fn bilinear(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 { 1.0 - x } else { 0.0 }
}

/// `precompute_coeffs` + `normalize_coeffs_8bpc` for the input span `[in0, in1)` of an axis of
/// `in_size` pixels mapped onto `out_size` pixels.
fn coefficients(in_size: usize, in0: f64, in1: f64, out_size: usize) -> Coefficients {
    let scale = (in1 - in0) / out_size as f64;
    let filter_scale = scale.max(1.0);
    let support = filter_scale; // the bilinear filter's support is 1
    let kernel_size = support.ceil() as usize * 2 + 1;
    let mut bounds = Vec::with_capacity(out_size);
    let mut weights = vec![0i32; out_size * kernel_size];
    let mut k = vec![0f64; kernel_size];
    for xx in 0..out_size {
        let center = in0 + (xx as f64 + 0.5) * scale;
        let inverse = 1.0 / filter_scale;
        // C's (int) cast truncates towards zero.
        let xmin = ((center - support + 0.5) as i64).max(0) as usize;
        let xmax = ((center + support + 0.5) as i64)
            .min(in_size as i64)
            .max(xmin as i64) as usize
            - xmin;
        let mut total = 0.0;
        for (x, w) in k.iter_mut().enumerate().take(xmax) {
            *w = bilinear((x as f64 + xmin as f64 - center + 0.5) * inverse);
            total += *w;
        }
        for (x, w) in k.iter().enumerate().take(xmax) {
            let normalized = if total != 0.0 { w / total } else { *w };
            let fixed = normalized * (1u32 << PRECISION_BITS) as f64;
            weights[xx * kernel_size + x] = if fixed < 0.0 {
                (fixed - 0.5) as i32
            } else {
                (fixed + 0.5) as i32
            };
        }
        bounds.push((xmin, xmax));
    }
    Coefficients {
        bounds,
        weights,
        kernel_size,
    }
}

#[inline]
fn clip8(value: i32) -> u8 {
    (value >> PRECISION_BITS).clamp(0, 255) as u8
}

const ROUNDING: i32 = 1 << (PRECISION_BITS - 1);

/// Resizes the box `(left, top, width, height)` of `image` to `out_w`x`out_h`, exactly as
/// `image.resize((out_w, out_h), Image.BILINEAR, box=(left, top, left + width, top + height))`.
pub fn resize_box(
    image: &RgbImage,
    (left, top, width, height): (f64, f64, f64, f64),
    out_w: u32,
    out_h: u32,
) -> RgbImage {
    let (in_w, in_h) = (image.width() as usize, image.height() as usize);
    if out_w == 0 || out_h == 0 || in_w == 0 || in_h == 0 || width <= 0.0 || height <= 0.0 {
        return RgbImage::new(out_w, out_h);
    }
    let (out_w, out_h) = (out_w as usize, out_h as usize);
    let need_horizontal = out_w != in_w || left != 0.0 || width != in_w as f64;
    let need_vertical = out_h != in_h || top != 0.0 || height != in_h as f64;

    let vertical = coefficients(in_h, top, top + height, out_h);
    let first_row = vertical.bounds[0].0;
    let last_row = vertical
        .bounds
        .last()
        .map(|(start, len)| start + len)
        .unwrap_or(first_row);

    // Horizontal pass over just the rows the vertical pass will read.
    let (rows, row_offset) = if need_horizontal {
        let horizontal = coefficients(in_w, left, left + width, out_w);
        let src = image.as_raw();
        let mut temp = vec![0u8; (last_row - first_row) * out_w * 3];
        for y in first_row..last_row {
            let src_row = &src[y * in_w * 3..(y + 1) * in_w * 3];
            let dst_row = &mut temp[(y - first_row) * out_w * 3..(y - first_row + 1) * out_w * 3];
            for (xx, &(xmin, xmax)) in horizontal.bounds.iter().enumerate() {
                let k = &horizontal.weights[xx * horizontal.kernel_size..][..xmax];
                let mut ss = [ROUNDING; 3];
                for (x, &w) in k.iter().enumerate() {
                    let p = &src_row[(x + xmin) * 3..(x + xmin) * 3 + 3];
                    ss[0] += p[0] as i32 * w;
                    ss[1] += p[1] as i32 * w;
                    ss[2] += p[2] as i32 * w;
                }
                dst_row[xx * 3] = clip8(ss[0]);
                dst_row[xx * 3 + 1] = clip8(ss[1]);
                dst_row[xx * 3 + 2] = clip8(ss[2]);
            }
        }
        (temp, first_row)
    } else {
        (image.as_raw().clone(), 0)
    };
    let row_width = if need_horizontal { out_w } else { in_w };
    if !need_vertical {
        let start = (first_row - row_offset) * row_width * 3;
        return RgbImage::from_raw(
            row_width as u32,
            out_h as u32,
            rows[start..start + out_h * row_width * 3].to_vec(),
        )
        .expect("buffer matches its dimensions");
    }
    let mut out = vec![0u8; out_w * out_h * 3];
    for (yy, &(ymin, ymax)) in vertical.bounds.iter().enumerate() {
        let k = &vertical.weights[yy * vertical.kernel_size..][..ymax];
        let dst_row = &mut out[yy * out_w * 3..(yy + 1) * out_w * 3];
        let mut ss = vec![ROUNDING; out_w * 3];
        for (y, &w) in k.iter().enumerate() {
            let src_row = &rows[(y + ymin - row_offset) * row_width * 3..][..out_w * 3];
            for (s, &p) in ss.iter_mut().zip(src_row) {
                *s += p as i32 * w;
            }
        }
        for (d, s) in dst_row.iter_mut().zip(ss) {
            *d = clip8(s);
        }
    }
    RgbImage::from_raw(out_w as u32, out_h as u32, out).expect("buffer matches its dimensions")
}

/// The whole image resized, as `image.resize((w, h), Image.BILINEAR)`.
pub fn resize(image: &RgbImage, out_w: u32, out_h: u32) -> RgbImage {
    resize_box(
        image,
        (0.0, 0.0, image.width() as f64, image.height() as f64),
        out_w,
        out_h,
    )
}
