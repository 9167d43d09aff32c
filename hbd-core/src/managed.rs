//! Managed plugins in the core: which signed artifacts each host runs, by its groups and
//! what it is given of its own (the plan), and what each managing agent reported it
//! applied, so the ACK to its heartbeat can name the digest it should run when the two
//! differ. The plan comes from the configuration and the hosts' own settings made
//! through the API, resolved against the artifacts on offer when they were made; the
//! daemon's answer to an agent (`GET /agent/NAME/plugins`) is built from the same plan,
//! so the digest in an ACK is the one the answer carries.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use hb_artifact::collectors::Collectors;
use hb_artifact::desired::{DesiredPlugin, DesiredSet};
use serde::{Deserialize, Serialize};

use crate::groups::{Group, Labels};

/// What one host is given besides its groups, by those who manage it: artifacts (which
/// win over its groups'), plugins its groups name that it does not run, and native
/// collectors' settings (which win over its groups').
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostOwn {
    /// Its own artifacts, resolved (SHA-256 and size from their manifests).
    #[serde(default)]
    pub plugins: Vec<DesiredPlugin>,
    /// Plugins its groups name that it does not run.
    #[serde(default)]
    pub without: Vec<String>,
    /// Its own collectors' settings.
    #[serde(default)]
    pub collectors: Collectors,
}

impl HostOwn {
    /// Whether it gives nothing.
    pub fn is_empty(&self) -> bool {
        self.plugins.is_empty() && self.without.is_empty() && self.collectors.is_empty()
    }
}

/// Each group that manages anything, in name order, with what it gives its members, and
/// each host's own: a host runs what it is given of its own, and every other plugin its
/// groups name that it is not without; it takes its own collectors' settings, then its
/// groups'; the first group naming a plugin or a collector winning.
#[derive(Debug, Default)]
pub struct Plan {
    /// The groups with what they give.
    pub groups: Vec<(Group, DesiredSet)>,
    /// Each host's own, by host name.
    pub hosts: Arc<BTreeMap<String, HostOwn>>,
    /// Groups rolling out a change, by group name: which members run it; the others
    /// run what the group gave before.
    pub rollouts: Arc<BTreeMap<String, crate::rollout::Split>>,
}

impl Plan {
    /// What `host`, declaring `labels`, should run, plugins sorted by name.
    pub fn for_host(&self, host: &str, labels: Option<&Labels>) -> DesiredSet {
        let mut plugins: BTreeMap<&str, Option<&DesiredPlugin>> = BTreeMap::new();
        let mut set = DesiredSet::default();
        if let Some(own) = self.hosts.get(host) {
            for plugin in &own.plugins {
                plugins.insert(plugin.name.as_str(), Some(plugin));
            }
            for name in &own.without {
                plugins.entry(name.as_str()).or_insert(None);
            }
            set.collectors = own.collectors.clone();
        }
        for (group, given) in &self.groups {
            if !group.contains(host, labels) {
                continue;
            }
            let given = match self.rollouts.get(&group.name) {
                Some(split) if !split.runs_new(host) => &split.from,
                _ => given,
            };
            for plugin in &given.plugins {
                plugins.entry(plugin.name.as_str()).or_insert(Some(plugin));
            }
            for (name, settings) in &given.collectors {
                set.collectors
                    .entry(name.clone())
                    .or_insert_with(|| settings.clone());
            }
        }
        set.plugins = plugins.into_values().flatten().cloned().collect();
        set
    }

    /// The digest of what `host` should run.
    pub fn digest_for(&self, host: &str, labels: Option<&Labels>) -> String {
        self.for_host(host, labels).digest()
    }

