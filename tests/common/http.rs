//! HTTP/1.1 client over raw `TcpStream` for the integration tests: one
//! request per connection by default, keep-alive connections on request, and
//! raw byte access, so tests control `Expect`, chunking and framing exactly.
//! Responses keep repeated headers; lookups are case-insensitive. Part of the
//! test harness in `tests/common/`.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// An HTTP response.
#[derive(Clone, Debug)]
pub struct Response {
    /// Protocol of the status line, e.g. `HTTP/1.1`.
    pub version: String,
    pub status: u16,
    pub reason: String,
    /// Headers in arrival order; repeated headers kept.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Interim (1xx) responses received before the final one.
    pub interim: Vec<u16>,
}

impl Response {
    /// First header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All headers with this name (case-insensitive), in order.
    pub fn headers_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The status line as sent (`HTTP/1.1 200 OK`), for exact comparisons.
    pub fn status_line(&self) -> String {
        format!("{} {} {}", self.version, self.status, self.reason)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A request to send. `Content-Length` is added for a body unless the caller
/// set `Content-Length` or `Transfer-Encoding` itself (then the body is sent
/// verbatim, e.g. pre-chunked). `Host` and `Connection: close` are added
/// unless present.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn new(method: &str, path: &str) -> Self {
        Request {
            method: method.to_string(),
            path: path.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }
    pub fn body(mut self, b: impl Into<Vec<u8>>) -> Self {
        self.body = b.into();
        self
    }
    fn has(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    }

    /// Serialise; `keep_alive` decides the default `Connection` header.
    pub fn to_bytes(&self, port: u16, keep_alive: bool) -> Vec<u8> {
        let mut s = format!("{} {} HTTP/1.1\r\n", self.method, self.path);
        if !self.has("Host") {
            s.push_str(&format!("Host: 127.0.0.1:{port}\r\n"));
        }
        for (k, v) in &self.headers {
            s.push_str(&format!("{k}: {v}\r\n"));
        }
        if !self.has("Content-Length")
            && !self.has("Transfer-Encoding")
            && (!self.body.is_empty() || matches!(self.method.as_str(), "POST" | "PUT"))
        {
            s.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        if !self.has("Connection") {
            s.push_str(if keep_alive {
                "Connection: keep-alive\r\n"
            } else {
                "Connection: close\r\n"
            });
        }
        s.push_str("\r\n");
        let mut b = s.into_bytes();
        b.extend_from_slice(&self.body);
        b
    }
}

/// HTTP client for one server port. `Copy`, so threads can each take one.
#[derive(Clone, Copy, Debug)]
pub struct Client {
    pub port: u16,
    pub timeout: Duration,
}

impl Client {
    pub fn new(port: u16) -> Self {
        Client {
            port,
            timeout: Duration::from_secs(30),
        }
    }

    pub fn connect(&self) -> io::Result<TcpStream> {
        let s = TcpStream::connect(("127.0.0.1", self.port))?;
        s.set_read_timeout(Some(self.timeout))?;
        s.set_write_timeout(Some(self.timeout))?;
        Ok(s)
    }

    /// Send one request on a fresh connection (`Connection: close`).
    pub fn send(&self, req: &Request) -> io::Result<Response> {
        let mut s = self.connect()?;
        s.write_all(&req.to_bytes(self.port, false))?;
        let mut r = BufReader::new(s);
        read_response(&mut r, &req.method)
    }

    pub fn get(&self, path: &str) -> Response {
        self.send(&Request::new("GET", path))
            .unwrap_or_else(|e| panic!("GET {path} on port {}: {e}", self.port))
    }

    pub fn post(&self, path: &str, body: &[u8]) -> Response {
        self.send(&Request::new("POST", path).body(body.to_vec()))
            .unwrap_or_else(|e| panic!("POST {path} on port {}: {e}", self.port))
    }

    /// Open a keep-alive connection.
    pub fn keep_alive(&self) -> io::Result<Conn> {
        Ok(Conn {
            port: self.port,
            reader: BufReader::new(self.connect()?),
        })
    }

    /// Write raw bytes, half-close, and read until the server closes.
    pub fn raw(&self, bytes: &[u8]) -> io::Result<Vec<u8>> {
        let mut s = self.connect()?;
        s.write_all(bytes)?;
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut out = Vec::new();
        s.read_to_end(&mut out)?;
        Ok(out)
    }
}

/// A persistent connection: several requests in sequence.
pub struct Conn {
    port: u16,
    reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn send(&mut self, req: &Request) -> io::Result<Response> {
        self.reader
            .get_mut()
            .write_all(&req.to_bytes(self.port, true))?;
        read_response(&mut self.reader, &req.method)
    }

    /// Raw access (write part of a request, read interim responses, ...).
    pub fn stream(&mut self) -> &mut BufReader<TcpStream> {
        &mut self.reader
    }
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn read_line(r: &mut impl BufRead) -> io::Result<String> {
    let mut buf = Vec::new();
    let n = r.read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed before a complete response",
        ));
    }
    while buf.last().is_some_and(|c| *c == b'\n' || *c == b'\r') {
        buf.pop();
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Status code, reason phrase and headers of one response.
pub type Head = (u16, String, Vec<(String, String)>);

/// Read the head (status line + headers) of one response.
pub fn read_head(r: &mut impl BufRead) -> io::Result<Head> {
    read_versioned_head(r).map(|(_, head)| head)
}

/// `read_head`, also returning the status line's protocol version.
fn read_versioned_head(r: &mut impl BufRead) -> io::Result<(String, Head)> {
    let status_line = read_line(r)?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/") {
        return Err(bad(format!("bad status line {status_line:?}")));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(format!("bad status line {status_line:?}")))?;
    let reason = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let line = read_line(r)?;
        if line.is_empty() {
            break;
        }
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| bad(format!("bad header line {line:?}")))?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    Ok((version.to_string(), (status, reason, headers)))
}

/// Read one complete response (skipping and recording 1xx interim ones).
pub fn read_response(r: &mut impl BufRead, method: &str) -> io::Result<Response> {
    let mut interim = Vec::new();
    loop {
        let (version, (status, reason, headers)) = read_versioned_head(r)?;
        if (100..200).contains(&status) && status != 101 {
            interim.push(status);
            continue;
        }
        let mut resp = Response {
            version,
            status,
            reason,
            headers,
            body: Vec::new(),
            interim,
        };
        if method.eq_ignore_ascii_case("HEAD") || status == 204 || status == 304 {
            return Ok(resp);
        }
        let chunked = resp
            .header("Transfer-Encoding")
            .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
        if chunked {
            resp.body = read_chunked(r)?;
        } else if let Some(cl) = resp.header("Content-Length") {
            let n: usize = cl
                .parse()
                .map_err(|_| bad(format!("bad Content-Length {cl:?}")))?;
            let mut body = vec![0; n];
            r.read_exact(&mut body)?;
            resp.body = body;
        } else {
            r.read_to_end(&mut resp.body)?;
        }
        return Ok(resp);
    }
}

fn read_chunked(r: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(r)?;
        let size_str = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_str, 16)
            .map_err(|_| bad(format!("bad chunk size line {line:?}")))?;
        if size == 0 {
            // trailers
            loop {
                if read_line(r)?.is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..])?;
        let crlf = read_line(r)?;
        if !crlf.is_empty() {
            return Err(bad("missing CRLF after chunk"));
        }
    }
}
