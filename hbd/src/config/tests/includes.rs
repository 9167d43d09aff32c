//! Config includes: entries gathered from several files, each problem at its own file
//! and line.

use super::*;

/// `include` reads more files into one configuration; every problem keeps its own
/// file and line, and a host or key defined twice names both files.
#[test]
fn includes_gather_entries_and_keep_each_problems_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let conf_d = dir.path().join("conf.d");
    std::fs::create_dir(&conf_d).unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write(
        "hbd.yaml",
        "include: conf.d/*.yaml\ninterval: 30\nusers:\n  ada: {admin: true}\nhosts:\n  db1: {}\n",
    );
    write(
        "conf.d/10-web.yaml",
        "hosts:\n  web1: {owner: ada}\n  web2: {interval: 10}\nthreshold_configs:\n  busy:\n    cpu_monitor:\n      cpu_percent: {warning: 95}\n",
    );
    write(
        "conf.d/20-windows.yaml",
        "maintenance:\n  nightly: {hosts: ['web*'], start: '02:00', duration: 1h}\n",
    );
    // Not configuration: a hidden editor file and a file the pattern does not name.
    write("conf.d/.10-web.yaml.swp", "garbage: [");
    write("conf.d/notes.txt", "not: [yaml");
    let loaded = load(Some(&dir.path().join("hbd.yaml"))).unwrap();
    let c = loaded.config;
    assert_eq!(c.interval, Duration::from_secs(30));
    assert_eq!(c.hosts.keys().collect::<Vec<_>>(), ["db1", "web1", "web2"]);
    assert_eq!(c.hosts["web2"].interval, Some(Duration::from_secs(10)));
    assert_eq!(c.hosts["web1"].owner.as_deref(), Some("ada"));
    assert!(c.threshold_configs.contains_key("busy"));
    assert!(c.maintenance.contains_key("nightly"));

    // A host in two files, a key set in two, a bad value and a user no file defines:
    // each at its own file and line.
    write(
        "conf.d/30-more.yaml",
        "hosts:\n  web1: {}\n  web3: {owner: bob}\ninterval: 20\ngrace: soon\n",
    );
    let err = load(Some(&dir.path().join("hbd.yaml"))).unwrap_err();
    let got: Vec<String> = err.problems.iter().map(ToString::to_string).collect();
    let more = conf_d.join("30-more.yaml").display().to_string();
    let web = conf_d.join("10-web.yaml").display().to_string();
    let main = dir.path().join("hbd.yaml").display().to_string();
    for want in [
        format!("{more}:2: error: hosts.web1: is also defined in {web}"),
        format!("{more}:4: error: interval: is also set in {main}"),
        format!("{more}:5: error: grace:"),
        format!("{more}:3: error: hosts.web3.owner: names user `bob`"),
    ] {
        assert!(got.iter().any(|p| p.starts_with(&want)), "{want}\n{got:#?}");
    }
}

#[test]
fn an_include_that_names_nothing_or_nests_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write(
        "hbd.yaml",
        "include: [missing.yaml, 'sub/*.yaml', inner.yaml]\n",
    );
    write("inner.yaml", "include: other.yaml\n");
    let err = load(Some(&dir.path().join("hbd.yaml"))).unwrap_err();
    let got: Vec<String> = err.problems.iter().map(ToString::to_string).collect();
    let main = dir.path().join("hbd.yaml").display().to_string();
    let inner = dir.path().join("inner.yaml").display().to_string();
    for want in [
        format!("{main}:1: error: include: \"missing.yaml\": "),
        format!("{main}:1: error: include: \"sub/*.yaml\": "),
        format!("{inner}:1: error: include: included files do not include further"),
    ] {
        assert!(got.iter().any(|p| p.starts_with(&want)), "{want}\n{got:#?}");
    }
}
