//! Agent releases for self-upgrade: the files an operator puts in `releases_dir`, named
//! `hbc-VERSION-ARCH-OS` (`hbc-0.2.0-x86_64-linux`) and listed with their SHA-256 in a
//! `SHA256SUMS` file beside them (the `sha256sum` format, which `hb_install.sh release`
//! writes). A release's plugin compiler, `hbc-compile-VERSION-ARCH-OS`, listed the same
//! way, goes with the agent of the same version and platform. Only files `SHA256SUMS`
//! lists are offered or served. Parsing and choosing are pure; [`scan`] and [`verify`]
//! read the directory.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// The checksum file's name.
pub const SUMS: &str = "SHA256SUMS";
/// The program a release file carries.
pub const PROGRAM: &str = "hbc";
/// The agent's plugin compiler, which a release may carry beside it.
pub const COMPILER: &str = "hbc-compile";

/// One release file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Release {
    /// The file's name in `releases_dir`.
    pub file: String,
    /// The agent version it holds.
    pub version: String,
    /// Its platform, `ARCH-OS` as agents report it (`x86_64-linux`).
    pub arch: String,
    /// SHA-256 from `SHA256SUMS`, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// The plugin compiler of the same version and platform, if `SHA256SUMS` lists one:
    /// an upgrade installs it beside the agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compiler: Option<ReleaseFile>,
}

/// A file that goes with a release (its plugin compiler).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReleaseFile {
    /// The file's name in `releases_dir`.
    pub file: String,
    /// SHA-256 from `SHA256SUMS`, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// Why releases cannot be offered.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// `releases_dir` is not set.
    #[error("upgrades are off: set releases_dir to a directory of agent releases")]
    Off,
    /// The directory or its `SHA256SUMS` cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// What could not be read.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// No release for this platform (and version).
    #[error("no release for {arch}{}: {} lists {}", .version.as_ref().map(|v| format!(" version {v}")).unwrap_or_default(), SUMS, .have)]
    NoMatch {
        /// The host's platform.
        arch: String,
        /// The version asked for.
        version: Option<String>,
        /// What there is, for the message.
        have: String,
    },
    /// The file's content is not what `SHA256SUMS` says.
    #[error(
        "{file}: its SHA-256 is {actual}, {SUMS} says {expected}: the file changed or is damaged"
    )]
    Mismatch {
        /// The file.
        file: String,
        /// From `SHA256SUMS`.
        expected: String,
        /// Computed.
        actual: String,
    },
}

/// `(sha256, file)` for each well-formed line of a `SHA256SUMS` text: 64 hex digits, one
/// or two spaces (or space and `*`, binary mode), a plain file name.
pub fn parse_sums(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let (sum, rest) = line.split_once(' ')?;
            let file = rest.trim_start_matches([' ', '*']).trim_end();
            let ok =
                sum.len() == 64 && sum.bytes().all(|b| b.is_ascii_hexdigit()) && safe_name(file);
            ok.then(|| (sum.to_ascii_lowercase(), file.to_owned()))
        })
        .collect()
}

/// A plain file name: no directories, nothing hidden, printable ASCII.
pub fn safe_name(file: &str) -> bool {
    !file.is_empty()
        && file.len() <= 200
        && !file.starts_with('.')
        && file
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
}

/// `(version, arch)` of a release file's name `hbc-VERSION-ARCH-OS`; the version may
/// itself hold dashes (`0.3.0-rc1`).
pub fn parse_name(file: &str) -> Option<(String, String)> {
    parse_name_of(PROGRAM, file)
}

/// `(version, arch)` of `program`'s release file name `PROGRAM-VERSION-ARCH-OS`.
fn parse_name_of(program: &str, file: &str) -> Option<(String, String)> {
    let rest = file.strip_prefix(program)?.strip_prefix('-')?;
    let mut parts = rest.rsplitn(3, '-');
    let os = parts.next()?;
    let arch = parts.next()?;
    let version = parts.next()?;
    let ok = [os, arch, version].iter().all(|p| !p.is_empty())
        && version.starts_with(|c: char| c.is_ascii_digit());
    ok.then(|| (version.to_owned(), format!("{arch}-{os}")))
}

/// Orders versions the way people read them: dotted numbers numerically, a
/// pre-release (`-rc1`) before its release.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let split = |v: &str| -> (Vec<u64>, Option<String>) {
        let (core, pre) = match v.split_once('-') {
            Some((core, pre)) => (core, Some(pre.to_owned())),
            None => (v, None),
        };
        (
            core.split('.').map(|n| n.parse().unwrap_or(0)).collect(),
            pre,
        )
    };
    let ((ca, pa), (cb, pb)) = (split(a), split(b));
    ca.cmp(&cb).then_with(|| match (pa, pb) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => x.cmp(&y),
    })
}

