//! What one host should run: from the plan the core holds too (`Config::plugin_plan`:
//! every artifact the groups that hold it name, the first group by name winning where
//! two name the same plugin, each at its version with the group's settings, as resolved
//! when the configuration was read, and the native collectors' settings they give), so
//! the digest an ACK names is the one the answer carries.
//! An artifact whose files have left `artifacts_dir` since stays in the set (an agent
//! keeps running what it has rather than dropping it) and is said to be missing. Pure.

use hb_artifact::desired::DesiredSet;
use hbd_core::groups::Labels;
use hbd_core::managed::Plan;

use crate::catalogue::Catalogue;

/// What `host`, declaring `labels`, should run, and the artifacts of it that
/// `catalogue` (`None`: no `artifacts_dir`) no longer offers.
pub fn set_for(
    plan: &Plan,
    host: &str,
    labels: Option<&Labels>,
    catalogue: Option<&Catalogue>,
) -> (DesiredSet, Vec<String>) {
    let set = plan.for_host(host, labels);
    let missing = set
        .plugins
        .iter()
        .filter(|p| catalogue.is_none_or(|c| c.get(&p.name, &p.version).is_none()))
        .map(|p| {
            format!(
                "{} {} is no longer on offer in artifacts_dir",
                p.name, p.version
            )
        })
        .collect();
    (set, missing)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use hb_artifact::desired::{DesiredPlugin, Files};
    use hbd_core::groups::Group;

    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../artifact/tests/fixtures");

    #[test]
    fn what_left_the_directory_stays_in_the_set_and_is_said_missing() {
        let dir = tempfile::tempdir().unwrap();
        let good = std::fs::read_to_string(format!("{FIXTURES}/good.json")).unwrap();
        let stem = dir.path().join("log_freshness-1.2.0").display().to_string();
        std::fs::write(format!("{stem}.json"), &good).unwrap();
        std::fs::write(format!("{stem}.json.minisig"), "x").unwrap();
        std::fs::copy(format!("{FIXTURES}/plugin.wasm"), format!("{stem}.wasm")).unwrap();
        let manifest = hb_artifact::Manifest::parse(good.as_bytes()).unwrap();
        let version = manifest.version.clone();
        let plan = Plan {
            groups: vec![(
                Group::new("web", &["web*".into()], &BTreeMap::new()).unwrap(),
                DesiredSet {
                    plugins: vec![DesiredPlugin {
                        name: manifest.name.clone(),
                        files: Files::of(&manifest.name, &version),
                        version,
                        sha256: manifest.sha256.clone(),
                        size: manifest.size,
                        settings: Default::default(),
                    }],
                    ..DesiredSet::default()
                },
            )],
            ..Plan::default()
        };
        let offered = crate::catalogue::scan(dir.path(), &[]).unwrap();
        let (set, missing) = set_for(&plan, "web1", None, Some(&offered));
        assert_eq!((set.plugins.len(), missing.len()), (1, 0));
        assert_eq!(
            set_for(&plan, "mail", None, Some(&offered)).0,
            DesiredSet::default()
        );
        std::fs::remove_file(format!("{stem}.wasm")).unwrap();
        let gone = crate::catalogue::scan(dir.path(), &[]).unwrap();
        let (set, missing) = set_for(&plan, "web1", None, Some(&gone));
        assert_eq!(set.plugins.len(), 1, "an agent keeps what it runs");
        assert_eq!(
            missing,
            ["log_freshness 1.2.0 is no longer on offer in artifacts_dir"]
        );
    }
}
