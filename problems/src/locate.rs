//! Finds the line of a dotted key path in the YAML text, so problems found after parsing
//! (which loses positions) can still name their line.
//!
//! Handles block-style mappings, the form configuration files are written in; for
//! anything else it falls back to the nearest parent it found.

/// The 1-based line where `path` is defined, or the line of its deepest found ancestor.
pub fn line_of(text: &str, path: &[&str]) -> Option<usize> {
    locate(text, path).map(|(_, line)| line)
}

/// How many segments of `path` the text writes (0: not even the first), with the line
/// of the deepest: which of several files defines a key.
pub fn locate(text: &str, path: &[&str]) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut start = 0usize;
    let mut parent_indent: Option<usize> = None;
    let mut found: Option<(usize, usize)> = None;
    for (depth, segment) in path.iter().enumerate() {
        let mut hit = None;
        let mut child_indent: Option<usize> = None;
        for (i, raw) in lines.iter().enumerate().skip(start) {
            let trimmed = raw.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = raw.len() - trimmed.len();
            if let Some(p) = parent_indent
                && indent <= p
            {
                break;
            }
            let level = *child_indent.get_or_insert(indent);
            if indent != level {
                continue;
            }
            let item = trimmed.strip_prefix("- ").unwrap_or(trimmed);
            if key_of(item) == Some(segment) {
                hit = Some((i, indent));
                break;
            }
        }
        match hit {
            Some((i, indent)) => {
                found = Some((depth + 1, i + 1));
                start = i + 1;
                parent_indent = Some(indent);
            }
            None => break,
        }
    }
    found
}

fn key_of(item: &str) -> Option<&str> {
    let colon = item.find(':')?;
    let key = item[..colon].trim();
    let key = key
        .strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .or_else(|| key.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')))
        .unwrap_or(key);
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# hbd config
interval: 30
hosts:
  web1:
    key: abc
    interval: 10
  \"db.1\":
    interval: x
thresholds:
  disk_monitor:
    partitions:
      /:
        percent: {warning: 80}
";

    #[test]
    fn finds_nested_keys() {
        let cases: &[(&[&str], Option<usize>)] = &[
            (&["interval"], Some(2)),
            (&["hosts", "web1", "interval"], Some(6)),
            (&["hosts", "db.1", "interval"], Some(8)),
            (
                &["thresholds", "disk_monitor", "partitions", "/", "percent"],
                Some(13),
            ),
            (&["hosts", "nope", "interval"], Some(3)),
            (&["missing"], None),
        ];
        for (path, want) in cases {
            assert_eq!(line_of(TEXT, path), *want, "{path:?}");
        }
    }
}
