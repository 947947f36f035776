//! The copies `precompress` writes: gzip any reader takes, of the file as it is now, and
//! only for originals.

use std::io::Read;

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("a gzip stream");
    out
}

/// A page-like text: repetitive, as the wasm's and the JavaScript's are.
fn sample() -> Vec<u8> {
    (0..1000)
        .map(|i| format!("<tr data-i=\"{i}\"><td>{}</td></tr>\n", i * 7 % 13))
        .collect::<String>()
        .into_bytes()
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("precompress-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("pkg")).expect("scratch dir");
    dir
}

#[test]
fn a_copy_is_gzip_of_the_same_bytes_and_smaller_than_the_fast_encoders() {
    let data = sample();
    let ours = precompress::gzip(&data).expect("compressed");
    assert_eq!(gunzip(&ours), data);
    let mut fast = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut fast, &data).expect("write");
    let fast = fast.finish().expect("finish");
    assert!(
        ours.len() < fast.len(),
        "zopfli {} against flate2's best {}",
        ours.len(),
        fast.len()
    );
}

#[test]
fn every_copy_is_written_again_from_the_file_and_copies_are_not_compressed_again() {
    let dir = scratch("replace");
    let data = sample();
    let wasm = dir.join("pkg/portal.Abc.wasm");
    std::fs::write(&wasm, &data).expect("original");
    // A copy as a fast encoder writes it: larger than Zopfli's.
    let mut fast = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut fast, &data).expect("write");
    let fast = fast.finish().expect("finish");
    std::fs::write(dir.join("pkg/portal.Abc.wasm.gz"), &fast).expect("copy");
    std::fs::write(dir.join("pkg/portal.Abc.wasm.br"), b"brotli copy").expect("br");
    std::fs::write(dir.join("favicon.svg"), b"<svg/>").expect("svg");

    let found = precompress::originals(&dir).expect("listed");
    assert_eq!(found, vec![dir.join("favicon.svg"), wasm.clone()]);

    let o = precompress::recompress(&wasm).expect("recompressed");
    assert_eq!(o.before, Some(fast.len() as u64));
    assert!(o.after < fast.len() as u64, "{o:?}");
    let copy = std::fs::read(dir.join("pkg/portal.Abc.wasm.gz")).expect("copy");
    assert_eq!(copy.len() as u64, o.after);
    assert_eq!(gunzip(&copy), data);
    let left: Vec<_> = std::fs::read_dir(dir.join("pkg"))
        .expect("pkg")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(left.is_empty(), "partial copies left: {left:?}");

    // A copy that is not of the file as it is now (an earlier build's, smaller) is
    // replaced all the same.
    std::fs::write(
        dir.join("pkg/portal.Abc.wasm.gz"),
        precompress::gzip(b"old").expect("old"),
    )
    .expect("stale copy");
    let o = precompress::recompress(&wasm).expect("replaced");
    assert!(o.before < Some(o.after), "{o:?}");
    assert_eq!(
        gunzip(&std::fs::read(dir.join("pkg/portal.Abc.wasm.gz")).expect("copy")),
        data
    );

    // A file without a copy gets one.
    let o = precompress::recompress(&dir.join("favicon.svg")).expect("written");
    assert_eq!(o.before, None);
    assert_eq!(
        gunzip(&std::fs::read(dir.join("favicon.svg.gz")).expect("new copy")),
        b"<svg/>"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn a_link_back_up_the_tree_or_to_nothing_neither_loops_nor_fails() {
    let dir = scratch("links");
    std::fs::write(dir.join("pkg/portal.Abc.js"), b"js").expect("js");
    std::os::unix::fs::symlink("..", dir.join("pkg/up")).expect("link up");
    std::os::unix::fs::symlink("nowhere", dir.join("pkg/gone")).expect("dangling link");
    let found = precompress::originals(&dir).expect("listed");
    assert_eq!(found, vec![dir.join("pkg/portal.Abc.js")]);
    let _ = std::fs::remove_dir_all(&dir);
}
