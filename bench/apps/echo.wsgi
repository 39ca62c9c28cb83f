# Reads the whole request body (wrk POSTs 1 MiB) in 64 KiB reads and returns
# the number of bytes read as the body.
def application(environ, start_response):
    stream = environ["wsgi.input"]
    total = 0
    while True:
        block = stream.read(65536)
        if not block:
            break
        total += len(block)
    body = str(total).encode("ascii")
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
