//! One connection in a daemon worker thread: authenticate the HELLO (peer
//! uid and secret, before any Python runs), ACCEPT, read the ENVIRON, check
//! (with script reloading on) whether the script changed since this
//! process first ran it (the process's [`DaemonState`] keeps that, and
//! restarts the process for it), then run the request through the one WSGI
//! core (`wsgi::request::run`) with a [`DaemonHost`] (`host`: the body in,
//! the response out). Called by `workers::worker` without the GIL.

use super::host::{DaemonHost, Finisher, PanicAnswer};
use super::state::DaemonState;
use super::supervisor::Group;
use crate::apache::log::{self, Level};
use crate::apache::log_ids::{
    CONNECTION_REFUSED, QUEUE_TIMEOUT_EXPIRED, SCRIPT_OUT_OF_SCOPE, SCRIPT_OUTSIDE_CHROOT,
};
use crate::config::script_scope::ScopeRefusal;
use crate::proto::{self, FrameReader, Limits, Message, PairList, Reject, Session, Side};
use crate::wsgi::environ::EnvironData;
use crate::wsgi::request;
use std::io::BufReader;
use std::os::unix::net::UnixStream;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Read buffer of the connection: HELLO, ENVIRON and a small body usually
/// arrive in one read.
const READ_BUFFER: usize = 16 * 1024;

thread_local! {
    /// This daemon's pid (worker threads start after the fork).
    static PID: u32 = std::process::id();
}

/// Serves one accepted connection. A panic on the way is answered with an
/// ERROR frame once the host exists (`PanicAnswer`) and then goes on to
/// the worker, which logs it.
pub fn serve(stream: UnixStream, state: &DaemonState, worker_id: u32) {
    let accepted_us = now_us();
    let group = &state.group;
    let _ = stream.set_read_timeout(Some(group.socket_timeout));
    let _ = stream.set_write_timeout(Some(group.socket_timeout));
    let peer = proto::peer_uid(&stream);
    let mut reader = FrameReader::new(
        BufReader::with_capacity(READ_BUFFER, stream),
        Limits::default(),
    );
    let mut session = Session::new(Side::Daemon);
    let Some((queue_start_us, app_group, request_id, offered)) =
        greet(&mut reader, peer, group, &mut session)
    else {
        return;
    };
    let accept = Message::Accept(proto::Accept {
        version: proto::PROTOCOL_VERSION,
        caps: offered.intersect(proto::Caps::FD_PASSING),
        daemon_pid: PID.with(|p| *p),
        worker_id,
    });
    // ACCEPT goes out once the checks below pass, before the application
    // runs: the Apache child learns which process and thread run the
    // request, to name them if the connection breaks (a daemon that dies).
    let mut out = Vec::with_capacity(1024);
    if session.send(&accept).is_err() || accept.encode(&mut out).is_err() {
        return;
    }
    // ENVIRON.
    let mut env = EnvironData::new();
    let head_only = match reader.read_message() {
        Ok(Some(m @ Message::Environ(pairs))) => {
            if session.recv(&m).is_err() {
                return;
            }
            fill_environ(&mut env, pairs, group)
        }
        _ => return,
    };
    let request_start_us = (parse_f64(env.get("mod_wsgi.request_start")) * 1e6) as u64;
    stamp_times(&mut env, queue_start_us, accepted_us, worker_id);
    let Some(script) = admit(
        reader.get_ref().get_ref(),
        state,
        worker_id,
        &mut env,
        &app_group,
    ) else {
        return;
    };
    if let Some(limit) = group.opts.queue_timeout
        && !left_queue_in_time(
            reader.get_ref().get_ref(),
            group,
            limit,
            request_start_us,
            accepted_us,
        )
    {
        return;
    }
    // A request the Apache child already answered (504, 503) runs nothing.
    if super::abandoned::before_start(reader.get_ref().get_ref(), group, env.get("REQUEST_URI")) {
        return;
    }
    // With queue-timeout the Apache child waits for ACCEPT only until then.
    if std::io::Write::write_all(&mut reader.get_ref().get_ref(), &out).is_err() {
        return;
    }
    out.clear();
    let host = Box::new(DaemonHost {
        reader,
        session,
        data_left: 0,
        body_end: None,
        gone: false,
        failed: false,
        fd_passing: offered.contains(proto::Caps::FD_PASSING),
        head_only,
        request_id,
        out,
        status: 0,
    });
    let timing = (queue_start_us, accepted_us);
    // For request-timeout's interrupt (the interpreter to raise in) and
    // startup-timeout (armed by the first request that may load the script).
    state.timers.set_group(worker_id, Some(&app_group));
    state
        .timers
        .arm_startup(state.now_ms(), group.opts.startup_timeout);
    run(&script, &app_group, &env, Finisher::new(host), timing);
}

