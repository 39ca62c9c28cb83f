# /read reads the whole body and echoes its length; any other path answers
# without touching wsgi.input (so no 100 Continue should be sent).
def application(environ, start_response):
    if environ.get("PATH_INFO") == "/read":
        body = environ["wsgi.input"].read()
        out = ("read %d\n" % len(body)).encode()
    else:
        out = b"not read\n"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(out)))])
    return [out]
