# Echoes the request body back (read fully from wsgi.input) with the method
# and CONTENT_LENGTH in X-Echo-* headers.
def application(environ, start_response):
    body = environ["wsgi.input"].read()
    start_response("200 OK", [
        ("Content-Type", "application/octet-stream"),
        ("Content-Length", str(len(body))),
        ("X-Echo-Method", environ["REQUEST_METHOD"]),
        ("X-Echo-Content-Length", environ.get("CONTENT_LENGTH", "")),
    ])
    return [body]
