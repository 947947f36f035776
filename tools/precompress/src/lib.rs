//! The gzip copies of the site's static files, made small.
//!
//! `cargo leptos build --precompress` writes a `.gz` and a `.br` beside every file of the
//! site, and `ServeDir` sends the one the browser accepts (`server/src/assets.rs`). Its
//! brotli is quality 11, brotli's highest, but its gzip (libflate's default encoder)
//! is about 17% larger than `gzip -9` and 22% larger than Zopfli's on the main wasm module:
//! the difference between a phone fetching 279 KB and 228 KB before the login page works.
//! [`recompress`] writes each copy again with Zopfli; the files themselves are untouched,
//! so hashed names stay true.

use std::collections::HashSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// What [`recompress`] did to one file's gzip copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The copy's size before, `None` when it had none.
    pub before: Option<u64>,
    /// Its size now.
    pub after: u64,
}

/// `data` as a gzip member compressed by Zopfli (its default 15 iterations).
pub fn gzip(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    zopfli::compress(
        zopfli::Options::default(),
        zopfli::Format::Gzip,
        data,
        &mut out,
    )?;
    Ok(out)
}

/// Whether `path` is itself a compressed copy, or one being written (never compressed).
fn is_copy(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("gz" | "br" | "partial")
    )
}

/// The files under `dir` that have (or should have) a gzip copy: every file, at any depth,
/// that is not itself a `.gz` or `.br`. Symbolic links are followed, each directory read
/// once (a link back up the tree is no loop), and a link to nothing is skipped.
pub fn originals(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut seen = HashSet::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        if !seen.insert(fs::canonicalize(&dir)?) {
            continue;
        }
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            // `metadata` follows a symbolic link to what it names.
            let meta = match fs::metadata(&path) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            if meta.is_dir() {
                pending.push(path);
            } else if !is_copy(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Numbers each copy being written, so that no two writes share a temporary name.
static WRITES: AtomicUsize = AtomicUsize::new(0);

/// Writes `<path>.gz` with Zopfli, whatever was there: a copy is never trusted to be of
/// the file as it is now. The new copy is written to a name of this write's own beside it
/// (the process and a counter), flushed to disk and renamed over it, so that a server
/// reading the directory, or another write of the same file, never sees half a copy.
pub fn recompress(path: &Path) -> io::Result<Outcome> {
    let data = fs::read(path)?;
    let mut copy = path.as_os_str().to_owned();
    copy.push(".gz");
    let copy = PathBuf::from(copy);
    let before = match fs::metadata(&copy) {
        Ok(m) => Some(m.len()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let compressed = gzip(&data)?;
    let after = compressed.len() as u64;
    let mut partial = copy.as_os_str().to_owned();
    partial.push(format!(
        ".{}.{}.partial",
        std::process::id(),
        WRITES.fetch_add(1, Ordering::Relaxed)
    ));
    let partial = PathBuf::from(partial);
    // Created here, or the error is returned with nothing to clean up.
    let mut file = fs::File::create_new(&partial)?;
    let written = file
        .write_all(&compressed)
        .and_then(|()| file.sync_all())
        .and_then(|()| fs::rename(&partial, &copy));
    if let Err(e) = written {
        // Nothing half-written left behind.
        let _ = fs::remove_file(&partial);
        return Err(e);
    }
    Ok(Outcome { before, after })
}