/// The release for `arch`: `version` if given, else the newest.
pub fn choose<'a>(
    releases: &'a [Release],
    arch: &str,
    version: Option<&str>,
) -> Result<&'a Release, ReleaseError> {
    releases
        .iter()
        .filter(|r| r.arch == arch && version.is_none_or(|v| r.version == v))
        .max_by(|a, b| compare_versions(&a.version, &b.version))
        .ok_or_else(|| ReleaseError::NoMatch {
            arch: arch.to_owned(),
            version: version.map(str::to_owned),
            have: match releases.len() {
                0 => "no release".to_owned(),
                _ => releases
                    .iter()
                    .map(|r| r.file.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            },
        })
}

/// The releases in `dir`: each `SHA256SUMS` entry named like a release whose file
/// exists, with the compiler of its version and platform when one is listed too.
pub fn scan(dir: &Path) -> Result<Vec<Release>, ReleaseError> {
    let sums_path = dir.join(SUMS);
    let text = std::fs::read_to_string(&sums_path).map_err(|source| ReleaseError::Read {
        path: sums_path,
        source,
    })?;
    let size_of = |file: &str| match std::fs::metadata(dir.join(file)) {
        Ok(meta) if meta.is_file() => Some(meta.len()),
        _ => {
            tracing::warn!(dir = %dir.display(), %file, "{SUMS} lists a file that is not there");
            None
        }
    };
    let mut releases = Vec::new();
    let mut compilers = Vec::new();
    for (sha256, file) in parse_sums(&text) {
        if let Some((version, arch)) = parse_name(&file) {
            if let Some(size) = size_of(&file) {
                releases.push(Release {
                    file,
                    version,
                    arch,
                    sha256,
                    size,
                    compiler: None,
                });
            }
        } else if let Some(key) = parse_name_of(COMPILER, &file)
            && let Some(size) = size_of(&file)
        {
            compilers.push((key, ReleaseFile { file, sha256, size }));
        }
    }
    for release in &mut releases {
        release.compiler = compilers
            .iter()
            .find(|((version, arch), _)| *version == release.version && *arch == release.arch)
            .map(|(_, file)| file.clone());
    }
    Ok(releases)
}

/// Checks that `release`'s files in `dir` (the agent, and its compiler if it has one)
/// still have the SHA-256 `SHA256SUMS` gives, so the daemon never signs a digest for a
/// file that changed after it was listed.
pub fn verify(dir: &Path, release: &Release) -> Result<(), ReleaseError> {
    verify_file(dir, &release.file, &release.sha256)?;
    match &release.compiler {
        Some(c) => verify_file(dir, &c.file, &c.sha256),
        None => Ok(()),
    }
}

