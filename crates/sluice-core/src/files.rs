//! Files that hold secrets or users' data (the SQLite database, its log, the key file), and the
//! folders Sluice makes for them: readable and writable by their owner only.

use std::io;
use std::path::Path;

/// Creates `dir` and the folders above it that are missing, each with mode 0700.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates the file `path` (which must not exist) with mode 0600, and its folder as
/// [`create_private_dir`] does.
pub fn create_private_file(path: &Path) -> io::Result<std::fs::File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// `Err` saying how to fix it when the existing file `path` can be read or written by its group
/// or by others (Unix); `Ok` elsewhere.
pub fn check_private(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_err(|e| e.to_string())?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "it can be read or written by others (mode {mode:03o}): run `chmod 600 {}`",
                path.display()
            ));
        }
    }
    let _ = path;
    Ok(())
}
