# A minimal WSGI application for the container example; replace with your own.
import os


def application(environ, start_response):
    body = ("Hello from mod_wsgi-rs in a container (uid %d)\n" % os.getuid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]