/// What the request may run, checked before it runs: the chroot rewrite,
/// the environ keys meant for the daemon only, the script scope and a
/// changed script (which restarts the process; the request goes back to the
/// Apache child, which sends it again). None when refused (answered on
/// `stream`).
fn admit(
    stream: &UnixStream,
    state: &DaemonState,
    worker_id: u32,
    env: &mut EnvironData,
    app_group: &str,
) -> Option<Script> {
    let group = &state.group;
    if let Some(root) = &group.opts.chroot
        && let Err(why) = super::chroot::rewrite(env, root)
    {
        refuse_outside_chroot(stream, &why);
        return None;
    }
    let script = Script::of(env);
    // The child's word for the daemon only: mod_wsgi 6's daemon environ has
    // exactly the embedded keys.
    env.remove("mod_wsgi.script_reloading");
    let ignored = env.remove(proto::IGNORE_ACTIVITY_KEY).is_some();
    state.activity(worker_id, !ignored);
    // The configuration names the script by its path outside the chroot.
    let scoped = match &group.opts.chroot {
        Some(root) => super::chroot::outside(root, &script.path),
        None => script.path.clone(),
    };
    if let Err(why) = state.script_scope.check(&scoped, &group.opts.name) {
        refuse_script(stream, group, &why);
        return None;
    }
    if let Some(mtime) = script.reload_mtime
        && state.script_changed(app_group, &script.path, mtime)
    {
        state.restart_for_changed_script(&script.path);
        refuse_restarting(stream);
        return None;
    }
    Some(script)
}

/// Runs the request through the WSGI core and writes the final frame.
fn run(
    script: &Script,
    app_group: &str,
    env: &EnvironData,
    finisher: Finisher,
    (queue_start_us, accepted_us): (u64, u64),
) {
    let target = request::Target {
        script: &script.path,
        callable: &script.callable,
        application_group: app_group,
        reload_mtime: script.reload_mtime,
        resource: script.reload.then_some(script.resource.as_str()),
    };
    let _answer = PanicAnswer(finisher.clone());
    fault_injection(env);
    let started = Instant::now();
    let ended = request::run(&target, env, Box::new(finisher.clone()));
    let status = finisher.status(&ended);
    crate::stats::record(
        status,
        started.elapsed().as_micros() as u64,
        accepted_us.saturating_sub(queue_start_us),
    );
    finisher.finish(ended, started, queue_start_us, accepted_us);
}

/// Debug builds only: `SetEnv MOD_WSGI_RS_TEST_PANIC daemon` (which reaches
/// the daemon in the request's environ) makes the daemon worker panic
/// before the application runs, so tests can prove the panic becomes an
/// ERROR frame (500) and the worker keeps serving. Compiled out of release
/// builds.
fn fault_injection(env: &EnvironData) {
    if cfg!(debug_assertions) && env.get("MOD_WSGI_RS_TEST_PANIC") == Some(b"daemon".as_slice()) {
        panic!("fault injected by MOD_WSGI_RS_TEST_PANIC");
    }
}

/// Reads and checks the HELLO; `None` when the connection was refused
/// (REJECT sent and logged) or just closed.
fn greet(
    reader: &mut FrameReader<BufReader<UnixStream>>,
    peer: std::io::Result<u32>,
    group: &Group,
    session: &mut Session,
) -> Option<Greeting> {
    // HELLO: authenticated before anything else happens.
    let first = match reader.read_message() {
        Ok(Some(m @ Message::Hello(_))) => hello(&m, peer, group, session),
        Ok(Some(_)) => Err(Some((
            proto::RejectReason::Auth,
            "first frame is not HELLO".into(),
        ))),
        Ok(None) => Err(None),
        Err(e) => {
            let reason = match e {
                proto::ProtoError::UnsupportedVersion(_) => proto::RejectReason::Version,
                _ => proto::RejectReason::Auth,
            };
            Err(Some((reason, format!("bad HELLO: {e}"))))
        }
    };
    match first {
        Ok(h) => Some(h),
        Err(Some((reason, why))) => {
            reject(reader.get_ref().get_ref(), group, reason, why);
            None
        }
        Err(None) => None,
    }
}

