//! Rebuild when a page template or static asset is added or changed: rust-embed puts
//! them in the binary, and without this a new file would be silently missing from a
//! release build.
fn main() {
    println!("cargo:rerun-if-changed=../templates");
    println!("cargo:rerun-if-changed=../static");
}
