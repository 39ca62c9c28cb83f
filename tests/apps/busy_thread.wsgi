# Starts a thread that never ends on the first request of each process (a
# non-daemon thread, or a daemon thread with ?daemon=1) and answers
# "served by <pid>".
import os
import threading
import time

started = []


def forever():
    while True:
        time.sleep(0.05)


def application(environ, start_response):
    if not started:
        daemon = "daemon=1" in environ.get("QUERY_STRING", "")
        threading.Thread(target=forever, daemon=daemon).start()
        started.append(True)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("served by %d" % os.getpid()).encode()]
