# Reports whether this interpreter ran the WSGIImportScript preload.py.
import builtins
import os


def application(environ, start_response):
    body = "preloaded=%s\npid=%d\n" % (getattr(builtins, "HARNESS_PRELOADED", "no"), os.getpid())
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
