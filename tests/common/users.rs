//! Local users and daemon sockets that the access-control tests share: a
//! second system user (`mwrs-other`, created on first use) that is neither
//! root nor the Apache user, and the one daemon socket of a test's root.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A system user that is neither root nor the Apache user.
pub const OTHER_USER: &str = "mwrs-other";

/// The uid of `OTHER_USER`, creating the user (useradd --system) if needed.
pub fn other_uid() -> u32 {
    if let Ok(Some(u)) = nix::unistd::User::from_name(OTHER_USER) {
        return u.uid.as_raw();
    }
    let st = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            OTHER_USER,
        ])
        .status()
        .expect("run useradd");
    // A concurrent test may have created it first.
    let u = nix::unistd::User::from_name(OTHER_USER).unwrap();
    assert!(st.success() || u.is_some(), "useradd {OTHER_USER} failed");
    u.unwrap().uid.as_raw()
}

/// The only daemon socket under `<root>/run` (the test's socket prefix).
pub fn socket_of(root: &Path) -> PathBuf {
    let socks: Vec<PathBuf> = std::fs::read_dir(root.join("run"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".sock"))
        .collect();
    assert_eq!(socks.len(), 1, "{socks:?}");
    socks[0].clone()
}
