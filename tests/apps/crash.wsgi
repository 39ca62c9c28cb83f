# Dies mid-request when asked: ?how=segv reads address 0 (SIGSEGV),
# ?how=exit calls os._exit(1), each after ?after= seconds (default 0.2);
# otherwise answers "alive in <pid>".
import ctypes
import os
import time
from urllib.parse import parse_qs


def application(environ, start_response):
    qs = parse_qs(environ.get("QUERY_STRING", ""))
    how = qs.get("how", [""])[0]
    if how:
        time.sleep(float(qs.get("after", ["0.2"])[0]))
    if how == "segv":
        ctypes.string_at(0)
    elif how == "exit":
        os._exit(1)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("alive in %d" % os.getpid()).encode()]
