//! The layer rule of `src/lib.rs`, asserted: every `crate::`, `super::` and child-module path
//! in `src/**/*.rs` (test modules aside) is resolved to the file that defines it; a top-level
//! module may import only the modules its layer allows, and no two files import each other,
//! directly or around a loop. A parent `mod.rs` re-exporting its own children (`pub use`) is a
//! facade, not a dependency, so it is not an edge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What each top-level module may import (besides itself).
fn allowed(module: &str) -> Option<&'static [&'static str]> {
    Some(match module {
        "text" | "faults" => &[],
        "catalogue" => &["faults", "text"],
        // The reference server stays an independent oracle.
        "server" => &["faults"],
        "record" => &["catalogue", "text"],
        "sut" => &["record", "catalogue", "text"],
        "conformance" | "load" => &["sut", "record", "catalogue", "text"],
        "report" => &["record", "catalogue", "text"],
        "reference" => &["server", "sut", "faults", "catalogue", "text"],
        "cli" => &[
            "reference",
            "conformance",
            "load",
            "report",
            "sut",
            "record",
            "catalogue",
            "server",
            "faults",
            "text",
        ],
        _ => return None,
    })
}

/// A source file: its path under `src/` and its module path (`sut::probe::calibrate`).
struct Source {
    file: PathBuf,
    module: Vec<String>,
    is_mod_rs: bool,
    text: String,
}

fn sources(root: &Path) -> Vec<Source> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(root).unwrap().to_owned();
            let name = rel.file_stem().unwrap().to_string_lossy().into_owned();
            if name == "tests" || name == "main" {
                continue; // test modules and the binary's entry point
            }
            let mut module: Vec<String> = rel
                .parent()
                .unwrap()
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let is_mod_rs = name == "mod" || name == "lib";
            if !is_mod_rs {
                module.push(name);
            }
            let text = std::fs::read_to_string(&path).unwrap();
            out.push(Source {
                file: rel,
                module,
                is_mod_rs,
                text,
            });
        }
    }
    out.sort_by(|a, b| a.file.cmp(&b.file));
    out
}

