//! The shell-expansion guard: an unquoted `/*` reaches us as the names in the local root directory.

/// At least this many root-like paths trigger the guard even when others are mixed in.
const SEVERAL: usize = 3;

/// The arguments that equal `/` followed by the name of an entry of the local root directory,
/// when there are enough of them to look like a shell expansion of `/*` rather than a choice:
/// three or more, or two or more that are all the arguments there are.
pub fn root_like_paths<'a>(arguments: &'a [String], root_entries: &[String]) -> Vec<&'a str> {
    let matches: Vec<&str> = arguments
        .iter()
        .map(String::as_str)
        .filter(|argument| {
            argument
                .strip_prefix('/')
                .is_some_and(|name| !name.is_empty() && root_entries.iter().any(|e| e == name))
        })
        .collect();
    let expanded =
        matches.len() >= SEVERAL || (matches.len() >= 2 && matches.len() == arguments.len());
    if expanded { matches } else { Vec::new() }
}

/// The names in `/`, which is what the shell puts in place of an unquoted `/*`.
/// An unreadable root gives no names, and so no guard: the guard must never block by accident.
pub fn local_root_entries() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().into_string().ok())
        // Shells leave dot-files out of `/*`.
        .filter(|name| !name.starts_with('.'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn an_expanded_root_is_caught() {
        let root = strings(&["bin", "etc", "usr", "var", "home"]);
        let arguments = strings(&["/bin", "/etc", "/home", "/usr", "/var"]);
        assert_eq!(root_like_paths(&arguments, &root).len(), 5);
        // Mixed with real paths, three are still too many to be a coincidence.
        let mixed = strings(&["/index.html", "/bin", "/etc", "/usr"]);
        assert_eq!(root_like_paths(&mixed, &root), vec!["/bin", "/etc", "/usr"]);
        // Two that are the whole argument list (a tiny root, or `/[eu]*`).
        let two = strings(&["/etc", "/usr"]);
        assert_eq!(root_like_paths(&two, &root).len(), 2);
    }

    #[test]
    fn ordinary_paths_pass() {
        let root = strings(&["bin", "etc", "usr", "var", "home"]);
        for arguments in [
            strings(&["/*"]),
            strings(&["/index.html", "/css/*"]),
            strings(&["/home"]),
            strings(&["/home", "/about.html"]),
            strings(&["/bin/", "/etc/x", "etc", "/"]),
        ] {
            assert!(
                root_like_paths(&arguments, &root).is_empty(),
                "{arguments:?}"
            );
        }
    }

    #[test]
    fn the_real_root_has_names() {
        // Every Unix machine this runs on has a few entries in `/`.
        assert!(local_root_entries().len() >= 3);
    }
}