/// Logs and sends a REJECT for a connection that failed authentication.
fn reject(mut w: &UnixStream, group: &Group, reason: proto::RejectReason, why: String) {
    log::server(
        Level::Err,
        None,
        &format!(
            "{CONNECTION_REFUSED} daemon process {} of group '{}' refused a connection: {why}",
            PID.with(|p| *p),
            group.opts.name
        ),
    );
    let _ = proto::write_message(
        &mut w,
        &Message::Reject(Reject {
            reason,
            message: why.as_bytes(),
        }),
        &mut Vec::new(),
    );
}

/// `queue-timeout`, as mod_wsgi: a request that waited longer than `limit`
/// between the Apache child reading it (`mod_wsgi.request_start`) and this
/// daemon accepting it is refused (REJECT QUEUE_TIMEOUT, a 504 in the
/// child) without the application running. Returns whether it may run.
fn left_queue_in_time(
    mut w: &UnixStream,
    group: &Group,
    limit: std::time::Duration,
    request_start_us: u64,
    accepted_us: u64,
) -> bool {
    if request_start_us == 0
        || accepted_us.saturating_sub(request_start_us) <= limit.as_micros() as u64
    {
        return true;
    }
    log::server(
        Level::Err,
        None,
        &format!(
            "{QUEUE_TIMEOUT_EXPIRED} Queue timeout expired for WSGI daemon process '{}'.",
            group.opts.name
        ),
    );
    let _ = proto::write_message(
        &mut w,
        &Message::Reject(Reject {
            reason: proto::RejectReason::QueueTimeout,
            message: b"queue-timeout expired before a daemon worker took the request",
        }),
        &mut Vec::new(),
    );
    false
}

/// Refuses to run a script outside the configuration's scope: logged,
/// REJECT (the Apache child answers 500), nothing runs.
fn refuse_script(mut w: &UnixStream, group: &Group, why: &ScopeRefusal) {
    log::server(
        Level::Err,
        None,
        &format!(
            "{SCRIPT_OUT_OF_SCOPE} daemon process {} of group '{}' refused to run a script: {why}",
            PID.with(|p| *p),
            group.opts.name
        ),
    );
    let _ = proto::write_message(
        &mut w,
        &Message::Reject(Reject {
            reason: proto::RejectReason::Auth,
            message: why.to_string().as_bytes(),
        }),
        &mut Vec::new(),
    );
}

/// Refuses a script outside the `chroot=` directory (500, as mod_wsgi).
fn refuse_outside_chroot(mut w: &UnixStream, why: &str) {
    log::server(Level::Err, None, &format!("{SCRIPT_OUTSIDE_CHROOT} {why}"));
    let _ = proto::write_message(
        &mut w,
        &Message::Reject(Reject {
            reason: proto::RejectReason::Auth,
            message: why.as_bytes(),
        }),
        &mut Vec::new(),
    );
}

/// Refuses a request because the process restarts for a changed script:
/// the Apache child sends it again, to the new process.
fn refuse_restarting(mut w: &UnixStream) {
    let _ = proto::write_message(
        &mut w,
        &Message::Reject(Reject {
            reason: proto::RejectReason::Restarting,
            message: b"the daemon process is restarting: its WSGI script changed",
        }),
        &mut Vec::new(),
    );
}

/// The daemon's timing keys and thread id, in place of what the Apache
/// child sent under those names.
fn stamp_times(env: &mut EnvironData, queue_start_us: u64, accepted_us: u64, worker_id: u32) {
    let daemon_start = accepted_us as f64 / 1e6;
    env.times = vec![
        (
            "mod_wsgi.request_start",
            parse_f64(env.get("mod_wsgi.request_start")),
        ),
        ("mod_wsgi.queue_start", queue_start_us as f64 / 1e6),
        ("mod_wsgi.daemon_start", daemon_start),
        ("mod_wsgi.application_start", now_us() as f64 / 1e6),
    ];
    // The daemon worker thread that runs the request (an int, as in embedded mode).
    env.ints = vec![("mod_wsgi.thread_id", i64::from(worker_id) + 1)];
    let keys: Vec<&str> = env.times.iter().map(|(k, _)| *k).collect();
    for k in keys {
        env.remove(k);
    }
}

