//! The C heap of the processes that run Python keeps glibc's mmap threshold
//! fixed (src/python/heap.rs): after the application frees a large block,
//! the next large allocation is still served by `mmap` (so it goes back to
//! the system when freed) instead of coming from a fragmenting arena, in
//! Apache children (embedded mode) and daemon processes, under every MPM.
//! An operator's `MALLOC_MMAP_THRESHOLD_` is left in force.

#[macro_use]
mod common;

use common::*;

/// Frees a 4 MiB block (which raises glibc's dynamic threshold to 4 MiB
/// unless the threshold is fixed), then says whether a 512 KiB block is
/// served by mmap (the IS_MMAPPED bit of its chunk header).
const APP: &str = r#"
import ctypes
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
WORD = ctypes.sizeof(ctypes.c_size_t)

def mmapped(size):
    p = libc.malloc(size)
    flag = ctypes.c_size_t.from_address(p - WORD).value & 2
    libc.free(p)
    return bool(flag)

def application(environ, start_response):
    libc.free(libc.malloc(4 << 20))
    body = "mmapped=%s" % mmapped(512 << 10)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
"#;

fn probe(mpm: Mpm, daemon: bool, env: Option<(&str, &str)>) -> String {
    let b = Apache::builder(mpm);
    let app = b.write_app("heap.wsgi", APP);
    let mut b = b.server(format!("WSGIScriptAlias /heap \"{}\"", app.display()));
    if daemon {
        b = b
            .with_socket_prefix()
            .server("WSGIDaemonProcess heap threads=2")
            .server("WSGIProcessGroup heap");
    }
    if let Some((k, v)) = env {
        b = b.env(k, v);
    }
    let apache = b.start();
    let r = apache.get("/heap");
    assert_eq!(r.status, 200, "{r:?}");
    r.text()
}

#[test]
fn large_blocks_stay_mmapped_after_a_larger_one_is_freed() {
    ours_only!("the fixed mmap threshold (mod_wsgi keeps glibc's dynamic one; differences.md)");
    for mpm in [Mpm::Event, Mpm::Worker, Mpm::Prefork] {
        for daemon in [false, true] {
            assert_eq!(
                probe(mpm, daemon, None),
                "mmapped=True",
                "{mpm:?} daemon={daemon}"
            );
        }
    }
}

#[test]
fn the_operators_malloc_mmap_threshold_wins() {
    // 8 MiB: both blocks come from the heap, as the operator asked.
    for daemon in [false, true] {
        assert_eq!(
            probe(
                Mpm::Event,
                daemon,
                Some(("MALLOC_MMAP_THRESHOLD_", "8388608"))
            ),
            "mmapped=False",
            "daemon={daemon}"
        );
    }
}
