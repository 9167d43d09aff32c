//! Putting a downloaded release in place: check that the agent can replace its own
//! binary, probe the new one (it must run, say it is `hbc` of the expected version, and
//! accept this agent's config), swap it in with one rename (the old binary kept beside it
//! as `NAME.previous`), put the old one back, and re-execute. The release's plugin
//! compiler, when it has one, is probed, swapped and put back the same way, beside the
//! agent (where the agent looks for it first).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::{ProbeError, RunError, UpgradeError};
use crate::process::{self, Exit};

/// How long the probe's `--version` may take.
pub const VERSION_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the probe's `check-config` may take (it compiles WASM plugins).
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(120);

/// Where the old binary is kept: `NAME.previous` beside it.
pub fn previous_of(exe: &Path) -> PathBuf {
    let mut name = exe.file_name().map(OsString::from).unwrap_or_default();
    name.push(".previous");
    exe.with_file_name(name)
}

/// Where a download for `cmd_id` of the file that replaces `exe` goes: a hidden file
/// beside it, so the swap is one rename on the same file system.
pub fn download_path(exe: &Path, cmd_id: &str) -> PathBuf {
    let safe: String = cmd_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(32)
        .collect();
    let name = exe
        .file_name()
        .map_or_else(|| "hbc".into(), |n| n.to_string_lossy());
    exe.with_file_name(format!(".{name}.upgrade-{safe}"))
}

/// Where the agent whose binary is `exe` keeps its plugin compiler: beside it.
pub fn compiler_of(exe: &Path) -> PathBuf {
    exe.with_file_name(crate::COMPILER_FILE)
}

/// Whether the agent may replace `exe`: its directory must be writable by it.
#[cfg(unix)]
pub fn check_writable(exe: &Path) -> Result<(), UpgradeError> {
    let dir = exe.parent().unwrap_or(Path::new("/"));
    nix::unistd::access(dir, nix::unistd::AccessFlags::W_OK).map_err(|errno| {
        UpgradeError::NotWritable {
            exe: exe.to_owned(),
            errno: errno.into(),
        }
    })
}

/// A running program's file cannot be replaced on Windows the way [`swap`] does; until
/// the agent upgrades itself there, every upgrade is refused here, before any download.
#[cfg(windows)]
pub fn check_writable(_exe: &Path) -> Result<(), UpgradeError> {
    Err(UpgradeError::Unsupported("Windows"))
}

/// Sets `path`'s permission bits (Unix; Windows has none to set).
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// `path`'s permission bits, 0755 where it has none or cannot be read.
fn mode_of(path: &Path) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o755)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        0o755
    }
}

fn run_probe(argv: Vec<String>, timeout: Duration) -> Result<String, RunError> {
    let run = process::run(&argv, timeout, 4096);
    let text = |b: &[u8]| String::from_utf8_lossy(b).trim().to_owned();
    let args = argv[1..].join(" ");
    match run.exit {
        Exit::Code(0) => Ok(text(&run.stdout)),
        Exit::Code(code) => Err(RunError::Exited {
            args,
            code,
            output: format!("{}{}", text(&run.stdout), text(&run.stderr)),
        }),
        Exit::Signal(signal) => Err(RunError::Killed { args, signal }),
        Exit::TimedOut => Err(RunError::TimedOut {
            args,
            secs: timeout.as_secs(),
        }),
        Exit::Failed(why) => Err(RunError::Failed(why)),
    }
}

/// Runs the new binary before it replaces the old: `--version` must name `hbc` and
/// `version` (when given), and `check-config` must accept `config` (when the agent was
/// started with one). Returns its version line.
pub fn probe(
    candidate: &Path,
    version: Option<&str>,
    config: Option<&Path>,
) -> Result<String, ProbeError> {
    let program = candidate.display().to_string();
    let line =
        run_probe(vec![program.clone(), "--version".into()], VERSION_TIMEOUT).map_err(|run| {
            ProbeError::NoStart {
                what: "the new binary",
                run,
            }
        })?;
    let mut words = line.split_whitespace();
    if words.next() != Some("hbc") {
        return Err(ProbeError::NotHbc(line));
    }
    if let Some(want) = version
        && words.next() != Some(want)
    {
        return Err(ProbeError::WrongVersion {
            line,
            want: want.to_owned(),
        });
    }
    if let Some(config) = config {
        run_probe(
            vec![
                program,
                "check-config".into(),
                "--config".into(),
                config.display().to_string(),
            ],
            CHECK_TIMEOUT,
        )
        .map_err(ProbeError::ConfigRefused)?;
    }
    Ok(line)
}

