"""The sample application mod_wsgi-express serves in the README."""

import sys

import mod_wsgi


def application(environ, start_response):
    body = (
        "Hello from mod_wsgi-rs!\n"
        f"Python {sys.version.split()[0]}, {mod_wsgi.implementation}, "
        f"process group {mod_wsgi.process_group or '(embedded)'!s}\n"
        f"{environ['REQUEST_METHOD']} {environ['SCRIPT_NAME']}{environ['PATH_INFO']}\n"
    ).encode("utf-8")
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]
