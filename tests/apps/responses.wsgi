# One response behaviour per PATH_INFO, for tests/wsgi_response.rs. Markers
# written to wsgi.errors carry QUERY_STRING (a per-request token) so a test
# can count them in the error log.
import os
import sys
import time


class Tracked:
    """An iterable whose close() logs once per call."""

    def __init__(self, environ, chunks, fail_at=None):
        self.errors = environ["wsgi.errors"]
        self.token = environ.get("QUERY_STRING", "")
        self.chunks = chunks
        self.fail_at = fail_at

    def __iter__(self):
        for i, c in enumerate(self.chunks):
            if i == self.fail_at:
                raise RuntimeError("iteration-failed-" + self.token)
            yield c

    def close(self):
        print("close-called token=%s" % self.token, file=self.errors)
        self.errors.flush()


def application(environ, start_response):
    case = environ.get("PATH_INFO", "")
    token = environ.get("QUERY_STRING", "")
    text = [("Content-Type", "text/plain")]

    if case == "/bad-status-type":
        start_response(200, text)
    elif case == "/bad-status-format":
        start_response("200OK", text)
    elif case == "/bad-status-crlf":
        start_response("200 OK\r\nX-Injected: 1", text)
    elif case == "/bad-header-type":
        start_response("200 OK", [("X-Number", 1)])
    elif case == "/bad-header-crlf":
        start_response("200 OK", [("X-Split", "a\r\nX-Injected: 1")])
    elif case == "/bad-header-nul":
        start_response("200 OK", [("X-Nul", "a\0b")])
    elif case == "/bad-header-name":
        start_response("200 OK", [("Bad Name", "x")])
    elif case == "/bad-header-tuple":
        start_response("200 OK", [("X-Only-One",)])
    elif case == "/headers-not-list":
        start_response("200 OK", (("X-A", "1"),))
    elif case == "/hop-by-hop":
        start_response("200 OK", text + [("Connection", "close")])
    elif case == "/status-only-code":
        start_response("299", text)
        return [b"code only"]
    elif case == "/second-start-response":
        write = start_response("200 OK", text)
        write(b"first")
        start_response("201 Created", text)
    elif case == "/second-start-response-before-output":
        # As mod_wsgi 6: nothing went out yet, so the second call replaces the head.
        start_response("500 First", text)
        start_response("201 Created", text)
        return [b"replaced"]
    elif case == "/exc-info-not-tuple":
        try:
            start_response("200 OK", text, "not a tuple")
        except RuntimeError as e:
            start_response("200 OK", text)
            return [str(e).encode()]
    elif case == "/exc-info-replace":
        start_response("200 OK", text + [("X-First", "1")])
        try:
            raise ValueError("replaced")
        except ValueError:
            start_response("503 Replaced", text + [("X-Second", "1")], sys.exc_info())
        return [b"replacement body"]
    elif case == "/exc-info-after-sent":
        def gen():
            start_response("200 OK", text)
            yield b"partial"
            try:
                raise ValueError("too-late-" + token)
            except ValueError:
                start_response("500 Error", text, sys.exc_info())
            yield b"never"
        return gen()
    elif case == "/write":
        write = start_response("200 OK", text)
        write(b"a")
        write(b"b")
        return [b"c"]
    elif case == "/write-str":
        write = start_response("200 OK", text)
        write("not bytes")
        return []
    elif case == "/str-body":
        start_response("200 OK", text)
        return ["not bytes"]
    elif case == "/no-start-response":
        return [b"x"]
    elif case == "/empty-then-raise":
        def gen():
            start_response("200 OK", text)
            yield b""
            raise RuntimeError("after-empty-" + token)
        return gen()
    elif case == "/raise-after-head":
        def gen():
            start_response("200 OK", text)
            yield b"partial-"
            raise RuntimeError("after-head-" + token)
        return gen()
    elif case == "/close-normal":
        start_response("200 OK", text)
        return Tracked(environ, [b"a", b"b"])
    elif case == "/close-raise":
        start_response("200 OK", text)
        return Tracked(environ, [b"a", b"b"], fail_at=1)
    elif case == "/close-raise-before-head":
        start_response("200 OK", text)
        return Tracked(environ, [b"a"], fail_at=0)
    elif case == "/close-client-gone":
        start_response("200 OK", text)
        return Tracked(environ, [b"x" * 65536] * 2000)
    elif case == "/content-length-over":
        start_response("200 OK", text + [("Content-Length", "5")])
        return [b"01234", b"56789"]
    elif case == "/content-length-short":
        start_response("200 OK", text + [("Content-Length", "10")])
        return [b"abc"]
    elif case == "/head-empty":
        # As Django does for HEAD: the GET's Content-Length, no body.
        start_response("200 OK", text + [("Content-Length", "10")])
        if environ["REQUEST_METHOD"] == "HEAD":
            return []
        return [b"0123456789"]
    elif case == "/no-content":
        start_response("204 No Content", [])
        return [b"must-not-appear"]
    elif case == "/not-modified":
        start_response("304 Not Modified", [])
        return [b"must-not-appear"]
    elif case == "/stream":
        # Yields, then waits for the test to create the file named by the
        # query string: only a flushed first chunk lets the test do that.
        def gen():
            start_response("200 OK", text)
            yield b"first"
            deadline = time.time() + 10
            while not os.path.exists(token):
                if time.time() > deadline:
                    yield b"-timeout"
                    return
                time.sleep(0.01)
            yield b"-second"
        return gen()
    elif case == "/tuple":
        start_response("200 OK", text)
        return (b"tu", b"ple")
    elif case == "/generator":
        start_response("200 OK", text)
        return (c for c in [b"ge", b"", b"n"])
    elif case == "/custom-iterable":
        start_response("200 OK", text)
        return Tracked(environ, [b"cu", b"stom"])
    start_response("404 Not Found", text)
    return [b"unknown case"]