/// Runs a new plugin compiler before it goes in: `--version` must say `hbc-compile`
/// and `version` (when given). Returns its version line.
pub fn probe_compiler(candidate: &Path, version: Option<&str>) -> Result<String, ProbeError> {
    let line = run_probe(
        vec![candidate.display().to_string(), "--version".into()],
        VERSION_TIMEOUT,
    )
    .map_err(|run| ProbeError::NoStart {
        what: "the new hbc-compile",
        run,
    })?;
    let mut words = line.split_whitespace();
    let named = words.next() == Some(crate::COMPILER_NAME);
    if !named || version.is_some_and(|want| words.next() != Some(want)) {
        return Err(ProbeError::WrongCompiler {
            want: version.unwrap_or("?").to_owned(),
            line,
        });
    }
    Ok(line)
}

/// Puts `candidate` at `dest` as [`swap`] does when there is a file there; otherwise
/// just moves it there (mode 0755). Returns where the old file is kept, if there was one.
pub fn swap_or_place(candidate: &Path, dest: &Path) -> Result<Option<PathBuf>, UpgradeError> {
    if dest.exists() {
        return swap(candidate, dest).map(Some);
    }
    set_mode(candidate, 0o755).map_err(|e| UpgradeError::file("set the mode of", candidate, e))?;
    std::fs::rename(candidate, dest)
        .map_err(|e| UpgradeError::file("move the new file to", dest, e))?;
    Ok(None)
}

/// Undoes [`swap_or_place`]: the old file back, or the new one gone if there was none.
pub fn unswap(previous: Option<&Path>, dest: &Path) -> Result<(), UpgradeError> {
    match previous {
        Some(previous) => rollback(previous, dest),
        None => std::fs::remove_file(dest).map_err(|e| UpgradeError::file("remove", dest, e)),
    }
}

/// Puts `candidate` in `exe`'s place in one rename, keeping the old binary as
/// [`previous_of`] (a hard link, so `exe` never goes missing). The candidate gets the
/// old binary's permission bits. Returns where the old one is.
pub fn swap(candidate: &Path, exe: &Path) -> Result<PathBuf, UpgradeError> {
    set_mode(candidate, mode_of(exe))
        .map_err(|e| UpgradeError::file("set the mode of", candidate, e))?;
    let previous = previous_of(exe);
    match std::fs::remove_file(&previous) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(UpgradeError::file("remove", previous, e)),
    }
    std::fs::hard_link(exe, &previous)
        .map_err(|e| UpgradeError::file("keep the old binary as", &previous, e))?;
    std::fs::rename(candidate, exe)
        .map_err(|e| UpgradeError::file("move the new binary to", exe, e))?;
    Ok(previous)
}

/// Puts the old binary back in `exe`'s place.
pub fn rollback(previous: &Path, exe: &Path) -> Result<(), UpgradeError> {
    std::fs::rename(previous, exe).map_err(|source| UpgradeError::PutBack {
        previous: previous.to_owned(),
        exe: exe.to_owned(),
        source,
    })
}

/// The arguments to start again with: the same, less `--detach` (the process already
/// is detached) and `--boot` (this is no boot).
pub fn restart_args(args: &[OsString]) -> Vec<OsString> {
    args.iter()
        .filter(|a| !matches!(a.to_str(), Some("-d" | "--detach" | "--boot")))
        .cloned()
        .collect()
}

/// Replaces this process with `exe` run with `args` (the same PID, so a service manager
/// sees the same service). Returns only if that failed, with the reason.
#[cfg(unix)]
pub fn exec(exe: &Path, args: &[OsString]) -> String {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let to_c = |s: &[u8]| CString::new(s).map_err(|e| e.to_string());
    let program = match to_c(exe.as_os_str().as_bytes()) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let argv: Result<Vec<CString>, String> = args.iter().map(|a| to_c(a.as_bytes())).collect();
    match argv {
        Ok(argv) => match nix::unistd::execv(&program, &argv) {
            Err(e) => format!("cannot execute {}: {e}", exe.display()),
        },
        Err(e) => e,
    }
}

