//! Which members of a group with `rollout` run a change after a reload: a group whose
//! plugins or collectors changed starts a rollout in which none does yet, from what its
//! members ran. The rollout task (`super::rollouts`) moves them on. Pure.

use std::collections::BTreeMap;

use hb_artifact::desired::DesiredSet;
use hbd_core::rollout::{Split, State};

use crate::clock::Timestamp;
use crate::config::Config;

/// What each group gives its members, by group name, as the plan holds it.
fn given(config: &Config) -> BTreeMap<String, DesiredSet> {
    config
        .plugin_plan()
        .groups
        .into_iter()
        .map(|(g, set)| (g.name, set))
        .collect()
}

/// The splits after a reload from `before` to `after` at `now`: a group with `rollout`
/// whose plugins or collectors changed starts a rollout from what its members ran
/// (what they were given, or, mid-rollout or after a rollback, the set the rollout
/// started from); an unchanged group keeps its split; a group without `rollout` has
/// none. Pure.
pub fn splits_after(before: &Config, after: &Config, now: Timestamp) -> BTreeMap<String, Split> {
    let (old, new) = (given(before), given(after));
    let mut out = BTreeMap::new();
    for (name, group) in &after.groups {
        if group.rollout.is_none() {
            continue;
        }
        let current = before.rollouts.get(name);
        let was = old.get(name).cloned().unwrap_or_default();
        let now_given = new.get(name).cloned().unwrap_or_default();
        if was == now_given {
            if let Some(split) = current {
                out.insert(name.clone(), split.clone());
            }
            continue;
        }
        let from = match current {
            Some(split) if split.state != State::Done => split.from.clone(),
            _ => was,
        };
        out.insert(
            name.clone(),
            Split {
                from,
                on_new: Default::default(),
                state: State::Running,
                started: now,
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn with(group_set: &[(&str, f64)], rollout: bool) -> Config {
        let mut c = Config::default();
        let g = c.groups.entry("web".into()).or_default();
        g.hosts = vec!["web*".into()];
        for (collector, interval) in group_set {
            g.collectors.insert(
                (*collector).to_owned(),
                hb_artifact::collectors::Collector {
                    interval: Some(*interval),
                    ..Default::default()
                },
            );
        }
        g.rollout = rollout.then(|| hbd_core::rollout::RolloutSettings {
            canaries: hbd_core::rollout::Canaries::Count(1),
            healthy_for: 1,
            waves: vec![100],
        });
        c
    }

    #[test]
    fn a_change_to_a_group_with_rollout_starts_one_from_what_its_members_ran() {
        let t = |s: f64| Timestamp::from_secs_f64(s);
        let v1 = with(&[("cpu_monitor", 30.0)], true);
        let mut v2 = with(&[("cpu_monitor", 10.0)], true);
        let splits = splits_after(&v1, &v2, t(1.0));
        let split = &splits["web"];
        assert_eq!(split.from, given(&v1)["web"]);
        assert!(split.on_new.is_empty() && split.state == State::Running);
        // Unchanged: kept as it is.
        v2.rollouts = Arc::new(splits.clone());
        assert_eq!(splits_after(&v2, &v2, t(2.0)), splits);
        // Changed again mid-rollout: from what the rollout started from.
        let v3 = with(&[("cpu_monitor", 5.0)], true);
        let again = splits_after(&v2, &v3, t(3.0));
        assert_eq!(again["web"].from, given(&v1)["web"]);
        assert_eq!(again["web"].started, t(3.0));
        // Without rollout: none.
        assert!(splits_after(&v1, &with(&[("cpu_monitor", 10.0)], false), t(4.0)).is_empty());
    }
}
