//! Skiplane's preprocessing against torchvision's, on real photos.
//!
//! From the JPEG files, the residual difference comes from decoding alone: Pillow uses
//! libjpeg-turbo (integer IDCT, its own chroma upsampling), Skiplane the zune-jpeg decoder; they
//! differ by a level or two on some pixels (≈ 0.0175 normalised units per level). Given the
//! pixels Pillow decoded, the resize, crop and normalisation reproduce torchvision exactly.

use crate::common::fixture;
use skiplane::data::decode::decode_file;
use skiplane::data::preprocess::EvalTransform;
use skiplane::tensor_io::read_host_tensor;

const PHOTOS: [&str; 4] = [
    "photo0_plier2.jpg",
    "photo1_mountRushmore.jpg",
    "photo2_fish26.jpg",
    "photo3_plier3.jpg",
];

fn compare(reference: &str, transform: EvalTransform) {
    let reference = fixture(&format!("preprocess/{reference}"));
    for photo in PHOTOS {
        let image = decode_file(&fixture(&format!("preprocess/{photo}"))).expect("photo decodes");
        let ours = transform.apply(&image);
        let theirs = read_host_tensor(&reference, photo).expect("reference tensor");
        assert_eq!(
            theirs.shape,
            vec![3, transform.crop as usize, transform.crop as usize]
        );
        let diffs: Vec<f32> = ours
            .iter()
            .zip(&theirs.values)
            .map(|(a, b)| (a - b).abs())
            .collect();
        let mean = diffs.iter().sum::<f32>() / diffs.len() as f32;
        let max = diffs.iter().cloned().fold(0.0, f32::max);
        println!(
            "{photo} at {}/{}: mean |diff| {mean:.5}, max {max:.4}",
            transform.resize, transform.crop
        );
        assert!(mean < 0.01, "{photo}: mean abs difference {mean}");
        assert!(max < 0.1, "{photo}: max abs difference {max}");
    }
}

#[test]
fn eval_transform_matches_torchvision_upscaling_to_256_224() {
    compare(
        "torchvision_eval_224.safetensors",
        EvalTransform::new(256, 224),
    );
}

#[test]
fn eval_transform_matches_torchvision_downscaling_to_128_112() {
    compare(
        "torchvision_eval_112.safetensors",
        EvalTransform::new(128, 112),
    );
}

#[test]
fn from_pillows_decoded_pixels_the_transform_is_bit_exact() {
    for (reference, transform) in [
        (
            "torchvision_eval_224.safetensors",
            EvalTransform::new(256, 224),
        ),
        (
            "torchvision_eval_112.safetensors",
            EvalTransform::new(128, 112),
        ),
    ] {
        for photo in PHOTOS {
            let png = photo.replace(".jpg", ".png");
            let image = decode_file(&fixture(&format!("preprocess/pil_decoded/{png}"))).unwrap();
            let ours = transform.apply(&image);
            let theirs =
                read_host_tensor(&fixture(&format!("preprocess/{reference}")), photo).unwrap();
            let max = ours
                .iter()
                .zip(&theirs.values)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(
                max < 1e-5,
                "{photo} at {}: max difference {max}",
                transform.crop
            );
        }
    }
}
