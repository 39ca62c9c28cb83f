//! The listening UNIX socket of one daemon group: its path (from
//! `WSGISocketPrefix`, as mod_wsgi names it), creation in the Apache parent
//! (bound under umask 0077, `listen(listen-backlog)`, lchowned to the Apache
//! user or the group's `socket-user=`, so only that user and root can connect),
//! its buffer sizes, and removal when the configuration pool is cleared. No Python, no threads.

use std::io;
use std::os::fd::{IntoRawFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::Path;

/// mod_wsgi's socket path: `<prefix>.<pid>.<generation>.<id>.sock` with
/// rotation (the default), `<prefix>.<pid>.u<uid>.<id>.sock` without.
pub fn path(
    prefix: &str,
    pid: u32,
    generation: u32,
    rotation: bool,
    uid: u32,
    id: usize,
) -> String {
    if rotation {
        format!("{prefix}.{pid}.{generation}.{id}.sock")
    } else {
        format!("{prefix}.{pid}.u{uid}.{id}.sock")
    }
}

/// With rotation, the socket of group `id` from the newest generation after
/// `generation` of the same parent, if one exists (for a request that an old
/// Apache child is still serving after a graceful restart removed its
/// generation's socket).
pub fn newer(prefix: &str, pid: u32, generation: u32, id: usize) -> Option<String> {
    let p = Path::new(prefix);
    let dir = p.parent()?;
    let base = p.file_name()?.to_string_lossy().into_owned();
    let head = format!("{base}.{pid}.");
    let tail = format!(".{id}.sock");
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let g: u32 = name
                .strip_prefix(&head)?
                .strip_suffix(&tail)?
                .parse()
                .ok()?;
            (g > generation).then(|| (g, e.path().to_string_lossy().into_owned()))
        })
        .max()
        .map(|(_, path)| path)
}

/// `send-buffer-size` / `receive-buffer-size`: SO_SNDBUF or SO_RCVBUF of
/// the listening socket (connections accepted from it inherit it), set in
/// the Apache parent as mod_wsgi does.
pub fn set_buffer_size(fd: RawFd, option: libc::c_int, bytes: i32) -> io::Result<()> {
    // SAFETY: setsockopt(2) on our socket, reading one c_int we pass.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            option,
            (&bytes as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// What was at a socket's path before it was created, when it is not a
/// plain leftover (a symlink, or a file owned by neither root nor `uid`):
/// removed without being followed, for the caller to log.
pub fn suspicious_leftover(path: &str, uid: u32) -> Option<String> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let meta = std::fs::symlink_metadata(path).ok()?;
    let ft = meta.file_type();
    if ft.is_symlink() {
        let target = std::fs::read_link(path)
            .map(|t| t.display().to_string())
            .unwrap_or_default();
        return Some(format!("a symlink to '{target}'"));
    }
    let owner = meta.uid();
    if owner != 0 && owner != uid && owner != nix::unistd::geteuid().as_raw() {
        let kind = if ft.is_socket() { "a socket" } else { "a file" };
        return Some(format!(
            "{kind} owned by uid {owner} (expected root or uid {uid})"
        ));
    }
    None
}

/// Creates the listening socket at `path`, owned by `uid`, mode 0600-equivalent.
/// Whatever was at `path` is unlinked first (a symlink is removed, never
/// followed), and the ownership change does not follow symlinks either
/// (`lchown`), so a symlink swapped in after `bind` cannot redirect it.
/// Returns the descriptor (close-on-exec, blocking).
pub fn listen(path: &str, backlog: i32, uid: u32, gid: u32) -> io::Result<RawFd> {
    let _ = std::fs::remove_file(path);
    // SAFETY: umask(2) only swaps the process mask; the Apache parent is
    // single-threaded while it reads its configuration.
    let old = unsafe { libc::umask(0o077) };
    let bound = UnixListener::bind(path);
    // SAFETY: as above, restoring the previous mask.
    unsafe { libc::umask(old) };
    let listener = bound?;
    let fd = listener.into_raw_fd();
    // SAFETY: `fd` is the listening socket we own.
    if unsafe { libc::listen(fd, backlog) } != 0 {
        let e = io::Error::last_os_error();
        // SAFETY: closing our own descriptor.
        unsafe { libc::close(fd) };
        return Err(e);
    }
    if let Err(e) = std::os::unix::fs::lchown(Path::new(path), Some(uid), Some(gid)) {
        // SAFETY: closing our own descriptor.
        unsafe { libc::close(fd) };
        let _ = std::fs::remove_file(path);
        return Err(e);
    }
    Ok(fd)
}

/// Closes the listener and removes its file when the configuration pool is
/// cleared, in the process that created it only (a forked child inherits the
/// guard but must not unlink the parent's socket).
pub struct SocketGuard {
    pub fd: RawFd,
    pub path: String,
    pub owner: u32,
}

impl Drop for SocketGuard {
    fn drop(&mut self) {
        if std::process::id() != self.owner {
            return;
        }
        // SAFETY: the descriptor is ours; nobody uses it after the pool is cleared.
        unsafe { libc::close(self.fd) };
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};

    #[test]
    fn names_as_mod_wsgi() {
        assert_eq!(path("/r/wsgi", 10, 2, true, 33, 1), "/r/wsgi.10.2.1.sock");
        assert_eq!(
            path("/r/wsgi", 10, 2, false, 33, 1),
            "/r/wsgi.10.u33.1.sock"
        );
    }

    #[test]
    fn newer_generation_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("wsgi").to_string_lossy().into_owned();
        for name in [
            "wsgi.7.2.1.sock",
            "wsgi.7.4.1.sock",
            "wsgi.7.9.2.sock",
            "wsgi.8.9.1.sock",
        ] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let found = newer(&prefix, 7, 2, 1).unwrap();
        assert!(found.ends_with("wsgi.7.4.1.sock"), "{found}");
        assert_eq!(newer(&prefix, 7, 4, 1), None);
    }

    #[test]
    fn socket_is_private_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.sock").to_string_lossy().into_owned();
        let me = nix::unistd::getuid().as_raw();
        let gid = nix::unistd::getgid().as_raw();
        let fd = listen(&p, 5, me, gid).unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "mode {mode:o}");
        std::os::unix::net::UnixStream::connect(&p).unwrap();
        drop(SocketGuard {
            fd,
            path: p.clone(),
            owner: std::process::id(),
        });
        assert!(!Path::new(&p).exists());
    }

    #[test]
    fn a_planted_symlink_is_reported_and_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "x").unwrap();
        let p = dir.path().join("s.sock").to_string_lossy().into_owned();
        std::os::unix::fs::symlink(&target, &p).unwrap();
        let me = nix::unistd::getuid().as_raw();
        let note = suspicious_leftover(&p, me).unwrap();
        assert!(note.contains("symlink"), "{note}");
        let fd = listen(&p, 5, me, nix::unistd::getgid().as_raw()).unwrap();
        assert!(
            std::fs::symlink_metadata(&p)
                .unwrap()
                .file_type()
                .is_socket()
        );
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "x");
        // SAFETY: closing the descriptor listen() returned.
        unsafe { libc::close(fd) };
    }
}