/// What the environ says to run: the script, its callable, and (with
/// script reloading on) the script's modification time.
struct Script {
    /// The resource (`SCRIPT_FILENAME`).
    resource: String,
    /// The file to load: the handler script of a WSGIHandlerScript
    /// request, else the resource.
    path: String,
    callable: String,
    reload: bool,
    reload_mtime: Option<f64>,
}

impl Script {
    fn of(env: &EnvironData) -> Script {
        let resource =
            String::from_utf8_lossy(env.get("SCRIPT_FILENAME").unwrap_or(b"")).into_owned();
        // A WSGIHandlerScript request runs the handler script, not the resource.
        let path = match env.get("mod_wsgi.handler_script") {
            Some(h) if !h.is_empty() => String::from_utf8_lossy(h).into_owned(),
            _ => resource.clone(),
        };
        let callable = String::from_utf8_lossy(
            env.get("mod_wsgi.callable_object")
                .unwrap_or(b"application"),
        )
        .into_owned();
        let reload = env.get("mod_wsgi.script_reloading") == Some(b"1".as_slice());
        let reload_mtime = reload
            .then(|| std::fs::metadata(&path).ok())
            .flatten()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_secs_f64());
        Script {
            resource,
            path,
            callable,
            reload,
            reload_mtime,
        }
    }
}

/// What a HELLO that passed authentication says about the request.
type Greeting = (u64, String, String, proto::Caps);

/// Checks the HELLO `m`: the peer's uid and the generation secret (the
/// previous generation's during a graceful restart). `Err(Some(..))` is
/// the REJECT to send, `Err(None)` a session error after which the
/// connection is just closed.
fn hello(
    m: &Message<'_>,
    peer: std::io::Result<u32>,
    group: &Group,
    session: &mut Session,
) -> Result<Greeting, Option<(proto::RejectReason, String)>> {
    let Message::Hello(h) = m else {
        return Err(None);
    };
    let uid = peer.map_err(|e| Some((proto::RejectReason::Auth, format!("SO_PEERCRED: {e}"))))?;
    let check = |token| {
        proto::authenticate(
            h,
            token,
            group.opts.name.as_bytes(),
            uid,
            &[group.opts.socket_uid(group.apache_uid)],
        )
    };
    let token = group.token();
    let mut verdict = check(&token);
    if verdict == Err(proto::AuthFailure::Token)
        && let Some(prev) = group.previous_token()
    {
        verdict = check(&prev);
    }
    verdict.map_err(|f| Some((f.reject_reason(), f.to_string())))?;
    session.recv(m).map_err(|_| None)?;
    Ok((
        h.queue_start_us,
        String::from_utf8_lossy(h.application_group).into_owned(),
        String::from_utf8_lossy(h.request_id).into_owned(),
        h.caps,
    ))
}

fn parse_f64(v: Option<&[u8]>) -> f64 {
    v.and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0)
}

/// Turns the ENVIRON pairs into the environ data, with the daemon's own keys.
/// Returns whether the Apache child sends no response body (HEAD).
fn fill_environ(env: &mut EnvironData, pairs: PairList<'_>, group: &Group) -> bool {
    let mut head_only = false;
    for (k, v) in pairs.iter() {
        // The keys are ASCII: a plain UTF-8 check costs a fraction of the
        // lossy conversion's chunk iterator, which is only the fallback.
        let key = match std::str::from_utf8(k) {
            Ok(k) => std::borrow::Cow::Borrowed(k),
            Err(_) => String::from_utf8_lossy(k),
        };
        if key == proto::HEADER_ONLY_KEY {
            head_only = v == b"1";
        } else if key == "wsgi.url_scheme" {
            env.url_scheme = String::from_utf8_lossy(v).into_owned();
        } else {
            env.set(&key, v);
        }
    }
    if env.url_scheme.is_empty() {
        env.url_scheme = "http".into();
    }
    env.multithread = group.opts.threads > 1;
    env.multiprocess = group.opts.multiprocess();
    env.run_once = false;
    env.set("mod_wsgi.process_group", group.opts.name.as_bytes());
    head_only
}