fn verify_file(dir: &Path, file: &str, expected: &str) -> Result<(), ReleaseError> {
    let path = dir.join(file);
    let actual = hb_proto::digest::sha256_file(&path)
        .map_err(|source| ReleaseError::Read { path, source })?;
    if actual == expected {
        Ok(())
    } else {
        Err(ReleaseError::Mismatch {
            file: file.to_owned(),
            expected: expected.to_owned(),
            actual,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(file: &str) -> Release {
        let (version, arch) = parse_name(file).unwrap();
        Release {
            file: file.into(),
            version,
            arch,
            sha256: "0".repeat(64),
            size: 1,
            compiler: None,
        }
    }

    #[test]
    fn names_parse_into_version_and_platform() {
        let cases = [
            ("hbc-0.2.0-x86_64-linux", Some(("0.2.0", "x86_64-linux"))),
            (
                "hbc-0.3.0-rc1-aarch64-linux",
                Some(("0.3.0-rc1", "aarch64-linux")),
            ),
            ("hbc-x86_64-linux", None),
            ("hbd-0.2.0-x86_64-linux", None),
            ("hbc-v1-x86_64-linux", None),
            ("hbc--x86_64-linux", None),
            ("hbc-compile-0.2.0-x86_64-linux", None),
            (SUMS, None),
        ];
        for (file, want) in cases {
            let got = parse_name(file);
            assert_eq!(
                got,
                want.map(|(v, a)| (v.to_owned(), a.to_owned())),
                "{file}"
            );
        }
    }

    #[test]
    fn sums_lines_in_either_mode_and_nothing_unsafe() {
        let a = "a".repeat(64);
        let text = format!(
            "{a}  hbc-1.0.0-x86_64-linux\n{A} *hbc-1.0.1-x86_64-linux\n{a}  ../etc/passwd\n{a}  .hidden\nshort  hbc-1\n\n",
            A = a.to_uppercase()
        );
        assert_eq!(
            parse_sums(&text),
            vec![
                (a.clone(), "hbc-1.0.0-x86_64-linux".to_owned()),
                (a, "hbc-1.0.1-x86_64-linux".to_owned()),
            ]
        );
    }

    #[test]
    fn versions_order_numerically_and_prereleases_first() {
        let cases = [
            ("0.10.0", "0.9.0", Ordering::Greater),
            ("1.0.0", "1.0.0", Ordering::Equal),
            ("1.0.0-rc1", "1.0.0", Ordering::Less),
            ("1.0.0-rc2", "1.0.0-rc1", Ordering::Greater),
            ("1.0", "1.0.1", Ordering::Less),
        ];
        for (a, b, want) in cases {
            assert_eq!(compare_versions(a, b), want, "{a} vs {b}");
        }
    }

    #[test]
    fn the_newest_for_the_platform_or_the_one_asked_for() {
        let all = [
            release("hbc-0.9.0-x86_64-linux"),
            release("hbc-0.10.0-x86_64-linux"),
            release("hbc-0.11.0-aarch64-linux"),
        ];
        assert_eq!(
            choose(&all, "x86_64-linux", None).unwrap().version,
            "0.10.0"
        );
        assert_eq!(
            choose(&all, "x86_64-linux", Some("0.9.0")).unwrap().version,
            "0.9.0"
        );
        let err = choose(&all, "x86_64-linux", Some("0.11.0")).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "no release for x86_64-linux version 0.11.0: SHA256SUMS lists hbc-0.9.0"
            ),
            "{err}"
        );
        assert!(choose(&[], "riscv64-linux", None).is_err());
    }

    #[test]
    fn scan_and_verify_read_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hbc-1.0.0-x86_64-linux"), b"binary").unwrap();
        let sum =
            hb_proto::digest::sha256_file(&dir.path().join("hbc-1.0.0-x86_64-linux")).unwrap();
        std::fs::write(
            dir.path().join(SUMS),
            format!("{sum}  hbc-1.0.0-x86_64-linux\n{sum}  hbc-2.0.0-x86_64-linux\n"),
        )
        .unwrap();
        let found = scan(dir.path()).unwrap();
        assert_eq!(
            found.len(),
            1,
            "the listed file that is missing is left out"
        );
        assert_eq!(found[0].size, 6);
        verify(dir.path(), &found[0]).unwrap();
        assert_eq!(found[0].compiler, None);
        std::fs::write(dir.path().join("hbc-1.0.0-x86_64-linux"), b"changed").unwrap();
        assert!(matches!(
            verify(dir.path(), &found[0]),
            Err(ReleaseError::Mismatch { .. })
        ));
    }

    #[test]
    fn a_compiler_goes_with_the_agent_of_its_version_and_platform() {
        let dir = tempfile::tempdir().unwrap();
        let mut sums = String::new();
        for (file, bytes) in [
            ("hbc-1.0.0-x86_64-linux", &b"agent 1"[..]),
            ("hbc-compile-1.0.0-x86_64-linux", b"compiler 1"),
            ("hbc-2.0.0-x86_64-linux", b"agent 2"),
            ("hbc-compile-1.0.0-aarch64-linux", b"compiler for arm"),
        ] {
            std::fs::write(dir.path().join(file), bytes).unwrap();
            let sum = hb_proto::digest::sha256_file(&dir.path().join(file)).unwrap();
            sums.push_str(&format!("{sum}  {file}\n"));
        }
        std::fs::write(dir.path().join(SUMS), sums).unwrap();
        let found = scan(dir.path()).unwrap();
        assert_eq!(found.len(), 2, "compilers are no releases of their own");
        let one = found.iter().find(|r| r.version == "1.0.0").unwrap();
        let compiler = one.compiler.as_ref().unwrap();
        assert_eq!(compiler.file, "hbc-compile-1.0.0-x86_64-linux");
        assert_eq!(compiler.size, 10);
        let two = found.iter().find(|r| r.version == "2.0.0").unwrap();
        assert_eq!(two.compiler, None, "no compiler of that version");
        verify(dir.path(), one).unwrap();
        std::fs::write(
            dir.path().join("hbc-compile-1.0.0-x86_64-linux"),
            b"changed",
        )
        .unwrap();
        let err = verify(dir.path(), one).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("hbc-compile-1.0.0-x86_64-linux: its SHA-256 is"),
            "{err}"
        );
    }
}
