//! One encoding of a live snapshot per viewer, shared by the WebSocket connections that
//! start from it: twenty clients connecting at once cost one snapshot's text, not twenty.
//!
//! An encoding is kept only while a connection still holds it (the cache keeps weak
//! references), so nothing lingers once every client has been sent its start.

use std::sync::{Arc, Weak};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::Mutex;

use crate::auth::directory::Directory;
use crate::live::Snapshot;

/// A snapshot's messages, ready to send.
pub type Parts = Arc<Vec<Utf8Bytes>>;

struct Entry {
    run: String,
    seq: u64,
    user: Option<String>,
    /// Held so the pointer compared cannot be reused by a later directory.
    directory: Arc<Directory>,
    parts: Weak<Vec<Utf8Bytes>>,
}

/// The shared encodings.
#[derive(Clone, Default)]
pub struct SnapshotTexts {
    entries: Arc<Mutex<Vec<Entry>>>,
}

impl std::fmt::Debug for SnapshotTexts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SnapshotTexts")
    }
}

impl SnapshotTexts {
    /// The messages of `snapshot` as `user` sees it under `directory`: encoded by
    /// `encode` unless a connection still holds the same view. Connections asking for
    /// the same view at the same time wait for one encoding.
    pub async fn get(
        &self,
        snapshot: &Snapshot,
        user: Option<&str>,
        directory: &Arc<Directory>,
        encode: impl FnOnce() -> Vec<String>,
    ) -> Parts {
        let mut entries = self.entries.lock().await;
        entries.retain(|e| e.parts.strong_count() > 0);
        let same = |e: &&Entry| {
            e.seq == snapshot.seq
                && e.run == snapshot.run
                && e.user.as_deref() == user
                && Arc::ptr_eq(&e.directory, directory)
        };
        if let Some(parts) = entries.iter().find(same).and_then(|e| e.parts.upgrade()) {
            return parts;
        }
        let parts: Parts = Arc::new(encode().into_iter().map(Utf8Bytes::from).collect());
        entries.push(Entry {
            run: snapshot.run.clone(),
            seq: snapshot.seq,
            user: user.map(str::to_owned),
            directory: directory.clone(),
            parts: Arc::downgrade(&parts),
        });
        parts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(seq: u64) -> Snapshot {
        Snapshot {
            run: "r".into(),
            seq,
            hosts: vec![],
            alerts: vec![],
        }
    }

    #[tokio::test]
    async fn one_view_is_encoded_once_while_held_and_never_shared_across_users() {
        let texts = SnapshotTexts::default();
        let directory = Arc::new(Directory::default());
        let mut encoded = 0;
        let mut encode = || {
            encoded += 1;
            vec![format!("{encoded}")]
        };
        let a = texts
            .get(&snap(1), Some("ann"), &directory, &mut encode)
            .await;
        let b = texts
            .get(&snap(1), Some("ann"), &directory, &mut encode)
            .await;
        assert!(Arc::ptr_eq(&a, &b));
        let other = texts
            .get(&snap(1), Some("bob"), &directory, &mut encode)
            .await;
        assert_eq!(
            other[0].as_str(),
            "2",
            "another user's view is encoded for them"
        );
        let later = texts
            .get(&snap(2), Some("ann"), &directory, &mut encode)
            .await;
        assert_eq!(later[0].as_str(), "3");
        let changed = Arc::new(Directory::default());
        let regranted = texts
            .get(&snap(2), Some("ann"), &changed, &mut encode)
            .await;
        assert_eq!(regranted[0].as_str(), "4", "new access, new encoding");
        drop((a, b, other, later, regranted));
        let again = texts
            .get(&snap(1), Some("ann"), &directory, &mut encode)
            .await;
        assert_eq!(
            again[0].as_str(),
            "5",
            "nothing is kept once no connection holds it"
        );
    }
}