    /// What decides the set of a host that has none of its own: for each group, whether
    /// it holds the host and, while it rolls a change out, on which side. `None` for a
    /// host given something of its own.
    fn shape(&self, host: &str, labels: Option<&Labels>) -> Option<Vec<u8>> {
        if self.hosts.contains_key(host) {
            return None;
        }
        let side = |(group, _): &(Group, DesiredSet)| {
            if !group.contains(host, labels) {
                0
            } else {
                match self.rollouts.get(&group.name) {
                    Some(split) if !split.runs_new(host) => 2,
                    _ => 1,
                }
            }
        };
        Some(self.groups.iter().map(side).collect())
    }
}

/// Hosts' desired digests under one plan, each worked out once for every shape of
/// membership ([`Plan::shape`]): thousands of hosts in the same groups share one
/// digest, and working it out (the set's JSON and its SHA-256) is what a host costs.
#[derive(Debug, Default)]
pub struct Digests {
    seen: HashMap<Vec<u8>, Arc<str>>,
}

impl Digests {
    /// The digest of what `host` should run under `plan`, the plan every call to this
    /// memo passes.
    pub fn digest(&mut self, plan: &Plan, host: &str, labels: Option<&Labels>) -> Arc<str> {
        let Some(shape) = plan.shape(host, labels) else {
            return plan.digest_for(host, labels).into();
        };
        self.seen
            .entry(shape)
            .or_insert_with(|| plan.digest_for(host, labels).into())
            .clone()
    }
}

/// One managing agent's host: what it applied, and what it should run (worked out once
/// per plan and labels).
#[derive(Debug)]
struct Managed {
    applied: Box<str>,
    /// The plan's generation and the labels it was worked out for, and the digest.
    desired: Option<(u64, Option<Arc<Labels>>, Arc<str>)>,
}

/// The hosts whose agents manage plugins (they reported a digest), by name.
#[derive(Debug, Default)]
pub struct Agents {
    hosts: HashMap<String, Managed>,
    plan: Arc<Plan>,
    generation: u64,
    digests: Digests,
}

impl Agents {
    /// Puts a new plan in force: every host's desired digest is worked out again.
    pub fn set_plan(&mut self, plan: Arc<Plan>) {
        self.plan = plan;
        self.generation += 1;
        self.digests = Digests::default();
    }

    /// Whether no agent manages plugins (then nothing is looked up per heartbeat).
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// The plan in force.
    pub fn plan(&self) -> &Arc<Plan> {
        &self.plan
    }

    /// `host` reported that it applied `applied`.
    pub fn reported(&mut self, host: &str, applied: &str) {
        match self.hosts.get_mut(host) {
            Some(m) if *m.applied == *applied => {}
            Some(m) => m.applied = applied.into(),
            None => {
                self.hosts.insert(
                    host.to_owned(),
                    Managed {
                        applied: applied.into(),
                        desired: None,
                    },
                );
            }
        }
    }

    /// What the ACK to `host`'s heartbeat names: the digest it should run, when it
    /// manages plugins and that differs from what it applied.
    pub fn tell(&mut self, host: &str, labels: Option<&Arc<Labels>>) -> Option<Arc<str>> {
        let m = self.hosts.get_mut(host)?;
        let fresh = m.desired.as_ref().is_some_and(|(generation, seen, _)| {
            *generation == self.generation && seen.as_ref() == labels
        });
        if !fresh {
            let digest = self.digests.digest(&self.plan, host, labels.map(|l| &**l));
            m.desired = Some((self.generation, labels.cloned(), digest));
        }
        let (_, _, desired) = m.desired.as_ref()?;
        (**desired != *m.applied).then(|| desired.clone())
    }

