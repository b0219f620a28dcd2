//! `docs/schema.md` is generated from the code: this test fails when they drift, and
//! rewrites the file when run with `VIGIL_BLESS=1`.

#[test]
fn schema_doc_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schema.md");
    let want = vigil_ingest::schema::markdown();
    if std::env::var_os("VIGIL_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/schema.md is stale: rerun this test with VIGIL_BLESS=1 and commit the diff"
    );
}
