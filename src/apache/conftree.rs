//! Apache's parsed configuration tree (`ap_conftree`), read as plain data:
//! every directive line with its arguments, where it was written and the
//! sections (`<Directory>`, `<Location>`, `<VirtualHost>`, ...) around it.
//! Lets the module see directives of other modules (`AddHandler`,
//! `SetHandler`, `AllowOverride`, ...) that decide which files Apache may
//! hand to it (`config::script_scope`). Includes and `<IfModule>`/`<IfDefine>`
//! sections are expanded by Apache while it builds the tree. Read in the
//! single-threaded parent, after the configuration has been read; the tree
//! lives in the configuration pool.

use super::sys;
use std::ffi::{CStr, c_char};

/// One section around a directive: its name without the `<` (`Directory`,
/// `DirectoryMatch`, `Location`, ...) and its argument without the
/// closing `>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub arg: String,
}

/// One directive of the tree (sections themselves are not listed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfLine {
    pub directive: String,
    pub args: String,
    /// `file:line`, for messages.
    pub origin: String,
    /// The sections around the directive, innermost first.
    pub sections: Vec<Section>,
}

fn text(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: tree strings are NUL-terminated and live in the configuration pool.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

fn section_of(node: &sys::ap_directive_t) -> Section {
    let name = text(node.directive);
    let arg = text(node.args);
    let arg = arg.trim_end().trim_end_matches('>').trim();
    Section {
        name: name.trim_start_matches('<').to_string(),
        arg: arg.trim_matches('"').to_string(),
    }
}

/// Every directive of the configuration Apache has read, in file order.
/// Empty before Apache has built the tree.
pub fn lines() -> Vec<ConfLine> {
    let mut out = Vec::new();
    // Depth-first; each stack entry is a node and the sections around it.
    // SAFETY: Apache sets `ap_conftree` while reading the configuration,
    // before post_config, and does not change it until the next read; this
    // runs in the parent between those points (or in a process forked
    // from it), so the plain read races with no writer.
    let root = unsafe { sys::ap_conftree };
    let mut stack: Vec<(*mut sys::ap_directive_t, Vec<Section>)> = vec![(root, Vec::new())];
    while let Some((node, sections)) = stack.pop() {
        if node.is_null() {
            continue;
        }
        // SAFETY: a non-null tree node, allocated in the configuration pool.
        let n = unsafe { &*node };
        stack.push((n.next, sections.clone()));
        let directive = text(n.directive);
        if n.first_child.is_null() {
            if directive.starts_with('<') {
                continue; // an empty section
            }
            out.push(ConfLine {
                directive,
                args: text(n.args),
                origin: format!("{}:{}", text(n.filename), n.line_num),
                sections,
            });
        } else {
            let mut inner = vec![section_of(n)];
            inner.extend(sections);
            stack.push((n.first_child, inner));
        }
    }
    out
}
