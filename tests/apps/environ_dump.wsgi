# Dumps the WSGI environ, one "key=type:ascii(value)" line per key (sorted),
# plus "pid=" (the serving process) so tests can compare mod_wsgi.server_pid.
# X-Request-Method repeats REQUEST_METHOD so HEAD requests can see it too.
import os


def describe(v):
    if isinstance(v, (str, bool, int, float, tuple)):
        return "%s:%s" % (type(v).__name__, ascii(v))
    return "%s:-" % type(v).__name__


def application(environ, start_response):
    lines = ["%s=%s" % (k, describe(environ[k])) for k in sorted(environ)]
    lines.append("pid=int:%d" % os.getpid())
    body = ("\n".join(lines) + "\n").encode("ascii")
    start_response("200 OK", [
        ("Content-Type", "text/plain"),
        ("X-Request-Method", environ["REQUEST_METHOD"]),
    ])
    return [body]
