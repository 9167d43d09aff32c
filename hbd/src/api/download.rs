//! Streaming a file an agent downloads (a release, an artifact's file) as
//! `application/octet-stream` with its length; the caller has already decided the file
//! may be served.

use axum::body::Body as HttpBody;
use axum::http::header;
use axum::response::Response;

/// The file at `path`, streamed; `None` when it cannot be opened.
pub(super) async fn stream(path: &std::path::Path) -> Option<Response> {
    let handle = tokio::fs::File::open(path).await.ok()?;
    let len = handle.metadata().await.map(|m| m.len()).ok();
    let mut response = Response::new(HttpBody::from_stream(tokio_util::io::ReaderStream::new(
        handle,
    )));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/octet-stream"),
    );
    if let Some(len) = len {
        headers.insert(header::CONTENT_LENGTH, len.into());
    }
    Some(response)
}
