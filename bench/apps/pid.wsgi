# Answers the PID of the process that served the request: bench/realapps.py
# uses it to see a daemon process replaced (recycle time).
import os


def application(environ, start_response):
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
