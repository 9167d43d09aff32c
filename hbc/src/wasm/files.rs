//! What plugins may do with files, under the operator's grants: `stat`, read a whole
//! UTF-8 file, read a byte range, list a directory. Each path is resolved before the
//! grant is checked (so `..` and symbolic links cannot lead out), files are opened
//! non-blocking and must be regular (a FIFO inside a grant cannot hang the agent), and
//! every result is bounded. Errors are typed ([`FsError`]); each contract version turns
//! them into its own form (0.1.0: text, 0.2.0: the `fs-error` variant).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Largest file `read-file` returns, and largest range `read-bytes` reads.
pub const MAX_READ_BYTES: u64 = 1024 * 1024;
/// Most entries `list-dir` returns; a larger directory is an error that says so.
pub const MAX_LIST_ENTRIES: usize = 10_000;

/// Why a file operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FsError {
    /// Not absolute.
    #[error("paths must be absolute")]
    NotAbsolute,
    /// Outside every grant.
    #[error("not granted to this plugin (grants: {0})")]
    NotGranted(String),
    /// Nothing there.
    #[error("No such file or directory")]
    NotFound,
    /// File permissions forbid it.
    #[error("Permission denied")]
    PermissionDenied,
    /// A file over the size allowed (its size), a range over the size allowed (the
    /// length asked for), or a directory over the entry count allowed (its count, at
    /// least).
    #[error("{}", match .what { Large::File => format!("larger than {MAX_READ_BYTES} bytes"), Large::Range => format!("reads at most {MAX_READ_BYTES} bytes at once"), Large::Dir => format!("more than {MAX_LIST_ENTRIES} entries; list-dir returns at most {MAX_LIST_ENTRIES}") })]
    TooLarge {
        /// What was too large.
        what: Large,
        /// Its size or count.
        size: u64,
    },
    /// Not UTF-8.
    #[error("not UTF-8")]
    NotUtf8,
    /// Not a regular file.
    #[error("not a regular file")]
    NotAFile,
    /// Not a directory.
    #[error("Not a directory")]
    NotADirectory,
    /// Anything else.
    #[error("{0}")]
    Io(String),
}

/// What [`FsError::TooLarge`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Large {
    /// A whole file to read.
    File,
    /// A byte range asked for.
    Range,
    /// A directory's entries.
    Dir,
}

impl From<std::io::Error> for FsError {
    fn from(e: std::io::Error) -> FsError {
        match e.kind() {
            std::io::ErrorKind::NotFound => FsError::NotFound,
            std::io::ErrorKind::PermissionDenied => FsError::PermissionDenied,
            std::io::ErrorKind::NotADirectory => FsError::NotADirectory,
            std::io::ErrorKind::IsADirectory => FsError::NotAFile,
            _ => FsError::Io(e.to_string()),
        }
    }
}

/// What a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// Anything else (FIFO, socket, device).
    Other,
}

impl Kind {
    fn of(file_type: std::fs::FileType) -> Kind {
        if file_type.is_file() {
            Kind::File
        } else if file_type.is_dir() {
            Kind::Directory
        } else {
            Kind::Other
        }
    }
}

/// What `stat` tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// What it is.
    pub kind: Kind,
    /// Bytes.
    pub size: u64,
    /// Last modification, ms since the epoch.
    pub modified_ms: i64,
    /// Permission bits.
    pub mode: u32,
}

/// The paths a plugin was granted, resolved.
#[derive(Debug, Clone, Default)]
pub struct Grants(pub Vec<PathBuf>);

impl Grants {
    /// `path` resolved, if it lies under a grant.
    pub fn resolve(&self, path: &str) -> Result<PathBuf, FsError> {
        let requested = Path::new(path);
        if !requested.is_absolute() {
            return Err(FsError::NotAbsolute);
        }
        // Canonicalizing resolves `..` and symlinks, so a link cannot lead out of a grant.
        let real = std::fs::canonicalize(requested)?;
        if self.0.iter().any(|g| real.starts_with(g)) {
            Ok(real)
        } else {
            Err(FsError::NotGranted(format!("{:?}", self.0)))
        }
    }

