# Sleeps (GIL released by time.sleep) for ?seconds (default 0.2), then answers
# "slept <seconds> in <pid>:<thread ident>". With ?mark=PATH it first creates
# PATH (tests wait for it to know the request is running in the app).
import os
import threading
import time
from urllib.parse import parse_qs


def application(environ, start_response):
    qs = parse_qs(environ.get("QUERY_STRING", ""))
    seconds = float(qs.get("seconds", ["0.2"])[0])
    if "mark" in qs:
        open(qs["mark"][0], "w").close()
    time.sleep(seconds)
    body = ("slept %s in %d:%d" % (seconds, os.getpid(), threading.get_ident())).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
