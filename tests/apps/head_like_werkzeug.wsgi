# Answers HEAD the way Werkzeug (so Flask) does: the GET's headers, including
# its Content-Length, and an empty body. X-Seen-Method says which method the
# application saw (WSGIMapHEADToGET may turn HEAD into GET). /status/NNN
# answers NNN with a Content-Length and no body, as a 304 or 204 often is.
BODY = b"the body a GET of this resource returns\n"


def application(environ, start_response):
    method = environ["REQUEST_METHOD"]
    path = environ.get("PATH_INFO", "")
    if path.startswith("/status/"):
        code = path[len("/status/"):]
        reason = {"204": "No Content", "304": "Not Modified"}.get(code, "Other")
        start_response("%s %s" % (code, reason), [
            ("Content-Length", str(len(BODY))),
            ("X-Seen-Method", method),
        ])
        return []
    start_response("200 OK", [
        ("Content-Type", "text/plain"),
        ("Content-Length", str(len(BODY))),
        ("X-Seen-Method", method),
    ])
    if method == "HEAD":
        return []
    return [BODY]
