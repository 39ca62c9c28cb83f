//! File-descriptor passing for RESPONSE_FILE: the daemon sends the frame and the open file
//! in one `sendmsg` with `SCM_RIGHTS`; the Apache child reads with `recvmsg`, queues every
//! descriptor it receives with the stream range it arrived in, and hands each to the
//! RESPONSE_FILE frame that starts in that range. A descriptor no frame claims, or a
//! RESPONSE_FILE without one, is a protocol error.
//!
//! Talks to the kernel through `nix` (`sendmsg`/`recvmsg`); its one `unsafe` block takes
//! ownership of descriptors the kernel just installed. Used by the daemon's
//! `wsgi.file_wrapper` path and the child's response relay; callers release the GIL around
//! these blocking calls.

use std::collections::VecDeque;
use std::io::{self, IoSlice, IoSliceMut, Write};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use nix::errno::Errno;
use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};

use super::error::{ProtoError, Result};
use super::frame::{FrameType, Limits};
use super::io::FrameBuffer;
use super::messages::{Message, ResponseFile};

/// Most descriptors Linux carries in one message (`SCM_MAX_FD`). The receive buffer is
/// sized for that many so a hostile peer can never make the kernel truncate (and leak)
/// descriptors: every one it sends is received and closed or claimed.
const SCM_MAX_FD: usize = 253;

