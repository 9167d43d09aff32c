//! Key tables: one row per configuration key, saying how the key is read and when a
//! change to it takes effect. Both binaries' readers dispatch through their tables, take
//! the known keys (for "did you mean") from them and hold docs/CONFIG.md to them, so a
//! key is spelled once.

use serde_norway::{Mapping, Value};

use crate::Problems;

/// When a changed key takes effect.
pub enum Reload<C> {
    /// At the next reload (or, for the agent, its next start).
    Live,
    /// Only after a restart: the function says whether two values agree on it.
    Restart(fn(&C, &C) -> bool),
}

/// One key of a level `C` of a configuration, read with the reader `R`.
pub struct KeySpec<R: 'static, C: 'static> {
    /// The key.
    pub name: &'static str,
    /// When a change takes effect.
    pub reload: Reload<C>,
    /// Reads its value (at path `p`, which ends with the key) into `C`, recording every
    /// problem.
    pub read: fn(&mut R, &mut C, &[&str], &Value),
}

impl<R, C> KeySpec<R, C> {
    /// Whether `a` and `b` differ in this key in a way only a restart puts in force.
    pub fn needs_restart(&self, a: &C, b: &C) -> bool {
        match self.reload {
            Reload::Live => false,
            Reload::Restart(same) => !same(a, b),
        }
    }
}

/// What a table's reader does besides reading values: report unknown keys, and count
/// the errors found so far (so a section knows whether its keys were all good).
pub trait KeyReader {
    /// Warns that the last key of `path` is unknown, suggesting the closest of `known`.
    fn unknown_key(&mut self, path: &[&str], known: &[&str]);
    /// How many errors (not warnings) were recorded so far.
    fn error_count(&self) -> usize;
}

impl KeyReader for Problems {
    fn unknown_key(&mut self, path: &[&str], known: &[&str]) {
        Problems::unknown_key(self, path, known);
    }

    fn error_count(&self) -> usize {
        Problems::error_count(self)
    }
}

/// The row of `key` in `table`.
pub fn find<R, C>(table: &'static [KeySpec<R, C>], key: &str) -> Option<&'static KeySpec<R, C>> {
    table.iter().find(|k| k.name == key)
}

/// The keys' names, in table order.
pub fn names<R, C>(table: &[KeySpec<R, C>]) -> Vec<&'static str> {
    table.iter().map(|k| k.name).collect()
}

/// Reads the key `path` ends with through its row of `table`, or warns it is unknown.
pub fn read_key<R: KeyReader, C>(
    r: &mut R,
    table: &'static [KeySpec<R, C>],
    c: &mut C,
    path: &[&str],
    v: &Value,
) {
    let key = path.last().copied().unwrap_or_default();
    match find(table, key) {
        Some(spec) => (spec.read)(r, c, path, v),
        None => r.unknown_key(path, &names(table)),
    }
}

/// Reads every key of `map`, found at `at`, through `table`; whether no error was
/// recorded on the way (unknown keys are warnings).
pub fn read_map<R: KeyReader, C>(
    r: &mut R,
    table: &'static [KeySpec<R, C>],
    c: &mut C,
    at: &[&str],
    map: &Mapping,
) -> bool {
    let before = r.error_count();
    let mut path: Vec<&str> = at.to_vec();
    for (k, v) in map {
        let Some(key) = k.as_str() else { continue };
        path.push(key);
        read_key(r, table, c, &path, v);
        path.pop();
    }
    r.error_count() == before
}

/// Names of the keys that need a restart, in table order.
pub fn restart_keys<R, C>(table: &[KeySpec<R, C>]) -> Vec<&'static str> {
    table
        .iter()
        .filter(|k| matches!(k.reload, Reload::Restart(_)))
        .map(|k| k.name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Two {
        a: Option<u64>,
        b: Option<u64>,
    }

    static TABLE: &[KeySpec<Problems, Two>] = &[
        KeySpec {
            name: "a",
            reload: Reload::Live,
            read: |r, c, p, v| c.a = r.whole(p, v, 0, 10),
        },
        KeySpec {
            name: "b",
            reload: Reload::Restart(|x, y| x.b == y.b),
            read: |r, c, p, v| c.b = r.whole(p, v, 0, 10),
        },
    ];

    #[test]
    fn a_map_is_read_through_the_table_and_unknown_or_bad_keys_are_reported() {
        let text = "s:\n  a: 3\n  bb: 4\n";
        let root: Value = serde_norway::from_str(text).unwrap();
        let map = root.get("s").and_then(Value::as_mapping).unwrap();
        let mut p = Problems::new(text, None);
        let mut two = Two::default();
        assert!(read_map(&mut p, TABLE, &mut two, &["s"], map));
        assert_eq!(two.a, Some(3));
        let problems = p.into_vec();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key, "s.bb");
        assert_eq!(problems[0].line, Some(3));
        assert!(
            problems[0].message.contains("did you mean `b`"),
            "{}",
            problems[0]
        );

        let text = "s:\n  a: 30\n";
        let root: Value = serde_norway::from_str(text).unwrap();
        let map = root.get("s").and_then(Value::as_mapping).unwrap();
        let mut p = Problems::new(text, None);
        assert!(!read_map(&mut p, TABLE, &mut Two::default(), &["s"], map));
    }

    #[test]
    fn only_restart_keys_that_differ_need_a_restart() {
        let x = Two {
            a: Some(1),
            b: Some(1),
        };
        let y = Two {
            a: Some(2),
            b: Some(1),
        };
        let z = Two {
            a: Some(1),
            b: Some(2),
        };
        assert!(!TABLE.iter().any(|k| k.needs_restart(&x, &y)));
        assert_eq!(
            TABLE
                .iter()
                .filter(|k| k.needs_restart(&x, &z))
                .map(|k| k.name)
                .collect::<Vec<_>>(),
            ["b"]
        );
        assert_eq!(restart_keys(TABLE), ["b"]);
    }
}