    /// Kind, size, modification time and permissions of `path`.
    pub fn stat(&self, path: &str) -> Result<Stat, FsError> {
        let meta = std::fs::metadata(self.resolve(path)?)?;
        // Milliseconds since the Unix epoch, negative before it.
        let modified_ms = match meta.modified() {
            Ok(at) => match at.duration_since(std::time::UNIX_EPOCH) {
                Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
                Err(before) => -i64::try_from(before.duration().as_millis()).unwrap_or(i64::MAX),
            },
            Err(_) => 0,
        };
        #[cfg(unix)]
        let mode = {
            use std::os::unix::fs::PermissionsExt;
            meta.permissions().mode() & 0o7777
        };
        // Windows keeps only a read-only flag: as Unix bits, r-- or rw- for everyone.
        #[cfg(not(unix))]
        let mode = if meta.permissions().readonly() {
            0o444
        } else {
            0o666
        };
        Ok(Stat {
            kind: Kind::of(meta.file_type()),
            size: meta.len(),
            modified_ms,
            mode,
        })
    }

    /// Opens `path` for reading: non-blocking, and only a regular file.
    fn open_file(&self, path: &str) -> Result<(File, u64), FsError> {
        let mut options = std::fs::OpenOptions::new();
        options.read(true);
        // A FIFO or device opened without it could block the plugin's call forever.
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.custom_flags(libc::O_NONBLOCK);
        }
        let file = options.open(self.resolve(path)?)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(FsError::NotAFile);
        }
        Ok((file, meta.len()))
    }

    /// The whole of a UTF-8 regular file of at most [`MAX_READ_BYTES`].
    pub fn read_file(&self, path: &str) -> Result<String, FsError> {
        let (file, len) = self.open_file(path)?;
        let mut bytes = Vec::new();
        file.take(MAX_READ_BYTES + 1).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > MAX_READ_BYTES {
            return Err(FsError::TooLarge {
                what: Large::File,
                size: len.max(bytes.len() as u64),
            });
        }
        String::from_utf8(bytes).map_err(|_| FsError::NotUtf8)
    }

    /// At most `length` bytes (up to [`MAX_READ_BYTES`]) from `offset` of a regular file.
    pub fn read_bytes(&self, path: &str, offset: u64, length: u32) -> Result<Vec<u8>, FsError> {
        if u64::from(length) > MAX_READ_BYTES {
            return Err(FsError::TooLarge {
                what: Large::Range,
                size: u64::from(length),
            });
        }
        let (mut file, len) = self.open_file(path)?;
        if offset >= len {
            return Ok(Vec::new());
        }
        file.seek(SeekFrom::Start(offset))?;
        let mut bytes = Vec::with_capacity(length.min(64 * 1024) as usize);
        file.take(u64::from(length)).read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    /// The entries of a directory with their kinds, sorted by name.
    pub fn list_dir(&self, path: &str) -> Result<Vec<(String, Kind)>, FsError> {
        let real = self.resolve(path)?;
        if !real.is_dir() {
            return Err(FsError::NotADirectory);
        }
        let mut entries: Vec<(String, Kind)> = std::fs::read_dir(&real)?
            .filter_map(Result::ok)
            .take(MAX_LIST_ENTRIES + 1)
            .map(|e| {
                // The kind of what a link points to, like `stat`.
                let kind =
                    std::fs::metadata(e.path()).map_or(Kind::Other, |m| Kind::of(m.file_type()));
                (e.file_name().to_string_lossy().into_owned(), kind)
            })
            .collect();
        if entries.len() > MAX_LIST_ENTRIES {
            return Err(FsError::TooLarge {
                what: Large::Dir,
                size: entries.len() as u64,
            });
        }
        entries.sort();
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, Grants, String) {
        let dir = tempfile::tempdir().unwrap();
        let granted = dir.path().join("granted");
        std::fs::create_dir(&granted).unwrap();
        std::fs::write(granted.join("log"), b"line one\nline two\n").unwrap();
        std::fs::write(granted.join("bin"), [0xff, 0xfe, 0, 1]).unwrap();
        std::fs::create_dir(granted.join("sub")).unwrap();
        std::fs::write(dir.path().join("secret"), b"no").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), granted.join("escape")).unwrap();
        nix::unistd::mkfifo(&granted.join("fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        let grants = Grants(vec![std::fs::canonicalize(&granted).unwrap()]);
        let base = granted.display().to_string();
        (dir, grants, base)
    }

    #[test]
    fn every_operation_stays_inside_the_grants_and_says_why_not() {
        let (dir, g, base) = setup();
        let secret = dir.path().join("secret").display().to_string();
        let cases: [(&str, Result<(), FsError>); 6] = [
            ("relative/path", Err(FsError::NotAbsolute)),
            (&secret, Err(FsError::NotGranted(format!("{:?}", g.0)))),
            (
                &format!("{base}/escape"),
                Err(FsError::NotGranted(format!("{:?}", g.0))),
            ),
            (
                &format!("{base}/../secret"),
                Err(FsError::NotGranted(format!("{:?}", g.0))),
            ),
            (&format!("{base}/missing"), Err(FsError::NotFound)),
            (&format!("{base}/log"), Ok(())),
        ];
        for (path, want) in cases {
            assert_eq!(g.stat(path).map(|_| ()), want, "stat {path}");
            assert_eq!(g.read_file(path).map(|_| ()), want, "read-file {path}");
            assert_eq!(
                g.read_bytes(path, 0, 10).map(|_| ()),
                want,
                "read-bytes {path}"
            );
        }
    }

    #[test]
    fn stat_read_and_list_answer_with_values_and_typed_errors() {
        let (_dir, g, base) = setup();
        let log = format!("{base}/log");
        let st = g.stat(&log).unwrap();
        assert_eq!((st.kind, st.size), (Kind::File, 18));
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        assert!((now_ms - st.modified_ms).abs() < 60_000, "{st:?}");
        assert_eq!(st.mode & 0o600, 0o600);
        assert_eq!(
            g.stat(&format!("{base}/sub")).unwrap().kind,
            Kind::Directory
        );
        assert_eq!(g.stat(&format!("{base}/fifo")).unwrap().kind, Kind::Other);

        assert_eq!(g.read_file(&log).unwrap(), "line one\nline two\n");
        assert_eq!(g.read_file(&format!("{base}/bin")), Err(FsError::NotUtf8));
        assert_eq!(g.read_file(&format!("{base}/sub")), Err(FsError::NotAFile));
        assert_eq!(g.read_file(&format!("{base}/fifo")), Err(FsError::NotAFile));

        // The tail, a range, past the end, too much at once.
        assert_eq!(g.read_bytes(&log, 9, 100).unwrap(), b"line two\n");
        assert_eq!(g.read_bytes(&log, 0, 4).unwrap(), b"line");
        assert_eq!(g.read_bytes(&log, 18, 4).unwrap(), b"");
        assert_eq!(
            g.read_bytes(&format!("{base}/bin"), 0, 4).unwrap(),
            [0xff, 0xfe, 0, 1]
        );
        assert_eq!(
            g.read_bytes(&log, 0, 2 * 1024 * 1024),
            Err(FsError::TooLarge {
                what: Large::Range,
                size: 2 * 1024 * 1024
            })
        );

        assert_eq!(
            g.list_dir(&base).unwrap(),
            vec![
                ("bin".into(), Kind::File),
                ("escape".into(), Kind::File),
                ("fifo".into(), Kind::Other),
                ("log".into(), Kind::File),
                ("sub".into(), Kind::Directory),
            ]
        );
        assert_eq!(g.list_dir(&log), Err(FsError::NotADirectory));
    }

    #[test]
    fn a_large_file_or_directory_is_refused_with_its_size() {
        let (_dir, g, base) = setup();
        let big = format!("{base}/big");
        std::fs::write(&big, vec![b'a'; MAX_READ_BYTES as usize + 10]).unwrap();
        assert_eq!(
            g.read_file(&big),
            Err(FsError::TooLarge {
                what: Large::File,
                size: MAX_READ_BYTES + 10
            })
        );
        assert_eq!(g.read_bytes(&big, MAX_READ_BYTES, 100).unwrap().len(), 10);
        let many = format!("{base}/many");
        std::fs::create_dir(&many).unwrap();
        for i in 0..=MAX_LIST_ENTRIES {
            std::fs::write(format!("{many}/{i}"), b"").unwrap();
        }
        assert!(matches!(
            g.list_dir(&many),
            Err(FsError::TooLarge {
                what: Large::Dir,
                ..
            })
        ));
    }
}
