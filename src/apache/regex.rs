//! Apache's regular expressions: `ap_regcomp`/`ap_regexec_len` (PCRE under
//! httpd), the engine mod_wsgi and mod_alias compile `*Match` patterns with,
//! so a pattern means here exactly what it means to them. A compiled
//! expression lives in a pool (freed by `ap_regfree` at the pool's cleanup)
//! and is only read afterwards; `ap_regexec_len` is safe to call from many
//! threads at once.

use super::pool::Pool;
use super::sys;
use std::ffi::{CString, c_char};

/// Groups a match reports: `$0`..`$9`, as `AP_MAX_REG_MATCH`.
pub const GROUPS: usize = sys::AP_MAX_REG_MATCH as usize;

/// Byte ranges of groups 0..=9 of one match (`None`: the group took no part).
pub type Captures = [Option<(usize, usize)>; GROUPS];

/// The compiled form, owned by a pool.
struct Compiled(sys::ap_regex_t);

impl Drop for Compiled {
    fn drop(&mut self) {
        // SAFETY: ap_regcomp succeeded on this value (only then is it adopted)
        // and it is freed exactly once, at the pool cleanup.
        unsafe { sys::ap_regfree(&mut self.0) };
    }
}

/// A compiled expression; valid while the pool it was compiled in lives.
/// Why a pattern does not compile.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegexError {
    #[error("it contains a NUL byte")]
    Nul,
    /// `ap_regerror`'s message.
    #[error("{0}")]
    Syntax(String),
}

#[derive(Clone, Copy, Debug)]
pub struct Regex(*const sys::ap_regex_t);

// SAFETY: the compiled expression is never written after `compile`, and PCRE
// matching through ap_regexec_len keeps its state per call.
unsafe impl Send for Regex {}
// SAFETY: as for Send: shared use is read-only.
unsafe impl Sync for Regex {}

impl Regex {
    /// Compiles `pattern` (POSIX-extended flags, as mod_wsgi) into `pool`;
    /// `Err` carries PCRE's message.
    pub fn compile(pool: Pool, pattern: &str) -> Result<Regex, RegexError> {
        let c = CString::new(pattern).map_err(|_| RegexError::Nul)?;
        let mut preg = sys::ap_regex_t::default();
        // SAFETY: `preg` is a zeroed ap_regex_t and `c` a NUL-terminated string.
        let rc = unsafe { sys::ap_regcomp(&mut preg, c.as_ptr(), sys::AP_REG_EXTENDED as i32) };
        if rc != 0 {
            let mut buf = [0 as c_char; 256];
            // SAFETY: ap_regerror writes at most buf.len() bytes, NUL-terminated.
            unsafe { sys::ap_regerror(rc, &preg, buf.as_mut_ptr(), buf.len()) };
            // SAFETY: NUL-terminated by ap_regerror (the buffer is zeroed besides).
            let msg = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
            return Err(RegexError::Syntax(msg.to_string_lossy().into_owned()));
        }
        let owned = pool.adopt(Compiled(preg));
        // SAFETY: `owned` stays valid until the pool's cleanup drops it.
        Ok(Regex(unsafe { &raw const (*owned).0 }))
    }

    /// The groups of the first match in `subject`, or `None`.
    pub fn captures(&self, subject: &[u8]) -> Option<Captures> {
        let mut m = [sys::ap_regmatch_t {
            rm_so: -1,
            rm_eo: -1,
        }; GROUPS];
        // SAFETY: the expression is live (see the type), `subject` is read for
        // its length only, and `m` has room for GROUPS matches.
        let rc = unsafe {
            sys::ap_regexec_len(
                self.0,
                subject.as_ptr() as *const c_char,
                subject.len(),
                GROUPS,
                m.as_mut_ptr(),
                0,
            )
        };
        if rc != 0 {
            return None;
        }
        let mut out: Captures = [None; GROUPS];
        for (slot, g) in out.iter_mut().zip(m) {
            if g.rm_so >= 0 && g.rm_eo >= g.rm_so && g.rm_eo as usize <= subject.len() {
                *slot = Some((g.rm_so as usize, g.rm_eo as usize));
            }
        }
        Some(out)
    }
}
