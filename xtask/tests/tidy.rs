//! Tidy checks, as rust-analyzer keeps its codemap honest: a source file the codemap does not
//! name, a citation of a file outside the repository, or a merge conflict marker left in a file
//! fails the build.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test: a failed unwrap is a failed test, with its location"
)]

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

/// Every file under `dir` (recursively) whose name ends in `suffix`, skipping build output and
/// version control.
fn files(dir: &Path, suffix: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                files(&path, suffix, out);
            }
        } else if name.ends_with(suffix) {
            out.push(path);
        }
    }
}

/// The codemap section of the package in `dir` (e.g. `crates/store`): from its `### \`dir\``
/// heading to the next heading.
fn section<'a>(codemap: &'a str, dir: &str) -> Option<&'a str> {
    let heading = format!("### `{dir}`");
    let start = codemap.find(&heading)?;
    let rest = &codemap[start + heading.len()..];
    let end = rest.find("\n#").unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Whether `section` names `file` (relative to its package, e.g. `src/repo/aliases.rs`): by its
/// path, or — for a file in a directory the section names (`src/repo/`) — by its name or stem
/// in backticks (`aliases.rs`, `aliases`; `mod.rs` by the directory alone).
fn names(section: &str, file: &str) -> bool {
    if section.contains(file) {
        return true;
    }
    let path = Path::new(file);
    let (Some(parent), Some(stem)) = (path.parent(), path.file_stem()) else {
        return false;
    };
    let dir = format!("{}/", parent.display());
    let stem = stem.to_string_lossy();
    let by_stem = stem != "mod"
        && (section.contains(&format!("`{stem}`")) || section.contains(&format!("`{stem}.rs`")));
    let mod_rs = stem == "mod" && section.contains(&format!("`{dir}`"));
    section.contains(&format!("`{dir}")) && (by_stem || mod_rs)
}

#[test]
fn the_codemap_names_every_source_file_in_its_crate() {
    let root = root();
    let codemap = std::fs::read_to_string(root.join("docs/ARCHITECTURE.md")).unwrap();
    let mut missing = Vec::new();
    let mut packages = Vec::new();
    for group in ["crates", "bins"] {
        for entry in std::fs::read_dir(root.join(group)).unwrap() {
            let dir = entry.unwrap().path();
            if dir.join("Cargo.toml").exists() {
                packages.push(dir);
            }
        }
    }
    packages.push(root.join("examples"));
    packages.push(root.join("xtask"));
    packages.sort();
    for package in packages {
        let dir = package.strip_prefix(&root).unwrap().display().to_string();
        let Some(section) = section(&codemap, &dir) else {
            missing.push(format!("{dir}: no `### \\`{dir}\\`` section"));
            continue;
        };
        let mut sources = Vec::new();
        for sub in ["src", "benches"] {
            files(&package.join(sub), ".rs", &mut sources);
        }
        if dir == "examples" {
            for entry in std::fs::read_dir(&package).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "rs") {
                    sources.push(path);
                }
            }
        }
        sources.sort();
        for source in sources {
            let file = source.strip_prefix(&package).unwrap().display().to_string();
            if !names(section, &file) {
                missing.push(format!("{dir}/{file}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/ARCHITECTURE.md's codemap does not name these source files in their crate's \
         section (name the path, e.g. `src/repo/aliases.rs`, or the directory and the stem):\n  {}",
        missing.join("\n  ")
    );
}

/// The shipped files that are not Rust (the image, the systemd unit, the scripts) are named,
/// by their path from the repository root, somewhere in the codemap.
#[test]
fn the_codemap_names_every_shipped_file() {
    let root = root();
    let codemap = std::fs::read_to_string(root.join("docs/ARCHITECTURE.md")).unwrap();
    let mut shipped = vec![root.join("Containerfile")];
    for dir in ["scripts", "deploy"] {
        files(&root.join(dir), "", &mut shipped);
    }
    let missing: Vec<String> = shipped
        .iter()
        .map(|path| path.strip_prefix(&root).unwrap().display().to_string())
        .filter(|file| !codemap.contains(&format!("`{file}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/ARCHITECTURE.md's codemap does not name these shipped files (in backticks, by \
         their path from the repository root):\n  {}",
        missing.join("\n  ")
    );
}

/// Every line of the repository's text files (and CI scripts) for which `hit` holds, as
/// `path:line: text`.
fn lines_where(suffixes: &[&str], hit: impl Fn(&str) -> bool) -> Vec<String> {
    let root = root();
    let mut texts = Vec::new();
    for suffix in suffixes {
        files(&root, suffix, &mut texts);
    }
    for script in [
        ".ci/run",
        ".ci/layering",
        ".ci/postgres",
        ".ci/schemathesis",
    ] {
        texts.push(root.join(script));
    }
    let mut found = Vec::new();
    for path in texts {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            if hit(line) {
                let shown = path.strip_prefix(&root).unwrap_or(&path).display();
                found.push(format!("{shown}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn nothing_cites_a_file_outside_the_repository() {
    // Spelled in pieces, so that this file does not cite them itself.
    let outside = [
        ["DESIGN", " §"].concat(),
        ["DESIGN", ".md"].concat(),
        ["../", "shared"].concat(),
        ["shared", "/vectors"].concat(),
    ];
    let found = lines_where(
        &[".rs", ".md", ".toml", ".sh", ".sql", ".json", ".yml"],
        |line| outside.iter().any(|o| line.contains(o.as_str())),
    );
    assert!(
        found.is_empty(),
        "these lines cite a file outside the repository; cite its own docs/ instead:\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn no_merge_conflict_marker_is_left_in_a_file() {
    // Spelled in pieces, so that this file does not hold them itself.
    let markers = [
        ["<<<<<<", "< "].concat(),
        ["======", "="].concat(),
        [">>>>>>", "> "].concat(),
    ];
    let found = lines_where(
        &[
            ".rs", ".md", ".toml", ".sh", ".sql", ".json", ".yml", ".lua",
        ],
        |line| {
            markers
                .iter()
                .any(|m| line.starts_with(m.as_str()) && (m.ends_with(' ') || line == m))
        },
    );
    assert!(
        found.is_empty(),
        "a merge left its conflict markers; resolve them:\n  {}",
        found.join("\n  ")
    );
}
