# Reads ?read bytes of the request body (default 65536), then, without
# reading the rest, yields ?n chunks of 16 KiB (default 256, 4 MiB): the
# body credit granted ahead of a read must not leave the Apache child
# blocked sending body bytes while the daemon writes this response.
from urllib.parse import parse_qs


def application(environ, start_response):
    qs = parse_qs(environ.get("QUERY_STRING", ""))
    want = int(qs.get("read", ["65536"])[0])
    n = int(qs.get("n", ["256"])[0])
    got = len(environ["wsgi.input"].read(want))
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(n * 16384)),
                              ("X-Read", str(got))])
    for _ in range(n):
        yield b"r" * 16384