/// Send `bufs` with `fd` attached (`SCM_RIGHTS`) in one `sendmsg`; returns bytes sent,
/// which may be fewer than offered. The descriptor travels with the first byte.
pub fn send_with_fd(
    sock: &UnixStream,
    bufs: &[IoSlice<'_>],
    fd: BorrowedFd<'_>,
) -> io::Result<usize> {
    let fds = [fd.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    loop {
        match sendmsg::<()>(sock.as_raw_fd(), bufs, &cmsg, MsgFlags::MSG_NOSIGNAL, None) {
            Ok(n) => return Ok(n),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Write a complete frame with `fd` attached to its first byte; the rest of a short send is
/// written normally.
pub fn send_frame_with_fd(sock: &UnixStream, frame: &[u8], fd: BorrowedFd<'_>) -> io::Result<()> {
    if frame.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty frame"));
    }
    let n = send_with_fd(sock, &[IoSlice::new(frame)], fd)?;
    if n == 0 {
        return Err(io::ErrorKind::WriteZero.into());
    }
    let mut w = sock;
    w.write_all(&frame[n..])
}

/// Encode and send a RESPONSE_FILE frame carrying `fd`.
pub fn send_response_file(
    sock: &UnixStream,
    file: &ResponseFile,
    fd: BorrowedFd<'_>,
) -> Result<()> {
    let mut frame = Vec::with_capacity(24);
    Message::ResponseFile(*file).encode(&mut frame)?;
    send_frame_with_fd(sock, &frame, fd)?;
    Ok(())
}

/// Descriptors received with `recvmsg`, each tagged with the stream range `[start, end)`
/// of the bytes it arrived with.
#[derive(Debug)]
pub struct FdReceiver {
    cmsg: Vec<u8>,
    queue: VecDeque<(OwnedFd, u64, u64)>,
}

impl Default for FdReceiver {
    fn default() -> Self {
        Self::new()
    }
}

impl FdReceiver {
    /// An empty receiver with room for `SCM_MAX_FD` descriptors per read.
    pub fn new() -> Self {
        FdReceiver {
            cmsg: nix::cmsg_space!([RawFd; SCM_MAX_FD]),
            queue: VecDeque::new(),
        }
    }

    /// Descriptors received and not yet claimed.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// One `recvmsg` into `buf` (spare room of a [`FrameBuffer`] via `fill_with`, or any
    /// slice); `stream_pos` is the stream offset of `buf[0]`. Descriptors arrive with
    /// `O_CLOEXEC` set and are queued.
    pub fn recv(
        &mut self,
        sock: &UnixStream,
        buf: &mut [u8],
        stream_pos: u64,
    ) -> io::Result<usize> {
        self.recv_flags(sock, buf, stream_pos, MsgFlags::empty())
    }

    fn recv_flags(
        &mut self,
        sock: &UnixStream,
        buf: &mut [u8],
        stream_pos: u64,
        flags: MsgFlags,
    ) -> io::Result<usize> {
        let mut iov = [IoSliceMut::new(buf)];
        let (n, fds) = loop {
            match recvmsg::<()>(
                sock.as_raw_fd(),
                &mut iov,
                Some(&mut self.cmsg),
                MsgFlags::MSG_CMSG_CLOEXEC | flags,
            ) {
                Ok(msg) => {
                    let mut fds = Vec::new();
                    // The buffer holds SCM_MAX_FD descriptors, so MSG_CTRUNC cannot occur
                    // for SCM_RIGHTS; if it somehow does, cmsgs() errors and we fail.
                    for c in msg.cmsgs().map_err(io::Error::from)? {
                        if let ControlMessageOwned::ScmRights(raw) = c {
                            fds.extend(raw);
                        }
                    }
                    break (msg.bytes, fds);
                }
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        };
        for raw in fds {
            // SAFETY: `raw` was just installed in this process by recvmsg(SCM_RIGHTS); nothing
            // else knows it, so taking ownership (and closing it on drop) is sound.
            let fd = unsafe { OwnedFd::from_raw_fd(raw) };
            self.queue
                .push_back((fd, stream_pos, stream_pos + n as u64));
        }
        Ok(n)
    }

    /// Receive into a [`FrameBuffer`], tagging descriptors with the right stream range.
    pub fn recv_into(&mut self, sock: &UnixStream, fb: &mut FrameBuffer) -> io::Result<usize> {
        let pos = fb.stream_end();
        fb.fill_with(|dst| self.recv(sock, dst, pos))
    }

    /// As [`FdReceiver::recv_into`] without blocking (`MSG_DONTWAIT`):
    /// `WouldBlock` when nothing has arrived.
    pub fn try_recv_into(&mut self, sock: &UnixStream, fb: &mut FrameBuffer) -> io::Result<usize> {
        let pos = fb.stream_end();
        fb.fill_with(|dst| self.recv_flags(sock, dst, pos, MsgFlags::MSG_DONTWAIT))
    }

    /// Match descriptors to the frame of type `frame_type` starting at stream offset
    /// `frame_pos`: a RESPONSE_FILE gets the descriptor that arrived with its first byte;
    /// any descriptor that arrived wholly before this frame was unclaimed (an error).
    pub fn claim(&mut self, frame_type: FrameType, frame_pos: u64) -> Result<Option<OwnedFd>> {
        if let Some((_, _, end)) = self.queue.front() {
            if *end <= frame_pos {
                self.queue.pop_front();
                return Err(ProtoError::UnexpectedFd);
            }
        }
        if frame_type != FrameType::ResponseFile {
            return Ok(None);
        }
        match self.queue.front() {
            Some((_, start, end)) if *start <= frame_pos && frame_pos < *end => {
                Ok(self.queue.pop_front().map(|(fd, _, _)| fd))
            }
            _ => Err(ProtoError::MissingFd),
        }
    }

    /// Call at EOF: every received descriptor must have been claimed.
    pub fn check_eof(&mut self) -> Result<()> {
        if self.queue.is_empty() {
            Ok(())
        } else {
            self.queue.clear();
            Err(ProtoError::UnexpectedFd)
        }
    }
}

/// Blocking reader of daemon → child frames when FD_PASSING was negotiated: every read is a
/// `recvmsg`, and each RESPONSE_FILE comes back with its descriptor.
#[derive(Debug)]
pub struct FdFrameReader {
    buf: FrameBuffer,
    fds: FdReceiver,
}

impl FdFrameReader {
    /// A reader enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        Self::with_storage(limits, Vec::new())
    }

    /// A reader whose frame buffer reuses `storage` (see [`FrameBuffer::with_storage`]).
    pub fn with_storage(limits: Limits, storage: Vec<u8>) -> Self {
        FdFrameReader {
            buf: FrameBuffer::with_storage(limits, storage),
            fds: FdReceiver::new(),
        }
    }

    /// See [`FrameBuffer::split_response_body`].
    pub fn split_response_body(&mut self, piece: usize) {
        self.buf.split_response_body(piece);
    }

    /// See [`FrameBuffer::pin`]: while pinned, the payloads of the frames
    /// already returned stay in place and the reader refuses to read.
    pub fn pin(&mut self, on: bool) {
        self.buf.pin(on);
    }

    /// Gives up the frame buffer's storage for reuse; the reader must not be used after.
    pub fn take_storage(&mut self) -> Vec<u8> {
        self.buf.take_storage()
    }

    /// True if a whole frame (or a piece of a split RESPONSE_BODY) is
    /// buffered, so `read_message` returns without reading the socket.
    pub fn frame_ready(&mut self) -> Result<bool> {
        self.buf.frame_ready()
    }

    /// Takes in whatever the socket holds now, without blocking: whether
    /// anything (bytes, EOF or an error, which the next read reports) came.
    /// One `recvmsg` that replaces a readiness `poll` before the next read.
    pub fn try_fill(&mut self, sock: &UnixStream) -> bool {
        // Bytes arrived, or EOF or an error, which the next (blocking) read
        // meets again and reports.
        !matches!(
            self.fds.try_recv_into(sock, &mut self.buf),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted)
        )
    }

    /// The next message, with its descriptor for RESPONSE_FILE; `Ok(None)` on a clean EOF.
    pub fn read_message(
        &mut self,
        sock: &UnixStream,
    ) -> Result<Option<(Message<'_>, Option<OwnedFd>)>> {
        Ok(self.read_message_more(sock)?.map(|(m, fd, _)| (m, fd)))
    }

    /// As [`FdFrameReader::read_message`], and whether another frame is already
    /// buffered behind it (see [`FrameBuffer::next_message_more`]).
    pub fn read_message_more(
        &mut self,
        sock: &UnixStream,
    ) -> Result<Option<(Message<'_>, Option<OwnedFd>, bool)>> {
        while !self.buf.frame_ready()? {
            if self.fds.recv_into(sock, &mut self.buf)? == 0 {
                self.buf.check_eof()?;
                self.fds.check_eof()?;
                return Ok(None);
            }
        }
        let pos = self.buf.next_frame_offset();
        let (msg, more) = self
            .buf
            .next_message_more()?
            .ok_or(ProtoError::Misuse("frame vanished"))?;
        let fd = self.fds.claim(msg.frame_type(), pos)?;
        Ok(Some((msg, fd, more)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::io::{Read, Seek, SeekFrom};
    use std::os::fd::AsFd;

    fn temp_file(contents: &[u8]) -> File {
        let path = std::env::temp_dir().join(format!(
            "wsgp-fdpass-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let mut f = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        f.write_all(contents).unwrap();
        f
    }

    #[test]
    fn response_file_carries_its_descriptor() {
        let (d, c) = UnixStream::pair().unwrap();
        let file = temp_file(b"hello, sendfile");
        let mut scratch = Vec::new();
        let mut dw = &d;
        crate::proto::io::write_message(
            &mut dw,
            &Message::ResponseBody {
                data: b"abc",
                flush: false,
            },
            &mut scratch,
        )
        .unwrap();
        let rf = ResponseFile {
            offset: 7,
            length: 8,
            flush: true,
        };
        send_response_file(&d, &rf, file.as_fd()).unwrap();
        drop(file); // the receiver's copy keeps the file open
        crate::proto::io::write_message(
            &mut dw,
            &Message::ResponseBody {
                data: b"",
                flush: true,
            },
            &mut scratch,
        )
        .unwrap();
        drop(d);

        let mut r = FdFrameReader::new(Limits::default());
        let (m, fd) = r.read_message(&c).unwrap().unwrap();
        assert_eq!(
            m,
            Message::ResponseBody {
                data: b"abc",
                flush: false
            }
        );
        assert!(fd.is_none());
        let (m, fd) = r.read_message(&c).unwrap().unwrap();
        assert_eq!(m, Message::ResponseFile(rf));
        let mut f = File::from(fd.expect("descriptor"));
        f.seek(SeekFrom::Start(rf.offset)).unwrap();
        let mut s = String::new();
        f.read_to_string(&mut s).unwrap();
        assert_eq!(s, "sendfile");
        let (m, fd) = r.read_message(&c).unwrap().unwrap();
        assert_eq!(
            m,
            Message::ResponseBody {
                data: b"",
                flush: true
            }
        );
        assert!(fd.is_none());
        assert!(r.read_message(&c).unwrap().is_none());
    }

    #[test]
    fn response_file_without_descriptor_is_an_error() {
        let (d, c) = UnixStream::pair().unwrap();
        let frame = Message::ResponseFile(ResponseFile {
            offset: 0,
            length: 1,
            flush: false,
        })
        .to_frame()
        .unwrap();
        (&d).write_all(&frame).unwrap();
        let mut r = FdFrameReader::new(Limits::default());
        assert!(matches!(r.read_message(&c), Err(ProtoError::MissingFd)));
    }

    #[test]
    fn stray_descriptor_is_an_error() {
        let (d, c) = UnixStream::pair().unwrap();
        let file = temp_file(b"x");
        let body = Message::ResponseBody {
            data: b"abc",
            flush: false,
        }
        .to_frame()
        .unwrap();
        send_frame_with_fd(&d, &body, file.as_fd()).unwrap();
        (&d).write_all(&body).unwrap();
        let mut r = FdFrameReader::new(Limits::default());
        // The first frame is fine: the descriptor might still belong to a later frame that
        // arrived in the same read; once a frame starts past its range it is stray.
        let first = r.read_message(&c).map(|m| m.map(|(m, _)| m.frame_type()));
        let first_ok = first.is_ok();
        let stray = matches!(first, Err(ProtoError::UnexpectedFd))
            || (first_ok && matches!(r.read_message(&c), Err(ProtoError::UnexpectedFd)));
        assert!(stray);
    }

    #[test]
    fn unclaimed_descriptor_at_eof_is_an_error() {
        let (d, c) = UnixStream::pair().unwrap();
        let file = temp_file(b"x");
        let body = Message::ResponseBody {
            data: b"abc",
            flush: false,
        }
        .to_frame()
        .unwrap();
        send_frame_with_fd(&d, &body, file.as_fd()).unwrap();
        drop(d);
        let mut r = FdFrameReader::new(Limits::default());
        assert!(r.read_message(&c).unwrap().is_some());
        assert!(matches!(r.read_message(&c), Err(ProtoError::UnexpectedFd)));
    }

    #[test]
    fn many_descriptors_in_one_message_are_all_received_and_closed() {
        let (d, c) = UnixStream::pair().unwrap();
        let files: Vec<File> = (0..20).map(|_| temp_file(b"y")).collect();
        let raw: Vec<RawFd> = files.iter().map(|f| f.as_raw_fd()).collect();
        let cmsg = [ControlMessage::ScmRights(&raw)];
        sendmsg::<()>(
            d.as_raw_fd(),
            &[IoSlice::new(b"z")],
            &cmsg,
            MsgFlags::empty(),
            None,
        )
        .unwrap();
        let mut rx = FdReceiver::new();
        let mut buf = [0u8; 8];
        assert_eq!(rx.recv(&c, &mut buf, 0).unwrap(), 1);
        assert_eq!(rx.pending(), 20);
        assert!(matches!(
            rx.claim(FrameType::ResponseBody, 1),
            Err(ProtoError::UnexpectedFd)
        ));
        assert!(rx.check_eof().is_err());
        assert_eq!(rx.pending(), 0);
    }
}