/// The code without comments, strings and the trailing `#[cfg(test)]` module.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = String::with_capacity(text.len());
    let bytes: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == '/' && bytes.get(i + 1) == Some(&'/') {
            while i < bytes.len() && bytes[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && bytes.get(i + 1) == Some(&'*') {
            i += 2;
            while i + 1 < bytes.len() && !(bytes[i] == '*' && bytes[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == '"' {
            // A string (raw strings with `#` are rare in code paths; skip to the next quote).
            i += 1;
            while i < bytes.len() && bytes[i] != '"' {
                if bytes[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && bytes.get(i + 2) == Some(&'\'') {
            i += 3; // a char literal
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Expands a `use` tree (`a::{b, c::{d, e}}`) into its paths.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or("").trim();
        return vec![path.to_owned()];
    };
    let prefix = tree[..open].trim_end_matches("::");
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(expand)
        .map(|p| {
            if p == "self" {
                prefix.to_owned()
            } else if prefix.is_empty() {
                p
            } else {
                format!("{prefix}::{p}")
            }
        })
        .collect()
}

/// Every path a file names, with whether it is a `pub use` (a re-export).
fn paths(code: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    // `use` statements, braces expanded.
    let mut rest = code;
    while let Some(i) = rest.find("use ") {
        let before = &rest[..i];
        let boundary = before
            .chars()
            .last()
            .is_none_or(|c| !c.is_alphanumeric() && c != '_');
        let after = &rest[i + 4..];
        if !boundary {
            rest = after;
            continue;
        }
        let public = before.trim_end().ends_with("pub") || before.trim_end().ends_with(')');
        let end = after.find(';').unwrap_or(after.len());
        for p in expand(&after[..end]) {
            out.push((p, public));
        }
        rest = &after[end..];
    }
    // Paths in code: `crate::a::b` and `super::a` wherever they appear.
    for anchor in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(anchor) {
            let at = from + i;
            let before_ok = code[..at]
                .chars()
                .last()
                .is_none_or(|c| !c.is_alphanumeric() && c != '_' && c != ':');
            let path: String = code[at..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            if before_ok {
                out.push((path.trim_end_matches(':').to_owned(), false));
            }
            from = at + anchor.len();
        }
    }
    out
}

/// The file under `src/` a module path resolves to: the deepest `x.rs` or `x/mod.rs` on it.
fn resolve(root: &Path, segments: &[String]) -> Option<PathBuf> {
    let mut dir = PathBuf::new();
    let mut found = None;
    for seg in segments {
        let file = dir.join(format!("{seg}.rs"));
        let sub = dir.join(seg);
        if root.join(sub.join("mod.rs")).is_file() {
            found = Some(sub.join("mod.rs"));
            dir = sub;
        } else if root.join(&file).is_file() {
            found = Some(file);
            break;
        } else {
            break;
        }
    }
    found
}

/// A path's module segments from the crate root, as seen from `module` (None: another crate).
fn absolute(path: &str, source: &Source, root: &Path) -> Option<Vec<String>> {
    let segs: Vec<String> = path
        .split("::")
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let (first, rest) = segs.split_first()?;
    let mut here = source.module.clone();
    match first.as_str() {
        "crate" => Some(rest.to_vec()),
        "self" => Some(here.into_iter().chain(rest.iter().cloned()).collect()),
        "super" => {
            let mut segs = segs.as_slice();
            while segs.first().is_some_and(|s| s == "super") {
                here.pop();
                segs = &segs[1..];
            }
            Some(here.into_iter().chain(segs.iter().cloned()).collect())
        }
        child => {
            // A child module of this file (`mod adapter;` then `use adapter::X`).
            let candidate: Vec<String> = here.iter().cloned().chain([child.to_owned()]).collect();
            resolve(root, &candidate)
                .filter(|f| {
                    f.starts_with(source.module.iter().collect::<PathBuf>()) && f != &source.file
                })
                .map(|_| candidate.into_iter().chain(rest.iter().cloned()).collect())
        }
    }
}

struct Graph {
    /// file -> files it imports (re-export facades excluded)
    edges: BTreeMap<PathBuf, BTreeSet<PathBuf>>,
    /// (from module, to module, file) for imports the layer rule forbids
    forbidden: BTreeSet<String>,
}

fn graph(root: &Path) -> Graph {
    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    let mut forbidden = BTreeSet::new();
    for source in sources(root) {
        let top = source.module.first().cloned().unwrap_or_default();
        for (path, public) in paths(&code(&source.text)) {
            let Some(abs) = absolute(&path, &source, root) else {
                continue;
            };
            let Some(target) = resolve(root, &abs) else {
                continue;
            };
            if target == source.file {
                continue;
            }
            let target_top = abs.first().cloned().unwrap_or_default();
            if !top.is_empty() && !target_top.is_empty() && target_top != top {
                match allowed(&top) {
                    Some(ok) if ok.contains(&target_top.as_str()) => {}
                    Some(_) => {
                        forbidden.insert(format!(
                            "src/{}: {top} imports {target_top} ({path})",
                            source.file.display()
                        ));
                    }
                    None => {
                        forbidden.insert(format!(
                            "src/{}: the module {top} has no layer in tests/layering.rs",
                            source.file.display()
                        ));
                    }
                }
            }
            // A parent's re-export of its own descendant is a facade, not a dependency.
            let own_descendant = source.is_mod_rs
                && target.starts_with(source.file.parent().unwrap_or(Path::new("")));
            if public && own_descendant {
                continue;
            }
            edges.entry(source.file.clone()).or_default().insert(target);
        }
    }
    Graph { edges, forbidden }
}

/// The strongly connected components with more than one file (Tarjan).
fn cycles(edges: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Vec<Vec<PathBuf>> {
    struct T<'a> {
        edges: &'a BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        index: BTreeMap<&'a PathBuf, usize>,
        low: BTreeMap<&'a PathBuf, usize>,
        stack: Vec<&'a PathBuf>,
        on: BTreeSet<&'a PathBuf>,
        next: usize,
        out: Vec<Vec<PathBuf>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a PathBuf) {
        t.index.insert(v, t.next);
        t.low.insert(v, t.next);
        t.next += 1;
        t.stack.push(v);
        t.on.insert(v);
        if let Some(ws) = t.edges.get(v) {
            for w in ws {
                if !t.index.contains_key(w) {
                    visit(t, w);
                    let lw = t.low[w];
                    let lv = t.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if t.on.contains(w) {
                    let iw = t.index[w];
                    let lv = t.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
        }
        if t.low[v] == t.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                scc.push(w.clone());
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                scc.sort();
                t.out.push(scc);
            }
        }
    }
    let mut t = T {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    let nodes: Vec<&PathBuf> = edges.keys().collect();
    for v in nodes {
        if !t.index.contains_key(v) {
            visit(&mut t, v);
        }
    }
    t.out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn every_import_points_down_the_layers() {
    let g = graph(&src());
    assert!(
        g.forbidden.is_empty(),
        "imports the layer rule forbids:\n{}",
        g.forbidden.iter().cloned().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn no_two_files_import_each_other() {
    let g = graph(&src());
    let found = cycles(&g.edges);
    assert!(
        found.is_empty(),
        "import cycles between files:\n{}",
        found
            .iter()
            .map(|c| c
                .iter()
                .map(|p| format!("src/{}", p.display()))
                .collect::<Vec<_>>()
                .join(" <-> "))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The test itself can fail: an upward import and a loop in a made-up tree are both found.
#[test]
fn the_rule_catches_an_upward_import_and_a_loop() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |p: &str, text: &str| {
        let path = root.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("lib.rs", "pub mod record;\npub mod report;\npub mod sut;\n");
    write(
        "record/mod.rs",
        "pub mod a;\npub mod b;\nuse crate::report::View;\n",
    );
    write("record/a.rs", "use super::b::B;\npub struct A;\n");
    write("record/b.rs", "use super::a::A;\npub struct B;\n");
    write("report/mod.rs", "pub struct View;\n");
    write("sut/mod.rs", "pub mod x;\npub use x::X;\n");
    write("sut/x.rs", "use crate::sut::Y;\npub struct X;\n");
    let g = graph(root);
    assert_eq!(g.forbidden.len(), 1, "{:?}", g.forbidden);
    assert!(
        g.forbidden
            .iter()
            .next()
            .unwrap()
            .contains("record imports report"),
        "{:?}",
        g.forbidden
    );
    let found = cycles(&g.edges);
    assert_eq!(
        found,
        vec![vec![
            PathBuf::from("record/a.rs"),
            PathBuf::from("record/b.rs")
        ]],
        "the facade re-export in sut/mod.rs is not a cycle; a.rs <-> b.rs is"
    );
}
