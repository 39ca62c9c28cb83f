# A generator response without Content-Length (Apache sends it chunked on a
# keep-alive HTTP/1.1 connection), plus two Set-Cookie headers (repeated
# headers must be kept apart).
def application(environ, start_response):
    start_response("200 OK", [
        ("Content-Type", "text/plain"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
    ])

    def gen():
        yield b"a"
        yield b""
        yield b"bb"
        yield b"ccc"

    return gen()
