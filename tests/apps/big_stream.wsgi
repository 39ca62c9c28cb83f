# Streams ?mb MiB (default 300) in 64 KiB pieces through the write()
# callable, for response-socket-timeout tests whose client never reads.
# Records how it ended in stream.mark next to the script (the directory must
# be writable by the Apache user): "failed <exception> <seconds> <bytes>"
# when a write raised OSError, else "completed - <seconds> <bytes>".
import os
import time
from urllib.parse import parse_qs


def application(environ, start_response):
    qs = parse_qs(environ.get("QUERY_STRING", ""))
    total = int(qs.get("mb", ["300"])[0]) * 1024 * 1024
    mark = os.path.join(os.path.dirname(environ["SCRIPT_FILENAME"]), "stream.mark")
    write = start_response("200 OK", [("Content-Type", "application/octet-stream")])
    chunk = b"x" * 65536
    sent = 0
    start = time.monotonic()
    try:
        while sent < total:
            write(chunk)
            sent += len(chunk)
        outcome = "completed -"
    except OSError as e:
        outcome = "failed %s" % type(e).__name__
    with open(mark + ".tmp", "w") as f:
        f.write("%s %.3f %d\n" % (outcome, time.monotonic() - start, sent))
    os.rename(mark + ".tmp", mark)
    return []