/// Windows has no exec; [`check_writable`] refuses every upgrade before this is reached.
#[cfg(windows)]
pub fn exec(exe: &Path, _args: &[OsString]) -> String {
    format!("cannot execute {} in place on Windows", exe.display())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn the_probe_wants_hbc_of_the_announced_version_accepting_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("hbc.yaml");
        let good = script(
            dir.path(),
            "good",
            &format!(
                r#"case "$1" in --version) echo "hbc 9.9.9";; check-config) [ "$3" = "{}" ] || exit 7;; *) exit 1;; esac"#,
                config.display()
            ),
        );
        assert_eq!(
            probe(&good, Some("9.9.9"), Some(&config)).unwrap(),
            "hbc 9.9.9"
        );
        assert_eq!(probe(&good, None, None).unwrap(), "hbc 9.9.9");
        let cases = [
            (
                script(dir.path(), "fails", "exit 3"),
                None,
                "does not start: `--version` exited with 3",
            ),
            (
                script(dir.path(), "other", "echo 'nginx 1.0'"),
                None,
                "does not say it is hbc",
            ),
            (
                good.clone(),
                Some("1.0.0"),
                "the daemon announced version 1.0.0",
            ),
            (
                script(
                    dir.path(),
                    "badconf",
                    r#"[ "$1" = --version ] && echo "hbc 9.9.9" || exit 1"#,
                ),
                None,
                "does not accept this agent's config: `check-config --config",
            ),
            (dir.path().join("missing"), None, "does not start"),
        ];
        for (binary, version, want) in cases {
            let err = probe(&binary, version, Some(&config)).unwrap_err();
            assert!(
                err.to_string().contains(want),
                "{}: {err}",
                binary.display()
            );
        }
    }

    #[test]
    fn swap_keeps_the_old_binary_and_rollback_restores_it() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("hbc");
        std::fs::write(&exe, b"old").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o750)).unwrap();
        let new = download_path(&exe, "ab/../12");
        assert_eq!(new, dir.path().join(".hbc.upgrade-ab12"));
        std::fs::write(&new, b"new").unwrap();
        std::fs::write(previous_of(&exe), b"older").unwrap();
        let previous = swap(&new, &exe).unwrap();
        assert_eq!(previous, dir.path().join("hbc.previous"));
        assert_eq!(std::fs::read(&exe).unwrap(), b"new");
        assert_eq!(std::fs::read(&previous).unwrap(), b"old");
        assert!(!new.exists());
        let mode = std::fs::metadata(&exe).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o750, "the new binary has the old one's mode");
        rollback(&previous, &exe).unwrap();
        assert_eq!(std::fs::read(&exe).unwrap(), b"old");
        assert!(!previous.exists());
    }

    #[test]
    fn the_compiler_probe_wants_hbc_compile_of_the_announced_version() {
        let dir = tempfile::tempdir().unwrap();
        let good = script(dir.path(), "good", "echo 'hbc-compile 9.9.9'");
        assert_eq!(
            probe_compiler(&good, Some("9.9.9")).unwrap(),
            "hbc-compile 9.9.9"
        );
        let cases = [
            (good, Some("1.0.0"), "announced hbc-compile 1.0.0"),
            (
                script(dir.path(), "agent", "echo 'hbc 9.9.9'"),
                Some("9.9.9"),
                "says \"hbc 9.9.9\"",
            ),
            (
                script(dir.path(), "fails", "exit 3"),
                None,
                "does not start",
            ),
        ];
        for (binary, version, want) in cases {
            let err = probe_compiler(&binary, version).unwrap_err();
            assert!(
                err.to_string().contains(want),
                "{}: {err}",
                binary.display()
            );
        }
    }

    #[test]
    fn a_compiler_is_swapped_or_placed_and_undone_either_way() {
        let dir = tempfile::tempdir().unwrap();
        let dest = compiler_of(&dir.path().join("hbc"));
        assert_eq!(dest, dir.path().join("hbc-compile"));
        let new = download_path(&dest, "u1");
        assert_eq!(new, dir.path().join(".hbc-compile.upgrade-u1"));
        // None there before: placed, and removed on undo.
        std::fs::write(&new, b"new").unwrap();
        assert_eq!(swap_or_place(&new, &dest).unwrap(), None);
        let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o755);
        unswap(None, &dest).unwrap();
        assert!(!dest.exists());
        // One there before: swapped, and put back on undo.
        std::fs::write(&dest, b"old").unwrap();
        std::fs::write(&new, b"new").unwrap();
        let previous = swap_or_place(&new, &dest).unwrap().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"new");
        unswap(Some(&previous), &dest).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"old");
    }

    #[test]
    fn restarting_drops_detach_and_boot_only() {
        let args: Vec<OsString> = ["hbc", "-d", "--boot", "-c", "x.yaml", "-v"]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(
            restart_args(&args),
            ["hbc", "-c", "x.yaml", "-v"]
                .iter()
                .map(OsString::from)
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn an_unwritable_directory_is_refused_with_the_way_out() {
        let err = check_writable(Path::new("/nonexistent-hbd-dir/hbc")).unwrap_err();
        assert!(err.to_string().contains("--self-upgrade"), "{err}");
    }
}
