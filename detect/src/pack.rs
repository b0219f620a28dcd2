//! The shipped rule pack (`detect/rules/`), embedded in the binary so that
//! `vigil detect` works anywhere without `--rules`.

use std::path::Path;

use include_dir::{Dir, include_dir};

use crate::rule::load::{RuleSet, load_str};

static PACK: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/rules");

/// The shipped rules, as if read from `detect/rules/...`.
pub fn shipped() -> RuleSet {
    let mut set = RuleSet::default();
    let mut files = Vec::new();
    collect(&PACK, &mut files);
    files.sort_by(|a, b| a.path().cmp(b.path()));
    for f in files {
        let is_yaml = f
            .path()
            .extension()
            .is_some_and(|x| x == "yml" || x == "yaml");
        if let (true, Some(text)) = (is_yaml, f.contents_utf8()) {
            set.extend(load_str(text, &Path::new("detect/rules").join(f.path())));
        }
    }
    set
}

fn collect<'a>(dir: &'a Dir<'a>, out: &mut Vec<&'a include_dir::File<'a>>) {
    out.extend(dir.files());
    for d in dir.dirs() {
        collect(d, out);
    }
}
