# Keeps a per-thread request counter in threading.local and answers
# "pid:thread_ident:count" so tests can see that thread locals survive
# between requests served by the same thread.
import os
import threading

_local = threading.local()


def application(environ, start_response):
    count = getattr(_local, "count", 0) + 1
    _local.count = count
    body = ("%d:%d:%d" % (os.getpid(), threading.get_ident(), count)).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
