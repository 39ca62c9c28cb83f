# /head-late sleeps ?seconds before start_response (socket-timeout tests);
# /truncate yields one chunk, then raises (the client must see a broken
# response, not a clean short one); /big-head answers with a 40 KB header.
import time
from urllib.parse import parse_qs


def application(environ, start_response):
    qs = parse_qs(environ.get("QUERY_STRING", ""))
    if environ.get("PATH_INFO") == "/head-late":
        time.sleep(float(qs.get("seconds", ["3"])[0]))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"late\n"]
    if environ.get("PATH_INFO") == "/big-head":
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Big", "x" * 40000)])
        return [b"big\n"]
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "100")])

    def body():
        yield b"first chunk\n"
        raise RuntimeError("fails after the head")
    return body()
