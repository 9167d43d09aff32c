//! The labels each host's agent declares, as the engine last handed them to the store:
//! what the roles of label-defined groups go by when the API checks a request. Written
//! by the engine only when a host's labels change (they are shared, so unchanged ones
//! compare by pointer), read by every access check.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use crate::model::Labels;

/// Host name to declared labels, shared by the engine and the API.
#[derive(Debug, Clone, Default)]
pub struct HostLabels(Arc<RwLock<HashMap<String, Arc<Labels>>>>);

impl HostLabels {
    /// The labels `host` declares, if any.
    pub fn get(&self, host: &str) -> Option<Arc<Labels>> {
        // A poisoned lock only means a writer panicked mid-insert; the map is whole.
        let map = self.0.read().unwrap_or_else(PoisonError::into_inner);
        map.get(host).cloned()
    }

    /// Takes `host`'s labels now (`None`: it declares none, or it was dropped).
    pub fn set(&self, host: &str, labels: Option<&Arc<Labels>>) {
        let same = {
            let map = self.0.read().unwrap_or_else(PoisonError::into_inner);
            match (map.get(host), labels) {
                (Some(old), Some(new)) => Arc::ptr_eq(old, new) || old == new,
                (None, None) => true,
                _ => false,
            }
        };
        if same {
            return;
        }
        let mut map = self.0.write().unwrap_or_else(PoisonError::into_inner);
        match labels {
            Some(l) => {
                map.insert(host.to_owned(), l.clone());
            }
            None => {
                map.remove(host);
            }
        }
    }
}
