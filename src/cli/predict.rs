use crate::backend::select_and_log;
use crate::train::predict::TrainedModel;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// A Skiplane bundle (`.skiplane`, from `skiplane export`) or a run folder (its best
    /// checkpoint classifies).
    pub model: PathBuf,
    /// Photos, or folders of photos.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// How many classes to show per photo.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// Print a JSON list of `{"path", "top": [{"class", "probability"}], "logits": [...]}`.
    #[arg(long)]
    pub json: bool,
}

/// Photos among `paths`: files as given, folders searched recursively, sorted.
fn photos(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut stack = vec![path.clone()];
            let mut found = Vec::new();
            while let Some(dir) = stack.pop() {
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let p = entry.path();
                    if p.is_dir() {
                        stack.push(p);
                    } else if crate::data::decode::has_photo_extension(&p) {
                        found.push(p);
                    }
                }
            }
            found.sort();
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    out
}

pub fn run(args: PredictArgs) -> anyhow::Result<()> {
    let device = select_and_log()?;
    let model = TrainedModel::open(&args.model, &device.device).map_err(anyhow::Error::msg)?;
    let paths = photos(&args.images);
    if paths.is_empty() {
        anyhow::bail!("no photos found in the paths given");
    }
    let results = model.classify(&paths);
    let mut failures = 0;
    let mut json = Vec::new();
    for result in &results {
        match result {
            Ok(classified) => {
                let top: Vec<(&str, f32)> = classified
                    .ranked
                    .iter()
                    .take(args.top)
                    .map(|&(c, p)| (model.classes[c].as_str(), p))
                    .collect();
                if args.json {
                    json.push(serde_json::json!({
                        "path": classified.path,
                        "top": top.iter().map(|(c, p)| serde_json::json!({"class": c, "probability": p})).collect::<Vec<_>>(),
                        "logits": classified.logits,
                    }));
                } else {
                    let shown: Vec<String> = top
                        .iter()
                        .map(|(c, p)| format!("{c} {:.1}%", p * 100.0))
                        .collect();
                    println!("{}: {}", classified.path.display(), shown.join(", "));
                }
            }
            Err(reason) => {
                failures += 1;
                eprintln!("error: {reason}");
                if args.json {
                    json.push(serde_json::json!({ "error": reason }));
                }
            }
        }
    }
    if args.json {
        println!("{}", serde_json::Value::Array(json));
    }
    if failures > 0 {
        anyhow::bail!(
            "{failures} of {} photos could not be classified",
            results.len()
        );
    }
    Ok(())
}
