//! Compiles the one schema history (`/migrations/NNNN_name.sql`) into the kernel, so that a
//! new domain adds its migration file and edits no code. Cargo re-runs this when the directory
//! changes.

use std::fmt::Write;
use std::path::Path;

fn main() {
    // Read at run time: the build script binary may be shared by copies of the workspace.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest).join("../../migrations");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<(i64, String, String)> = std::fs::read_dir(&dir)
        .expect("the migrations directory exists")
        .filter_map(|e| {
            let path = e.ok()?.path();
            let file = path.file_name()?.to_str()?.to_owned();
            let stem = file.strip_suffix(".sql")?;
            let (number, name) = stem.split_once('_')?;
            let version: i64 = number.parse().ok()?;
            let abs = path.canonicalize().ok()?.display().to_string();
            Some((version, name.to_owned(), abs))
        })
        .collect();
    files.sort();
    for pair in files.windows(2) {
        assert!(
            pair[0].0 != pair[1].0,
            "two migrations share version {}",
            pair[0].0
        );
    }
    let mut out = String::from("&[\n");
    for (version, name, path) in &files {
        writeln!(
            out,
            "    Migration {{ version: {version}, name: {name:?}, sql: include_str!({path:?}) }},"
        )
        .unwrap();
    }
    out.push_str("]\n");
    let target = Path::new(&std::env::var("OUT_DIR").unwrap()).join("migrations.rs");
    std::fs::write(target, out).unwrap();
}
