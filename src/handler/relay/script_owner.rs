//! `WSGIDaemonProcess script-user=` / `script-group=`: before a request is
//! sent to the daemon, the Apache child checks who owns the WSGI script file
//! and the directory holding it, as mod_wsgi's `wsgi_execute_remote`:
//! with script-user the file and its directory must be owned by that user
//! and not writable to group or world; with script-group the file and its
//! directory must have that group and not be writable to world. Any
//! failure is a 403 with mod_wsgi's message. Runs on the request thread.

use crate::config::daemon_options::DaemonOptions;
use nix::unistd::{Gid, Group, Uid, User};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

const G_WRITE: u32 = 0o020;
const W_WRITE: u32 = 0o002;

fn user_name(uid: u32) -> Option<String> {
    User::from_uid(Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
}

fn group_name(gid: u32) -> Option<String> {
    Group::from_gid(Gid::from_raw(gid))
        .ok()
        .flatten()
        .map(|g| g.name)
}

/// Ok when `script` may be sent to the group; else mod_wsgi's message.
pub fn check(script: &Path, opts: &DaemonOptions) -> Result<(), String> {
    if opts.script_user.is_none() && opts.script_group.is_none() {
        return Ok(());
    }
    let file = std::fs::metadata(script).map_err(|e| {
        format!(
            "Unable to stat WSGI script file '{}': {e}",
            script.display()
        )
    })?;
    // ap_make_dirstr_parent: the directory part, with its trailing slash.
    let parent = script
        .parent()
        .map(|p| format!("{}/", p.display()))
        .unwrap_or_else(|| "/".to_string());
    let parent_meta = || {
        std::fs::metadata(&parent)
            .map_err(|_| format!("Unable to stat parent directory '{parent}' of WSGI script."))
    };
    if let Some(want) = &opts.script_group {
        let got = group_name(file.gid()).ok_or_else(|| {
            format!(
                "Unable to determine group of WSGI script file from gid {}.",
                file.gid()
            )
        })?;
        if got != *want {
            return Err(format!(
                "WSGI script file group '{got}' does not match group required for daemon process."
            ));
        }
        if file.mode() & W_WRITE != 0 {
            return Err("WSGI script file is writable to world.".into());
        }
        let dir = parent_meta()?;
        let got = group_name(dir.gid()).ok_or_else(|| {
            format!(
                "Unable to determine group of parent directory of WSGI script file from gid {}.",
                dir.gid()
            )
        })?;
        if got != *want {
            return Err(format!(
                "Parent directory of WSGI script file has group '{got}' which does not match \
                 group required for daemon process."
            ));
        }
        if dir.mode() & W_WRITE != 0 {
            return Err("Parent directory of WSGI script file is writable to world.".into());
        }
    }
    if let Some(want) = &opts.script_user {
        let got = user_name(file.uid()).ok_or_else(|| {
            format!(
                "Unable to determine owner of WSGI script file from uid {}.",
                file.uid()
            )
        })?;
        if got != *want {
            return Err(format!(
                "WSGI script file owner '{got}' does not match user required for daemon process."
            ));
        }
        if file.mode() & G_WRITE != 0 {
            return Err("WSGI script file is writable to group.".into());
        }
        if file.mode() & W_WRITE != 0 {
            return Err("WSGI script file is writable to world.".into());
        }
        let dir = parent_meta()?;
        let got = user_name(dir.uid()).ok_or_else(|| {
            format!(
                "Unable to determine owner of parent directory of WSGI script file from uid {}.",
                dir.uid()
            )
        })?;
        if got != *want {
            return Err(format!(
                "Parent directory of WSGI script file has owner '{got}' which does not match \
                 user required for daemon process."
            ));
        }
        if dir.mode() & W_WRITE != 0 {
            return Err("Parent directory of WSGI script file is writable to world.".into());
        }
        if dir.mode() & G_WRITE != 0 {
            return Err("Parent directory of WSGI script file is writable to group.".into());
        }
    }
    Ok(())
}
