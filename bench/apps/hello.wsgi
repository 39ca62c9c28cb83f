# 13-byte body, one chunk: measures per-request overhead of the module.
BODY = b"Hello World!\n"
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
