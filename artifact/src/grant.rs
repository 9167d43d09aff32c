//! Granted paths as every OS reads them. One signed artifact runs on Linux, Windows and
//! the BSDs, so its manifest may grant `/var/log/app` and `C:\ProgramData\app\logs`
//! side by side, and a daemon on Linux must still tell whether a Windows host's grant
//! lies below the artifact's. A grant is therefore read here by its own style, not by
//! the OS this code runs on: a Unix path starts with `/`, is split at `/` and compared
//! exactly; a Windows path starts with a drive (`C:\` or `C:/`), is split at both
//! separators and compared without regard to ASCII case, as Windows opens it. A grant
//! of the other OS's style grants nothing where it cannot be opened ([`native`]).

use std::path::Path;

/// The two ways an absolute path is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `/var/log/app`.
    Unix,
    /// `C:\ProgramData\app` (or with `/`).
    Windows,
}

impl Style {
    /// The style of the OS this code was built for.
    pub const fn native() -> Style {
        if cfg!(windows) {
            Style::Windows
        } else {
            Style::Unix
        }
    }
}

/// A granted path, read: its style and its components (the drive first on Windows).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Parsed<'a> {
    style: Style,
    parts: Vec<&'a str>,
}

fn parse(path: &Path) -> Result<Parsed<'_>, &'static str> {
    let text = path.to_str().ok_or("not UTF-8")?;
    let (style, rest, drive) = if let Some(rest) = text.strip_prefix('/') {
        (Style::Unix, rest, None)
    } else {
        let bytes = text.as_bytes();
        let drive = bytes.len() >= 3
            && bytes[0].is_ascii_alphabetic()
            && bytes[1] == b':'
            && matches!(bytes[2], b'\\' | b'/');
        if !drive {
            return Err("not an absolute path");
        }
        (Style::Windows, &text[3..], Some(&text[..2]))
    };
    let split: Vec<&str> = match style {
        Style::Unix => rest.split('/').collect(),
        Style::Windows => rest.split(['\\', '/']).collect(),
    };
    let mut parts: Vec<&str> = drive.into_iter().collect();
    for part in split.into_iter().filter(|p| !p.is_empty()) {
        if part == "." || part == ".." {
            return Err("has . or .. in it");
        }
        parts.push(part);
    }
    Ok(Parsed { style, parts })
}

/// An absolute path of either style with no `.` or `..` in it (so "below" means below,
/// component by component), of UTF-8 text.
pub fn plain_absolute(path: &Path) -> Result<(), &'static str> {
    parse(path).map(|_| ())
}

/// Whether `path` is `top` or lies below it: both plain and absolute, of one style, and
/// `top`'s components leading `path`'s (without regard to ASCII case on Windows).
pub fn below(path: &Path, top: &Path) -> bool {
    let (Ok(path), Ok(top)) = (parse(path), parse(top)) else {
        return false;
    };
    let same = |a: &&str, b: &&str| match path.style {
        Style::Unix => a == b,
        Style::Windows => a.eq_ignore_ascii_case(b),
    };
    path.style == top.style
        && path.parts.len() >= top.parts.len()
        && path.parts.iter().zip(&top.parts).all(|(a, b)| same(a, b))
}

/// Whether `path` is written in the style of the OS this code runs on, so it could be
/// opened here; a grant of the other style grants nothing on this host.
pub fn native(path: &Path) -> bool {
    parse(path).is_ok_and(|p| p.style == Style::native())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_absolute_paths_of_either_style() {
        for (path, want) in [
            ("/var/log", Ok(())),
            ("/", Ok(())),
            ("C:\\ProgramData\\app", Ok(())),
            ("c:/logs", Ok(())),
            ("Z:\\", Ok(())),
            ("var/log", Err("not an absolute path")),
            ("C:logs", Err("not an absolute path")),
            ("\\\\server\\share", Err("not an absolute path")),
            ("", Err("not an absolute path")),
            ("/var/log/../../etc", Err("has . or .. in it")),
            ("C:\\logs\\..\\Windows", Err("has . or .. in it")),
            ("C:/logs/./x", Err("has . or .. in it")),
        ] {
            assert_eq!(plain_absolute(Path::new(path)), want, "{path}");
        }
    }

    #[test]
    fn below_compares_components_in_each_styles_own_way() {
        for (path, top, want) in [
            ("/var/log/app", "/var/log", true),
            ("/var/log", "/var/log", true),
            ("/var/log//app/", "/var/log/", true),
            ("/var/logs", "/var/log", false),
            ("/Var/log/app", "/var/log", false),
            ("/var", "/var/log", false),
            ("C:\\ProgramData\\App\\logs", "c:/programdata/app", true),
            ("C:\\ProgramData\\app2", "C:\\ProgramData\\app", false),
            ("D:\\ProgramData\\app", "C:\\ProgramData", false),
            // One style never lies below the other.
            ("C:\\var\\log", "/var/log", false),
            ("/var/log", "C:\\", false),
            ("/var/log/../../etc", "/var/log", false),
            ("var/log/app", "var/log", false),
        ] {
            assert_eq!(
                below(Path::new(path), Path::new(top)),
                want,
                "{path} below {top}"
            );
        }
    }

    #[test]
    fn native_is_the_style_of_the_os_built_for() {
        assert_eq!(native(Path::new("/var/log")), !cfg!(windows));
        assert_eq!(native(Path::new("C:\\logs")), cfg!(windows));
        assert!(!native(Path::new("logs")));
    }
}
