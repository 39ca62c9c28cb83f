//! `<WSGIInterpreterOptions [process-group=NAME] [application-group=NAME]>`,
//! mod_wsgi 6's section that scopes per-interpreter directives
//! (`WSGIPerInterpreterGIL`, `WSGIFreeThreading`, `WSGISwitchInterval`,
//! `WSGIPythonPath`, `WSGIRestrictStdin`, `WSGIRestrictStdout`,
//! `WSGIRestrictSignal`) to the interpreters whose process group and
//! application group match its selectors. This file owns the parsed blocks
//! ([`Block`]), the opening line's parser, the routing of a directive read
//! inside a block, and [`resolve`]: what applies to one interpreter, by
//! mod_wsgi's rules (the most specific matching block wins for a single
//! value, ties to the later block; every matching `WSGIPythonPath` adds a
//! layer, least specific first). Pure data, no FFI; the directive callback
//! (`directives.rs`) calls in while Apache reads the configuration, and
//! `python::init` resolves when it sets an interpreter up (GIL held there).

use super::ServerConfig;
use super::directives::{Target, apply, on_off};

/// The section's name as Apache hands it to the directive callback.
pub const SECTION: &str = "<WSGIInterpreterOptions";

/// The directives mod_wsgi 6 documents as valid inside the section.
pub const PERMITTED: &[&str] = &[
    "WSGIPerInterpreterGIL",
    "WSGIFreeThreading",
    "WSGISwitchInterval",
    "WSGIPythonPath",
    "WSGIRestrictStdin",
    "WSGIRestrictStdout",
    "WSGIRestrictSignal",
];

/// One `<WSGIInterpreterOptions>` section: its selectors (`None`: any;
/// `Some("")`: `%{GLOBAL}`, i.e. embedded mode or the main interpreter) and
/// the values set inside it (`None`: not set here).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Block {
    pub process_group: Option<String>,
    pub application_group: Option<String>,
    pub per_interpreter_gil: Option<bool>,
    pub free_threading: Option<bool>,
    pub switch_interval: Option<f64>,
    pub restrict_stdin: Option<bool>,
    pub restrict_stdout: Option<bool>,
    pub restrict_signal: Option<bool>,
    pub python_path: Vec<String>,
}

impl Block {
    /// The block's specificity for an interpreter of `process_group` (""
    /// in embedded mode) and `application_group` ("" for the main
    /// interpreter), or `None` when it does not match.
    fn specificity(&self, process_group: &str, application_group: &str) -> Option<u8> {
        let mut n = 0;
        for (selector, value) in [
            (&self.process_group, process_group),
            (&self.application_group, application_group),
        ] {
            match selector {
                Some(s) if s != value => return None,
                Some(_) => n += 1,
                None => {}
            }
        }
        Some(n)
    }
}

/// A mistake in the section itself (Apache prints the message).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SectionError {
    #[error("<WSGIInterpreterOptions> directive missing closing '>'")]
    NotClosed,
    #[error(
        "<WSGIInterpreterOptions>: argument '{0}' is not of the form key=value \
         (expected process-group=NAME and/or application-group=NAME)"
    )]
    NotKeyValue(String),
    #[error(
        "<WSGIInterpreterOptions>: unknown selector '{0}', expected process-group or \
         application-group"
    )]
    UnknownSelector(String),
    #[error("<WSGIInterpreterOptions>: {0} given more than once")]
    Repeated(&'static str),
    #[error(
        "{0} is not allowed inside <WSGIInterpreterOptions>; expected one of: \
         WSGIPerInterpreterGIL, WSGIFreeThreading, WSGISwitchInterval, WSGIPythonPath, \
         WSGIRestrictStdin, WSGIRestrictStdout, WSGIRestrictSignal"
    )]
    NotPermitted(String),
}

/// The rest of the opening line without its closing `>`.
pub fn strip_close(args: &str) -> Result<&str, SectionError> {
    args.rfind('>')
        .map(|i| &args[..i])
        .ok_or(SectionError::NotClosed)
}

/// Checks the name of a directive written inside the section.
pub fn check_child(name: &str) -> Result<(), SectionError> {
    if PERMITTED.iter().any(|p| p.eq_ignore_ascii_case(name)) {
        Ok(())
    } else {
        let shown = if name.starts_with('<') {
            format!("{name}>")
        } else {
            name.to_string()
        };
        Err(SectionError::NotPermitted(shown))
    }
}

