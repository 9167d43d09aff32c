//! The mount table (`PROC/self/mounts`), shared by `disk_monitor` and `filesystem_info`.

/// One mounted filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Device or source (`/dev/sda1`, `tmpfs`).
    pub device: String,
    /// Mount point, with `\040`-style escapes decoded.
    pub mount_point: String,
    /// Filesystem type.
    pub fstype: String,
    /// Mount options.
    pub options: String,
}

/// Filesystem types that hold data on a device (what `df` users care about).
const PHYSICAL: &[&str] = &[
    "ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "vfat", "exfat", "ntfs", "ntfs3", "f2fs", "jfs",
    "reiserfs", "hfsplus", "ufs", "nilfs2", "bcachefs",
];

impl Mount {
    /// Whether it is a device-backed filesystem rather than a virtual one.
    pub fn is_physical(&self) -> bool {
        PHYSICAL.contains(&self.fstype.as_str())
    }
}

/// Parses `/proc/self/mounts`; the same mount point mounted twice keeps the last entry
/// (the one visible).
pub fn parse_mounts(text: &str) -> Vec<Mount> {
    let mut out: Vec<Mount> = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 4 {
            continue;
        }
        let mount = Mount {
            device: unescape(f[0]),
            mount_point: unescape(f[1]),
            fstype: f[2].to_owned(),
            options: f[3].to_owned(),
        };
        out.retain(|m| m.mount_point != mount.mount_point);
        out.push(mount);
    }
    out
}

/// Decodes the octal escapes (`\040` space, `\011` tab, `\012`, `\134`) of mount fields.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && let Ok(code) = u8::from_str_radix(&field[i + 1..i + 4], 8)
        {
            out.push(code);
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_classifies_mounts() {
        let text = "/dev/vda1 / ext4 rw,relatime 0 0\nproc /proc proc rw 0 0\ntmpfs /run tmpfs rw 0 0\n/dev/vdb1 /mnt/my\\040disk xfs rw 0 0\n/dev/vda2 / ext4 ro 0 0\n";
        let m = parse_mounts(text);
        assert_eq!(m.len(), 4);
        let physical: Vec<&str> = m
            .iter()
            .filter(|m| m.is_physical())
            .map(|m| m.mount_point.as_str())
            .collect();
        assert_eq!(physical, ["/mnt/my disk", "/"]);
        let root = m.iter().find(|m| m.mount_point == "/").unwrap();
        assert_eq!(
            (root.device.as_str(), root.options.as_str()),
            ("/dev/vda2", "ro")
        );
    }
}
