//! Path syntax shared by the VFS and the shell: Linux's length limits, lexical normalization
//! (`.`, `..`, repeated slashes) and joining a relative path onto a working directory.
//!
//! The VFS walks `..` against the real tree, so `/file/..` is `ENOTDIR` there as on Linux; the
//! lexical form here is what the shell keeps as its working directory once a walk has
//! succeeded (with no symlinks, the two then agree).

use super::Errno;
use alloc::string::String;
use alloc::vec::Vec;

/// Longest path in bytes, counting a terminating NUL as Linux's `PATH_MAX` does: a path of
/// `PATH_MAX` bytes or more is `ENAMETOOLONG`.
pub const PATH_MAX: usize = 4096;

/// Longest single path component in bytes.
pub const NAME_MAX: usize = 255;

/// Checks the whole-path rules every VFS entry point applies, in Linux's order: an empty path
/// is `ENOENT`, an overlong one `ENAMETOOLONG`; this layer only takes absolute paths, and a
/// NUL cannot be part of a C path (`EINVAL` for both).
pub fn check_absolute(path: &str) -> Result<(), Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if !path.starts_with('/') || path.contains('\0') {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// Checks one component's length.
pub fn check_name(name: &str) -> Result<(), Errno> {
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(())
}

/// The components of a path, with empty ones (from `//` or a trailing `/`) skipped.
pub fn components(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|component| !component.is_empty())
}

/// Normalizes an absolute path lexically: `.` and empty components vanish, `..` drops the
/// previous component (and stays at `/` at the root). The result is `/` or `/a/b` form.
pub fn normalize(path: &str) -> Result<String, Errno> {
    check_absolute(path)?;
    let mut kept: Vec<&str> = Vec::new();
    for component in components(path) {
        match component {
            "." => {}
            ".." => {
                kept.pop();
            }
            name => {
                check_name(name)?;
                kept.push(name);
            }
        }
    }
    if kept.is_empty() {
        return Ok(String::from("/"));
    }
    let mut normalized = String::with_capacity(path.len());
    for name in kept {
        normalized.push('/');
        normalized.push_str(name);
    }
    Ok(normalized)
}

/// The absolute form of `path` as seen from the directory `cwd`, not normalized: an absolute
/// `path` is kept, a relative one is appended to `cwd`, and an empty one stays empty (so that
/// looking it up is `ENOENT`, as on Linux).
pub fn join(cwd: &str, path: &str) -> String {
    if path.is_empty() || path.starts_with('/') {
        return String::from(path);
    }
    let mut joined = String::with_capacity(cwd.len() + 1 + path.len());
    joined.push_str(cwd);
    if !cwd.ends_with('/') {
        joined.push('/');
    }
    joined.push_str(path);
    joined
}

/// [`join`] then [`normalize`]: where `path` leads from `cwd`, lexically.
pub fn resolve(cwd: &str, path: &str) -> Result<String, Errno> {
    normalize(&join(cwd, path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;

    #[test]
    fn normalize_handles_dots_and_slashes() {
        let cases = [
            ("/", "/"),
            ("//", "/"),
            ("///a//b///", "/a/b"),
            ("/a/./b/.", "/a/b"),
            ("/a/b/..", "/a"),
            ("/a/b/../..", "/"),
            ("/..", "/"),
            ("/../../a", "/a"),
            ("/a/../../b/./c/..", "/b"),
            ("/.../a", "/.../a"),
            ("/a/.b/..c", "/a/.b/..c"),
            ("/sys/kernel/tracing/", "/sys/kernel/tracing"),
            ("/é/ü", "/é/ü"),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize(input).as_deref(), Ok(expected), "{input}");
        }
    }

    #[test]
    fn normalize_rejects_bad_paths() {
        assert_eq!(normalize(""), Err(Errno::ENOENT));
        assert_eq!(normalize("a/b"), Err(Errno::EINVAL));
        assert_eq!(normalize("./a"), Err(Errno::EINVAL));
        assert_eq!(normalize("/a\0b"), Err(Errno::EINVAL));
    }

    #[test]
    fn path_max_counts_the_terminating_nul() {
        let longest = format!("/{}", "a/".repeat((PATH_MAX - 2) / 2));
        let longest = &longest[..PATH_MAX - 1];
        assert_eq!(longest.len(), 4095);
        assert!(normalize(longest).is_ok());
        let too_long = format!("{longest}a");
        assert_eq!(too_long.len(), 4096);
        assert_eq!(normalize(&too_long), Err(Errno::ENAMETOOLONG));
        // Checked before anything else, even for paths that collapse to `/`.
        assert_eq!(normalize(&"/".repeat(5000)), Err(Errno::ENAMETOOLONG));
    }

    #[test]
    fn name_max_applies_per_component() {
        let longest = "n".repeat(NAME_MAX);
        assert!(normalize(&format!("/{longest}/x")).is_ok());
        assert_eq!(
            normalize(&format!("/{longest}n/x")),
            Err(Errno::ENAMETOOLONG)
        );
        // A component removed by `..` is still checked, as the kernel walk would.
        assert_eq!(
            normalize(&format!("/{longest}n/..")),
            Err(Errno::ENAMETOOLONG)
        );
    }

    #[test]
    fn components_skip_empty_ones() {
        let parts: Vec<&str> = components("//a///b/").collect();
        assert_eq!(parts, ["a", "b"]);
        assert_eq!(components("/").count(), 0);
    }

    #[test]
    fn join_appends_relative_paths_only() {
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/x/y", "a/b"), "/x/y/a/b");
        assert_eq!(join("/x/", "a"), "/x/a");
        assert_eq!(join("/x", "/abs"), "/abs");
        assert_eq!(join("/x", ""), "");
        assert_eq!(join("/x", ".."), "/x/..");
    }

    #[test]
    fn resolve_is_join_then_normalize() {
        assert_eq!(resolve("/a/b", "..").as_deref(), Ok("/a"));
        assert_eq!(resolve("/a/b", "../c/./d").as_deref(), Ok("/a/c/d"));
        assert_eq!(resolve("/a", "/").as_deref(), Ok("/"));
        assert_eq!(resolve("/", "../..").as_deref(), Ok("/"));
        assert_eq!(resolve("/a", ""), Err(Errno::ENOENT));
        assert_eq!(
            resolve("/a", "x\0").map_err(|e| e.to_string()),
            Err("Invalid argument".to_string())
        );
    }
}