/// Parses the opening line's selectors (words, `>` removed) into a new block.
pub fn parse_selectors(words: &[String]) -> Result<Block, SectionError> {
    let mut block = Block::default();
    for word in words {
        let (key, value) = word
            .split_once('=')
            .ok_or_else(|| SectionError::NotKeyValue(word.clone()))?;
        let (slot, what) = if key.eq_ignore_ascii_case("process-group") {
            (&mut block.process_group, "process-group")
        } else if key.eq_ignore_ascii_case("application-group") {
            (&mut block.application_group, "application-group")
        } else {
            return Err(SectionError::UnknownSelector(key.to_string()));
        };
        if slot.is_some() {
            return Err(SectionError::Repeated(what));
        }
        let value = if value == "%{GLOBAL}" { "" } else { value };
        *slot = Some(value.to_string());
    }
    Ok(block)
}

/// Reads directive `name` written inside the last section into that
/// section's block, with the directive's own value checks (its parser run
/// on a scratch configuration). Returns the block it went to.
pub fn apply_inside<'a>(
    server: &'a mut ServerConfig,
    name: &str,
    args: &[String],
) -> Result<&'a Block, super::error::ConfigError> {
    check_child(name)?;
    let mut scratch = ServerConfig::default();
    let mut dir = super::DirConfig::default();
    apply(
        &mut Target {
            server: &mut scratch,
            dir: &mut dir,
        },
        name,
        args,
    )?;
    let p = scratch.python;
    let Some(block) = server.python.interpreter_options.last_mut() else {
        return Err(SectionError::NotPermitted(name.to_string()).into());
    };
    match name.to_ascii_lowercase().as_str() {
        "wsgiperinterpretergil" => block.per_interpreter_gil = Some(on_off(name, args)?),
        "wsgifreethreading" => block.free_threading = Some(on_off(name, args)?),
        "wsgiswitchinterval" => block.switch_interval = p.switch_interval,
        "wsgipythonpath" => block.python_path = p.path,
        "wsgirestrictstdin" => block.restrict_stdin = p.restrict_stdin,
        "wsgirestrictstdout" => block.restrict_stdout = p.restrict_stdout,
        _ => block.restrict_signal = p.restrict_signal,
    }
    Ok(block)
}

/// What applies to one interpreter once the blocks are resolved.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resolved {
    pub restrict_stdin: Option<bool>,
    pub restrict_stdout: Option<bool>,
    pub restrict_signal: Option<bool>,
    /// A block's `WSGISwitchInterval`, and whether that block selects an
    /// application group (then it may only change an interpreter with its
    /// own GIL, or the main interpreter).
    pub switch_interval: Option<(f64, bool)>,
    /// A block's `WSGIPerInterpreterGIL` (no effect before Python 3.12).
    pub per_interpreter_gil: Option<bool>,
    /// Every matching block's `WSGIPythonPath`, least specific first (ties
    /// in configuration order), each applied on top of the base path.
    pub python_path_layers: Vec<Vec<String>>,
}

/// Resolves `blocks` for the interpreter of `application_group` in the
/// process of `process_group` ("" in embedded mode). Values not set by any
/// matching block stay `None` (the top-level directive then applies).
pub fn resolve(blocks: &[Block], process_group: &str, application_group: &str) -> Resolved {
    let mut out = Resolved::default();
    // (specificity, value) so far per scalar; a later block of equal
    // specificity wins, as mod_wsgi's `>=`.
    fn take<T: Clone>(slot: &mut Option<(u8, T)>, spec: u8, v: &Option<T>) {
        if let Some(v) = v
            && slot.as_ref().is_none_or(|(s, _)| spec >= *s)
        {
            *slot = Some((spec, v.clone()));
        }
    }
    let (mut stdin, mut stdout, mut signal, mut gil) = (None, None, None, None);
    let mut interval: Option<(u8, (f64, bool))> = None;
    let mut layers: Vec<(u8, usize, Vec<String>)> = Vec::new();
    for (i, b) in blocks.iter().enumerate() {
        let Some(spec) = b.specificity(process_group, application_group) else {
            continue;
        };
        take(&mut stdin, spec, &b.restrict_stdin);
        take(&mut stdout, spec, &b.restrict_stdout);
        take(&mut signal, spec, &b.restrict_signal);
        take(&mut gil, spec, &b.per_interpreter_gil);
        let scoped = b.application_group.is_some();
        take(&mut interval, spec, &b.switch_interval.map(|s| (s, scoped)));
        if !b.python_path.is_empty() {
            layers.push((spec, i, b.python_path.clone()));
        }
    }
    layers.sort_by_key(|(spec, i, _)| (*spec, *i));
    out.restrict_stdin = stdin.map(|(_, v)| v);
    out.restrict_stdout = stdout.map(|(_, v)| v);
    out.restrict_signal = signal.map(|(_, v)| v);
    out.per_interpreter_gil = gil.map(|(_, v)| v);
    out.switch_interval = interval.map(|(_, v)| v);
    out.python_path_layers = layers.into_iter().map(|(_, _, p)| p).collect();
    out
}

#[cfg(test)]
#[path = "interpreter_options_tests.rs"]
mod tests;
