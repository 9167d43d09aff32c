//! `/static/PATH`: the embedded assets (`static/` at the top of the workspace), or the same path under
//! `templates_dir/static` when that file exists. ETags from the content hash, so a
//! browser revalidates cheaply; paths with `..` are refused.

use std::path::Path;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::api::ApiState;

/// The embedded assets.
#[derive(rust_embed::RustEmbed)]
#[folder = "../static/"]
struct Embedded;

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The asset at `path` (relative, `/`-separated).
pub fn lookup(path: &str, override_dir: Option<&Path>) -> Option<(Vec<u8>, String)> {
    if path.split('/').any(|part| part == ".." || part.is_empty()) {
        return None;
    }
    if let Some(dir) = override_dir
        && let Ok(bytes) = std::fs::read(dir.join("static").join(path))
    {
        use sha2::Digest;
        let etag = hex(&sha2::Sha256::digest(&bytes)[..16]);
        return Some((bytes, etag));
    }
    let file = Embedded::get(path)?;
    let etag = hex(&file.metadata.sha256_hash()[..16]);
    Some((file.data.into_owned(), etag))
}

/// Serves one asset.
pub async fn serve(
    State(state): State<ApiState>,
    axum::extract::Path(path): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    let config = state.config.get();
    let Some((bytes, etag)) = lookup(&path, config.templates_dir.as_deref()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = format!("\"{etag}\"");
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut response = ([(header::CONTENT_TYPE, content_type(&path))], bytes).into_response();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, v);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_come_from_the_binary_or_the_override_and_never_from_above() {
        let (js, etag) = lookup("js/live.js", None).unwrap();
        assert!(String::from_utf8(js).unwrap().contains("WebSocket"));
        assert_eq!(etag.len(), 32);
        assert!(lookup("../Cargo.toml", None).is_none());
        assert!(lookup("js/../../Cargo.toml", None).is_none());
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("static/js")).unwrap();
        std::fs::write(dir.path().join("static/js/live.js"), "mine").unwrap();
        let (mine, _) = lookup("js/live.js", Some(dir.path())).unwrap();
        assert_eq!(mine, b"mine");
        assert_eq!(content_type("a/b.css"), "text/css; charset=utf-8");
    }

    #[test]
    fn vendored_files_are_the_ones_vendor_web_checked() {
        use sha2::Digest;
        let (versions, _) = lookup("vendor/VERSIONS", None).unwrap();
        let versions = String::from_utf8(versions).unwrap();
        let mut checked = 0;
        for line in versions.lines().filter(|l| !l.starts_with('#')) {
            let (_, files) = line.split_once(": ").unwrap();
            let (file, want) = files.split_once(' ').unwrap();
            let (bytes, _) = lookup(&format!("vendor/{file}"), None)
                .unwrap_or_else(|| panic!("{file} is listed in VERSIONS but not embedded"));
            assert_eq!(
                hex(&sha2::Sha256::digest(&bytes)),
                want,
                "{file} was changed"
            );
            checked += 1;
        }
        assert_eq!(checked, 3, "uPlot's script, stylesheet and licence");
    }
}
