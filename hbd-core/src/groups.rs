//! Host groups: a name for the hosts whose names match a pattern (`web*`) or whose
//! agents declare labels (`role: web`), usable where a host name is (threshold
//! profiles, roles). Pure: membership is a function of the host's name and labels.

use std::sync::Arc;

use globset::{Glob, GlobMatcher};

pub use crate::model::Labels;

/// Why a group cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    /// A name pattern that is not a glob.
    #[error("{pattern:?} is not a name pattern: {message}")]
    Pattern {
        /// The pattern as written.
        pattern: String,
        /// What is wrong with it.
        message: String,
    },
    /// Neither patterns nor labels: it would hold no host.
    #[error("needs `hosts` (name patterns) or `labels`")]
    Empty,
}

/// One group's rule of membership.
#[derive(Debug, Clone)]
pub struct Group {
    /// Its name.
    pub name: String,
    patterns: Vec<GlobMatcher>,
    labels: Labels,
}

/// Two groups are the same rule when their names, patterns (as written) and labels are.
impl PartialEq for Group {
    fn eq(&self, other: &Group) -> bool {
        self.name == other.name
            && self.labels == other.labels
            && self.patterns.len() == other.patterns.len()
            && self
                .patterns
                .iter()
                .zip(&other.patterns)
                .all(|(a, b)| a.glob() == b.glob())
    }
}

impl Group {
    /// A group of the hosts whose name matches any of `patterns` (globs: `*`, `?`,
    /// `[...]`), or whose labels include every one of `labels`.
    pub fn new(name: &str, patterns: &[String], labels: &Labels) -> Result<Group, GroupError> {
        if patterns.is_empty() && labels.is_empty() {
            return Err(GroupError::Empty);
        }
        let patterns = patterns
            .iter()
            .map(|p| {
                Glob::new(p)
                    .map(|g| g.compile_matcher())
                    .map_err(|e| GroupError::Pattern {
                        pattern: p.clone(),
                        message: e.kind().to_string(),
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Group {
            name: name.to_owned(),
            patterns,
            labels: labels.clone(),
        })
    }

    /// Whether the host `name`, declaring `labels`, is a member.
    pub fn contains(&self, name: &str, labels: Option<&Labels>) -> bool {
        self.patterns.iter().any(|p| p.is_match(name))
            || (!self.labels.is_empty()
                && labels.is_some_and(|have| {
                    self.labels
                        .iter()
                        .all(|(k, v)| have.get(k).is_some_and(|h| h == v))
                }))
    }
}

/// Labels shared by the hosts that declare the same set (most hosts of a fleet declare
/// one of a few), held once.
#[derive(Debug, Default)]
pub struct LabelSets(std::collections::HashSet<Arc<Labels>>);

/// Distinct label sets kept for sharing at most (hosts choose them).
pub const MAX_LABEL_SETS: usize = 4096;

impl LabelSets {
    /// `labels`, shared with every host that declared the same.
    pub fn intern(&mut self, labels: &Labels) -> Arc<Labels> {
        if let Some(held) = self.0.get(labels) {
            return held.clone();
        }
        let new = Arc::new(labels.clone());
        if self.0.len() < MAX_LABEL_SETS {
            self.0.insert(new.clone());
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>()
    }

    #[test]
    fn membership_by_name_pattern_or_by_every_label() {
        let web = Group::new("web", &["web*".into(), "www?".into()], &labels(&[])).unwrap();
        let prod_web = Group::new(
            "prod-web",
            &[],
            &labels(&[("role", "web"), ("env", "prod")]),
        )
        .unwrap();
        let both = labels(&[("role", "web"), ("env", "prod"), ("dc", "fra")]);
        let half = labels(&[("role", "web")]);
        // (host, its labels, in web, in prod-web)
        let cases: [(&str, Option<&Labels>, bool, bool); 6] = [
            ("web1", None, true, false),
            ("www2", None, true, false),
            ("www22", None, false, false),
            ("db1", Some(&both), false, true),
            ("db2", Some(&half), false, false),
            ("web9", Some(&both), true, true),
        ];
        for (host, l, in_web, in_prod) in cases {
            assert_eq!(web.contains(host, l), in_web, "{host} in web");
            assert_eq!(prod_web.contains(host, l), in_prod, "{host} in prod-web");
        }
    }

    #[test]
    fn a_group_needs_a_rule_and_patterns_must_be_globs() {
        assert_eq!(
            Group::new("none", &[], &Labels::new()).unwrap_err(),
            GroupError::Empty
        );
        assert!(matches!(
            Group::new("bad", &["web[".into()], &Labels::new()),
            Err(GroupError::Pattern { .. })
        ));
    }

    #[test]
    fn label_sets_are_shared() {
        let mut sets = LabelSets::default();
        let a = sets.intern(&labels(&[("role", "web")]));
        let b = sets.intern(&labels(&[("role", "web")]));
        assert!(Arc::ptr_eq(&a, &b));
    }
}
