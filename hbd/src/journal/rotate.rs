//! The journal's file: append-only, rotated by size (`FILE`, `FILE.1` ... `FILE.N`).

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// An append-only file that rotates by size.
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    max_size: u64,
    max_backups: u32,
    file: BufWriter<File>,
    size: u64,
}

impl RotatingFile {
    /// The file's path (the newest of the rotation).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens (creating the directory) for appending.
    pub fn open(path: &Path, max_size: u64, max_backups: u32) -> io::Result<RotatingFile> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(RotatingFile {
            path: path.to_owned(),
            max_size,
            max_backups,
            file: BufWriter::with_capacity(256 * 1024, file),
            size,
        })
    }

    fn backup(&self, n: u32) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    /// Appends one line, rotating first if it would pass `max_size`.
    pub fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        if self.size > 0 && self.size + line.len() as u64 > self.max_size {
            self.rotate()?;
        }
        self.file.write_all(line)?;
        self.size += line.len() as u64;
        Ok(())
    }

    /// Appends newline-terminated lines, rotating between two lines where one would
    /// take the file past its size.
    pub fn write_lines(&mut self, text: &[u8]) -> io::Result<()> {
        if self.size + text.len() as u64 <= self.max_size {
            self.file.write_all(text)?;
            self.size += text.len() as u64;
            return Ok(());
        }
        for line in text.split_inclusive(|&b| b == b'\n') {
            self.write_line(line)?;
        }
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file.flush()?;
        if self.max_backups > 0 {
            for n in (1..self.max_backups).rev() {
                let from = self.backup(n);
                if from.exists() {
                    std::fs::rename(&from, self.backup(n + 1))?;
                }
            }
            std::fs::rename(&self.path, self.backup(1))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&self.path)?;
        self.file = BufWriter::with_capacity(256 * 1024, file);
        self.size = 0;
        Ok(())
    }

    /// Flushes buffered lines to the file.
    pub fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}
