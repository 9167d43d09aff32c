//! The core's table of hosts: found by name in one hash lookup (every datagram looks its
//! host up), and listed in name order (the API's pages and the live snapshot).
//!
//! A B-tree alone gave both, but its lookup compares the name with a dozen or more
//! others (measured in docs/PERFORMANCE.md: a third of the core's work per heartbeat at
//! 1,000 hosts). Here a hash map holds the values and a sorted set the same names,
//! shared (`Arc<str>`), for order. The map uses the standard library's keyed hasher:
//! names come from the network.
//!
//! Values are boxed: a host's record is a few hundred bytes, and a hash table grows by
//! doubling, so values held in the table itself would leave up to half of its bytes
//! empty after a growth (hundreds of MB at a million hosts); boxed, an empty slot costs
//! the size of a name and a pointer. The deadline heap shares the names too
//! ([`ByName::name`]).

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound::{Excluded, Unbounded};
use std::sync::Arc;

/// Values by name, found by hash and listed in name order.
#[derive(Debug)]
pub struct ByName<V> {
    values: HashMap<Arc<str>, Box<V>>,
    /// The same names as `values`, sorted.
    order: BTreeSet<Arc<str>>,
}

impl<V> Default for ByName<V> {
    fn default() -> Self {
        ByName {
            values: HashMap::new(),
            order: BTreeSet::new(),
        }
    }
}

impl<V> ByName<V> {
    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&V> {
        self.values.get(name).map(|v| &**v)
    }

    /// The shared name equal to `name`, if held.
    pub fn name(&self, name: &str) -> Option<&Arc<str>> {
        self.values.get_key_value(name).map(|(k, _)| k)
    }

    /// The value of `name`, to change.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut V> {
        self.values.get_mut(name).map(|v| &mut **v)
    }

    /// Whether `name` is here.
    pub fn contains_key(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// Sets `name`'s value, returning the one it replaces.
    pub fn insert(&mut self, name: &str, value: V) -> Option<V> {
        if let Some(slot) = self.values.get_mut(name) {
            return Some(std::mem::replace(&mut **slot, value));
        }
        let name: Arc<str> = name.into();
        self.order.insert(name.clone());
        self.values.insert(name, Box::new(value));
        None
    }

    /// Takes `name` out.
    pub fn remove(&mut self, name: &str) -> Option<V> {
        let value = self.values.remove(name)?;
        self.order.remove(name);
        Some(*value)
    }

    /// How many names there are.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// The names, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.order.iter().map(|name| &**name)
    }

    /// The values, by name.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.after(None)
    }

    /// The values of the names after `name` (all with `None`), by name.
    pub fn after(&self, name: Option<&str>) -> impl Iterator<Item = &V> {
        let from = name.map_or(Unbounded, Excluded);
        self.order
            .range::<str, _>((from, Unbounded))
            // Every name in `order` is in `values` (kept together above).
            .filter_map(|name| self.values.get(name).map(|v| &**v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_by_name_and_listed_in_order() {
        let mut table = ByName::default();
        for (i, name) in ["web2", "db1", "web10", "app"].into_iter().enumerate() {
            assert_eq!(table.insert(name, i), None);
        }
        assert_eq!(table.insert("db1", 9), Some(1), "replaces, once");
        assert_eq!(table.len(), 4);
        assert_eq!(table.get("db1"), Some(&9));
        assert_eq!(table.get("nope"), None);
        *table.get_mut("app").unwrap() += 100;
        assert_eq!(
            table.keys().collect::<Vec<_>>(),
            ["app", "db1", "web10", "web2"]
        );
        assert_eq!(table.values().copied().collect::<Vec<_>>(), [103, 9, 2, 0]);
        assert_eq!(
            table.after(Some("db1")).copied().collect::<Vec<_>>(),
            [2, 0]
        );
        assert_eq!(table.after(Some("c")).count(), 3, "after a name not held");
        assert_eq!(table.remove("web10"), Some(2));
        assert_eq!(table.remove("web10"), None);
        assert!(!table.contains_key("web10"));
        assert_eq!(table.keys().collect::<Vec<_>>(), ["app", "db1", "web2"]);
        assert_eq!(table.len(), 3);
    }
}
