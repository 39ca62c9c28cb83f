# Yields ?n chunks of ?kib KiB (default 64 x 16 KiB) with Content-Length set;
# chunk i is filled with the byte i % 251, so a client can tell a lost,
# repeated or reordered chunk. ?delay: seconds to sleep before each chunk.
# ?die_after=k: the daemon process SIGKILLs itself once k chunks are out.
# The X-Pid header names the process.
import os
import signal
import time
from urllib.parse import parse_qs


def application(environ, start_response):
    qs = parse_qs(environ.get("QUERY_STRING", ""))
    n = int(qs.get("n", ["64"])[0])
    size = int(qs.get("kib", ["16"])[0]) * 1024
    delay = float(qs.get("delay", ["0"])[0])
    die_after = int(qs.get("die_after", ["-1"])[0])
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(n * size)),
                              ("X-Pid", str(os.getpid()))])
    for i in range(n):
        if i == die_after:
            os.kill(os.getpid(), signal.SIGKILL)
        if delay:
            time.sleep(delay)
        yield bytes([i % 251]) * size
