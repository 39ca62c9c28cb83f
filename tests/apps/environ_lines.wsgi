# Returns the environ as sorted "key=repr(value)" lines; objects (wsgi.input,
# wsgi.errors, ...) appear as their type name, so tests can compare the
# environ of embedded and daemon mode key by key.
def application(environ, start_response):
    lines = []
    for k in sorted(environ):
        v = environ[k]
        if isinstance(v, (str, int, float, bool, tuple)) or v is None:
            lines.append("%s=%r" % (k, v))
        else:
            lines.append("%s=<%s>" % (k, type(v).__name__))
    body = ("\n".join(lines) + "\n").encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
