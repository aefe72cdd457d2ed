//! Python's `posixpath.normpath`, which decides recorded artifact names.

/// Normalise like `os.path.normpath` on POSIX: collapse `//`, `.` and
/// `a/..`; keep leading `..`; keep absolute paths absolute (two leading
/// slashes stay two, as POSIX allows); `""` becomes `.`.
pub fn normpath(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let slashes = if path.starts_with("//") && !path.starts_with("///") {
        2
    } else if path.starts_with('/') {
        1
    } else {
        0
    };
    let mut comps: Vec<&str> = Vec::new();
    for comp in path.split('/') {
        if comp.is_empty() || comp == "." {
            continue;
        }
        let keep =
            comp != ".." || (slashes == 0 && comps.is_empty()) || comps.last() == Some(&"..");
        if keep {
            comps.push(comp);
        } else if !comps.is_empty() {
            comps.pop();
        }
    }
    let joined = format!("{}{}", "/".repeat(slashes), comps.join("/"));
    if joined.is_empty() {
        ".".into()
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::normpath;

    #[test]
    fn matches_python_posixpath() {
        // Expected values from Python 3.11 posixpath.normpath.
        for (input, expected) in [
            ("", "."),
            (".", "."),
            ("./a", "a"),
            ("a//b/./c/", "a/b/c"),
            ("a/../b", "b"),
            ("../a", "../a"),
            ("a/../../b", "../b"),
            ("/../a", "/a"),
            ("//a", "//a"),
            ("///a", "/a"),
            ("/", "/"),
            ("a/..", "."),
        ] {
            assert_eq!(normpath(input), expected, "{input:?}");
        }
    }
}
