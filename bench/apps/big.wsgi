# 64 KiB body returned as a single chunk.
BODY = b"x" * (64 * 1024)
HEADERS = [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(BODY)))]


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
