//! `precompress <dir>…`: every file's gzip copy under each directory written again with
//! Zopfli (see the library's docs). `make build` runs it on
//! `target/site` after `cargo leptos build --precompress`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

fn main() -> ExitCode {
    let dirs: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if dirs.is_empty() {
        eprintln!("usage: precompress <dir>…");
        return ExitCode::from(2);
    }
    let mut files = Vec::new();
    for dir in &dirs {
        match precompress::originals(dir) {
            Ok(found) => files.extend(found),
            Err(e) => {
                eprintln!("precompress: {}: {e}", dir.display());
                return ExitCode::FAILURE;
            }
        }
    }
    // Each file once, whichever directories named it (a directory and one inside it).
    files.sort();
    files.dedup();
    // The largest first, so that the cores finish together.
    files.sort_by_key(|f| std::cmp::Reverse(f.metadata().map(|m| m.len()).unwrap_or(0)));
    let next = AtomicUsize::new(0);
    let totals = Mutex::new((0u64, 0u64));
    let failed = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                while let Some(file) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                    match precompress::recompress(file) {
                        Ok(o) => {
                            let mut t = totals.lock().unwrap_or_else(|p| p.into_inner());
                            t.0 += o.before.unwrap_or(0);
                            t.1 += o.after;
                        }
                        Err(e) => failed
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(format!("{}: {e}", file.display())),
                    }
                }
            });
        }
    });
    let failed = failed.into_inner().unwrap_or_else(|p| p.into_inner());
    for f in &failed {
        eprintln!("precompress: {f}");
    }
    let (before, after) = totals.into_inner().unwrap_or_else(|p| p.into_inner());
    println!(
        "precompress: {} gzip copies written with Zopfli, {} → {} KB",
        files.len() - failed.len(),
        before / 1024,
        after / 1024
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
