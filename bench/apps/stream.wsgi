# 1 MiB body produced by a generator as 64 x 16 KiB yields.
# Content-Length is set (no chunked transfer), so this measures the
# per-yield write/flush path of the module.
CHUNK = b"x" * (16 * 1024)
COUNT = 64
HEADERS = [("Content-Type", "application/octet-stream"),
           ("Content-Length", str(len(CHUNK) * COUNT))]


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    for _ in range(COUNT):
        yield CHUNK
