//! Collects every reading of the policy the code takes, tagged where the rule lives as
//! `INTERPRETATION(§n): text` in a comment, into `$OUT_DIR/interpretations.rs`, so that
//! `hq-api rules --markdown` can print them beside the rule tables (see `src/rules.rs`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const TAG: &str = "INTERPRETATION(";

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text of a comment line, or `None` for a line that is not a comment.
fn comment(line: &str) -> Option<&str> {
    let line = line.trim_start();
    let rest = line
        .strip_prefix("//!")
        .or_else(|| line.strip_prefix("///"))
        .or_else(|| line.strip_prefix("//"))?;
    Some(rest.trim())
}

/// The commit being built (`git rev-parse --short=12 HEAD`), or `unknown` outside a checkout;
/// shown by the `hq_build_info` metric.
fn git_hash(root: &Path) -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|text| text.trim().to_string())
        .filter(|hash| !hash.is_empty() && hash.chars().all(|c| c.is_ascii_hexdigit()))
        .unwrap_or_else(|| "unknown".to_string())
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rustc-env=HQ_GIT_HASH={}", git_hash(&root));
    let mut files = Vec::new();
    for dir in ["src", "policy/src"] {
        println!("cargo:rerun-if-changed={dir}");
        rust_files(&root.join(dir), &mut files);
    }
    files.sort();
    let mut found: Vec<(String, String, String)> = Vec::new();
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        let relative = file
            .strip_prefix(&root)
            .unwrap_or(file)
            .to_string_lossy()
            .replace('\\', "/");
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(body) = comment(line) else { continue };
            let Some(at) = body.find(TAG) else { continue };
            let tagged = &body[at + TAG.len()..];
            let Some((clause, first)) = tagged.split_once("):") else {
                continue;
            };
            // A clause id: `§` and a number (`§20`, `§3.1`) or `§final`; anything else (such as
            // the tag's own description, `§n`) is not a reading.
            let id = clause.trim().trim_start_matches('§');
            let is_clause = id == "final"
                || (!id.is_empty() && id.chars().all(|c| c.is_ascii_digit() || c == '.'));
            if !clause.trim().starts_with('§') || !is_clause {
                continue;
            }
            let mut words = vec![first.trim().to_string()];
            for next in &lines[i + 1..] {
                match comment(next) {
                    Some(more) if !more.is_empty() && !more.contains(TAG) => {
                        words.push(more.to_string());
                    }
                    _ => break,
                }
            }
            found.push((clause.trim().to_string(), relative.clone(), words.join(" ")));
        }
    }
    let mut out = String::from(
        "/// Every `INTERPRETATION(§n):` comment of the source: (clause, file, text).\n\
         pub const INTERPRETATIONS: &[(&str, &str, &str)] = &[\n",
    );
    for (clause, file, text) in &found {
        let _ = writeln!(out, "    ({clause:?}, {file:?}, {text:?}),");
    }
    out.push_str("];\n");
    let target =
        PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("interpretations.rs");
    std::fs::write(target, out).expect("OUT_DIR is writable");
}
