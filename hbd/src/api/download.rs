//! Serving a file an agent downloads (a release, an artifact's file) as
//! `application/octet-stream` with its length; the caller has already decided the file
//! may be served. A small file (an artifact, a manifest) is read whole in one trip to
//! the blocking pool: at 10,000 agents fetching during a rollout, a stream of 4 KiB
//! reads cost the runtime's workers a hand-off per chunk. A large one (a release) is
//! streamed in 256 KiB reads.

use axum::body::Body as HttpBody;
use axum::http::header;
use axum::response::Response;

/// Files up to this size are read whole.
const WHOLE: u64 = 1 << 20;
/// Reads of a larger file, streamed.
const CHUNK: usize = 256 * 1024;

/// What opening a file found.
enum Opened {
    Whole(Vec<u8>),
    Stream(std::fs::File, u64),
}

/// The file at `path`; `None` when it cannot be opened or read.
pub(super) async fn stream(path: &std::path::Path) -> Option<Response> {
    let path = path.to_owned();
    let opened = tokio::task::spawn_blocking(move || -> std::io::Result<Opened> {
        use std::io::Read;
        let mut file = std::fs::File::open(&path)?;
        let len = file.metadata()?.len();
        if len <= WHOLE {
            let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
            file.read_to_end(&mut bytes)?;
            Ok(Opened::Whole(bytes))
        } else {
            Ok(Opened::Stream(file, len))
        }
    })
    .await
    .ok()?
    .ok()?;
    let (body, len) = match opened {
        Opened::Whole(bytes) => {
            let len = bytes.len() as u64;
            (HttpBody::from(bytes), len)
        }
        Opened::Stream(file, len) => {
            let reader =
                tokio_util::io::ReaderStream::with_capacity(tokio::fs::File::from_std(file), CHUNK);
            (HttpBody::from_stream(reader), len)
        }
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, len.into());
    Some(response)
}
