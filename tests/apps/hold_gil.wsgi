# Holds the GIL in C code (sum over a huge range never releases it) for a
# long time: for deadlock-timeout tests.
def application(environ, start_response):
    total = sum(range(10 ** 11))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(total).encode()]
