//! The fd-passing frame reader (`FdFrameReader`, the Apache child's reader
//! when FD_PASSING is negotiated) against a hostile daemon: the input is cut
//! into chunks, each sent with one `sendmsg` carrying zero to three
//! descriptors (`SCM_RIGHTS`) over a real UNIX socket pair, and read back
//! frame by frame (optionally in split mode). Never panics or hangs; a
//! descriptor comes back with RESPONSE_FILE and only with it; and once the
//! reader is dropped, every descriptor it received is closed (the process
//! has as many open descriptors as before).
#![no_main]

use std::io::IoSlice;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mod_wsgi::proto::{FdFrameReader, FrameType, Limits};
use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};

/// The descriptor the "daemon" passes (the kernel installs a new one per message).
fn devnull() -> RawFd {
    static F: OnceLock<std::fs::File> = OnceLock::new();
    F.get_or_init(|| std::fs::File::open("/dev/null").unwrap())
        .as_raw_fd()
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Chunks of the input: a length byte and a descriptor count, then bytes.
fn chunks(mut data: &[u8]) -> Vec<(&[u8], usize)> {
    let mut out = Vec::new();
    while let [len, fds, rest @ ..] = data {
        let n = usize::from(*len).min(rest.len());
        out.push((&rest[..n], usize::from(*fds % 4)));
        data = &rest[n..];
    }
    out
}

fn send_all(sock: &UnixStream, chunks: &[(&[u8], usize)]) {
    let fd = devnull();
    for (bytes, nfds) in chunks {
        let fds = vec![fd; *nfds];
        let cmsg = [ControlMessage::ScmRights(&fds)];
        let cmsgs: &[ControlMessage<'_>] = if *nfds > 0 { &cmsg } else { &[] };
        // An empty chunk still carries its descriptors (with no byte, the
        // kernel drops them: a stream needs at least one byte).
        let mut sent = 0;
        let mut first = true;
        while first || sent < bytes.len() {
            let iov = [IoSlice::new(&bytes[sent..])];
            let c = if first { cmsgs } else { &[] };
            match sendmsg::<()>(sock.as_raw_fd(), &iov, c, MsgFlags::MSG_NOSIGNAL, None) {
                Ok(n) => sent += n,
                // The reader gave up (EPIPE) or anything else: stop sending.
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => return,
            }
            first = false;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    devnull(); // opened once, before the count
    let before = open_fds();
    let chunks = chunks(data);
    let (daemon, child) = UnixStream::pair().unwrap();
    std::thread::scope(|s| {
        let sender = s.spawn(move || {
            send_all(&daemon, &chunks);
            drop(daemon);
        });
        let mut r = FdFrameReader::new(Limits::default());
        if mode & 1 == 1 {
            r.split_response_body(usize::from(mode >> 1) + 1);
        }
        for _ in 0..10_000 {
            match r.read_message(&child) {
                Ok(Some((m, fd))) => {
                    assert_eq!(
                        fd.is_some(),
                        m.frame_type() == FrameType::ResponseFile,
                        "descriptor with {:?}",
                        m.frame_type()
                    );
                }
                Ok(None) | Err(_) => break,
            }
        }
        drop(r);
        // The reader is done: the sender sees EPIPE instead of blocking.
        drop(child);
        sender.join().unwrap();
    });
    assert_eq!(open_fds(), before, "a received descriptor was leaked");
});
