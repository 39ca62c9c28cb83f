//! The identity Apache's children (and so the application) run as: `--user`/`--group`
//! resolved against the passwd and group databases, with express's rules adjusted so
//! that running as root never leaves the children as root (default `www-data`), plus the
//! supplementary groups used by `validation::check_readable`. Called by `options.rs`.

use crate::cli::ServerArgs;
use crate::validation::RunIdentity;
use anyhow::{Context, Result, bail};
use nix::unistd::{Gid, Group, Uid, User};

/// User and group for the Apache children. As root: `--user` (default `www-data`, which
/// must exist; express would default to root and then fail) and `--group` (default the
/// user's primary group); root itself is refused. Not root: Apache cannot switch, so
/// the current user and its primary group (`--user`/`--group` are written but inert).
pub fn run_identity(args: &ServerArgs, uid: Uid) -> Result<(String, String, RunIdentity)> {
    let lookup_user = |name: &str| -> Result<User> {
        let found = match name.strip_prefix('#') {
            Some(num) => User::from_uid(Uid::from_raw(num.parse().context("bad --user uid")?)),
            None => User::from_name(name),
        };
        found?.with_context(|| format!("user '{name}' does not exist"))
    };
    let (user, entry) = if uid.is_root() {
        let name = args.user.clone().unwrap_or_else(|| "www-data".into());
        let entry = lookup_user(&name).with_context(|| {
            if args.user.is_none() {
                "running as root needs an unprivileged user for Apache's children: pass --user"
            } else {
                "bad --user"
            }
        })?;
        if entry.uid.is_root() {
            bail!("--user must not be root: Apache's children must run as an unprivileged user");
        }
        (name, entry)
    } else {
        let entry = User::from_uid(uid)?.context("the current user has no passwd entry")?;
        let name = args.user.clone().unwrap_or(entry.name.clone());
        (name, entry)
    };
    let (group, gid) = match &args.group {
        Some(name) if uid.is_root() => {
            let found = match name.strip_prefix('#') {
                Some(num) => {
                    Group::from_gid(Gid::from_raw(num.parse().context("bad --group gid")?))?
                }
                None => Group::from_name(name)?,
            };
            let found = found.with_context(|| format!("group '{name}' does not exist"))?;
            (name.clone(), found.gid)
        }
        other => {
            let name = Group::from_gid(entry.gid)?
                .map(|g| g.name)
                .unwrap_or_else(|| format!("#{}", entry.gid));
            (other.clone().unwrap_or(name), entry.gid)
        }
    };
    let mut groups = supplementary_groups(&entry);
    if !groups.contains(&gid) {
        groups.push(gid);
    }
    let run_as = RunIdentity {
        uid: entry.uid,
        gid,
        groups,
        name: entry.name,
    };
    Ok((user, group, run_as))
}

fn supplementary_groups(user: &User) -> Vec<Gid> {
    let name = std::ffi::CString::new(user.name.clone()).unwrap_or_default();
    nix::unistd::getgrouplist(&name, user.gid).unwrap_or_else(|_| vec![user.gid])
}
