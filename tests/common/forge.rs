//! Forged connections to a daemon group's socket, as an attacker on the
//! machine would make them: a python3 subprocess (run as a chosen uid/gid)
//! connects, sends a HELLO with a given 32-byte secret (zeros when the test
//! has none) and, when a script is named, an ENVIRON running it and an empty
//! BODY_END; it prints the type byte of the first frame the daemon sends
//! back (`frame 130` is REJECT, `frame 129` ACCEPT) or the connect error.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

const FORGE: &str = r#"
import socket, struct, sys
path, group, secret, script = sys.argv[1], sys.argv[2].encode(), bytes.fromhex(sys.argv[3]), sys.argv[4].encode()
def s(b): return struct.pack("<I", len(b)) + b
frame = lambda t, p: struct.pack("<IBBH", len(p), t, 0, 0) + p
try:
    c = socket.socket(socket.AF_UNIX)
    c.connect(path)
except OSError as e:
    print("connect-error", e.errno); sys.exit(0)
hello = b"WSGP" + struct.pack("<HHI", 1, 0, 0) + secret + struct.pack("<Q", 0) + s(b"") + s(group) + s(b"")
out = frame(1, hello)
if script:
    env = [(b"SCRIPT_FILENAME", script), (b"REQUEST_METHOD", b"GET"), (b"mod_wsgi.callable_object", b"application")]
    envp = struct.pack("<I", len(env)) + b"".join(s(k) + s(v) for k, v in env)
    out += frame(2, envp) + frame(4, b"\0" + struct.pack("<I", 0))
c.sendall(out)
h = c.recv(8)
print("frame", h[4] if len(h) == 8 else -1)
"#;

/// The frame type byte a forged connection to `socket` got back (see the
/// module comment). `secret` of `None` sends 32 zero bytes; `script` of
/// `None` sends the HELLO alone.
pub fn forge(
    socket: &Path,
    group: &str,
    secret: Option<&[u8]>,
    script: Option<&Path>,
    (uid, gid): (u32, u32),
) -> String {
    let secret = secret.unwrap_or(&[0u8; 32]);
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let out = Command::new("/usr/bin/python3")
        .args(["-c", FORGE])
        .arg(socket)
        .arg(group)
        .arg(hex)
        .arg(script.map(|p| p.as_os_str()).unwrap_or_default())
        .uid(uid)
        .gid(gid)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