    /// Forgets `host` (dropped).
    pub fn forget(&mut self, host: &str) {
        self.hosts.remove(host);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin(name: &str, version: &str) -> DesiredPlugin {
        let version: semver::Version = version.parse().unwrap();
        DesiredPlugin {
            name: name.into(),
            files: hb_artifact::desired::Files::of(name, &version),
            version,
            sha256: "ab".repeat(32),
            size: 1,
            settings: Default::default(),
        }
    }

    fn plugins(plugins: Vec<DesiredPlugin>) -> DesiredSet {
        DesiredSet {
            plugins,
            ..DesiredSet::default()
        }
    }

    fn every(seconds: f64) -> hb_artifact::collectors::Collector {
        hb_artifact::collectors::Collector {
            interval: Some(seconds),
            ..Default::default()
        }
    }

    fn plan() -> Plan {
        let canary = Group::new("a_canary", &["web1".into()], &BTreeMap::new()).unwrap();
        let web = Group::new("web", &["web*".into()], &BTreeMap::new()).unwrap();
        let mut labels = BTreeMap::new();
        labels.insert("role".to_owned(), "db".to_owned());
        let db = Group::new("db", &[], &labels).unwrap();
        let mut canary_set = plugins(vec![plugin("log_freshness", "1.3.0")]);
        canary_set
            .collectors
            .insert("cpu_monitor".into(), every(5.0));
        let mut web_set = plugins(vec![
            plugin("log_freshness", "1.2.0"),
            plugin("tls_expiry", "1.0.0"),
        ]);
        web_set.collectors.insert("cpu_monitor".into(), every(30.0));
        web_set
            .collectors
            .insert("disk_monitor".into(), every(60.0));
        let mut hosts = BTreeMap::new();
        let mut own = HostOwn {
            plugins: vec![plugin("pg_check", "2.1.0")],
            without: vec!["tls_expiry".into()],
            ..HostOwn::default()
        };
        own.collectors.insert("disk_monitor".into(), every(10.0));
        hosts.insert("web4".to_owned(), own);
        Plan {
            groups: vec![
                (canary, canary_set),
                (db, plugins(vec![plugin("pg_check", "2.0.0")])),
                (web, web_set),
            ],
            hosts: Arc::new(hosts),
            rollouts: Arc::default(),
        }
    }

    #[test]
    fn a_host_runs_its_own_then_what_its_groups_name_the_first_naming_a_plugin_winning() {
        let plan = plan();
        let mut db = BTreeMap::new();
        db.insert("role".to_owned(), "db".to_owned());
        // (host, labels, what it runs: plugins, then collectors' intervals)
        let cases: &[(&str, Option<&Labels>, &[&str])] = &[
            (
                "web1",
                None,
                &[
                    "log_freshness 1.3.0",
                    "tls_expiry 1.0.0",
                    "cpu_monitor 5",
                    "disk_monitor 60",
                ],
            ),
            (
                "web2",
                None,
                &[
                    "log_freshness 1.2.0",
                    "tls_expiry 1.0.0",
                    "cpu_monitor 30",
                    "disk_monitor 60",
                ],
            ),
            (
                "web3",
                Some(&db),
                &[
                    "log_freshness 1.2.0",
                    "pg_check 2.0.0",
                    "tls_expiry 1.0.0",
                    "cpu_monitor 30",
                    "disk_monitor 60",
                ],
            ),
            (
                "web4",
                Some(&db),
                &[
                    "log_freshness 1.2.0",
                    "pg_check 2.1.0",
                    "cpu_monitor 30",
                    "disk_monitor 10",
                ],
            ),
            ("mail", None, &[]),
        ];
        for (host, labels, want) in cases {
            let set = plan.for_host(host, *labels);
            let got: Vec<String> = set
                .plugins
                .iter()
                .map(|p| format!("{} {}", p.name, p.version))
                .chain(
                    set.collectors
                        .iter()
                        .map(|(name, c)| format!("{name} {}", c.interval.unwrap_or_default())),
                )
                .collect();
            assert_eq!(got, *want, "{host}");
        }
    }

    /// Group web rolling out a change from log_freshness 1.1.0: the hosts `on_new` run
    /// what it gives now.
    fn web_rolling_out_to(on_new: &[&str]) -> Arc<BTreeMap<String, crate::rollout::Split>> {
        let mut rollouts = BTreeMap::new();
        rollouts.insert(
            "web".to_owned(),
            crate::rollout::Split {
                from: plugins(vec![plugin("log_freshness", "1.1.0")]),
                on_new: on_new.iter().map(|h| (*h).to_owned()).collect(),
                state: crate::rollout::State::Running,
                started: crate::clock::Timestamp::from_secs_f64(0.0),
            },
        );
        Arc::new(rollouts)
    }

    #[test]
    fn during_a_rollout_only_the_hosts_on_the_new_set_run_what_the_group_gives() {
        let mut plan = plan();
        plan.rollouts = web_rolling_out_to(&["web3"]);
        let versions = |host: &str| -> Vec<String> {
            plan.for_host(host, None)
                .plugins
                .iter()
                .map(|p| format!("{} {}", p.name, p.version))
                .collect()
        };
        assert_eq!(
            versions("web2"),
            ["log_freshness 1.1.0"],
            "still on the old set"
        );
        assert_eq!(
            versions("web3"),
            ["log_freshness 1.2.0", "tls_expiry 1.0.0"]
        );
        assert_eq!(
            versions("web1"),
            ["log_freshness 1.3.0"],
            "its canary group's own plugin still comes first"
        );
    }

    #[test]
    fn the_memo_gives_each_host_the_digest_its_own_set_has() {
        let mut plan = plan();
        plan.rollouts = web_rolling_out_to(&["web3", "web5"]);
        let mut db = BTreeMap::new();
        db.insert("role".to_owned(), "db".to_owned());
        // Each kind of host, twice where two can share: a canary, the old and the new
        // side of a rollout, one with its own plugins, a label's group, in no group.
        let hosts: [(&str, Option<&Labels>); 9] = [
            ("web1", None),
            ("web2", None),
            ("web6", None),
            ("web3", None),
            ("web5", None),
            ("web4", None),
            ("web2", Some(&db)),
            ("pg1", Some(&db)),
            ("mail1", None),
        ];
        let mut memo = Digests::default();
        for (host, labels) in hosts {
            assert_eq!(
                *memo.digest(&plan, host, labels),
                plan.digest_for(host, labels),
                "{host} {labels:?}"
            );
        }
        let distinct: std::collections::BTreeSet<String> =
            hosts.iter().map(|(h, l)| plan.digest_for(h, *l)).collect();
        assert_eq!(distinct.len(), 7, "web2 and web6 share, and web3 and web5");
        assert_eq!(memo.seen.len(), 6, "every shape once; web4 has its own set");
    }

    #[test]
    fn the_ack_names_the_desired_digest_only_while_it_differs() {
        let mut agents = Agents::default();
        agents.set_plan(Arc::new(plan()));
        let web1 = agents.plan().digest_for("web1", None);
        let empty = DesiredSet::default().digest();
        // An agent that never reported manages nothing: its ACK says nothing.
        assert_eq!(agents.tell("web1", None), None);
        agents.reported("web1", &empty);
        assert_eq!(agents.tell("web1", None).as_deref(), Some(web1.as_str()));
        agents.reported("web1", &web1);
        assert_eq!(agents.tell("web1", None), None);
        // A new plan: web1's canary group goes, so it should run the web group's set.
        let mut next = plan();
        next.groups.remove(0);
        agents.set_plan(Arc::new(next));
        let told = agents.tell("web1", None).unwrap();
        assert_eq!(*told, agents.plan().digest_for("web2", None));
        // Labels that bring a group: worked out again.
        let mut db = BTreeMap::new();
        db.insert("role".to_owned(), "db".to_owned());
        let db = Arc::new(db);
        agents.reported("web1", &told);
        assert_eq!(agents.tell("web1", None), None);
        assert!(agents.tell("web1", Some(&db)).is_some());
        agents.forget("web1");
        assert_eq!(agents.tell("web1", Some(&db)), None);
    }
}
