//! Hashes and atomic writes: the only file primitives the artifact needs, in one leaf module.
//!
//! Every output is written through [`atomic_write`] (or [`atomic_write_path`] for encoders that
//! open the file by name): the content goes to a temporary file in the destination's directory,
//! which is synced and then renamed over the destination (`tempfile`'s `persist`). Readers see
//! the old file or the complete new one, never a truncated one; on any failure the temporary
//! file is removed and the destination is left untouched.

use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use tempfile::{Builder, NamedTempFile};

/// Writes `path` atomically: `write` fills a temporary file in the same directory.
pub fn atomic_write(path: &Path, write: impl FnOnce(&mut File) -> io::Result<()>) -> io::Result<()> {
    persist(path, "", |tmp| {
        write(tmp.as_file_mut())?;
        tmp.as_file_mut().flush()
    })
}

/// [`atomic_write`] of a byte string.
pub fn atomic_write_bytes(path: &Path, bytes: &[u8]) -> io::Result<()> {
    atomic_write(path, |f| f.write_all(bytes))
}

/// Writes `path` atomically for writers that open their output by name (an image encoder that
/// picks the format from the extension): `write` gets the temporary path, which ends in the same
/// extension as `path`.
pub fn atomic_write_path(path: &Path, write: impl FnOnce(&Path) -> io::Result<()>) -> io::Result<()> {
    let ext = path.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
    persist(path, &ext, |tmp| write(tmp.path()))
}

/// The one implementation: a temporary `.<name>.<random>.tmp<ext>` next to `path`, filled,
/// synced and renamed over `path`.
fn persist(path: &Path, ext: &str, fill: impl FnOnce(&mut NamedTempFile) -> io::Result<()>) -> io::Result<()> {
    let name =
        path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("{}: not a file path", path.display())))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let suffix = format!(".tmp{ext}");
    let mut builder = Builder::new();
    builder.prefix(&prefix).suffix(&suffix);
    // the permissions File::create would give (tempfile's default is owner-only)
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    // on an error below, dropping `tmp` removes the temporary file
    fill(&mut tmp)?;
    File::open(tmp.path())?.sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    // Make the rename itself durable. Best effort: some filesystems refuse to fsync directories,
    // and the destination is complete either way.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// SHA-256 of a byte string, as 64 lowercase hex digits.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// SHA-256 of a file's contents, as 64 lowercase hex digits.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    Ok(sha256_and_len(path)?.0)
}

/// SHA-256 (hex) and length in bytes of a file's contents.
pub fn sha256_and_len(path: &Path) -> io::Result<(String, u64)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut len = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        len += n as u64;
    }
    Ok((hex(&hasher.finalize()), len))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
