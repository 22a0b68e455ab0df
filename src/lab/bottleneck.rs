//! Bottleneck savings: the basic block (two 3x3 convolutions on `w` channels) against the
//! bottleneck block (1x1 down to `w`, 3x3 at `w`, 1x1 back up to `4w`) that ResNet-50 and deeper
//! use. The bottleneck handles features four times wider for about the same parameters and
//! multiply-accumulates. Both counted by the inspector (each block alone, identity shortcut) and
//! timed forward on the current backend.

use crate::model::config::{BlockKind, ResNetConfig, Shortcut, Stem};
use crate::model::{Architecture, inspect};
use burn::prelude::{Device, Tensor};
use serde::{Deserialize, Serialize};
use std::time::Instant;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BottleneckSettings {
    /// The stage width `w` (64 in ResNet's first stage).
    pub width: usize,
    /// Height and width of the feature map (56 in ResNet's first stage at 224).
    pub spatial: usize,
    pub batch_size: usize,
    /// Timed forward passes per block (after one warm-up); the median is reported.
    pub repeats: usize,
}

impl Default for BottleneckSettings {
    fn default() -> Self {
        BottleneckSettings {
            width: 64,
            spatial: 56,
            batch_size: 8,
            repeats: 5,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlockCost {
    /// "basic: 3x3, 3x3" or "bottleneck: 1x1, 3x3, 1x1".
    pub block: String,
    pub in_channels: usize,
    pub out_channels: usize,
    /// Weights and BatchNorm parameters of the block.
    pub parameters: u64,
    /// Multiply-accumulates per image.
    pub macs: u64,
    /// Median forward time of a batch, in milliseconds.
    pub forward_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BottleneckComparison {
    pub settings: BottleneckSettings,
    pub basic: BlockCost,
    pub bottleneck: BlockCost,
}

/// One residual block of `kind` at width `w` whose input already has its output's channels, so
/// its shortcut is the identity: a one-stage, one-block network with a stem of that many channels.
fn single_block(kind: BlockKind, width: usize) -> ResNetConfig {
    ResNetConfig {
        stem: Stem::Cifar,
        stem_width: width * kind.expansion(),
        block: kind,
        blocks: vec![1],
        widths: vec![width],
        skip_connections: true,
        shortcut: Shortcut::Projection,
        zero_init_residual: false,
        num_classes: 2,
    }
}

fn measure_block(
    kind: BlockKind,
    settings: &BottleneckSettings,
    device: &Device,
) -> Result<BlockCost, String> {
    let config = single_block(kind, settings.width);
    let arch = Architecture::ResNet(config.clone());
    let plan = inspect(&arch, settings.spatial).map_err(|e| e.to_string())?;
    let stage = plan
        .stages
        .iter()
        .find(|s| s.name == "layer1")
        .ok_or("the inspector found no layer1")?;
    let channels = config.stem_width;
    let network = config.init(device);
    let block = &network.layers[0][0];
    let s = settings.spatial;
    let input = Tensor::<4>::random(
        [settings.batch_size, channels, s, s],
        burn::tensor::Distribution::Normal(0.0, 1.0),
        device,
    );
    let mut times = Vec::with_capacity(settings.repeats);
    for run in 0..=settings.repeats {
        let started = Instant::now();
        // Reading the result back waits for the device (wgpu runs asynchronously).
        let _ = block.forward(input.clone()).into_data();
        if run > 0 {
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(BlockCost {
        block: match kind {
            BlockKind::Basic => "basic: 3x3, 3x3".into(),
            BlockKind::Bottleneck => "bottleneck: 1x1, 3x3, 1x1".into(),
        },
        in_channels: channels,
        out_channels: channels,
        parameters: stage.parameters,
        macs: stage.macs,
        forward_ms: times.get(times.len() / 2).copied().unwrap_or(f64::NAN),
    })
}

pub fn compare(
    settings: &BottleneckSettings,
    device: &Device,
) -> Result<BottleneckComparison, String> {
    if settings.width == 0
        || settings.spatial == 0
        || settings.batch_size == 0
        || settings.repeats == 0
    {
        return Err("width, size, batch and repeats must all be at least 1".into());
    }
    Ok(BottleneckComparison {
        settings: settings.clone(),
        basic: measure_block(BlockKind::Basic, settings, device)?,
        bottleneck: measure_block(BlockKind::Bottleneck, settings, device)?,
    })
}

impl BottleneckComparison {
    /// What the numbers say, in a paragraph.
    pub fn reading(&self) -> String {
        let (b, n) = (&self.basic, &self.bottleneck);
        format!(
            "Reading: the bottleneck block carries {}x wider features ({} vs {} channels) with {:.2}x the parameters and \
         {:.2}x the multiply-adds of two 3x3 convolutions, and ran {:.2}x as long here: the 1x1 convolutions shrink \
         the expensive 3x3 to w channels and widen the result again, which is how ResNet-50 goes deeper than \
         ResNet-34 at about the same cost.",
            n.in_channels / b.in_channels.max(1),
            n.in_channels,
            b.in_channels,
            n.parameters as f64 / b.parameters as f64,
            n.macs as f64 / b.macs as f64,
            n.forward_ms / b.forward_ms
        )
    }
}
