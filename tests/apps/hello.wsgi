# Minimal WSGI app: fixed body, a Content-Type only the app would choose, and
# the serving process id in X-Harness-Pid (tests compare it across requests).
import os


def application(environ, start_response):
    body = b"Hello from a WSGI test app\n"
    start_response("200 OK", [
        ("Content-Type", "text/x-harness-hello; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("X-Harness-Pid", str(os.getpid())),
    ])
    return [body]
