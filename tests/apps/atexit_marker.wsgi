# Registers an atexit handler (once per interpreter) that writes a marker
# file named after the application group into the directory given by
# QUERY_STRING; tests check the markers after Apache stops.
import atexit
import os

import mod_wsgi

REGISTERED = False


def application(environ, start_response):
    global REGISTERED
    if not REGISTERED:
        name = mod_wsgi.application_group or "GLOBAL"
        path = os.path.join(environ["QUERY_STRING"], "atexit-%s-%d" % (name, os.getpid()))

        def write():
            with open(path, "w") as f:
                f.write("ran")

        atexit.register(write)
        REGISTERED = True
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"registered"]
